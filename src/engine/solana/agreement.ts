/**
 * A Solana read answered by agreement: the same call goes to independent upstreams (different outage domain and
 * operator), each with `minContextSlot` at the slot Multihome already agreed on, and it is served only when two of them
 * return the same `value` at the same `context.slot`. Answers at different slots are never compared: the call is asked
 * again with the floor raised to the higher slot. Two answers at one slot that differ are a disagreement: one more
 * independent upstream is asked at that slot, and whoever the agreeing pair contradicts is disputed.
 */

import { areIndependent } from "../../core/domains/domain.ts";
import type { MultihomeError } from "../../core/errors.ts";
import { canonicalJson } from "../../core/rpc/cache-policy.ts";
import type { RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import { contextOf } from "../../core/solana/methods.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { CallPlan, ExecuteResult, Verdict } from "../routing/execute.ts";
import { createWitnessing, noAgreement } from "../routing/quorum.ts";

/** Rounds of asking before a read gives up: each raises the floor to the highest slot seen, or breaks a tie. */
export const SLOT_AGREEMENT_ROUNDS = 3;
/** How far past the agreed processed slot an answer's slot may be (slots its head polls have not seen yet). */
export const SLOT_LEAD_MAX = 32;

export interface SlotWitness {
  upstream: Upstream;
  slot: number;
  /** The value, canonical: what is compared. */
  key: string;
  result: unknown;
}

export type SlotAgreement =
  | { ok: true; result: unknown; slot: number; witnesses: Upstream[] }
  /** Independent domains gave the same error (bad params, say): the chain's answer, passed on. */
  | { ok: false; rpcError: RpcErrorObject; witnesses: Upstream[] }
  | { ok: false; error: MultihomeError };

const independent = (a: Upstream, b: Upstream) => areIndependent(a.domain, b.domain);

/** The first pair of independent witnesses at `slot` that gave the same value. */
function agreedAt(witnesses: SlotWitness[], slot: number): SlotWitness[] | undefined {
  const here = witnesses.filter((w) => w.slot === slot);
  for (const a of here) {
    const alike = here.filter((b) => b.key === a.key);
    if (alike.some((b) => b !== a && independent(a.upstream, b.upstream))) return alike;
  }
  return undefined;
}

export async function executeAtOneSlot(
  run: (plan: CallPlan) => Promise<ExecuteResult>,
  /** The plan for a floor: the call's params with `minContextSlot` raised to it. */
  planAt: (floor: number) => CallPlan,
  floor: number,
  /**
   * The highest slot an answer may be at: a little past the agreed processed slot. One far above it is not compared
   * and raises no floor — else one upstream inventing a future slot would send every other domain to -32016.
   */
  ceiling: number,
  onDispute: (upstream: Upstream, reason: string) => void,
): Promise<SlotAgreement> {
  /** Each upstream's latest answer: one upstream is one witness, however often it was asked. */
  const latest = new Map<string, SlotWitness>();
  const why = new Set<string>();
  /** Upstreams not asked again for this read: they answered from past the ceiling. */
  const passedOver = new Set<string>();
  /** Upstreams that answered with an error of the chain's (not a failure): the answer when independent ones agree. */
  const errors = new Map<string, { upstream: Upstream; key: string; rpcError: RpcErrorObject }>();
  let target = floor;
  for (let round = 0; round < SLOT_AGREEMENT_ROUNDS; round++) {
    const atTarget = [...latest.values()].filter((w) => w.slot === target);
    // Asked: those not yet heard at this slot, independent of whoever already answered there.
    const plan = planAt(target);
    const witnessing = createWitnessing(
      (p) =>
        run({
          ...p,
          avoid: (u) =>
            passedOver.has(u.id) ||
            atTarget.some((w) => w.upstream === u || !independent(w.upstream, u)) ||
            !!p.avoid?.(u),
        }),
      { ...plan, verify: (result) => checkEnvelope(result, target, plan.verify) },
    );
    await Promise.all(Array.from({ length: Math.max(1, 2 - atTarget.length) }, witnessing.ask));
    for (const reason of witnessing.missing) why.add(reason);
    for (const w of witnessing.witnessed) {
      if (!w.result.ok) {
        errors.set(w.upstream.id, { upstream: w.upstream, key: w.answer, rpcError: w.result.rpcError });
        continue;
      }
      const envelope = contextOf(w.result.result)!;
      if (envelope.slot > ceiling) {
        why.add(`answered at slot ${envelope.slot}, past the slots independent domains have reached`);
        passedOver.add(w.upstream.id);
        continue;
      }
      latest.set(w.upstream.id, {
        upstream: w.upstream,
        slot: envelope.slot,
        key: canonicalJson(envelope.value),
        result: w.result.result,
      });
    }
    const witnesses = [...latest.values()];
    const slots = [...new Set(witnesses.map((w) => w.slot))].sort((a, b) => b - a);
    for (const slot of slots) {
      const pair = agreedAt(witnesses, slot);
      if (!pair) continue;
      for (const w of witnesses)
        if (w.slot === slot && w.key !== pair[0]!.key)
          onDispute(w.upstream, "value differs from independent domains at the same slot");
      return { ok: true, result: pair[0]!.result, slot, witnesses: pair.map((w) => w.upstream) };
    }
    const erred = [...errors.values()];
    const sameError = erred.find((a) =>
      erred.some((b) => b !== a && b.key === a.key && independent(a.upstream, b.upstream)),
    );
    if (sameError && witnesses.length === 0)
      return {
        ok: false,
        rpcError: sameError.rpcError,
        witnesses: erred.filter((e) => e.key === sameError.key).map((e) => e.upstream),
      };
    if (witnesses.length === 0 && erred.length === 0) break;
    // No pair yet: a tie at the highest slot is broken there, a spread of slots is closed at the highest.
    target = Math.max(target, slots[0]!);
  }
  const disagreed = agreedSlotsDisagree([...latest.values()]);
  return { ok: false, error: noAgreement(2, latest.size, disagreed, why) };
}

/** Two independent witnesses gave different values at one slot. */
function agreedSlotsDisagree(witnesses: SlotWitness[]): boolean {
  return witnesses.some((a) =>
    witnesses.some((b) => a.slot === b.slot && a.key !== b.key && independent(a.upstream, b.upstream)),
  );
}

/**
 * An answer is a context envelope at or above the floor asked for. One below it is a node that ignored
 * `minContextSlot`: not an answer (no dispute — it may be an older node), the call moves on.
 */
function checkEnvelope(result: unknown, floor: number, then: CallPlan["verify"]): Verdict {
  const envelope = contextOf(result);
  if (!envelope) return { ok: false, reason: "not a context envelope ({ context: { slot }, value })" };
  if (envelope.slot < floor)
    return { ok: false, reason: `answered at slot ${envelope.slot}, below the floor ${floor}`, dispute: false };
  return then ? then(result) : { ok: true, value: result };
}
