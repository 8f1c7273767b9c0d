/**
 * The transaction methods: `sendTransaction` (with preflight), `getSignatureStatuses`, `getTransaction`,
 * `getLatestBlockhash`, `isBlockhashValid`, `getFeeForMessage`.
 */

import { getBase58Decoder, getCompiledTransactionMessageDecoder } from "@solana/kit";
import type { RpcMethod } from "./accounts-api.ts";
import {
  BLOCKHASH_HISTORY_SLOTS,
  MAX_PROCESSING_AGE_SLOTS,
  type SolanaLedger,
  type TransactionRecord,
} from "./ledger.ts";
import {
  base58Param,
  booleanOption,
  checkMinContextSlot,
  commitmentOf,
  configParam,
  contextSlotOf,
  invalidParams,
  RPC_CODES,
  RpcMethodError,
  requireParams,
  stringParam,
  withContext,
} from "./params.ts";
import {
  type DecodedMessage,
  decodeWireTransaction,
  feeOf,
  fromBase58,
  MAX_TRANSACTION_BYTES,
  TransactionDecodeError,
  type TransactionErrorJson,
  transactionErrorMessage,
  verifySignatures,
  type WireTransaction,
} from "./transaction.ts";

/** Most signatures one `getSignatureStatuses` may ask for. */
export const MAX_SIGNATURE_STATUSES = 256;
/** Longest base58 / base64 text of a transaction a validator decodes, in characters (for {@link MAX_TRANSACTION_BYTES}). */
const MAX_BASE58_TRANSACTION_CHARS = 1_683;
const MAX_BASE64_TRANSACTION_CHARS = 1_644;
const TX_TYPE = "solana_transaction::versioned::VersionedTransaction";

/** The transaction methods over one ledger. */
export function transactionMethods(ledger: SolanaLedger): Record<string, RpcMethod> {
  return {
    sendTransaction: (params) => sendTransaction(ledger, params),
    getSignatureStatuses(params) {
      requireParams(params, 1);
      const list = params[0];
      if (!Array.isArray(list)) throw invalidParams("Invalid params: invalid type: expected a sequence of strings.");
      if (list.length > MAX_SIGNATURE_STATUSES) {
        throw invalidParams(`Too many inputs provided; max ${MAX_SIGNATURE_STATUSES}`);
      }
      const signatures = list.map((s) => base58Param(s, 64));
      const searchHistory = booleanOption(configParam(params, 1), "searchTransactionHistory", false);
      const slot = ledger.slot();
      return withContext(
        slot,
        signatures.map((s) => signatureStatus(ledger, ledger.transaction(s), searchHistory)),
      );
    },
    getTransaction: (params) => getTransaction(ledger, params),
    getLatestBlockhash(params) {
      const slot = contextSlotOf(ledger, configParam(params, 0));
      const blockhash = ledger.blockhash(slot) as string;
      return withContext(slot, { blockhash, lastValidBlockHeight: slot + MAX_PROCESSING_AGE_SLOTS });
    },
    isBlockhashValid(params) {
      requireParams(params, 1);
      const hash = base58Param(params[0], 32);
      const slot = contextSlotOf(ledger, configParam(params, 1), "finalized");
      return withContext(slot, ledger.canLand(hash, slot + 1));
    },
    getFeeForMessage(params) {
      requireParams(params, 1);
      const bytes = decodeBase64(stringParam(params, 0), "message");
      let message: DecodedMessage;
      try {
        message = getCompiledTransactionMessageDecoder().decode(bytes) as DecodedMessage;
      } catch (error) {
        throw invalidParams(`invalid message: ${error instanceof Error ? error.message : String(error)}`);
      }
      const slot = contextSlotOf(ledger, configParam(params, 1));
      // A validator only prices a message whose blockhash it still knows.
      return withContext(slot, ledger.canLand(message.lifetimeToken, slot + 1) ? Number(feeOf(message)) : null);
    },
  };
}

