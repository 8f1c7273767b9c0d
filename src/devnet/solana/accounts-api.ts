/**
 * The account-reading methods: `getBalance`, `getAccountInfo`, `getMultipleAccounts`,
 * `getMinimumBalanceForRentExemption`. Reads see the state as of their commitment's slot.
 */

import { zstdCompressSync } from "node:zlib";
import { getBase58Decoder } from "@solana/kit";
import type { AccountState, SolanaLedger } from "./ledger.ts";
import {
  base58Param,
  type Config,
  configParam,
  contextSlotOf,
  integerParam,
  invalidParams,
  RPC_CODES,
  RpcMethodError,
  requireParams,
  withContext,
} from "./params.ts";
import { parsedTokenData } from "./spl-token.ts";

/** Most keys one `getMultipleAccounts` may ask for. */
export const MAX_MULTIPLE_ACCOUNTS = 100;
/** Largest account data a validator encodes as base58, in bytes. */
export const MAX_BASE58_ACCOUNT_BYTES = 128;
/** What validators answer as `rentEpoch` for every rent-exempt account: u64::MAX. */
export const RENT_EXEMPT_RENT_EPOCH = 18_446_744_073_709_551_615n;

/** One JSON-RPC method: positional params in, a JSON-able result out (bigint for integers beyond 2^53). */
export type RpcMethod = (params: readonly unknown[]) => unknown;

export type AccountEncoding = "binary" | "base58" | "base64" | "base64+zstd" | "jsonParsed";

const ENCODINGS: readonly AccountEncoding[] = ["binary", "base58", "base64", "jsonParsed", "base64+zstd"];

/** The account methods over one ledger. */
export function accountMethods(ledger: SolanaLedger): Record<string, RpcMethod> {
  return {
    getBalance(params) {
      requireParams(params, 1);
      const key = base58Param(params[0], 32);
      const slot = contextSlotOf(ledger, configParam(params, 1));
      return withContext(slot, Number(ledger.account(key, slot)?.lamports ?? 0n));
    },
    getAccountInfo(params) {
      requireParams(params, 1);
      const key = base58Param(params[0], 32);
      const config = configParam(params, 1);
      const encoding = encodingOf(config, "binary");
      const slice = dataSliceOf(config);
      const slot = contextSlotOf(ledger, config);
      return withContext(slot, encodeAccountAt(ledger, slot, ledger.account(key, slot), encoding, slice));
    },
    getMultipleAccounts(params) {
      requireParams(params, 1);
      const keys = params[0];
      if (!Array.isArray(keys)) throw invalidParams("Invalid params: invalid type: expected a sequence of strings.");
      if (keys.length > MAX_MULTIPLE_ACCOUNTS) {
        throw invalidParams(`Too many inputs provided; max ${MAX_MULTIPLE_ACCOUNTS}`);
      }
      const addresses = keys.map((k) => base58Param(k, 32));
      const config = configParam(params, 1);
      const encoding = encodingOf(config, "base64");
      const slice = dataSliceOf(config);
      const slot = contextSlotOf(ledger, config);
      return withContext(
        slot,
        addresses.map((a) => encodeAccountAt(ledger, slot, ledger.account(a, slot), encoding, slice)),
      );
    },
    getMinimumBalanceForRentExemption(params) {
      const length = params[0] === undefined ? 0 : integerParam(params[0], "data length");
      contextSlotOf(ledger, configParam(params, 1));
      return Number(ledger.rentExemptMinimum(length));
    },
  };
}

export interface DataSlice {
  offset: number;
  length: number;
}

export function encodingOf(config: Config, fallback: AccountEncoding): AccountEncoding {
  const value = config["encoding"] ?? fallback;
  if (ENCODINGS.includes(value as AccountEncoding)) return value as AccountEncoding;
  throw invalidParams(
    `Invalid params: unknown variant \`${String(value)}\`, expected one of ${ENCODINGS.map((e) => `\`${e}\``).join(", ")}.`,
  );
}

export function dataSliceOf(config: Config): DataSlice | undefined {
  const value = config["dataSlice"];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object")
    throw invalidParams("Invalid params: invalid type: expected struct UiDataSliceConfig.");
  const { offset, length } = value as { offset?: unknown; length?: unknown };
  return { offset: integerParam(offset, "dataSlice.offset"), length: integerParam(length, "dataSlice.length") };
}

/**
 * An account as of `slot` as validators encode it. `jsonParsed` parses the SPL Token programs' accounts (not slicing
 * them) and falls back to base64 for the rest, as a validator does for accounts no parser of its knows.
 */
export function encodeAccountAt(
  ledger: SolanaLedger,
  slot: number,
  account: AccountState | null,
  encoding: AccountEncoding,
  slice: DataSlice | undefined,
): unknown {
  const parsed = account && encoding === "jsonParsed" ? parsedTokenData(ledger, account, slot) : undefined;
  return encodeAccount(account, encoding, slice, parsed);
}

/** An account as validators encode it; `parsed` is its `jsonParsed` data, without which that falls back to base64. */
export function encodeAccount(
  account: AccountState | null,
  encoding: AccountEncoding,
  slice: DataSlice | undefined,
  parsed?: unknown,
): unknown {
  if (!account) return null;
  const data = slice ? account.data.subarray(slice.offset, slice.offset + slice.length) : account.data;
  return {
    data: parsed === undefined ? encodeData(data, encoding) : parsed,
    executable: account.executable,
    lamports: Number(account.lamports),
    owner: account.owner,
    rentEpoch: RENT_EXEMPT_RENT_EPOCH,
    space: account.data.length,
  };
}

function encodeData(data: Uint8Array, encoding: AccountEncoding): unknown {
  if (encoding === "binary" || encoding === "base58") {
    if (data.length > MAX_BASE58_ACCOUNT_BYTES) {
      throw new RpcMethodError(
        RPC_CODES.invalidRequest,
        `Encoded binary (base 58) data should be less than ${MAX_BASE58_ACCOUNT_BYTES} bytes, please use Base64 encoding.`,
      );
    }
    const text = getBase58Decoder().decode(data);
    // `binary` is the legacy encoding: the bare base58 string, no tuple.
    return encoding === "binary" ? text : [text, "base58"];
  }
  if (encoding === "base64+zstd") return [Buffer.from(zstdCompressSync(data)).toString("base64"), "base64+zstd"];
  return [Buffer.from(data).toString("base64"), "base64"];
}
