/**
 * The fields a transaction of an unsigned L2 type (an OP-stack deposit, an Arbitrum internal transaction…) states
 * outside its encoding, checked before it is served: those its type fixes (core/encodings/stated.ts), and an OP
 * deposit's `nonce` against the sender's nonce proven at the end of the very block (`eth_getProof` at the block's hash,
 * against its verified state root). One proof per sender and block, shared by every transaction and caller.
 */
import type { ChainStack } from "../core/chain-presets.ts";
import { ownTypeOf } from "../core/encodings/encode.ts";
import { nonceBefore } from "../core/encodings/stated.ts";
import { MultihomeError } from "../core/errors.ts";
import type { Hex } from "../core/hex.ts";
import { verifyAccountProof } from "../core/proof.ts";
import type { CallPlan, ExecuteResult } from "./execute.ts";

/** Proven sender nonces kept, by block hash and sender. */
export const MAX_PROVEN_SENDER_NONCES = 1_024;

type Json = Record<string, unknown>;

export interface UnsignedFieldsIo {
  stack: ChainStack;
  execute(plan: CallPlan): Promise<ExecuteResult>;
}

export type UnsignedCheck =
  /** Not an unsigned transaction, or every field it states agrees. */
  | { ok: true }
  /** The block's supplier stated what is proven false. */
  | { ok: false; reason: string }
  /**
   * A stated field these rules cannot bear out where node software may differ (anvil's optimism mode states 0 as
   * every deposit's nonce): not blamed on the supplier; the block is served, but not as proven.
   */
  | { ok: "unverifiable"; reason: string }
  /** No proof could be had: nothing is known false, nothing can be served as proven. */
  | { ok: "unavailable"; error: MultihomeError };

export function createUnsignedFields(io: UnsignedFieldsIo) {
  const nonces = new Map<string, Promise<bigint | MultihomeError>>();

  /** `address`'s nonce after `block`, proven against its state root (failures are not kept). */
  function nonceAfter(block: Json, address: Hex): Promise<bigint | MultihomeError> {
    const key = `${String(block.hash).toLowerCase()}:${address.toLowerCase()}`;
    const hit = nonces.get(key);
    if (hit) return hit;
    const stateRoot = block.stateRoot as Hex;
    const pending = io
      .execute({
        method: "eth_getProof",
        params: [address, [], { blockHash: block.hash }],
        heavy: false,
        minBlock: Number(BigInt(block.number as string)),
        verify: (proof) => {
          const account = verifyAccountProof(stateRoot, address, proof);
          return account.ok
            ? { ok: true, value: account.account.nonce }
            : { ok: false, reason: `account proof: ${account.reason}` };
        },
      })
      .then((r) =>
        r.ok
          ? (r.result as bigint)
          : new MultihomeError(
              "unavailable",
              `no verifiable answer: the nonce of ${address} after block ${block.number}`,
            ),
      );
    nonces.set(key, pending);
    if (nonces.size > MAX_PROVEN_SENDER_NONCES) nonces.delete(nonces.keys().next().value!);
    void pending.then((v) => v instanceof MultihomeError && nonces.get(key) === pending && nonces.delete(key));
    return pending;
  }

  return {
    /** Transaction `index` of a block whose header and transactions root are verified. */
    async check(block: Json, index: number): Promise<UnsignedCheck> {
      const txs = block.transactions as Json[];
      const tx = txs[index]!;
      const own = ownTypeOf(tx, io.stack);
      if (!own) return { ok: true };
      const stated = own.stated(tx);
      if (stated.ok !== true || !own.nonceFromState) return stated;
      const sender = own.sender(tx) as Hex | undefined;
      if (!sender || tx.nonce === undefined || tx.nonce === null) return { ok: true };
      const after = await nonceAfter(block, sender);
      if (after instanceof MultihomeError) return { ok: "unavailable", error: after };
      const expected = nonceBefore(txs, index, after);
      if (typeof tx.nonce === "string" && /^0x[0-9a-f]{1,16}$/i.test(tx.nonce) && BigInt(tx.nonce) === expected)
        return { ok: true };
      return {
        ok: "unverifiable",
        reason: `an unsigned transaction states nonce ${String(tx.nonce).slice(0, 40)}, proven 0x${expected.toString(16)}`,
      };
    },
  };
}
