/**
 * Running one call against a chain's upstreams: pick an upstream, send, and on a retryable outcome or a slow
 * answer start another attempt in a different failure domain — within the request deadline, the per-request attempt
 * cap and the chain's retry budget (hedges and retries share it, so faults cannot multiply load; hedges leave a share
 * of it to retries). The first answer wins; the other attempts are cancelled.
 */

import type { DomainHealth } from "../../core/domains/domain-health.ts";
import { MultihomeError } from "../../core/errors.ts";
import type { Outcome } from "../../core/routing/classify.ts";
import { decideHedge } from "../../core/routing/hedge.ts";
import { hedgeDelayMs, type LatencyWindow } from "../../core/routing/latency.ts";
import type { RetryBudget } from "../../core/routing/retry-budget.ts";
import {
  candidatePool,
  earliestBackoffEnd,
  expectedCostMs,
  type PickOptions,
  pickUpstream,
  type UpstreamView,
  unusableReason,
} from "../../core/routing/select.ts";
import type { RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { EngineContext } from "../context.ts";
import { afterStall } from "../io-turn.ts";

export interface ExecuteTarget {
  upstreams: Upstream[];
  views(now: number): UpstreamView[];
  domainHealth: DomainHealth;
  budget: RetryBudget;
  /** An upstream's answer failed verification. */
  onDispute?: (upstream: Upstream, reason: string) => void;
  /** Re-poll these upstreams' heads (they looked behind the block a call needs). */
  refreshHeads(upstreamIds: string[]): Promise<void>;
  /** Recent latency across the chain's upstreams, for the hedge delay. */
  latency: LatencyWindow;
  /** The chain's current hedge delay, recomputed every HEDGE_DELAY_REFRESH_MS. */
  hedgeDelay: { ms: number; computedAt: number };
  routing: {
    requestTimeoutMs: number;
    attemptTimeoutMs: number;
    heavyAttemptTimeoutMs: number;
    maxAttempts: number;
    hedgeQuantile: number;
    hedgeMinDelayMs: number;
    hedgeMaxDelayMs: number;
    defaultBackoffMs: number;
  };
}

/** A node at most this many blocks behind the block a call needs is re-polled before the call gives up. */
export const REFRESH_MAX_LAG_BLOCKS = 4;
/** How often one call may re-poll heads before giving up (each is one poll per lagging upstream, shared). */
export const MAX_HEAD_REFRESHES_PER_CALL = 2;

export interface CallPlan {
  method: string;
  params: unknown;
  heavy: boolean;
  minBlock: number | undefined;
  /**
   * Checks an upstream's result (a proof, a header hash) and turns it into the value to serve. A failed check is a
   * dispute: the attempt counts as failed and the call moves on to another domain.
   */
  verify?: (result: unknown) => Verdict;
  /** Send a second attempt when the first is slow. @default true */
  hedge?: boolean;
  /** Upstreams this call must not use (e.g. not independent of a quorum's other witnesses). */
  avoid?: (upstream: Upstream) => boolean;
  /** Every answer failed verification and none verified: the thing they were checked against may be stale. */
  onUnconfirmedDisputes?: (count: number) => void;
  /** Told of every upstream an attempt is sent to. */
  onLaunch?: (upstream: Upstream) => void;
}

/**
 * A failed verdict is a dispute against the upstream unless `dispute: false` (an honest node that is merely behind,
 * e.g. `null` for a block it should have): either way the call moves on to another domain.
 */
export type Verdict = { ok: true; value: unknown } | { ok: false; reason: string; dispute?: boolean };

export type ExecuteResult =
  | { ok: true; result: unknown; upstream: string }
  /** An error the chain gave (revert…): passed through as the answer. */
  | { ok: false; rpcError: RpcErrorObject; upstream: string }
  | { ok: false; error: MultihomeError };

export async function execute(
  ctx: EngineContext,
  target: ExecuteTarget,
  plan: CallPlan,
  signal?: AbortSignal,
): Promise<ExecuteResult> {
  const { clock, random } = ctx;
  const { routing } = target;
  const attemptTimeoutMs = plan.heavy ? routing.heavyAttemptTimeoutMs : routing.attemptTimeoutMs;
  const start = clock.now();
  target.budget.onRequest(start);

  const tried = new Set<string>();
  const triedDomains = new Set<string>();
  const failures: Outcome[] = [];
  const controllers = new Set<AbortController>();
  let inFlight = 0;
  let attempts = 0;
  let settled = false;
  /** Failed verifications not yet confirmed by a verified answer from another upstream. */
  const unconfirmed: { upstream: Upstream; reason: string }[] = [];
  /** The most recent attempt: the one a hedge would race. */
  let latest: { upstream: Upstream; startedAt: number } | undefined;

  return new Promise<ExecuteResult>((resolve) => {
    const cancelTimers: (() => void)[] = [];
    const finish = (result: ExecuteResult) => {
      if (settled) return;
      settled = true;
      for (const cancel of cancelTimers) cancel();
      for (const c of controllers) c.abort();
      signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const onAbort = () => finish({ ok: false, error: new MultihomeError("timeout", "request cancelled") });
    signal?.addEventListener("abort", onAbort, { once: true });
    // No timer for the request deadline: every attempt's own deadline is capped at what is left of it, and the call
    // ends when its last attempt does — one timer fewer per call on the hot path.
    const deadline = start + routing.requestTimeoutMs;

    const pickOptions = (now: number): PickOptions => ({
      now,
      random,
      exclude: tried,
      avoidDomains: triedDomains,
      minBlock: plan.minBlock,
    });

    /** Start one more attempt; false when no upstream can take it. */
    const launch = (): boolean => {
      const now = clock.now();
      if (now >= deadline) return false;
      if (plan.avoid) for (const u of target.upstreams) if (plan.avoid(u)) tried.add(u.id);
      const views = target.views(now);
      let choice = pickUpstream(views, pickOptions(now));
      let upstream = choice && target.upstreams.find((u) => u.id === choice!.id);
      // A half-open breaker admits only its probe quota; skip upstreams that refuse and try the next.
      while (upstream && !upstream.breaker.allow(now)) {
        tried.add(upstream.id);
        choice = pickUpstream(views, pickOptions(now));
        upstream = choice && target.upstreams.find((u) => u.id === choice!.id);
      }
      if (!upstream) return false;
      latest = { upstream, startedAt: now };
      plan.onLaunch?.(upstream);
      tried.add(upstream.id);
      triedDomains.add(upstream.outageDomain);
      attempts++;
      inFlight++;
      const controller = new AbortController();
      controllers.add(controller);
      const remaining = deadline - now;
      void upstream
        .attempt(plan.method, plan.params, {
          timeoutMs: Math.min(attemptTimeoutMs, remaining),
          controller,
        })
        .then(({ outcome, elapsedMs }) => {
          controllers.delete(controller);
          inFlight--;
          onOutcome(upstream, outcome, elapsedMs);
        });
      return true;
    };

    const record = (u: Upstream, outcome: Outcome, elapsedMs: number) =>
      recordOutcome(target, u, outcome, elapsedMs, clock.now());

    const onOutcome = (u: Upstream, answered: Outcome, elapsedMs: number) => {
      let outcome = answered;
      record(u, outcome, elapsedMs);
      if (settled) return;
      if (outcome.kind === "result") {
        if (!plan.verify) return finish({ ok: true, result: outcome.result, upstream: u.id });
        const verdict = plan.verify(outcome.result);
        if (verdict.ok) {
          // Someone else's answer verified against the same anchor: the earlier failures were the upstreams' fault.
          for (const d of unconfirmed) target.onDispute?.(d.upstream, d.reason);
          return finish({ ok: true, result: verdict.value, upstream: u.id });
        }
        // An answer that does not verify: the node lied, is on another chain, or is behind — or the anchor itself is
        // stale (a reorg). It only counts against the upstream once another answer verifies; try elsewhere.
        if (verdict.dispute !== false) unconfirmed.push({ upstream: u, reason: verdict.reason });
        outcome = { kind: "dispute", decision: "failover", reason: verdict.reason };
      } else if (outcome.kind === "execution" && plan.verify) {
        // Asked for something to verify (a proof, a header, a body), an upstream answered with an error the chain would
        // give a client ("execution reverted", invalid params): not an answer the client asked for, and not what an
        // honest node says to these requests. A failed attempt, held against it once another upstream's answer verifies.
        const reason = `answered a verifiable request with error ${outcome.error.code}`;
        unconfirmed.push({ upstream: u, reason });
        outcome = { kind: "dispute", decision: "failover", reason };
      }
      if (outcome.kind === "execution") return finish({ ok: false, rpcError: outcome.error, upstream: u.id });
      if (outcome.kind === "too_large") {
        return finish({
          ok: false,
          error: new MultihomeError("limit_exceeded", "upstream response too large", {
            data: { reason: "response too large" },
          }),
        });
      }
      failures.push(outcome);
      if (inFlight > 0) return; // a hedge is still running: let it answer
      if (attempts >= routing.maxAttempts || !target.budget.tryAcquire(clock.now())) return finish(failureResult());
      void launchOrRefresh().then((launched) => {
        if (!launched && inFlight === 0) finish(failureResult());
      });
    };

    /**
     * Launch, and when every remaining upstream looked only slightly behind the block the call needs, re-poll their
     * heads once and try again: their last report may simply predate the newest block.
     */
    let refreshes = 0;
    const launchOrRefresh = async (): Promise<boolean> => {
      if (launch()) return true;
      if (refreshes >= MAX_HEAD_REFRESHES_PER_CALL || plan.minBlock === undefined) return false;
      refreshes++;
      const now = clock.now();
      const options = pickOptions(now);
      const stale = target
        .views(now)
        .filter(
          (v) =>
            unusableReason(v, options) === "behind" &&
            v.head !== undefined &&
            plan.minBlock! - v.head <= REFRESH_MAX_LAG_BLOCKS,
        );
      if (stale.length === 0) return false;
      await target.refreshHeads(stale.map((v) => v.id));
      return !settled && launch();
    };

    const failureResult = (): ExecuteResult => {
      const now = clock.now();
      if (unconfirmed.length > 0) plan.onUnconfirmedDisputes?.(unconfirmed.length);
      if (now >= deadline) {
        return {
          ok: false,
          error: new MultihomeError("timeout", `request deadline of ${routing.requestTimeoutMs} ms exceeded`),
        };
      }
      if (failures.length > 0 && failures.every((f) => f.kind === "capacity")) {
        return { ok: false, error: rateLimited(now) };
      }
      if (failures.length > 0 && failures.every((f) => f.kind === "unsupported")) {
        const first = failures[0] as Extract<Outcome, { kind: "unsupported" }>;
        if (first.error.code === -32601 || first.error.code === -32004) {
          return { ok: false, error: new MultihomeError("method_not_found", "method not supported by any upstream") };
        }
        return { ok: false, rpcError: first.error, upstream: "" };
      }
      const unknown = failures.findLast((f) => f.kind === "unknown");
      if (unknown && failures.every((f) => f.kind === "unknown"))
        return { ok: false, rpcError: unknown.error, upstream: "" };
      const reasons = [...new Set(failures.map(failureLabel))];
      // Upstreams answered, and no answer verified: say so, not that nobody could answer.
      const message =
        reasons.length === 1 && reasons[0] === "dispute"
          ? `no verifiable answer: ${attempts} upstream answers failed verification`
          : "no upstream could answer";
      return { ok: false, error: new MultihomeError("unavailable", message, { data: { attempts, reasons } }) };
    };

    const rateLimited = (now: number): MultihomeError => {
      const end = earliestBackoffEnd(target.views(now), {
        ...pickOptions(now),
        exclude: new Set(),
        avoidDomains: new Set(),
      });
      const seconds = Math.max(1, Math.ceil(((end ?? now + routing.defaultBackoffMs) - now) / 1000));
      return new MultihomeError("rate_limited", "every upstream is rate limited; retry later", {
        retryAfterSeconds: seconds,
      });
    };

    void launchOrRefresh().then((launched) => {
      if (settled) return;
      if (launched) {
        if (plan.hedge !== false) scheduleHedge();
        return;
      }
      const now = clock.now();
      const views = target.views(now);
      if (pickUpstream(views, { ...pickOptions(now), now: Number.POSITIVE_INFINITY })) {
        // Someone could answer but for their rate-limit backoff: say so at once rather than queue.
        return finish({ ok: false, error: rateLimited(now) });
      }
      const behind = plan.minBlock !== undefined && views.every((v) => v.head === undefined || v.head < plan.minBlock!);
      const message = behind ? `block ${plan.minBlock} is ahead of every upstream's head` : "no upstream is available";
      finish({ ok: false, error: new MultihomeError("unavailable", message) });
    });

    const considerHedge = () => {
      if (settled || attempts >= routing.maxAttempts || !latest) return;
      const now = clock.now();
      const pool = candidatePool(target.views(now), pickOptions(now));
      const decision = decideHedge({
        elapsedMs: now - latest.startedAt,
        primaryP90Ms: latest.upstream.latency.quantile(routing.hedgeQuantile, now),
        primaryTypicalMs: latest.upstream.latency.ewma(),
        bestAlternativeMs: pool.length ? Math.min(...pool.map(expectedCostMs)) : undefined,
      });
      if (!decision.hedge) {
        if (decision.recheckInMs !== undefined) hedgeTimer(decision.recheckInMs);
        return;
      }
      // One hedge per call: a second one rarely wins and always costs.
      if (target.budget.tryAcquire(now, "hedge")) launch();
    };
    /**
     * `considerHedge` in `ms`; when this process held the loop past that (a local EVM run), after the I/O that arrived
     * meanwhile is read — an answer waiting in its socket is not late.
     */
    const hedgeTimer = (ms: number) => {
      const dueAt = clock.now() + ms;
      cancelTimers.push(clock.setTimer(ms, () => afterStall(clock.now(), dueAt, considerHedge)));
    };
    const scheduleHedge = () => hedgeTimer(currentHedgeDelay(target, clock.now()));
  });
}

/**
 * What one attempt's outcome teaches about its upstream: latency, breaker, rate-limit backoff, domain health. Every
 * path that sends to an upstream records through here, so they all learn the same way.
 */
export function recordOutcome(
  target: ExecuteTarget,
  u: Upstream,
  outcome: Outcome,
  elapsedMs: number,
  now: number,
): void {
  if (outcome.kind === "transport" && outcome.failure === "aborted") {
    // Lost a hedge race: only a lower bound on its latency, worth keeping when it says "slow".
    if (elapsedMs > (u.latency.ewma() ?? 0)) u.latency.record(elapsedMs, now);
    u.breaker.release(now);
    return;
  }
  if (outcome.decision === "answer" || outcome.kind === "unsupported") {
    u.latency.record(elapsedMs, now);
    target.latency.record(elapsedMs, now);
    u.breaker.onSuccess(now);
    u.lastSuccessAt = now;
    target.domainHealth.onSuccess(u.outageDomain, u.id, now);
    return;
  }
  if (outcome.kind === "capacity") {
    u.backoffUntil = now + (outcome.backoffMs ?? target.routing.defaultBackoffMs);
    u.breaker.release(now);
    return;
  }
  if (outcome.kind === "too_large") {
    u.breaker.release(now);
    return;
  }
  if (outcome.kind === "transport" && outcome.failure === "timeout") u.latency.record(elapsedMs, now);
  u.breaker.onFailure(now);
  // Refused, reset, timed out or 5xx: what a region going dark looks like, so it counts towards the domain too.
  if (outcome.kind === "transport" || outcome.kind === "server")
    target.domainHealth.onFailure(u.outageDomain, u.id, now);
}

/** The hedge delay is a quantile over recent latencies; recomputing it per call would cost more than it tells. */
export const HEDGE_DELAY_REFRESH_MS = 250;

function currentHedgeDelay(target: ExecuteTarget, now: number): number {
  const cache = target.hedgeDelay;
  if (now - cache.computedAt >= HEDGE_DELAY_REFRESH_MS) {
    cache.computedAt = now;
    cache.ms = hedgeDelayMs(target.latency, now, {
      quantile: target.routing.hedgeQuantile,
      minMs: target.routing.hedgeMinDelayMs,
      maxMs: target.routing.hedgeMaxDelayMs,
    });
  }
  return cache.ms;
}

function failureLabel(f: Outcome): string {
  return f.kind === "transport" ? `transport_${f.failure}` : f.kind;
}