function sendTransaction(ledger: SolanaLedger, params: readonly unknown[]): string {
  requireParams(params, 1);
  const text = stringParam(params, 0);
  const config = configParam(params, 1);
  const encoding = config["encoding"] ?? "base58";
  if (encoding !== "base58" && encoding !== "base64") {
    throw invalidParams(`unsupported encoding: ${String(encoding)}. Supported encodings: base58, base64`);
  }
  const raw = encoding === "base64" ? decodeBase64(text, TX_TYPE) : decodeBase58Transaction(text);
  if (raw.length > MAX_TRANSACTION_BYTES) {
    throw invalidParams(`decoded ${TX_TYPE} too large: ${raw.length} bytes (max: ${MAX_TRANSACTION_BYTES} bytes)`);
  }
  let tx: WireTransaction;
  try {
    tx = decodeWireTransaction(raw);
  } catch (error) {
    if (error instanceof TransactionDecodeError)
      throw invalidParams(`failed to deserialize ${TX_TYPE}: ${error.message}`);
    throw error;
  }
  // Preflight runs against the processed state (whatever `preflightCommitment` says): the only full state kept.
  commitmentOf({ commitment: config["preflightCommitment"] }, "finalized");
  checkMinContextSlot(config, ledger.slot());
  if (!booleanOption(config, "skipPreflight", false)) preflight(ledger, tx);
  if (ledger.transaction(tx.signature)) return tx.signature;
  if (!ledger.addToPool(tx) && !ledger.pool().some((p) => p.signature === tx.signature)) {
    throw new RpcMethodError(RPC_CODES.poolFull, "transaction pool is full");
  }
  return tx.signature;
}

/** What a validator checks before it forwards: signatures, then a simulation on the processed state. */
function preflight(ledger: SolanaLedger, tx: WireTransaction): void {
  if (!verifySignatures(tx)) {
    throw new RpcMethodError(RPC_CODES.signatureVerification, "Transaction signature verification failure");
  }
  let result: { err: TransactionErrorJson | null; logs: string[]; unitsConsumed: bigint };
  if (ledger.transaction(tx.signature)) result = { err: "AlreadyProcessed", logs: [], unitsConsumed: 0n };
  else if (!ledger.canLand(tx.blockhash, ledger.slot() + 1)) {
    result = { err: "BlockhashNotFound", logs: [], unitsConsumed: 0n };
  } else result = ledger.simulate(tx);
  if (result.err === null) return;
  throw new RpcMethodError(
    RPC_CODES.preflightFailure,
    `Transaction simulation failed: ${transactionErrorMessage(result.err)}`,
    {
      accounts: null,
      err: result.err,
      innerInstructions: null,
      loadedAccountsDataSize: 0,
      logs: result.logs,
      replacementBlockhash: null,
      returnData: null,
      unitsConsumed: Number(result.unitsConsumed),
    },
  );
}

function signatureStatus(ledger: SolanaLedger, record: TransactionRecord | undefined, searchHistory: boolean): unknown {
  // Without `searchTransactionHistory` a validator only looks in its status cache: the recent blockhashes' slots.
  if (!record || (!searchHistory && record.slot < ledger.slot() - BLOCKHASH_HISTORY_SLOTS)) return null;
  const finalized = record.slot <= ledger.commitmentSlot("finalized");
  const confirmed = record.slot <= ledger.commitmentSlot("confirmed");
  return {
    slot: record.slot,
    confirmations: finalized ? null : ledger.slot() - record.slot,
    err: record.err,
    status: record.err === null ? { Ok: null } : { Err: record.err },
    confirmationStatus: finalized ? "finalized" : confirmed ? "confirmed" : "processed",
  };
}

