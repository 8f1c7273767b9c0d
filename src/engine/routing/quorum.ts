/**
 * Quorum reads, for methods no proof covers (`eth_call`, receipts, logs…) when configured: the same call, pinned to
 * the same block, goes to upstreams that are independent of one another (different outage domain and operator); the
 * answer is served only when `size` of them return the same thing. Disagreement is a dispute, not a coin flip: one more
 * independent upstream is asked, and if no answer reaches the quorum the client gets -32002.
 */

import { areIndependent } from "../../core/domains/domain.ts";
import { MultihomeError } from "../../core/errors.ts";
import { combineEstimates, ESTIMATE_WITNESSES, isQuantity, type SafeSide } from "../../core/routing/estimate.ts";
import { canonicalJson } from "../../core/rpc/cache-policy.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { CallPlan, ExecuteResult } from "./execute.ts";

/** Extra independent upstreams asked when the first `size` disagree. */
export const QUORUM_EXTRA_WITNESSES = 1;

export type QuorumResult =
  | { ok: true; result: Exclude<ExecuteResult, { error: MultihomeError }>; witnesses: Upstream[] }
  | { ok: false; error: MultihomeError };

function answerOf(result: ExecuteResult): string | undefined {
  if (result.ok) return `r:${canonicalJson(result.result)}`;
  if ("rpcError" in result)
    return `e:${canonicalJson({ code: result.rpcError.code, message: result.rpcError.message, data: result.rpcError.data })}`;
  return undefined;
}

/** An answer one independent upstream gave, keyed for comparison. */
export interface Witness {
  upstream: Upstream;
  answer: string;
  result: Exclude<ExecuteResult, { error: MultihomeError }>;
}

const independent = (a: Upstream, b: Upstream) => areIndependent(a.domain, b.domain);

/**
 * Asks for witnesses one at a time (`ask`, safe to call concurrently): each is one upstream apart from every other
 * witness and every attempt still running. `missing` says why asks found none.
 */
export function createWitnessing(
  run: (plan: CallPlan) => Promise<ExecuteResult>,
  plan: CallPlan,
  apart: (a: Upstream, b: Upstream) => boolean = independent,
) {
  const chosen: Upstream[] = [];
  const witnessed: Witness[] = [];
  const missing = new Set<string>();
  const ask = async (): Promise<void> => {
    const launched: Upstream[] = [];
    // A slow witness is hedged like any read: the hedge goes to an upstream apart from every other witness, and the
    // attempt that loses is no witness.
    const result = await run({
      ...plan,
      avoid: (u) => chosen.some((c) => c === u || !apart(c, u)),
      onLaunch: (u) => {
        launched.push(u);
        chosen.push(u);
      },
    });
    const answer = answerOf(result);
    if (!result.ok && "error" in result) missing.add(result.error.message);
    const from = !result.ok && "error" in result ? undefined : launched.find((u) => u.id === result.upstream);
    if (answer !== undefined && from) witnessed.push({ upstream: from, answer, result: result as Witness["result"] });
    // An upstream whose attempt died (a reset, a crash) is no witness: a later ask may try it again.
    for (const u of launched) {
      const at = chosen.indexOf(u);
      if (u !== from && at >= 0) chosen.splice(at, 1);
    }
  };
  return { ask, witnessed, missing };
}

export async function executeQuorum(
  run: (plan: CallPlan) => Promise<ExecuteResult>,
  plan: CallPlan,
  size: number,
  onDispute: (upstream: Upstream, reason: string) => void,
  /** Whether two upstreams may both be witnesses. @default independent: different outage domain and operator */
  apart: (a: Upstream, b: Upstream) => boolean = independent,
): Promise<QuorumResult> {
  const { ask, witnessed, missing } = createWitnessing(run, plan, apart);
  await Promise.all(Array.from({ length: size }, ask));
  for (let extra = 0; ; extra++) {
    const groups = new Map<string, typeof witnessed>();
    for (const w of witnessed) groups.set(w.answer, [...(groups.get(w.answer) ?? []), w]);
    const best = [...groups.values()].sort((a, b) => b.length - a.length)[0];
    if (best && best.length >= size) {
      for (const w of witnessed)
        if (w.answer !== best[0]!.answer) onDispute(w.upstream, "answer differs from the quorum");
      return { ok: true, result: best[0]!.result as never, witnesses: best.map((w) => w.upstream) };
    }
    if (extra >= QUORUM_EXTRA_WITNESSES) break;
    const before = witnessed.length;
    await ask();
    if (witnessed.length === before) break;
  }
  return {
    ok: false,
    error: noAgreement(size, witnessed.length, new Set(witnessed.map((w) => w.answer)).size > 1, missing),
  };
}

/**
 * Why `size` independent upstreams could not be had to agree: they disagreed, or too few answered — and then what kept
 * the others from answering (a rate limit on every other domain is not "every upstream is rate limited").
 */
export function noAgreement(
  size: number,
  answered: number,
  disagreed: boolean,
  why: ReadonlySet<string>,
): MultihomeError {
  const reasons = [...why];
  const message = disagreed
    ? `no verifiable answer: independent upstreams disagree (${size} must agree)`
    : `no verifiable answer: no agreement of ${size} independent failure domains could be had: ${answered} answered${reasons.length > 0 ? `; the others: ${reasons.join("; ")}` : ""}`;
  return new MultihomeError("unavailable", message, { data: { answered, ...(reasons.length > 0 ? { reasons } : {}) } });
}

/**
 * A fee suggestion or gas estimate (core/routing/estimate.ts): asked of ESTIMATE_WITNESSES independent upstreams and combined,
 * so one domain's outlier never decides. The chain's own error (a revert) is the answer when more independent domains
 * give that same error than give a value. Witnesses are those whose values were combined.
 */
export async function executeEstimate(
  run: (plan: CallPlan) => Promise<ExecuteResult>,
  plan: CallPlan,
  safe: SafeSide,
): Promise<QuorumResult> {
  const { ask, witnessed, missing } = createWitnessing(run, plan);
  await Promise.all(Array.from({ length: ESTIMATE_WITNESSES }, ask));
  const values = witnessed.filter((w) => w.result.ok && isQuantity(w.result.result));
  const errors = new Map<string, Witness[]>();
  for (const w of witnessed) if (!w.result.ok) errors.set(w.answer, [...(errors.get(w.answer) ?? []), w]);
  const error = [...errors.values()].sort((a, b) => b.length - a.length)[0];
  if (error && error.length >= 2 && error.length > values.length)
    return { ok: true, result: error[0]!.result, witnesses: error.map((w) => w.upstream) };
  // A lone value against other domains' errors is one domain's word where others disagree.
  if (values.length === 0 || (values.length === 1 && witnessed.length > 1))
    return { ok: false, error: noAgreement(2, values.length, witnessed.length > 1, missing) };
  const combined = combineEstimates(
    values.map((w) => BigInt((w.result as { result: string }).result)),
    safe,
  );
  return {
    ok: true,
    result: { ok: true, result: `0x${combined.toString(16)}`, upstream: values[0]!.upstream.id },
    witnesses: values.map((w) => w.upstream),
  };
}
