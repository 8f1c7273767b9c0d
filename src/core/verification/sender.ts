/**
 * A transaction's sender is not part of what its hash covers: nodes derive `from` from the signature. Recovering it
 * (secp256k1, about a millisecond in JavaScript) binds `from` to the transaction's content, so a node cannot put
 * someone else's address there.
 */
import { bytesToHex, getAddress, getContractAddress, recoverTransactionAddress } from "viem";
import type { ChainStack } from "../chain-presets.ts";
import { committedSender, encodeTransaction, STACK_ENCODINGS } from "../encodings/encode.ts";
import { UnsupportedTypeError } from "../encodings/fields.ts";
import type { Hex } from "../hex.ts";

/**
 * The address that signed a transaction JSON object (whose encoding the caller has already checked). A transaction of
 * an unsigned type of its stack (an OP-stack deposit) has its `from` in its encoding: the checked hash binds it.
 */
export async function recoverSender(tx: unknown, stack: ChainStack = "ethereum"): Promise<Hex> {
  const committed = committedSender(tx, stack);
  if (committed) return committed;
  if (STACK_ENCODINGS[stack].uncommitted?.(tx as Record<string, unknown>))
    throw new UnsupportedTypeError("a transaction no root commits to has no sender to recover");
  const serialized = bytesToHex(encodeTransaction(tx, stack));
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
