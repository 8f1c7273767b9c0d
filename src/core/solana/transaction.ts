/**
 * What Multihome reads of a signed Solana transaction without trusting anyone: its bytes (as `sendTransaction` was
 * given them) and its first signature, which is the transaction's id. A node answering `sendTransaction` with any other
 * signature is lying about what it did.
 */
import { base58, base64 } from "@scure/base";

/** A Solana transaction is at most one packet: 1232 bytes on the wire. */
export const SOLANA_MAX_TRANSACTION_BYTES = 1_232;
const SIGNATURE_BYTES = 64;

/** The bytes of a `sendTransaction` param in its encoding (base58 unless `{ encoding: "base64" }`). */
export function transactionBytes(encoded: unknown, config: unknown): Uint8Array | undefined {
  if (typeof encoded !== "string" || encoded.length === 0) return undefined;
  const encoding = config && typeof config === "object" ? (config as { encoding?: unknown }).encoding : undefined;
  try {
    if (encoding === "base64") return base64.decode(encoded);
    if (encoding === undefined || encoding === null || encoding === "base58") return base58.decode(encoded);
  } catch {
    return undefined;
  }
  return undefined;
}

/** The transaction's id: its first signature, base58; undefined when the bytes are not a signed transaction. */
export function firstSignature(bytes: Uint8Array): string | undefined {
  if (bytes.length > SOLANA_MAX_TRANSACTION_BYTES) return undefined;
  // The signature count is a compact-u16; a transaction has at least one and at most 127 (one byte).
  const count = bytes[0];
  if (count === undefined || count === 0 || count > 0x7f) return undefined;
  if (bytes.length < 1 + count * SIGNATURE_BYTES) return undefined;
  return base58.encode(bytes.subarray(1, 1 + SIGNATURE_BYTES));
}

/** A compact-u16 at `at`: its value and the offset after it; undefined when the bytes end first. */
function compactU16(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    const byte = bytes[at + i];
    if (byte === undefined) return undefined;
    value |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) === 0) return { value, next: at + i + 1 };
  }
  return undefined;
}

/**
 * The blockhash a transaction is valid for (its lifetime), base58; undefined when the bytes are not a transaction.
 * After the signatures: a version prefix (v0 and later), a three-byte header, the account keys, then the blockhash.
 */
export function recentBlockhash(bytes: Uint8Array): string | undefined {
  const signatures = compactU16(bytes, 0);
  if (!signatures) return undefined;
  let at = signatures.next + signatures.value * SIGNATURE_BYTES;
  const first = bytes[at];
  if (first === undefined) return undefined;
  if (first & 0x80) at++;
  const keys = compactU16(bytes, at + 3);
  if (!keys) return undefined;
  const start = keys.next + keys.value * 32;
  if (bytes.length < start + 32) return undefined;
  return base58.encode(bytes.subarray(start, start + 32));
}
