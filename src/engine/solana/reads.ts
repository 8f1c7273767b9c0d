/**
 * How a Solana cluster answers reads: agreed at one slot by independent domains (account reads, blockhashes,
 * signature statuses, program accounts), from the agreed view (the slot), agreed exactly once and kept (finalized
 * blocks and transactions), or on one upstream's word, labelled so. When nothing can be agreed, the last agreed value
 * goes with the error — or is the answer, for a client that opted into staleness.
 */
import { MultihomeError } from "../../core/errors.ts";
import { createByteLru } from "../../core/lru.ts";
import type { Clock } from "../../core/ports.ts";
import { canonicalJson } from "../../core/rpc/cache-policy.ts";
import type { RpcCall, RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import {
  clientMinContextSlot,
  commitmentOfCall,
  MIN_CONTEXT_SLOT_NOT_REACHED,
  withContextAsked,
  withMinContextSlot,
} from "../../core/solana/methods.ts";
import type { Commitment, SlotBook } from "../../core/solana/slots.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { CallPlan, ExecuteResult } from "../routing/execute.ts";
import { executeQuorum } from "../routing/quorum.ts";
import { executeAtOneSlot, SLOT_LEAD_MAX } from "./agreement.ts";
import type { SolanaAnswer, SolanaEvidence } from "./answer.ts";
import { createSolanaLastKnownGood } from "./last-known-good.ts";

/** Bytes of finalized Solana blocks and transactions a cluster keeps in memory once agreed. */
export const SOLANA_IMMUTABLE_CACHE_BYTES = 16 * 1024 * 1024;

export const NONE: SolanaEvidence = { verified: "none" };

export interface SolanaReadDeps {
  clock: Clock;
  book: SlotBook;
  run(plan: CallPlan): Promise<ExecuteResult>;
  onDispute(upstream: Upstream, reason: string): void;
  /** An upstream's error as a client may see it (no upstream URL in it). */
  cleanError(error: RpcErrorObject): RpcErrorObject;
}

export function createSolanaReads(deps: SolanaReadDeps) {
  const { clock, book, run, onDispute, cleanError } = deps;
  const lastKnownGood = createSolanaLastKnownGood(clock);

  /** The commitment a call is asked at and the client's own `minContextSlot`, or the error for invalid ones. */
  function freshnessOf(call: RpcCall): { commitment: Commitment; min: number | undefined } | SolanaAnswer {
    const commitment = commitmentOfCall(call.method, call.params);
    const min = clientMinContextSlot(call.method, call.params);
    if (commitment !== undefined && min !== "invalid") return { commitment, min };
    const error = new MultihomeError("invalid_params", "invalid params: commitment or minContextSlot");
    return { ok: false, error, evidence: NONE };
  }

  async function agreedRead(call: RpcCall, maxStalenessSeconds?: number): Promise<SolanaAnswer> {
    const asked = freshnessOf(call);
    if ("ok" in asked) return asked;
    const { commitment, min } = asked;
    const floor = Math.max(min ?? 0, book.agreed(commitment) ?? 0);
    const { params, clientAsked } = withContextAsked(call.method, call.params);
    const agreement = await executeAtOneSlot(
      run,
      (at) => ({
        method: call.method,
        params: withMinContextSlot(call.method, params, at),
        heavy: false,
        minBlock: undefined,
      }),
      floor,
      Math.max(floor, book.agreed("processed") ?? 0) + SLOT_LEAD_MAX,
      (u, reason) => onDispute(u, reason),
    );
    const key = `${call.method}:${canonicalJson(withMinContextSlot(call.method, call.params, 0))}`;
    if (agreement.ok) {
      const domains = [...new Set(agreement.witnesses.map((u) => u.outageDomain))];
      const evidence: SolanaEvidence = {
        verified: "quorum",
        slot: agreement.slot,
        upstream: agreement.witnesses[0]!.id,
        domains,
      };
      // Agreed on the envelope; served as the client asked (a plain array when it did not ask `withContext`).
      const result = clientAsked ? agreement.result : (agreement.result as { value: unknown }).value;
      lastKnownGood.remember(key, result, agreement.slot, domains);
      return { ok: true, result, evidence };
    }
    if ("rpcError" in agreement)
      return { ok: false, rpcError: cleanError(agreement.rpcError), evidence: { verified: "quorum" } };
    const known = lastKnownGood.get(key);
    if (known && maxStalenessSeconds !== undefined && known.ageSeconds <= maxStalenessSeconds) {
      const evidence: SolanaEvidence = { verified: "quorum", slot: known.slot, domains: known.evidence.domains };
      return { ok: true, result: known.value, evidence: { ...evidence, staleSeconds: known.ageSeconds } };
    }
    const error = known
      ? new MultihomeError("unavailable", agreement.error.message, {
          data: { ...agreement.error.data, lastKnownGood: known },
        })
      : agreement.error;
    return { ok: false, error, evidence: NONE };
  }

  function agreedSlot(call: RpcCall): SolanaAnswer {
    const asked = freshnessOf(call);
    if ("ok" in asked) return asked;
    const { commitment, min } = asked;
    const slot = book.agreed(commitment);
    if (slot === undefined)
      return {
        ok: false,
        error: new MultihomeError("unavailable", "no slot is agreed by independent domains yet"),
        evidence: NONE,
      };
    if (min !== undefined && slot < min)
      return {
        ok: false,
        rpcError: {
          code: MIN_CONTEXT_SLOT_NOT_REACHED,
          message: "Minimum context slot has not been reached",
          data: { contextSlot: slot },
        },
        evidence: { verified: "quorum", slot },
      };
    return { ok: true, result: slot, evidence: { verified: "quorum", slot } };
  }

  async function single(call: RpcCall): Promise<SolanaAnswer> {
    const r = await run({ method: call.method, params: call.params, heavy: false, minBlock: undefined });
    if (r.ok) return { ok: true, result: r.result, evidence: { verified: "single", upstream: r.upstream } };
    if ("rpcError" in r)
      return { ok: false, rpcError: cleanError(r.rpcError), evidence: { verified: "single", upstream: r.upstream } };
    return { ok: false, error: r.error, evidence: NONE };
  }

  /** Finalized blocks and transactions never change: agreed once by independent domains, then served from memory. */
  const immutables = createByteLru<unknown>(SOLANA_IMMUTABLE_CACHE_BYTES);
  async function immutable(call: RpcCall): Promise<SolanaAnswer> {
    if (commitmentOfCall(call.method, call.params) !== "finalized") return single(call);
    const key = `${call.method}:${canonicalJson(call.params)}`;
    const cached = immutables.get(key, clock.now());
    if (cached !== undefined) return { ok: true, result: cached, evidence: { verified: "quorum" } };
    const plan = { method: call.method, params: call.params, heavy: true, minBlock: undefined };
    const agreed = await executeQuorum(run, plan, 2, (u, reason) => onDispute(u, reason));
    if (!agreed.ok) return { ok: false, error: agreed.error, evidence: NONE };
    const domains = [...new Set(agreed.witnesses.map((u) => u.outageDomain))];
    const evidence: SolanaEvidence = { verified: "quorum", upstream: agreed.witnesses[0]!.id, domains };
    if (!agreed.result.ok) return { ok: false, rpcError: cleanError(agreed.result.rpcError), evidence };
    // Not there yet (null) may change; only what exists is kept.
    const result = agreed.result.result;
    if (result !== null) immutables.set(key, result, { bytes: key.length + JSON.stringify(result).length });
    return { ok: true, result, evidence };
  }

  return { agreedRead, agreedSlot, single, immutable };
}
