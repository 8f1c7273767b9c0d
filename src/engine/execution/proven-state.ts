/**
 * State at an anchored block, proven piece by piece as a call's execution touches it: each account and storage slot
 * from an `eth_getProof` checked against the block's state root, each contract's code from `eth_getCode` checked
 * against its proven code hash. What is proven is kept (per block, shared by concurrent calls; code by its hash, for
 * every block) and a proof is asked once however many calls wait for it. A proof that does not verify is a dispute
 * against its supplier, and the piece is asked of another domain.
 */

import { hexToBytes } from "viem";
import { BaseError } from "../../core/errors.ts";
import { ADDRESS_HEX, type Hex } from "../../core/hex.ts";
import {
  type AccountState,
  EMPTY_CODE_HASH,
  verifyAccountProof,
  verifyCode,
  verifyStorageProof,
} from "../../core/verification/proof.ts";
import { boundedCache } from "../answers/bounded-cache.ts";
import type { CallPlan, ExecuteResult } from "../routing/execute.ts";
import type { AnchoredBlock } from "../verification/state-reads.ts";

/** Proven accounts and storage slots kept, across blocks (a call at a new block proves afresh what it touches). */
export const MAX_PROVEN_STATE_ENTRIES = 32_768;
/** Proven contract codes kept, by code hash. */
export const MAX_PROVEN_CODES = 1_024;
/** Most accounts and slots one access list hint may have proven ahead of a call. */
export const MAX_EXECUTION_PREFETCH = 512;

const SLOT_HEX = /^0x[0-9a-fA-F]{1,64}$/;

export interface ProvenStateIo {
  execute(plan: CallPlan): Promise<ExecuteResult>;
}

/** Something a call needs could not be proven: the call cannot be executed here. */
export class UnprovenStateError extends BaseError<"state_unproven"> {
  override readonly name = "UnprovenStateError";
  readonly code = "state_unproven";
}

export interface ProvenState {
  /** The account, or undefined when the proof shows none. */
  account(address: Hex): Promise<AccountState | undefined>;
  storage(address: Hex, slot: Hex): Promise<bigint>;
  code(address: Hex): Promise<Uint8Array>;
  /** Proofs and codes this view has asked for so far (shared ones included): what the call's bound counts. */
  asked(): number;
}

const pad32 = (slot: Hex): Hex => `0x${BigInt(slot).toString(16).padStart(64, "0")}`;

