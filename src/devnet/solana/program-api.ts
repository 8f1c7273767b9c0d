/**
 * `getProgramAccounts`: the accounts a program owns as of the commitment's slot, with a validator's filters
 * (`dataSize`, `memcmp`, `tokenAccountState`) and their checks. Only accounts the ledger has a history of are seen:
 * the genesis accounts and every account a transaction named (see ledger.ts).
 */

import { dataSliceOf, encodeAccount, encodingOf, type RpcMethod } from "./accounts-api.ts";
import type { AccountState, SolanaLedger } from "./ledger.ts";
import {
  base58Param,
  booleanOption,
  type Config,
  configParam,
  contextSlotOf,
  integerParam,
  invalidParams,
  requireParams,
  typeName,
  withContext,
} from "./params.ts";
import { isTokenAccountData, isTokenProgram, parsedTokenData } from "./spl-token.ts";
import { fromBase58 } from "./transaction.ts";

/** Most filters one `getProgramAccounts` may carry (`MAX_GET_PROGRAM_ACCOUNT_FILTERS`). */
export const MAX_PROGRAM_ACCOUNT_FILTERS = 4;
/** Longest `memcmp` a validator takes, in bytes, and as base58 / base64 text. */
const MAX_MEMCMP_BYTES = 128;
const MAX_MEMCMP_BASE58_CHARS = 175;
const MAX_MEMCMP_BASE64_CHARS = 172;
const BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** A decoded `getProgramAccounts` filter; an account must pass every filter to be listed. */
export type AccountFilter =
  | { dataSize: number }
  | { memcmp: { offset: number; bytes: Uint8Array } }
  | { tokenAccountState: true };

/** An account and its address, as `getProgramAccounts` and `getTokenAccountsBy*` list them. */
export interface KeyedAccount {
  pubkey: string;
  account: AccountState;
}

/** The program-account methods over one ledger. */
export function programMethods(ledger: SolanaLedger): Record<string, RpcMethod> {
  return {
    getProgramAccounts(params) {
      requireParams(params, 1);
      const config = configParam(params, 1);
      const encoding = encodingOf(config, "binary");
      const slice = dataSliceOf(config);
      const context = booleanOption(config, "withContext", false);
      booleanOption(config, "sortResults", true); // always sorted here
      const shapes = filterShapes(config);
      const program = base58Param(params[0], 32);
      const filters = checkedFilters(shapes);
      const slot = contextSlotOf(ledger, config);
      const accounts = programAccounts(ledger, program, slot, filters);
      const list =
        encoding === "jsonParsed" && isTokenProgram(program)
          ? parsedTokenAccounts(ledger, slot, accounts)
          : accounts.map((k) => ({ pubkey: k.pubkey, account: encodeAccount(k.account, encoding, slice) }));
      return context ? withContext(slot, list) : list;
    },
  };
}

/** The accounts `program` owns as of `slot` that pass every filter, sorted by address (bytes), as validators sort. */
export function programAccounts(
  ledger: SolanaLedger,
  program: string,
  slot: number,
  filters: readonly AccountFilter[],
): KeyedAccount[] {
  const found: (KeyedAccount & { key: Buffer })[] = [];
  for (const pubkey of ledger.addresses()) {
    const account = ledger.account(pubkey, slot);
    if (!account || account.owner !== program || !filters.every((f) => allows(f, account.data))) continue;
    found.push({ pubkey, account, key: Buffer.from(fromBase58(pubkey) ?? []) });
  }
  return found.sort((a, b) => Buffer.compare(a.key, b.key)).map(({ pubkey, account }) => ({ pubkey, account }));
}

/**
 * Token accounts in `jsonParsed`: those a validator cannot parse (no mint, not a token account or mint) are left out,
 * as a validator leaves them out.
 */
export function parsedTokenAccounts(ledger: SolanaLedger, slot: number, accounts: readonly KeyedAccount[]): unknown[] {
  const out: unknown[] = [];
  for (const { pubkey, account } of accounts) {
    const parsed = parsedTokenData(ledger, account, slot);
    if (parsed !== undefined) out.push({ pubkey, account: encodeAccount(account, "jsonParsed", undefined, parsed) });
  }
  return out;
}

function allows(filter: AccountFilter, data: Uint8Array): boolean {
  if ("dataSize" in filter) return data.length === filter.dataSize;
  if ("tokenAccountState" in filter) return isTokenAccountData(data);
  const { offset, bytes } = filter.memcmp;
  if (offset > data.length || data.length - offset < bytes.length) return false;
  return Buffer.from(data.subarray(offset, offset + bytes.length)).equals(bytes);
}

/** The config's `filters` as the validator deserializes them: each a thunk that checks and decodes its bytes. */
function filterShapes(config: Config): (() => AccountFilter)[] {
  const value = config["filters"];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw invalidParams(`Invalid params: invalid type: ${typeName(value)}, expected a sequence.`);
  return value.map(filterShape);
}

