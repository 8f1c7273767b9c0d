/**
 * State at an anchored block, proven piece by piece as a call's execution touches it: each account and storage slot
 * from an `eth_getProof` checked against the block's state root, each contract's code from `eth_getCode` checked
 * against its proven code hash. What is proven is kept (per block, shared by concurrent calls; code by its hash, for
 * every block) and a proof is asked once however many calls wait for it. A proof that does not verify is a dispute
 * against its supplier, and the piece is asked of another domain.
 */
import { hexToBytes } from "viem";
import type { Hex } from "../../core/hex.ts";
import {
  type AccountState,
  EMPTY_CODE_HASH,
  verifyAccountProof,
  verifyCode,
  verifyStorageProof,
} from "../../core/proof.ts";
import { boundedCache } from "../bounded-cache.ts";
import type { CallPlan, ExecuteResult } from "../execute.ts";
import type { AnchoredBlock } from "../state-reads.ts";

/** Proven accounts and storage slots kept, across blocks (a call at a new block proves afresh what it touches). */
export const MAX_PROVEN_STATE_ENTRIES = 32_768;
/** Proven contract codes kept, by code hash. */
export const MAX_PROVEN_CODES = 1_024;

export interface ProvenStateIo {
  execute(plan: CallPlan): Promise<ExecuteResult>;
}

/** Something a call needs could not be proven: the call cannot be executed here. */
export class UnprovenStateError extends Error {
  override name = "UnprovenStateError";
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

  /** A view of the state at `block` for one call (it counts what the call asks for). */
  function at(block: AnchoredBlock): ProvenState {
    let asked = 0;
    const number = `0x${block.number.toString(16)}`;
    const keep = () => true;
    const account = (address: Hex): Promise<AccountState | undefined> => {
      const a = address.toLowerCase() as Hex;
      return entries.get(
        `${block.hash}:${a}`,
        () => {
          asked++;
          return prove(block, [a, [], number], (proof) => {
            const checked = verifyAccountProof(block.stateRoot, a, proof);
            if (!checked.ok) return `account proof: ${checked.reason}`;
            return checked.exists ? checked.account : null;
          }).then((v) => v ?? undefined);
        },
        keep,
      ) as Promise<AccountState | undefined>;
    };
    return {
      account,
      async storage(address, slot) {
        const a = address.toLowerCase() as Hex;
        const key = pad32(slot);
        const owner = await account(a);
        if (!owner) return 0n;
        return entries.get(
          `${block.hash}:${a}:${key}`,
          () => {
            asked++;
            return prove(block, [a, [key], number], (proof) => {
              const checked = verifyAccountProof(block.stateRoot, a, proof);
              if (!checked.ok) return `account proof: ${checked.reason}`;
              const entry = (proof as { storageProof?: unknown[] } | null)?.storageProof?.[0];
              const slotValue = verifyStorageProof(checked.account.storageRoot, key, entry);
              return slotValue.ok ? slotValue.value : `storage proof: ${slotValue.reason}`;
            });
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
                params: [a, number],
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

  return { at };
}
