/**
 * One chain's (or Solana cluster's) upstreams at run time, and the target the attempt executor routes over: each
 * upstream's transport (drills can take its domain down), breaker and metrics, the domains' health, the retry budget
 * and the hedge delay. Ethereum-like chains and Solana clusters route the same way.
 */

import type { DomainHealth } from "../../core/domains/domain-health.ts";
import type { UpstreamMetrics } from "../../core/ports.ts";
import { createLatencyWindow } from "../../core/routing/latency.ts";
import { createRetryBudget } from "../../core/routing/retry-budget.ts";
import type { ChainStatus } from "../../core/rpc/status.ts";
import { createUpstream, type Upstream, viewOf } from "../../upstream/upstream.ts";
import { type Activity, drillable } from "../activity.ts";
import type { EngineContext } from "../context.ts";
import type { ChainSettings } from "../settings.ts";
import type { ExecuteTarget } from "./execute.ts";

export type UpstreamSetSettings = Pick<ChainSettings, "upstreams" | "routing" | "health" | "maxResponseBytes">;

export function createUpstreams(
  ctx: EngineContext,
  settings: UpstreamSetSettings,
  activity: Activity,
  metricsOf: (u: UpstreamSetSettings["upstreams"][number]) => UpstreamMetrics,
): Upstream[] {
  const { health } = settings;
  return settings.upstreams.map((u) =>
    createUpstream(u, {
      clock: ctx.clock,
      transport: drillable(ctx.createTransport(u), () => activity.drilled(u.domain)),
      maxResponseBytes: settings.maxResponseBytes,
      metrics: metricsOf(u),
      breaker: {
        failureThreshold: health.breakerFailureThreshold,
        failureRateThreshold: health.breakerFailureRate,
        windowMs: health.breakerWindowMs,
        minRequestsInWindow: health.breakerMinRequests,
        openMs: health.breakerOpenMs,
        maxOpenMs: health.breakerMaxOpenMs,
        slowStartMs: health.slowStartMs,
      },
    }),
  );
}

/** The executor's target over `upstreams`; `headOf` is each upstream's latest head (a block, or a slot). */
export function createTarget(
  settings: UpstreamSetSettings,
  upstreams: Upstream[],
  domainHealth: DomainHealth,
  headOf: (upstreamId: string) => number | undefined,
  refreshHeads: (ids: string[]) => Promise<void>,
): ExecuteTarget {
  const { routing } = settings;
  return {
    upstreams,
    views: (now) => upstreams.map((u) => viewOf(u, now, headOf(u.id), domainHealth.isDown(u.outageDomain, now))),
    domainHealth,
    refreshHeads,
    budget: createRetryBudget({ ratio: routing.retryBudgetRatio, minPerSecond: routing.retryBudgetMinPerSecond }),
    latency: createLatencyWindow(),
    hedgeDelay: { ms: 0, computedAt: Number.NEGATIVE_INFINITY },
    routing,
  };
}

/** One upstream as the status shows it (admin API, dashboard, metrics); `head` is its block, or its slot. */
export function upstreamStatus(
  u: Upstream,
  now: number,
  activity: Pick<Activity, "drilled">,
  head: number | undefined,
): ChainStatus["upstreams"][number] {
  return {
    id: u.id,
    domain: u.outageDomain,
    operator: u.domain.operator,
    hosting: u.domain.hosting,
    region: u.domain.region,
    cordoned: u.admission === "cordoned" || u.cordonedUntil > now,
    drilled: activity.drilled(u.domain),
    admission: u.admission,
    ...(u.cordonReason ? { cordonReason: u.cordonReason } : {}),
    breaker: u.breaker.state(now),
    head,
    latencyMs: u.latency.ewma(),
  };
}