function getTransaction(ledger: SolanaLedger, params: readonly unknown[]): unknown {
  requireParams(params, 1);
  const signature = base58Param(params[0], 64);
  // The second param may also be a bare encoding string (the deprecated form).
  const config = typeof params[1] === "string" ? { encoding: params[1] } : configParam(params, 1);
  const commitment = commitmentOf(config);
  if (commitment === "processed") throw invalidParams("Method does not support commitment below `confirmed`");
  const encoding = config["encoding"] ?? "json";
  if (encoding !== "json" && encoding !== "base64" && encoding !== "base58") {
    throw invalidParams(
      `Invalid params: unsupported encoding: ${String(encoding)} (this devnet answers json, base64, base58).`,
    );
  }
  const record = ledger.transaction(signature);
  if (!record || record.slot > ledger.commitmentSlot(commitment)) return null;
  const version = record.tx.message.version;
  const maxVersion = config["maxSupportedTransactionVersion"];
  if (version === 0 && (typeof maxVersion !== "number" || maxVersion < 0)) {
    throw new RpcMethodError(
      RPC_CODES.unsupportedTransactionVersion,
      'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
    );
  }
  return {
    slot: record.slot,
    blockTime: ledger.blockTime(record.slot),
    version: maxVersion === undefined ? undefined : version,
    meta: {
      err: record.err,
      status: record.err === null ? { Ok: null } : { Err: record.err },
      fee: Number(record.fee),
      preBalances: record.preBalances.map(Number),
      postBalances: record.postBalances.map(Number),
      innerInstructions: record.innerInstructions,
      logMessages: record.logs,
      preTokenBalances: [],
      postTokenBalances: [],
      rewards: [],
      loadedAddresses: { writable: [], readonly: [] },
      computeUnitsConsumed: Number(record.computeUnits),
    },
    transaction:
      encoding === "base64"
        ? [record.tx.base64, "base64"]
        : encoding === "base58"
          ? [getBase58Decoder().decode(record.tx.raw), "base58"]
          : transactionJson(record.tx),
  };
}

/** The `json` encoding of a transaction: signatures and the compiled message, instruction data in base58. */
function transactionJson(tx: WireTransaction): unknown {
  const base58 = getBase58Decoder();
  const m = tx.message;
  return {
    signatures: Object.values(tx.transaction.signatures).map((s) => base58.decode(s ?? new Uint8Array(64))),
    message: {
      accountKeys: tx.accounts,
      header: m.header,
      recentBlockhash: m.lifetimeToken,
      instructions: m.instructions.map((ix) => ({
        programIdIndex: ix.programAddressIndex,
        accounts: ix.accountIndices ?? [],
        data: base58.decode(ix.data ?? new Uint8Array()),
        stackHeight: null,
      })),
      ...(m.version === 0
        ? {
            addressTableLookups: (m.addressTableLookups ?? []).map((l) => ({
              accountKey: l.lookupTableAddress,
              writableIndexes: l.writableIndexes,
              readonlyIndexes: l.readonlyIndexes,
            })),
          }
        : {}),
    },
  };
}

function decodeBase64(text: string, what: string): Uint8Array {
  if (what === TX_TYPE && text.length > MAX_BASE64_TRANSACTION_CHARS) {
    throw invalidParams(
      `base64 encoded ${TX_TYPE} too large: ${text.length} bytes (max: encoded/raw ${MAX_BASE64_TRANSACTION_CHARS}/${MAX_TRANSACTION_BYTES})`,
    );
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw invalidParams(`invalid base64 encoding: ${what}`);
  }
  return Uint8Array.from(Buffer.from(text, "base64"));
}

function decodeBase58Transaction(text: string): Uint8Array {
  if (text.length > MAX_BASE58_TRANSACTION_CHARS) {
    throw invalidParams(
      `base58 encoded ${TX_TYPE} too large: ${text.length} bytes (max: encoded/raw ${MAX_BASE58_TRANSACTION_CHARS}/${MAX_TRANSACTION_BYTES})`,
    );
  }
  const raw = fromBase58(text);
  if (!raw) throw invalidParams(`invalid base58 encoding: ${TX_TYPE}`);
  return raw;
}
