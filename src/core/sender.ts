/**
 * A transaction's sender is not part of what its hash covers: nodes derive `from` from the signature. Recovering it
 * (secp256k1, about a millisecond in JavaScript) binds `from` to the transaction's content, so a node cannot put
 * someone else's address there.
 */
import { bytesToHex, getAddress, getContractAddress, recoverTransactionAddress } from "viem";
import type { Hex } from "./hex.ts";
import { encodeTransaction } from "./roots.ts";

/** The address that signed a transaction JSON object (whose encoding the caller has already checked). */
export async function recoverSender(tx: unknown): Promise<Hex> {
  const serialized = bytesToHex(encodeTransaction(tx));
  return await recoverTransactionAddress({ serializedTransaction: serialized as never });
}

/** Addresses compare without their checksum case. */
export function sameAddress(a: unknown, b: unknown): boolean {
  return typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();
}

/** The address a contract creation by `from` with `nonce` deploys to. */
export function createdAddress(from: Hex, nonce: bigint): Hex {
  return getContractAddress({ from: getAddress(from), nonce });
}
