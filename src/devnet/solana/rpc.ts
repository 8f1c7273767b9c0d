/**
 * A devnet Solana node's JSON-RPC, in Solana's wire format (https://solana.com/docs/rpc): single requests and batches,
 * the validator's error codes and words, `{ context: { slot, apiVersion }, value }` around every account-ish answer.
 * Integers are JSON numbers; those beyond 2^53 (`rentEpoch`) are written out exactly, as a validator does.
 *
 * The `devnet_` methods are the driver's (cluster.ts): they do what gossip and turbine do on a real cluster.
 */

import { accountMethods, type RpcMethod } from "./accounts-api.ts";
import { SlotSequenceError, type SolanaLedger } from "./ledger.ts";
import {
  configParam,
  contextSlotOf,
  integerParam,
  invalidParams,
  RPC_CODES,
  RpcMethodError,
  requireParams,
  SOLANA_API_VERSION,
} from "./params.ts";
import { programMethods } from "./program-api.ts";
import { tokenMethods } from "./token-api.ts";
import { transactionMethods } from "./transactions-api.ts";

/** The `feature-set` id `getVersion` reports: fixed, it only has to be stable. */
export const SOLANA_FEATURE_SET = 3_294_202_862;

type JsonRpcId = string | number | null;

interface JsonRpcResponse {
  jsonrpc: "2.0";
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  id: JsonRpcId;
}

/** Answers one HTTP body: the response text, or undefined when it only held notifications (no `id`). */
export type SolanaRpcHandler = (body: string) => string | undefined;

/** The node's JSON-RPC over one ledger. */
export function createSolanaRpcHandler(ledger: SolanaLedger): SolanaRpcHandler {
  const methods: Record<string, RpcMethod> = {
    ...clusterMethods(ledger),
    ...accountMethods(ledger),
    ...programMethods(ledger),
    ...tokenMethods(ledger),
    ...transactionMethods(ledger),
    ...devnetMethods(ledger),
  };

  function answer(request: unknown): JsonRpcResponse | undefined {
    if (!isRequest(request)) return failure(null, RPC_CODES.invalidRequest, "Invalid request");
    const id = validId(request.id);
    const notification = !("id" in request);
    const params = request.params ?? [];
    let response: JsonRpcResponse;
    const method = Object.hasOwn(methods, request.method) ? methods[request.method] : undefined;
    if (!method) response = failure(id, RPC_CODES.methodNotFound, "Method not found");
    else if (!Array.isArray(params))
      response = failure(id, RPC_CODES.invalidParams, "Invalid params: expected a sequence.");
    else {
      try {
        response = { jsonrpc: "2.0", result: method(params), id };
      } catch (error) {
        if (error instanceof RpcMethodError) response = failure(id, error.code, error.message, error.data);
        else response = failure(id, RPC_CODES.internal, "Internal error");
      }
    }
    return notification ? undefined : response;
  }

  return (body) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return serialize(failure(null, RPC_CODES.parseError, "Parse error"));
    }
    if (!Array.isArray(parsed)) {
      const one = answer(parsed);
      return one && serialize(one);
    }
    if (parsed.length === 0) return serialize(failure(null, RPC_CODES.invalidRequest, "Invalid request"));
    const all = parsed.map(answer).filter((r): r is JsonRpcResponse => r !== undefined);
    return all.length > 0 ? serialize(all) : undefined;
  };
}

/** Slot, health, version, genesis: what does not depend on an account. */
function clusterMethods(ledger: SolanaLedger): Record<string, RpcMethod> {
  return {
    getSlot: (params) => contextSlotOf(ledger, configParam(params, 0)),
    // No slot is ever skipped: block height = slot.
    getBlockHeight: (params) => contextSlotOf(ledger, configParam(params, 0)),
    getGenesisHash: () => ledger.genesisHash,
    getHealth: () => "ok",
    getVersion: () => ({ "solana-core": SOLANA_API_VERSION, "feature-set": SOLANA_FEATURE_SET }),
  };
}

/** The driver's methods: read the pool, produce the next slot, report where the node is. */
function devnetMethods(ledger: SolanaLedger): Record<string, RpcMethod> {
  return {
    devnet_pool: () => ledger.pool().map((tx) => tx.base64),
    devnet_status: () => ({
      slot: ledger.slot(),
      blockhash: ledger.blockhash(ledger.slot()),
      stateHash: ledger.stateHash(),
      pool: ledger.pool().length,
    }),
    devnet_produceSlot(params) {
      requireParams(params, 1);
      const { slot, transactions } = configParam(params, 0) as { slot?: unknown; transactions?: unknown };
      const next = integerParam(slot, "slot");
      if (!Array.isArray(transactions) || transactions.some((t) => typeof t !== "string")) {
        throw invalidParams("Invalid params: `transactions` must be an array of base64 strings.");
      }
      try {
        const produced = ledger.produceSlot(
          next,
          (transactions as string[]).map((t) => Uint8Array.from(Buffer.from(t, "base64"))),
        );
        return { ...produced, stateHash: ledger.stateHash() };
      } catch (error) {
        if (!(error instanceof SlotSequenceError)) throw error;
        throw new RpcMethodError(RPC_CODES.slotSequence, error.message, { slot: error.slot });
      }
    },
  };
}

function failure(id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcResponse {
  return { jsonrpc: "2.0", error: data === undefined ? { code, message } : { code, message, data }, id };
}

function isRequest(value: unknown): value is { method: string; params?: unknown; id?: unknown } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const r = value as { jsonrpc?: unknown; method?: unknown };
  return r.jsonrpc === "2.0" && typeof r.method === "string";
}

function validId(id: unknown): JsonRpcId {
  return typeof id === "string" || typeof id === "number" ? id : null;
}

/** Marks an integer too large for a JSON number in the first pass, so the second writes its digits as they are. */
const BIG_MARK = "\u0000u64:";
const BIG_MARKED = /"\\u0000u64:(\d+)"/g;

/** JSON text with bigints as numbers: exact digits beyond 2^53, where `Number` would round. */
export function serialize(value: unknown): string {
  const text = JSON.stringify(value, (_key, v) => {
    if (typeof v !== "bigint") return v;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `${BIG_MARK}${v}`;
  });
  return text.replace(BIG_MARKED, "$1");
}