export function createProvenStates(io: ProvenStateIo) {
  const entries = boundedCache<unknown>(MAX_PROVEN_STATE_ENTRIES);
  const codes = boundedCache<Uint8Array | undefined>(MAX_PROVEN_CODES);

  function prove<T>(block: AnchoredBlock, params: unknown[], read: (proof: unknown) => T | string): Promise<T> {
    return io
      .execute({
        method: "eth_getProof",
        params,
        heavy: false,
        minBlock: block.number,
        verify: (proof) => {
          const value = read(proof);
          return typeof value === "string" ? { ok: false, reason: value } : { ok: true, value };
        },
      })
      .then((r) => {
        if (!r.ok) throw new UnprovenStateError(`no verifiable proof of ${String(params[0])} at block ${block.number}`);
        return r.result as T;
      });
  }

  /** Proves `address` and `slots` at `block` in one request: the account (undefined when absent), each slot's value. */
  function proveMany(block: AnchoredBlock, address: Hex, slots: readonly Hex[]) {
    return prove(block, [address, slots, `0x${block.number.toString(16)}`], (proof) => {
      const checked = verifyAccountProof(block.stateRoot, address, proof);
      if (!checked.ok) return `account proof: ${checked.reason}`;
      const entries = (proof as { storageProof?: unknown[] } | null)?.storageProof;
      const values: bigint[] = [];
      for (const [i, slot] of slots.entries()) {
        const value = verifyStorageProof(checked.account.storageRoot, slot, entries?.[i]);
        if (!value.ok) return `storage proof: ${value.reason}`;
        values.push(value.value);
      }
      return { account: checked.exists ? checked.account : undefined, values };
    });
  }

  const accountKey = (block: AnchoredBlock, address: Hex) => `${block.hash}:${address}`;
  const slotKey = (block: AnchoredBlock, address: Hex, slot: Hex) => `${block.hash}:${address}:${slot}`;
  const keep = () => true;

  /**
   * Proves, one request per account, what an access list (an upstream's `eth_createAccessList`: a hint, never truth)
   * says a call at `block` will read, so the execution finds it proven instead of asking piece by piece. A piece the
   * batch fails to prove is asked for alone; one the hint left out is proven when the execution reads it.
   */
  function prefetch(block: AnchoredBlock, accessList: unknown): void {
    if (!Array.isArray(accessList)) return;
    let items = 0;
    for (const entry of accessList as { address?: unknown; storageKeys?: unknown }[]) {
      const keys = Array.isArray(entry?.storageKeys) ? entry.storageKeys : [];
      if (typeof entry?.address !== "string" || !ADDRESS_HEX.test(entry.address)) continue;
      if (!keys.every((k): k is Hex => typeof k === "string" && SLOT_HEX.test(k))) continue;
      items += 1 + keys.length;
      if (items > MAX_EXECUTION_PREFETCH) return;
      const address = entry.address.toLowerCase() as Hex;
      const slots = keys.map(pad32);
      const batch = proveMany(block, address, slots);
      batch.catch(() => {});
      entries.get(
        accountKey(block, address),
        () =>
          batch.then(
            (b) => b.account,
            () => loadAccount(block, address),
          ),
        keep,
      );
      for (const [i, slot] of slots.entries())
        entries.get(
          slotKey(block, address, slot),
          () =>
            batch.then(
              (b) => b.values[i]!,
              () => loadSlot(block, address, slot),
            ),
          keep,
        );
    }
  }

  const loadAccount = (block: AnchoredBlock, address: Hex) => proveMany(block, address, []).then((b) => b.account);
  const loadSlot = (block: AnchoredBlock, address: Hex, slot: Hex) =>
    proveMany(block, address, [slot]).then((b) => b.values[0]!);

  /** A view of the state at `block` for one call (it counts what the call asks for). */
  function at(block: AnchoredBlock): ProvenState {
    let asked = 0;
    const account = (address: Hex): Promise<AccountState | undefined> => {
      const a = address.toLowerCase() as Hex;
      return entries.get(
        accountKey(block, a),
        () => {
          asked++;
          return loadAccount(block, a);
        },
        keep,
      ) as Promise<AccountState | undefined>;
    };
    return {
      account,
      async storage(address, slot) {
        const a = address.toLowerCase() as Hex;
        const key = pad32(slot);
        if (!(await account(a))) return 0n;
        return entries.get(
          slotKey(block, a, key),
          () => {
            asked++;
            return loadSlot(block, a, key);
          },
          keep,
        ) as Promise<bigint>;
      },
      async code(address) {
        const a = address.toLowerCase() as Hex;
        const owner = await account(a);
        if (!owner || owner.codeHash === EMPTY_CODE_HASH) return new Uint8Array(0);
        const { codeHash } = owner;
        const code = await codes.get(
          codeHash,
          () => {
            asked++;
            return io
              .execute({
                method: "eth_getCode",
                params: [a, `0x${block.number.toString(16)}`],
                heavy: false,
                minBlock: block.number,
                verify: (result) =>
                  verifyCode(codeHash, result)
                    ? { ok: true, value: result }
                    : { ok: false, reason: "code does not match the proven code hash" },
              })
              .then((r) => (r.ok ? hexToBytes(r.result as Hex) : undefined));
          },
          (c) => c !== undefined,
        );
        if (!code) throw new UnprovenStateError(`no verifiable code of ${a} at block ${block.number}`);
        return code;
      },
      asked: () => asked,
    };
  }

  return {
    at,
    prefetch,
    /** Whether `address` at `block` is proven already (or being proven). */
    known: (block: AnchoredBlock, address: Hex) => entries.has(accountKey(block, address.toLowerCase() as Hex)),
  };
}
