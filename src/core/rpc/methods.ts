/**
 * Per-method knowledge of the Ethereum JSON-RPC API: which methods are served, where the block parameter sits,
 * which are writes. Methods not listed here are refused with -32601 before any upstream is asked.
 */
import { HASH_HEX } from "../hex.ts";

export type MethodKind =
  /** Reads chain data; may be hedged and retried. */
  | "read"
  /** Changes something upstream: never hedged, retried only when nothing was sent. */
  | "write"
  /** Answered by the gateway itself from what it already knows. */
  | "local";

export interface MethodSpec {
  kind: MethodKind;
  /** Index of the block parameter (tag, number or EIP-1898 object), when the method has one. */
  blockParam?: number;
  /** The block parameter may be omitted (it then means `latest`). */
  blockOptional?: boolean;
  /** Expensive on the node: gets the longer attempt deadline. */
  heavy?: boolean;
  /** The block range lives in a filter object (`fromBlock`/`toBlock`). */
  logFilter?: boolean;
  /**
   * What the answer can be proven against when `verification.methods` asks for `proof`: the state root (a Merkle
   * proof), the block hash (header fields, transactions root), the receipts root of an anchored block, execution over
   * proven state (`eth_call`, `eth_estimateGas`, `eth_createAccessList`), the tips paid in proven recent blocks (fee
   * suggestions), anchored headers and their receipts (fee history, blob base fee), or the logs blooms and receipts of
   * the blocks of a range, linked to an anchored block (`eth_getLogs`).
   */
  proof?: "state" | "block" | "receipt" | "transaction" | "execution" | "fees" | "fee-history" | "logs";
  /**
   * Addresses chain data by hash: a node behind the agreed head may not have it yet and would answer `null` as if it
   * did not exist, so only upstreams at the agreed head are asked.
   */
  byHash?: boolean;
  /**
   * How an answer may be cached: `block` — a function of the pinned block number; `hash` — of a block hash in the
   * params; `tx` — of a transaction hash (valid while the block holding it stays on the chain).
   */
  cache?: "block" | "hash" | "tx";
  /**
   * Not one of Multihome's own methods: a config allowed it (`methods.allow`). Forwarded as sent (re-serialized),
   * answered by one upstream, never hedged, never cached.
   */
  passThrough?: boolean;
}

/** How a method's answers are checked: proven, agreed by independent upstreams, or one upstream's word. */
export type VerificationPolicy = "proof" | "quorum" | "single";

const read: MethodSpec = { kind: "read" };
/** A call run at a block: executed here over proven state (engine/methods/execution.ts). */
const execution: MethodSpec = {
  kind: "read",
  blockParam: 1,
  blockOptional: true,
  heavy: true,
  proof: "execution",
  cache: "block",
};

export const METHODS: Readonly<Record<string, MethodSpec>> = {
  eth_chainId: { kind: "local" },
  net_version: { kind: "local" },
  eth_blockNumber: { kind: "local" },
  web3_clientVersion: read,
  web3_sha3: read,
  net_listening: read,
  eth_syncing: read,
  eth_gasPrice: { kind: "read", proof: "fees" },
  eth_maxPriorityFeePerGas: { kind: "read", proof: "fees" },
  eth_blobBaseFee: { kind: "read", proof: "fee-history" },
  eth_feeHistory: { kind: "read", blockParam: 1, proof: "fee-history", cache: "block" },
  eth_getBalance: { kind: "read", blockParam: 1, blockOptional: true, proof: "state", cache: "block" },
  eth_getCode: { kind: "read", blockParam: 1, blockOptional: true, proof: "state", cache: "block" },
  eth_getTransactionCount: { kind: "read", blockParam: 1, blockOptional: true, proof: "state", cache: "block" },
  eth_getStorageAt: { kind: "read", blockParam: 2, blockOptional: true, proof: "state", cache: "block" },
  eth_getProof: { kind: "read", blockParam: 2, proof: "state", cache: "block" },
  eth_call: execution,
  eth_estimateGas: execution,
  eth_createAccessList: execution,
  eth_getBlockByNumber: { kind: "read", blockParam: 0, proof: "block", cache: "block" },
  eth_getBlockByHash: { kind: "read", proof: "block", byHash: true, cache: "hash" },
  eth_getBlockReceipts: { kind: "read", blockParam: 0, heavy: true, proof: "receipt", cache: "block" },
  eth_getBlockTransactionCountByNumber: { kind: "read", blockParam: 0, cache: "block", proof: "block" },
  eth_getBlockTransactionCountByHash: { kind: "read", byHash: true, cache: "hash", proof: "block" },
  eth_getUncleCountByBlockNumber: { kind: "read", blockParam: 0, cache: "block", proof: "block" },
  eth_getUncleCountByBlockHash: { kind: "read", byHash: true, cache: "hash", proof: "block" },
  eth_getUncleByBlockNumberAndIndex: { kind: "read", blockParam: 0, cache: "block", proof: "block" },
  eth_getUncleByBlockHashAndIndex: { kind: "read", byHash: true, cache: "hash", proof: "block" },
  eth_getTransactionByHash: { kind: "read", proof: "transaction", byHash: true, cache: "tx" },
  eth_getTransactionByBlockHashAndIndex: { kind: "read", byHash: true, cache: "hash", proof: "block" },
  eth_getTransactionByBlockNumberAndIndex: { kind: "read", blockParam: 0, cache: "block", proof: "block" },
  eth_getTransactionReceipt: { kind: "read", proof: "receipt", byHash: true, cache: "tx" },
  eth_getLogs: { kind: "read", logFilter: true, heavy: true, proof: "logs", cache: "block" },
  eth_sendRawTransaction: { kind: "write" },
};

