/**
 * Reading the fields of untrusted transaction, receipt and log JSON objects into the byte strings their consensus
 * encodings are made of. Every reader is strict (a missing or malformed field is a RootFormatError naming it) and
 * bounded (the limits below), so a hostile answer costs what its size says and no more.
 */
import { BaseError } from "../errors.ts";
import { type Hex, HexFormatError, quantityBytes, readData, readQuantity } from "../hex.ts";

/** Largest transaction `input`, in bytes: EIP-7934 caps a whole block at 10 MiB of RLP. */
export const MAX_TRANSACTION_INPUT_BYTES = 10 * 1024 * 1024;
/** Most access-list items (addresses plus storage keys) in one transaction: a key costs 1,900 gas. */
export const MAX_ACCESS_LIST_ITEMS = 65_536;
/** Most EIP-7702 authorizations in one transaction: each costs at least 12,500 gas. */
export const MAX_AUTHORIZATIONS = 8_192;
/** Most blob versioned hashes in one transaction (mainnet allows 6 since Osaka). */
export const MAX_BLOB_HASHES = 64;

/** A field of a transaction, receipt, log or withdrawal is missing or is not what it must be. */
export class RootFormatError extends BaseError<"root_format"> {
  override readonly name = "RootFormatError";
  readonly code = "root_format";
}

/** A transaction or receipt of a type whose consensus encoding is not known here (on this chain's stack). */
export class UnsupportedTypeError extends BaseError<"unsupported_type"> {
  override readonly name = "UnsupportedTypeError";
  readonly code = "unsupported_type";
}

export type RlpValue = Uint8Array | readonly RlpValue[];
export type Json = Record<string, unknown>;

export const EMPTY = new Uint8Array(0);

/** How a stack's own encodings read a JSON object, so every stack reads fields the same strict way. */
export interface FieldReaders {
  quantity(name: string): Uint8Array;
  data(name: string, bytes?: number): Uint8Array;
  address(name: string): Uint8Array;
  /** `to`, empty for a contract creation. */
  to(): Uint8Array;
  input(): Uint8Array;
  /** Whether the field is stated at all (not undefined or null). */
  has(name: string): boolean;
  flag(name: string): boolean;
}

export function readers(json: Json): FieldReaders {
  const stated = (name: string) => json[name] !== undefined && json[name] !== null;
  return {
    quantity: (name) => qty(json, name),
    data: (name, bytes) => readData(json[name], name, bytes === undefined ? {} : { bytes }),
    address: (name) => readData(json[name], name, { bytes: 20 }),
    to: () => to(json, true),
    input: () => input(json),
    has: stated,
    // op-geth states a flag as a boolean, nodes built on op-alloy (op-reth, anvil) as a quantity: "0x1" when true.
    flag: (name) => {
      if (!stated(name)) return false;
      const value = json[name];
      if (typeof value === "boolean") return value;
      if (value === "0x0" || value === "0x1") return value === "0x1";
      throw new RootFormatError(`${name} is neither a boolean nor 0x0 or 0x1`);
    },
  };
}

export function qty(json: Json, name: string): Uint8Array {
  return quantityBytes(readQuantity(json[name], name));
}

export function input(json: Json): Uint8Array {
  return readData(json.input, "input", { maxBytes: MAX_TRANSACTION_INPUT_BYTES });
}

/** `to`, or empty bytes for a contract creation (`null`) where the type allows one. */
export function to(json: Json, creationAllowed: boolean): Uint8Array {
  if ((json.to === null || json.to === undefined) && creationAllowed) return EMPTY;
  return readData(json.to, "to", { bytes: 20 });
}

/** [yParity, r, s]; typed transactions state `yParity`, `v` or both (equal): `yParity` wins when present. */
export function signature(json: Json): Uint8Array[] {
  const name = json.yParity !== undefined && json.yParity !== null ? "yParity" : "v";
  const yParity = readQuantity(json[name], name);
  if (yParity > 1n) throw new RootFormatError(`${name} ${hexOf(yParity)} is not a y parity (0 or 1)`);
  return [quantityBytes(yParity), qty(json, "r"), qty(json, "s")];
}

export function accessList(value: unknown): RlpValue[] {
  if (!Array.isArray(value)) throw new RootFormatError("accessList is not an array");
  let items = 0;
  return value.map((entry, i) => {
    const what = `accessList[${i}]`;
    const item = asRecord(entry, what);
    const keys = item.storageKeys;
    if (!Array.isArray(keys)) throw new RootFormatError(`${what}.storageKeys is not an array`);
    items += 1 + keys.length;
    if (items > MAX_ACCESS_LIST_ITEMS)
      throw new RootFormatError(`accessList has more than ${MAX_ACCESS_LIST_ITEMS} items`);
    return [
      readData(item.address, `${what}.address`, { bytes: 20 }),
      keys.map((key, j) => readData(key, `${what}.storageKeys[${j}]`, { bytes: 32 })),
    ];
  });
}

export function blobHashes(value: unknown): Uint8Array[] {
  if (!Array.isArray(value)) throw new RootFormatError("blobVersionedHashes is not an array");
  if (value.length > MAX_BLOB_HASHES) throw new RootFormatError(`more than ${MAX_BLOB_HASHES} blobVersionedHashes`);
  return value.map((hash, i) => readData(hash, `blobVersionedHashes[${i}]`, { bytes: 32 }));
}

export function authorizations(value: unknown): RlpValue[] {
  if (!Array.isArray(value)) throw new RootFormatError("authorizationList is not an array");
  if (value.length > MAX_AUTHORIZATIONS) throw new RootFormatError(`more than ${MAX_AUTHORIZATIONS} authorizations`);
  return value.map((entry, i) => {
    const what = `authorizationList[${i}]`;
    const auth = asRecord(entry, what);
    try {
      return [
        qty(auth, "chainId"),
        readData(auth.address, "address", { bytes: 20 }),
        qty(auth, "nonce"),
        ...signature(auth),
      ];
    } catch (error) {
      if (error instanceof HexFormatError || error instanceof RootFormatError)
        throw new RootFormatError(`${what}: ${error.message}`, { cause: error });
      throw error;
    }
  });
}

export function asRecord(value: unknown, what: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RootFormatError(`${what} is not an object`);
  }
  return value as Json;
}

/** The encoders' contract: malformed input is a RootFormatError, whatever reader noticed it. */
export function withFormatErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof HexFormatError) throw new RootFormatError(error.message, { cause: error });
    throw error;
  }
}

export function hexOf(value: bigint): Hex {
  return `0x${value.toString(16)}`;
}
