/**
 * Strict readers for the hex strings of untrusted JSON-RPC answers. viem's `hexToBytes` pads odd-length input and
 * accepts any length; these readers reject what a well-behaved node never sends, so a verifier never reasons about
 * bytes the node did not actually state.
 */

import { hexToBytes } from "viem";
import { BaseError } from "./errors.ts";

export type Hex = `0x${string}`;

/** A value in an untrusted answer is not the hex string it must be. */
export class HexFormatError extends BaseError<"hex_format"> {
  override readonly name = "HexFormatError";
  readonly code = "hex_format";
}

const DATA = /^0x(?:[0-9a-fA-F]{2})*$/;
/** A 20-byte address, any case. */
export const ADDRESS_HEX = /^0x[0-9a-fA-F]{40}$/;
/** A 32-byte hash (block, transaction, topic), any case. */
export const HASH_HEX = /^0x[0-9a-fA-F]{64}$/;
/** Quantities may carry leading zeros (some nodes pad them); their numeric value is what counts. */
const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;

export interface DataOptions {
  /** The exact length the value must have, in bytes. */
  bytes?: number;
  /** The largest length accepted, in bytes. */
  maxBytes?: number;
}

/** Even-length `0x` hex → bytes; `what` names the value in the error. */
export function readData(value: unknown, what: string, options: DataOptions = {}): Uint8Array {
  if (typeof value !== "string") throw new HexFormatError(`${what} is not a hex string (${typeof value})`);
  const length = (value.length - 2) / 2;
  if (options.bytes !== undefined && length !== options.bytes) {
    throw new HexFormatError(`${what} must be ${options.bytes} bytes of hex`);
  }
  if (options.maxBytes !== undefined && length > options.maxBytes) {
    throw new HexFormatError(`${what} is longer than ${options.maxBytes} bytes`);
  }
  if (!DATA.test(value)) throw new HexFormatError(`${what} is not even-length 0x-prefixed hex`);
  return hexToBytes(value as Hex);
}

/** `0x`-prefixed hex quantity of at most 256 bits → bigint. */
export function readQuantity(value: unknown, what: string): bigint {
  if (typeof value !== "string") throw new HexFormatError(`${what} is not a hex quantity (${typeof value})`);
  if (!QUANTITY.test(value)) throw new HexFormatError(`${what} is not a 0x-prefixed hex quantity of at most 32 bytes`);
  return BigInt(value);
}

/** Minimal big-endian bytes of a non-negative integer, as RLP encodes integers (zero is empty). */
export function quantityBytes(value: bigint): Uint8Array {
  if (value === 0n) return new Uint8Array(0);
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return hexToBytes(`0x${hex}`);
}

/** Big-endian bytes → bigint (empty is zero). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