export function methodSpec(method: string): MethodSpec | undefined {
  return Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
}

/** eth_subscribe and eth_unsubscribe: answered by a WebSocket connection itself, not by the engine. */
export const SUBSCRIPTION_METHODS: ReadonlySet<string> = new Set(["eth_subscribe", "eth_unsubscribe"]);

/**
 * A method as metric labels and logs name it: one of Multihome's own (or a subscription call), else `other` — a
 * client never creates a label value or writes into a log line.
 */
export function methodLabel(method: string): string {
  return Object.hasOwn(METHODS, method) || SUBSCRIPTION_METHODS.has(method) ? method : "other";
}

const HEX_QUANTITY = /^0x(0|[1-9a-f][0-9a-f]*)$/i;

/** A block number from a hex quantity, or undefined when the text is not one. */
export function parseBlockNumber(value: unknown): number | undefined {
  if (typeof value !== "string" || !HEX_QUANTITY.test(value) || value.length > 15) return undefined;
  return Number.parseInt(value.slice(2), 16);
}

export function toHex(n: number): `0x${string}` {
  return `0x${n.toString(16)}`;
}

export interface PinnedCall {
  params: unknown[] | Record<string, unknown>;
  /** The block number the answer will reflect, when the call names one (after rewriting `latest`). */
  blockNumber?: number;
  /** The lowest head an upstream must have reached to answer this call. */
  minBlock?: number;
}

export type PinResult = { ok: true; pinned: PinnedCall } | { ok: false; message: string };

/**
 * Rewrite `latest` (and an omitted block parameter) to the agreed head, so every upstream answers about the same
 * block, and work out the lowest head an upstream needs to answer. Tags the gateway cannot pin (`pending`, `safe`,
 * `finalized`) and block hashes pass through unchanged.
 */
export function pinBlock(spec: MethodSpec, params: RpcParams, head: number): PinResult {
  if (spec.logFilter) return pinLogFilter(params, head);
  if (spec.blockParam === undefined) return { ok: true, pinned: spec.byHash ? { params, minBlock: head } : { params } };
  if (!Array.isArray(params)) return { ok: false, message: "params must be an array" };
  const index = spec.blockParam;
  if (params.length < index) return { ok: false, message: `expected at least ${index} params` };
  const value = params[index];
  if (value === undefined) {
    if (!spec.blockOptional) return { ok: false, message: `missing block parameter at position ${index}` };
    return { ok: true, pinned: withBlock(params, index, head) };
  }
  const resolved = resolveBlockParam(value, head);
  if (!resolved.ok) return resolved;
  if (resolved.number === undefined)
    return { ok: true, pinned: resolved.byHash ? { params, minBlock: head } : { params } };
  const rewritten = resolved.rewrite ? withBlock(params, index, resolved.number) : { params };
  return { ok: true, pinned: { ...rewritten, blockNumber: resolved.number, minBlock: resolved.number } };
}

type RpcParams = unknown[] | Record<string, unknown>;

function withBlock(params: unknown[], index: number, n: number): PinnedCall {
  const copy = params.slice();
  copy[index] = toHex(n);
  return { params: copy, blockNumber: n, minBlock: n };
}

type Resolved = { ok: true; number?: number; rewrite: boolean; byHash?: boolean } | { ok: false; message: string };

function resolveBlockParam(value: unknown, head: number): Resolved {
  if (typeof value === "string") {
    switch (value) {
      case "latest":
        return { ok: true, number: head, rewrite: true };
      case "earliest":
        return { ok: true, number: 0, rewrite: true };
      case "pending":
      case "safe":
      case "finalized":
        return { ok: true, rewrite: false };
    }
    if (HASH_HEX.test(value)) return { ok: true, rewrite: false, byHash: true };
    const n = parseBlockNumber(value);
    if (n === undefined) return { ok: false, message: `invalid block parameter: ${value.slice(0, 80)}` };
    return { ok: true, number: n, rewrite: false };
  }
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o.blockHash === "string") return { ok: true, rewrite: false, byHash: true };
    if (o.blockNumber !== undefined) {
      const n = parseBlockNumber(o.blockNumber);
      if (n === undefined) return { ok: false, message: "invalid blockNumber in block parameter" };
      return { ok: true, number: n, rewrite: false };
    }
  }
  return { ok: false, message: "invalid block parameter" };
}

function pinLogFilter(params: RpcParams, head: number): PinResult {
  if (!Array.isArray(params) || params.length !== 1 || typeof params[0] !== "object" || params[0] === null) {
    return { ok: false, message: "eth_getLogs takes one filter object" };
  }
  const filter = { ...(params[0] as Record<string, unknown>) };
  if (filter.blockHash !== undefined) {
    if (filter.fromBlock !== undefined || filter.toBlock !== undefined) {
      return { ok: false, message: "blockHash cannot be combined with fromBlock/toBlock" };
    }
    return { ok: true, pinned: { params, minBlock: head } };
  }
  let to = head;
  for (const key of ["fromBlock", "toBlock"] as const) {
    const value = filter[key] ?? "latest";
    const resolved = resolveBlockParam(value, head);
    if (!resolved.ok) return { ok: false, message: `${key}: ${resolved.message}` };
    if (resolved.number === undefined) continue;
    filter[key] = toHex(resolved.number);
    if (key === "toBlock") to = resolved.number;
  }
  const from = parseBlockNumber(filter.fromBlock);
  const toNumber = parseBlockNumber(filter.toBlock);
  if (from !== undefined && toNumber !== undefined && from > toNumber) {
    return { ok: false, message: "fromBlock is after toBlock" };
  }
  return { ok: true, pinned: { params: [filter], blockNumber: to, minBlock: to } };
}
