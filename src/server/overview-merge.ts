/**
 * One admin overview for a gateway of workers: each worker has its own view of its upstreams (its own breakers, heads
 * and traffic) and its own record of events and drills. Merged: traffic summed and shares recomputed, an upstream as
 * unwell as the worst worker sees it, the highest head, events of every worker (one copy of an event several saw),
 * a drill's requests summed over the workers that ran it. Pure: the primary gathers the workers' overviews.
 */
import type { Drill, DrillStats } from "../core/domains/drill.ts";
import type { ChainKey } from "../core/ports.ts";
import type { ActivityEvent } from "../engine/engine.ts";
import { type Overview, type UpstreamHealth, type UpstreamOverview, withConcentration } from "./admin-api.ts";

/** Worse first: what the merged overview shows when workers disagree about an upstream. */
const HEALTH_ORDER: UpstreamHealth[] = ["cordoned", "down", "degraded", "pending", "healthy"];
/** Events of several workers with the same kind, subject and message this close together are one event, ms. */
export const SAME_EVENT_WINDOW_MS = 5_000;
/** Drills of several workers with the same selector started this close together are one drill, ms. */
export const SAME_DRILL_WINDOW_MS = 5_000;

const worse = (a: UpstreamHealth, b: UpstreamHealth) => (HEALTH_ORDER.indexOf(a) <= HEALTH_ORDER.indexOf(b) ? a : b);
const maxOrNull = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

function mergeUpstream(a: UpstreamOverview, b: UpstreamOverview): UpstreamOverview {
  return {
    ...a,
    health: worse(a.health, b.health),
    drilled: a.drilled || b.drilled,
    head: maxOrNull(a.head, b.head),
    latencyMs: maxOrNull(a.latencyMs, b.latencyMs),
    served: a.served + b.served,
    ...(a.cordonReason || b.cordonReason ? { cordonReason: a.cordonReason ?? b.cordonReason } : {}),
  };
}

function mergeChains(overviews: readonly Overview[]): Overview["chains"] {
  const byChain = new Map<ChainKey, Overview["chains"][number]>();
  for (const chain of overviews.flatMap((o) => o.chains)) {
    const seen = byChain.get(chain.chainId);
    if (!seen) {
      byChain.set(chain.chainId, { ...chain, upstreams: chain.upstreams.map((u) => ({ ...u })) });
      continue;
    }
    const upstreams = new Map(seen.upstreams.map((u) => [u.id, u]));
    for (const u of chain.upstreams)
      upstreams.set(u.id, upstreams.has(u.id) ? mergeUpstream(upstreams.get(u.id)!, u) : u);
    const head = !seen.head || (chain.head && chain.head.number > seen.head.number) ? chain.head : seen.head;
    byChain.set(chain.chainId, {
      ...seen,
      ready: seen.ready || chain.ready,
      head,
      // A Solana cluster's slots go with its highest head.
      ...(head === chain.head && chain.slots ? { slots: chain.slots } : {}),
      domainsDown: [...new Set([...seen.domainsDown, ...chain.domainsDown])].sort(),
      upstreams: [...upstreams.values()],
    });
  }
  return [...byChain.values()].map((chain) => {
    const served = chain.upstreams.reduce((sum, u) => sum + u.served, 0);
    const upstreams = chain.upstreams.map((u) => ({
      ...u,
      lag: chain.head && u.head !== null ? Math.max(0, chain.head.number - u.head) : null,
      share: served === 0 ? 0 : u.served / served,
    }));
    const { reason, ...rest } = chain;
    return chain.ready || reason === undefined ? { ...rest, upstreams } : { ...rest, reason, upstreams };
  });
}

/** Newest first, one copy of what several workers recorded about the same thing at about the same time. */
function mergeEvents(lists: readonly ActivityEvent[][], limit: number): ActivityEvent[] {
  const all = lists.flat().sort((a, b) => b.at - a.at);
  const kept: ActivityEvent[] = [];
  const same = (a: ActivityEvent, b: ActivityEvent) =>
    a.kind === b.kind &&
    a.chainId === b.chainId &&
    a.upstream === b.upstream &&
    a.message === b.message &&
    Math.abs(a.at - b.at) <= SAME_EVENT_WINDOW_MS;
  for (const event of all) {
    if (kept.length >= limit) break;
    if (!kept.some((k) => same(k, event))) kept.push(event);
  }
  return kept;
}

/** A drill's requests over every worker; p50 weighted by requests, p99 the highest (percentiles do not add). */
function mergeStats(a: DrillStats, b: DrillStats): DrillStats {
  const requests = a.requests + b.requests;
  const weighted =
    a.p50Ms === null ? b.p50Ms : b.p50Ms === null ? a.p50Ms : (a.p50Ms * a.requests + b.p50Ms * b.requests) / requests;
  const servedBy = { ...a.servedBy };
  for (const [domain, n] of Object.entries(b.servedBy)) servedBy[domain] = (servedBy[domain] ?? 0) + n;
  return { requests, failed: a.failed + b.failed, p50Ms: weighted, p99Ms: maxOrNull(a.p99Ms, b.p99Ms), servedBy };
}

function mergeDrills(lists: readonly Drill[][]): Drill[] {
  const [first = [], ...others] = lists;
  const merged = first.map((d) => ({ ...d }));
  for (const drill of others.flat()) {
    const same = merged.find(
      (d) => d.label === drill.label && Math.abs(d.startedAt - drill.startedAt) <= SAME_DRILL_WINDOW_MS,
    );
    if (!same) {
      merged.push({ ...drill });
      continue;
    }
    same.during = mergeStats(same.during, drill.during);
    same.after = mergeStats(same.after, drill.after);
  }
  return merged;
}

/**
 * The whole gateway's overview from its workers' (the first is worker 0's: its drills are the ones started there),
 * with at most `maxEvents` events.
 */
export function mergeOverviews(overviews: readonly Overview[], now: number, maxEvents: number): Overview {
  return withConcentration(
    mergeChains(overviews),
    mergeEvents(
      overviews.map((o) => o.events),
      maxEvents,
    ),
    mergeDrills(overviews.map((o) => o.drills)),
    now,
  );
}
