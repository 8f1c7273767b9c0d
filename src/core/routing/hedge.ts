/**
 * When to hedge. A hedge is worth sending only when it is likely to answer first: either the attempt in flight is
 * already late by its own upstream's standards, or another upstream is expected to answer sooner than this one is
 * expected to finish. When every upstream is slow, hedging only doubles the load on a struggling fleet (FAULTS A4).
 */
export interface HedgeInputs {
  /** Time since the attempt in flight started, ms. */
  elapsedMs: number;
  /** The in-flight upstream's recent p90 latency, ms (undefined: no data). */
  primaryP90Ms: number | undefined;
  /** The in-flight upstream's smoothed latency, ms. */
  primaryTypicalMs: number | undefined;
  /** Smoothed latency of the best upstream a hedge could go to, ms (undefined: none could take it). */
  bestAlternativeMs: number | undefined;
}

export type HedgeDecision = { hedge: true } | { hedge: false; recheckInMs: number | undefined };

export function decideHedge(inputs: HedgeInputs): HedgeDecision {
  const { elapsedMs, primaryP90Ms, primaryTypicalMs, bestAlternativeMs } = inputs;
  if (bestAlternativeMs === undefined) return { hedge: false, recheckInMs: undefined };
  // A known-slow primary: another upstream should answer before this one is expected to.
  if (bestAlternativeMs < (primaryTypicalMs ?? 0) - elapsedMs) return { hedge: true };
  // A primary late by its own standards (stalled, blackholed): hedge when the alternative usually answers in half
  // the time already waited. When the whole fleet is slow the alternatives are as slow as the primary, a hedge would
  // not win, and it would only add load (FAULTS A4).
  const late = primaryP90Ms === undefined || elapsedMs >= primaryP90Ms;
  if (late && bestAlternativeMs * 2 <= elapsedMs) return { hedge: true };
  const lateAt = Math.max(primaryP90Ms ?? 0, bestAlternativeMs * 2);
  return { hedge: false, recheckInMs: Math.max(1, lateAt - elapsedMs) };
}
