/**
 * A transaction of an unsigned type of its stack (an OP-stack deposit) is bound by its hash in every field its
 * encoding holds, but nodes state more: the sender's `nonce` when it ran, and the signature and price fields every
 * transaction object has, which a deposit fills with zeros. Those are checked here: the zeros as stated, the nonce
 * against the sender's nonce proven at the end of the block (every included transaction, a deposit too since
 * Regolith, raises its sender's nonce by one; so a transaction's nonce is the sender's nonce after the block less the
 * transactions the sender has in the block from this one on).
 */
import { sameAddress } from "./sender.ts";

type Json = Record<string, unknown>;

/** Fields an unsigned transaction states that must be zero when stated: it has no price and no signature. */
const ZERO_FIELDS = ["gasPrice", "v", "r", "s"] as const;

/** Why the zero-valued fields of an unsigned transaction cannot be what it states, or undefined when they agree. */
export function unsignedZeroFieldsMismatch(tx: Json): string | undefined {
  for (const name of ZERO_FIELDS) {
    const value = tx[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string" || !/^0x0*$/i.test(value) || value.length < 3)
      return `an unsigned transaction states ${name} ${String(value).slice(0, 80)}`;
  }
  return undefined;
}

/** The nonce transaction `index` of a block ran with, given its sender's nonce proven after the block. */
export function nonceBefore(txs: readonly Json[], index: number, nonceAfterBlock: bigint): bigint {
  const sender = txs[index]!.from;
  let later = 0n;
  for (let j = index; j < txs.length; j++) if (sameAddress(txs[j]!.from, sender)) later++;
  return nonceAfterBlock - later;
}
