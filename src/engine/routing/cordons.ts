/**
 * Disputes and cordons of one chain's upstreams. An upstream whose answers failed verification
 * `verification.disputesToCordon` times within `verification.disputeWindowMs` is cordoned for `verification.cordonMs`:
 * no traffic, and it vouches for no block. Replicas sharing a store pool their disputes (a liar spreading its lies
 * over several replicas is caught as soon as one would) and take on each other's cordons.
 */

import type { ChainKey } from "../../core/chain-key.ts";
import type { ChainMetrics } from "../../core/ports.ts";
import { createDisputes } from "../../core/routing/disputes.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { Activity } from "../activity.ts";
import type { EngineContext } from "../context.ts";
import type { ChainSettings } from "../settings.ts";

/** How often a chain takes on cordons other replicas shared, ms. */
export const CORDON_SYNC_INTERVAL_MS = 1_000;

export interface CordonDeps {
  /** The chain id, or `solana/{name}` for a Solana cluster. */
  chainId: ChainKey;
  upstreams: Upstream[];
  verification: Pick<ChainSettings["verification"], "cordonMs" | "disputesToCordon" | "disputeWindowMs">;
  /** What a disputed answer failed: a proof or check (EVM), or agreement across domains (Solana). @default "verification" */
  failed?: "verification" | "agreement";
  metrics: ChainMetrics;
  activity: Activity;
}

export function createCordons(ctx: EngineContext, deps: CordonDeps) {
  const { clock } = ctx;
  const { chainId, upstreams, verification, metrics, activity } = deps;
  const failed = deps.failed ?? "verification";
  const disputes = createDisputes({
    threshold: verification.disputesToCordon,
    windowMs: verification.disputeWindowMs,
    cordonMs: verification.cordonMs,
  });

  function cordon(u: Upstream, until: number, reason: string) {
    if (u.cordonedUntil >= until) return;
    u.cordonedUntil = until;
    u.cordonReason = `failed ${failed} ${verification.disputesToCordon} times: ${reason}`;
    metrics.upstream(u).cordon("disputes");
    ctx.logger.error(
      { chainId, upstream: u.id, until: new Date(until).toISOString() },
      "upstream cordoned for disputes",
    );
    activity.record({ kind: "cordon", chainId, upstream: u.id, domain: u.outageDomain, message: u.cordonReason });
    // Every replica sharing the store avoids it too.
    ctx.store
      .putCordon({ chainId, upstreamId: u.id, until, reason: u.cordonReason })
      .catch((error: unknown) => ctx.logger.warn({ err: (error as Error).message }, "cordon not shared"));
  }

  /** An answer `u` supplied failed verification: a dispute against it, and a cordon once there are enough. */
  function onDispute(u: Upstream, reason: string) {
    const now = clock.now();
    ctx.logger.warn({ chainId, upstream: u.id, domain: u.outageDomain, reason }, `answer failed ${failed}`);
    metrics.upstream(u).dispute();
    activity.record({ kind: "dispute", chainId, upstream: u.id, domain: u.outageDomain, message: reason });
    const until = disputes.record(u.id, now);
    if (until !== undefined) cordon(u, until, reason);
    ctx.store
      .addToCounter(`disputes:${chainId}:${u.id}`, 1, verification.disputeWindowMs, now)
      .then((total) => {
        const t = clock.now();
        if (total >= verification.disputesToCordon && u.cordonedUntil <= t)
          cordon(u, t + verification.cordonMs, reason);
      })
      .catch((error: unknown) => ctx.logger.debug({ err: (error as Error).message }, "dispute not shared"));
  }

  /** Takes on cordons other replicas decided (through the shared store), every CORDON_SYNC_INTERVAL_MS. */
  let cancel: (() => void) | undefined;
  let stopped = false;
  async function sync() {
    try {
      const now = clock.now();
      for (const c of await ctx.store.getCordons(chainId, now)) {
        const u = upstreams.find((x) => x.id === c.upstreamId);
        if (!u || u.cordonedUntil >= c.until) continue;
        u.cordonedUntil = c.until;
        u.cordonReason = c.reason;
        ctx.logger.warn(
          { chainId, upstream: u.id, until: new Date(c.until).toISOString() },
          "upstream cordoned by another replica",
        );
      }
    } catch (error) {
      ctx.logger.debug({ err: (error as Error).message }, "shared cordons not read");
    }
    if (!stopped) cancel = clock.setTimer(CORDON_SYNC_INTERVAL_MS, () => void sync());
  }

  return {
    onDispute,
    start() {
      stopped = false;
      void sync();
    },
    stop() {
      stopped = true;
      cancel?.();
    },
  };
}
