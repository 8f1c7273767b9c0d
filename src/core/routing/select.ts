/**
 * Choosing the next upstream for an attempt. Cheap, pure and deterministic for a given `random`:
 * - unusable upstreams (breaker open, backing off, cordoned, behind the block the call needs) are skipped;
 * - an upstream in a failure domain the request has not tried yet is preferred, so a retry or hedge crosses domains;
 * - among the rest, a weighted draw by expected latency spreads load while sending most of it to the fastest.
 */
import type { Random } from "../ports.ts";

export interface UpstreamView {
  id: string;
  /** Outage domain label (`hosting/region`). */
  domain: string;
  /** Smoothed latency in ms; undefined before any sample. */
  latencyMs: number | undefined;
  /** Recent share of failed attempts, 0..1. */
  errorRate: number;
  /** 0 when the breaker is open, ramping up during slow start, else 1. */
  weight: number;
  /** The whole outage domain is judged down. */
  domainDown: boolean;
  /** Do not send before this time (rate-limit backoff), ms since epoch. */
  backoffUntil: number;
  /** Excluded for lying or being on the wrong chain. */
  cordoned: boolean;
  /** Latest head the upstream reported. */
  head: number | undefined;
}

export interface PickOptions {
  now: number;
  random: Random;
  /** Upstreams already tried for this request. */
  exclude: ReadonlySet<string>;
  /** Domains already tried for this request: avoided while another domain can serve. */
  avoidDomains: ReadonlySet<string>;
  /** The call needs an upstream whose head is at least this block. */
  minBlock?: number | undefined;
}

/** Latency assumed for an upstream with no samples yet, in ms. */
export const UNKNOWN_LATENCY_MS = 50;
/** An upstream's error rate multiplies its expected cost by (1 + ERROR_RATE_PENALTY * rate). */
export const ERROR_RATE_PENALTY = 16;

/** Expected cost of an attempt in ms; lower is better. */
export function expectedCostMs(view: UpstreamView): number {
  const latency = Math.max(1, view.latencyMs ?? UNKNOWN_LATENCY_MS);
  return latency * (1 + ERROR_RATE_PENALTY * view.errorRate);
}

export type SkipReason = "excluded" | "cordoned" | "breaker_open" | "backoff" | "domain_down" | "behind";

export function unusableReason(view: UpstreamView, options: PickOptions): SkipReason | undefined {
  if (options.exclude.has(view.id)) return "excluded";
  if (view.cordoned) return "cordoned";
  if (view.weight <= 0) return "breaker_open";
  if (view.backoffUntil > options.now) return "backoff";
  if (options.minBlock !== undefined && (view.head === undefined || view.head < options.minBlock)) return "behind";
  if (view.domainDown) return "domain_down";
  return undefined;
}

/** The upstreams the next attempt may go to: usable ones, those in untried domains when there are any. */
export function candidatePool(views: readonly UpstreamView[], options: PickOptions): UpstreamView[] {
  const usable = views.filter((v) => unusableReason(v, options) === undefined);
  const fresh = usable.filter((v) => !options.avoidDomains.has(v.domain));
  return fresh.length > 0 ? fresh : usable;
}

export function pickUpstream(views: readonly UpstreamView[], options: PickOptions): UpstreamView | undefined {
  const pool = candidatePool(views, options);
  if (pool.length === 0) return undefined;
  if (pool.length === 1) return pool[0];
  const weights = pool.map((v) => v.weight / expectedCostMs(v) ** 2);
  const total = weights.reduce((a, b) => a + b, 0);
  let r = options.random.next() * total;
  for (let i = 0; i < pool.length; i++) {
    r -= weights[i]!;
    if (r < 0) return pool[i];
  }
  return pool[pool.length - 1];
}

/** Earliest time any upstream leaves rate-limit backoff, when backoff is all that stands in the way. */
export function earliestBackoffEnd(views: readonly UpstreamView[], options: PickOptions): number | undefined {
  let earliest: number | undefined;
  for (const v of views) {
    if (unusableReason(v, { ...options, now: Number.POSITIVE_INFINITY }) !== undefined) continue;
    if (v.backoffUntil > options.now) earliest = Math.min(earliest ?? Number.POSITIVE_INFINITY, v.backoffUntil);
  }
  return earliest;
}
