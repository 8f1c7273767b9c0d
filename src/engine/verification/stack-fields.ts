/**
 * What an L2 stack states that neither a hash nor a root binds, checked against the block's own state before it is
 * served as proven (`eth_getProof` at the block, against its verified state root; one proof per account and block,
 * shared by every transaction and caller):
 * - the fields a transaction of an unsigned type (an OP-stack deposit, an Arbitrum internal transaction…) states
 *   outside its encoding: those its type fixes (core/encodings/stated.ts), and an OP deposit's `nonce` against the
 *   sender's nonce at the end of the block;
 * - the meaning of an OP-stack header's `withdrawalsRoot` since Isthmus: the storage root of the L2ToL1MessagePasser.
 */
import type { ChainStack } from "../../core/chain-presets.ts";
import { ownTypeOf, STACK_ENCODINGS } from "../../core/encodings/encode.ts";
import { nonceBefore } from "../../core/encodings/stated.ts";
import type { Hex } from "../../core/hex.ts";
import { type AccountState, EMPTY_TRIE_ROOT, verifyAccountProof } from "../../core/verification/proof.ts";
import { boundedCache } from "../answers/bounded-cache.ts";
import type { CallPlan, ExecuteResult } from "../routing/execute.ts";

/** Proven accounts kept, by block hash and address. */
export const MAX_PROVEN_BLOCK_ACCOUNTS = 1_024;

type Json = Record<string, unknown>;

export interface StackFieldsIo {
  stack: ChainStack;
  execute(plan: CallPlan): Promise<ExecuteResult>;
}

export type StackFieldCheck =
  /** Nothing to check, or everything stated agrees. */
  | { ok: true }
  /** The block's supplier stated what is proven false. */
  | { ok: false; reason: string }
  /**
   * What is stated is not what these rules and the proof bear out, where node software may differ (anvil's optimism
   * mode states 0 as every deposit's nonce) or the chain is not of the stack configured: not blamed on the supplier;
   * served, but not as proven.
   */
  | { ok: "unverifiable"; reason: string };

export function createStackFields(io: StackFieldsIo) {
  const stack = STACK_ENCODINGS[io.stack];
  const accounts = boundedCache<AccountState | undefined>(MAX_PROVEN_BLOCK_ACCOUNTS);

  /**
   * `address` at the end of `block`, proven against its state root; undefined when no upstream gave a proof that
   * verifies (not kept). Asked by number, which every provider takes: a node on another branch answers a proof that
   * does not verify, which is not held against it.
   */
  function provenAccount(block: Json, address: Hex): Promise<AccountState | undefined> {
    const stateRoot = block.stateRoot as Hex;
    return accounts.get(
      `${String(block.hash).toLowerCase()}:${address.toLowerCase()}`,
      () =>
        io
          .execute({
            method: "eth_getProof",
            params: [address, [], block.number],
            heavy: false,
            minBlock: Number(BigInt(block.number as string)),
            verify: (proof) => {
              const account = verifyAccountProof(stateRoot, address, proof);
              return account.ok
                ? { ok: true, value: account.account }
                : { ok: false, reason: `account proof: ${account.reason}`, dispute: false };
            },
          })
          .then((r) => (r.ok ? (r.result as AccountState) : undefined)),
      (account) => account !== undefined,
    );
  }

  return {
    /** Transaction `index` of a block whose header and transactions root are verified. */
    async transaction(block: Json, index: number): Promise<StackFieldCheck> {
      const txs = block.transactions as Json[];
      const tx = txs[index]!;
      const own = ownTypeOf(tx, io.stack);
      if (!own) return { ok: true };
      const stated = own.stated(tx);
      if (stated.ok !== true || !own.nonceFromState) return stated;
      const sender = own.sender(tx) as Hex | undefined;
      if (!sender || tx.nonce === undefined || tx.nonce === null) return { ok: true };
      const after = await provenAccount(block, sender);
      if (!after) return { ok: "unverifiable", reason: `no proof of ${sender}'s nonce after the block could be had` };
      const expected = nonceBefore(txs, index, after.nonce);
      if (typeof tx.nonce === "string" && /^0x[0-9a-f]{1,16}$/i.test(tx.nonce) && BigInt(tx.nonce) === expected)
        return { ok: true };
      return {
        ok: "unverifiable",
        reason: `an unsigned transaction states nonce ${String(tx.nonce).slice(0, 40)}, proven 0x${expected.toString(16)}`,
      };
    },

    /**
     * A verified header's `withdrawalsRoot` where the stack gives it a meaning of its own (the OP stack: the empty
     * list's root before Isthmus, the message passer's storage root since).
     */
    async withdrawalsRoot(block: Json): Promise<StackFieldCheck> {
      const account = stack.withdrawalsRootAccount;
      const root = typeof block.withdrawalsRoot === "string" ? block.withdrawalsRoot.toLowerCase() : undefined;
      if (!account || root === undefined || root === EMPTY_TRIE_ROOT) return { ok: true };
      // Without a proof the root stands as the header hash binds it; only a proof that contradicts its meaning counts.
      const proven = await provenAccount(block, account);
      if (!proven) return { ok: true };
      if (proven.storageRoot.toLowerCase() === root) return { ok: true };
      return {
        ok: "unverifiable",
        reason: `withdrawalsRoot ${root} is not the storage root of ${account} (${proven.storageRoot}): is the chain's stack right?`,
      };
    },
  };
}