/** At most {@link MAX_PROGRAM_ACCOUNT_FILTERS}, then each one's bytes checked, as a validator does after the key. */
function checkedFilters(shapes: readonly (() => AccountFilter)[]): AccountFilter[] {
  if (shapes.length > MAX_PROGRAM_ACCOUNT_FILTERS) {
    throw invalidParams(`Too many filters provided; max ${MAX_PROGRAM_ACCOUNT_FILTERS}`);
  }
  return shapes.map((f) => f());
}

/** Reads one filter's shape (the validator's deserialization); the returned thunk checks and decodes its bytes. */
function filterShape(value: unknown): () => AccountFilter {
  if (value === "tokenAccountState") return () => ({ tokenAccountState: true });
  const keys = typeof value === "object" && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
  if (keys.length !== 1) {
    throw invalidParams(`Invalid params: invalid type: ${typeName(value)}, expected enum RpcFilterType.`);
  }
  const [variant] = keys as [string];
  const inner = (value as Record<string, unknown>)[variant];
  if (variant === "dataSize") {
    const size = integerParam(inner, "dataSize");
    return () => ({ dataSize: size });
  }
  if (variant !== "memcmp") {
    throw invalidParams(
      `Invalid params: unknown variant \`${variant}\`, expected one of \`dataSize\`, \`memcmp\`, \`tokenAccountState\`.`,
    );
  }
  if (typeof inner !== "object" || inner === null || Array.isArray(inner)) {
    throw invalidParams(`Invalid params: invalid type: ${typeName(inner)}, expected struct Memcmp.`);
  }
  const { offset, bytes, encoding } = inner as { offset?: unknown; bytes?: unknown; encoding?: unknown };
  if (offset === undefined) throw invalidParams("Invalid params: missing field `offset`.");
  if (bytes === undefined) throw invalidParams("Invalid params: missing field `bytes`.");
  const at = integerParam(offset, "memcmp.offset");
  if (encoding !== undefined && encoding !== null && encoding !== "base58" && encoding !== "base64") {
    // A validator accepts `bytes` here too, then fails on it for a string; both are -32602 here.
    throw invalidParams(
      `Invalid params: unknown variant \`${String(encoding)}\`, expected one of \`base58\`, \`base64\`.`,
    );
  }
  if (Array.isArray(bytes)) {
    if (!bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
      throw invalidParams("Invalid params: invalid value: expected u8 (memcmp.bytes).");
    }
    return () => {
      if (bytes.length > MAX_MEMCMP_BYTES) throw invalidParams("Invalid param: DataTooLarge");
      return { memcmp: { offset: at, bytes: Uint8Array.from(bytes as number[]) } };
    };
  }
  if (typeof bytes !== "string") {
    throw invalidParams(`Invalid params: invalid type: ${typeName(bytes)}, expected a string or a sequence of u8.`);
  }
  return () => ({ memcmp: { offset: at, bytes: encoding === "base64" ? base64Bytes(bytes) : base58Bytes(bytes) } });
}

function base58Bytes(text: string): Uint8Array {
  if (text.length > MAX_MEMCMP_BASE58_CHARS) throw invalidParams("Invalid param: DataTooLarge");
  const at = [...text].findIndex((c) => !BASE58_ALPHABET.includes(c));
  if (at >= 0) {
    const character = text[at] as string;
    const error =
      character.charCodeAt(0) > 127
        ? `NonAsciiCharacter { index: ${Buffer.byteLength(text.slice(0, at))} }`
        : `InvalidCharacter { character: '${character}', index: ${at} }`;
    throw invalidParams(`Invalid param: Base58DecodeError(${error})`);
  }
  const bytes = fromBase58(text) ?? new Uint8Array();
  if (bytes.length > MAX_MEMCMP_BYTES) throw invalidParams("Invalid param: DataTooLarge");
  return bytes;
}

function base64Bytes(text: string): Uint8Array {
  if (text.length > MAX_MEMCMP_BASE64_CHARS) throw invalidParams("Invalid param: DataTooLarge");
  const symbols = text.replace(/={1,2}$/, "");
  const at = [...symbols].findIndex((c) => !BASE64_ALPHABET.includes(c));
  let error: string | undefined;
  if (at >= 0) error = `InvalidByte(${at}, ${symbols.charCodeAt(at)})`;
  else if (symbols.length % 4 === 1) error = `InvalidLength(${symbols.length})`;
  const bytes = Buffer.from(symbols, "base64");
  if (!error && bytes.toString("base64") !== text) {
    // Padding is required, and the last symbol must not carry bits past the data.
    error =
      bytes.toString("base64").replace(/=+$/, "") === symbols
        ? "InvalidPadding"
        : `InvalidLastSymbol(${symbols.length - 1}, ${symbols.charCodeAt(symbols.length - 1)})`;
  }
  if (error) throw invalidParams(`Invalid param: Base64DecodeError(${error})`);
  if (bytes.length > MAX_MEMCMP_BYTES) throw invalidParams("Invalid param: DataTooLarge");
  return Uint8Array.from(bytes);
}
