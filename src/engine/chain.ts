/** Everything Multihome keeps for one chain, and answering one call on it. */

import { areIndependent } from "../core/domains/domain.ts";
import { createDomainHealth, type DomainHealth } from "../core/domains/domain-health.ts";
import { createHeadBook } from "../core/domains/head.ts";
import { MultihomeError } from "../core/errors.ts";
import { ADDRESS_HEX } from "../core/hex.ts";
import type { ByteLru } from "../core/lru.ts";
import { noopMetrics } from "../core/ports.ts";
import { createLatencyWindow } from "../core/routing/latency.ts";
import { createRetryBudget } from "../core/routing/retry-budget.ts";
import { createMethodPolicy } from "../core/rpc/access.ts";
import { cacheSlot, canonicalJson } from "../core/rpc/cache-policy.ts";
import { limitCall } from "../core/rpc/call-limits.ts";
import type { RpcCall, RpcErrorObject } from "../core/rpc/jsonrpc.ts";
import { pinBlock, toHex } from "../core/rpc/methods.ts";
import { asksForHead } from "../core/rpc/staleness.ts";
import type { ChainStatus } from "../core/rpc/status.ts";
import { createRedactor } from "../core/security/redact.ts";
import { OUTBOX_MAX_RAW_HEX_CHARS } from "../core/store.ts";
import { createUpstream, type Upstream, viewOf } from "../upstream/upstream.ts";
import { type Activity, drillable } from "./activity.ts";
import type { CallAnswer, CallOptions, Evidence } from "./answers/answer.ts";
import { type CachedAnswer, createAnswerCache } from "./answers/answer-cache.ts";
import { createLastKnownGoodBook, lastKnownGoodKey } from "./answers/last-known-good.ts";
import { createStaleCheck } from "./answers/staleness.ts";
import type { EngineContext } from "./context.ts";
import { createTransactions, type TransactionStatus } from "./outbox/transactions.ts";
import { createResolver } from "./resolve.ts";
import { createCordons } from "./routing/cordons.ts";
import { type ExecuteTarget, execute } from "./routing/execute.ts";
import { createHeadTracker, type HeadTracker, READY_SILENCE_POLLS } from "./routing/head-tracker.ts";
import type { ChainSettings } from "./settings.ts";
import { createStreams, type SubscribeResult } from "./streams.ts";
import { createAnchors } from "./verification/anchors.ts";
import { createBlockReads } from "./verification/block-reads.ts";
import { createBlockTags, pinsBlock } from "./verification/block-tags.ts";
import { PROVEN_METHODS } from "./verification/state-reads.ts";

export type { CallAnswer, CallOptions, Evidence, Verification } from "./answers/answer.ts";

export interface Chain {
  chainId: number;
  start(): void;
  ready(timeoutMs: number): Promise<void>;
  /** A client's JSON-RPC call: its lookup in the answer cache is counted (once, however the call is served). */
  call(call: RpcCall, options?: CallOptions): Promise<CallAnswer>;
  /** A read Multihome makes for itself (the account view): answered like a call, its cache lookup not counted. */
  read(call: RpcCall, options?: CallOptions): Promise<CallAnswer>;
  /** What became of a transaction sent through this chain (or found mined on it). */
  transaction(hash: string): Promise<TransactionStatus | undefined>;
  status(): ChainStatus;
  /** eth_subscribe on the anchored chain (see streams.ts). */
  subscribe(params: unknown, deliver: (result: unknown) => void): SubscribeResult;
  stop(): Promise<void>;
}

function asksForLatest(spec: { blockParam?: number }, params: unknown[]): boolean {
  const block = spec.blockParam === undefined ? undefined : params[spec.blockParam];
  return block === undefined || block === "latest";
}

const HEX_DATA = /^0x(?:[0-9a-fA-F]{2})+$/;

/** Resolves with the call's answer, or with a cancellation as soon as this caller's signal aborts. */
function raceAbort(answer: Promise<CallAnswer>, signal: AbortSignal, none: Evidence): Promise<CallAnswer> {
  const cancelled: CallAnswer = {
    ok: false,
    error: new MultihomeError("timeout", "request cancelled"),
    evidence: none,
  };
  if (signal.aborted) return Promise.resolve(cancelled);
  return new Promise((resolve) => {
    const onAbort = () => resolve(cancelled);
    signal.addEventListener("abort", onAbort, { once: true });
    void answer.then((a) => {
      signal.removeEventListener("abort", onAbort);
      resolve(a);
    });
  });
}

export function createChain(
  ctx: EngineContext,
  settings: ChainSettings,
  /** The process's answer cache, shared by all its chains (one byte bound). */
  answers: ByteLru<CachedAnswer>,
  /** The gateway's record of events and drills. */
  activity: Activity,
): Chain {
  const { clock } = ctx;
  const { chainId, routing, health } = settings;
  const serves = createMethodPolicy(settings.methods);
  const metrics = (ctx.metrics ?? noopMetrics).chain(chainId);
  const upstreams: Upstream[] = settings.upstreams.map((u) =>
    createUpstream(u, {
      clock,
      transport: drillable(ctx.createTransport(u), () => activity.drilled(u.domain)),
      maxResponseBytes: settings.maxResponseBytes,
      metrics: metrics.upstream(u),
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
  const headBook = createHeadBook({ upstreams: settings.upstreams });
  const domainHealth = withEvents(
    createDomainHealth({
      minFailedUpstreams: health.domainMinFailedUpstreams,
      windowMs: health.domainWindowMs,
      downMs: health.domainDownMs,
    }),
    chainId,
    activity,
  );
  const target: ExecuteTarget = {
    upstreams,
    views: (now) =>
      upstreams.map((u) => viewOf(u, now, headBook.headOf(u.id), domainHealth.isDown(u.outageDomain, now))),
    domainHealth,
    refreshHeads: (ids) => tracker.refresh(ids),
    budget: createRetryBudget({ ratio: routing.retryBudgetRatio, minPerSecond: routing.retryBudgetMinPerSecond }),
    latency: createLatencyWindow(),
    hedgeDelay: { ms: 0, computedAt: Number.NEGATIVE_INFINITY },
    routing,
  };
  const tracker: HeadTracker = createHeadTracker(ctx, {
    chainId,
    upstreams,
    headBook,
    domainHealth,
    pollIntervalMs: health.headPollIntervalMs,
    chainCheckIntervalMs: health.chainCheckIntervalMs,
    attemptTimeoutMs: routing.attemptTimeoutMs,
    defaultBackoffMs: routing.defaultBackoffMs,
    ...(settings.forks ? { forks: settings.forks } : {}),
    onHead: (head) => {
      ctx.logger.debug({ chainId, head: head.number }, "agreed head");
      streams.wake();
    },
    onVerifiedHeader: (header) => anchors.rememberHeader(header),
    onDispute: (u, reason) => target.onDispute?.(u, reason),
    onReorg: (deepBelow) => cache.onReorg(deepBelow),
  });

  const redact = createRedactor(settings.upstreams.map((u) => u.url));
  const redactRpcError = (e: RpcErrorObject): RpcErrorObject => ({
    code: e.code,
    message: redact(e.message),
    ...(e.data !== undefined ? { data: JSON.parse(redact(JSON.stringify(e.data))) } : {}),
  });

  const cordons = createCordons(ctx, { chainId, upstreams, verification: settings.verification, metrics, activity });
  target.onDispute = cordons.onDispute;

  const anchors = createAnchors(ctx, {
    target,
    headBook,
    upstreams,
    quorumSize: settings.verification.quorumSize,
    rule: {
      minDomains: settings.verification.anchorMinDomains,
      minUpstreams: settings.verification.anchorMinUpstreams,
    },
    ...(settings.forks ? { forks: settings.forks } : {}),
  });
  const lastKnownGood = createLastKnownGoodBook(ctx, chainId);
  const blockTags = createBlockTags({
    execute: (plan) => execute(ctx, target, plan),
    anchor: anchors.anchor,
    quorumSize: settings.verification.quorumSize,
    ...(settings.forks ? { forks: settings.forks } : {}),
  });
  const staleness = createStaleCheck(ctx, {
    staleAfterMs: settings.staleAfterMs,
    timestampAt: anchors.timestampAt,
    lastKnownGood,
  });
  const blockReads = createBlockReads({
    ...(settings.forks ? { forks: settings.forks } : {}),
    ...(settings.stack ? { stack: settings.stack } : {}),
    anchor: anchors.anchor,
    execute: (plan, signal) => execute(ctx, target, plan, signal),
    onDispute: (id, reason) => {
      const u = upstreams.find((x) => x.id === id);
      if (u) target.onDispute?.(u, reason);
    },
    independent: (a, b) => {
      const [x, y] = [upstreams.find((u) => u.id === a), upstreams.find((u) => u.id === b)];
      return x !== undefined && y !== undefined && areIndependent(x.domain, y.domain);
    },
    domainOf: (id) => upstreams.find((u) => u.id === id)?.outageDomain ?? id,
    async refreshHead() {
      await tracker.refresh(upstreams.map((u) => u.id));
      return headBook.current()?.number;
    },
  });

  const resolver = createResolver({
    ctx,
    target,
    anchors,
    blockReads,
    lastKnownGood,
    settings,
    redactRpcError,
    call: (rpc, options) => call(rpc, options),
  });

  const cache = createAnswerCache(ctx, {
    chainId,
    answers,
    anchors,
    settings: settings.cache,
    headNumber: () => headBook.current()?.number,
    forgetBlock: (hash) => blockReads.forget(hash),
  });

  const flights = new Map<string, Promise<CallAnswer>>();

  /**
   * `client`: the call is a client's own, so its cache lookup is counted; the engine's reads for itself (log chunks,
   * the outbox, streams, the account view) are not, so hits and misses add up to client calls of cacheable reads.
   */
  async function call(rpc: RpcCall, options: CallOptions = {}, client = false): Promise<CallAnswer> {
    const { signal } = options;
    let head = headBook.current();
    let none: Evidence = { blockNumber: head?.number, verified: "none" };
    const spec = serves(rpc.method);
    if (!spec)
      return {
        ok: false,
        error: new MultihomeError("method_not_found", `method ${rpc.method} is not available`),
        evidence: none,
      };
    const limited = limitCall(rpc.method, rpc.params, settings.calls);
    if (!limited.ok) return { ok: false, error: limited.error, evidence: none };
    if (limited.params !== rpc.params) rpc = { ...rpc, params: limited.params };
    if (rpc.method === "eth_chainId") return { ok: true, result: toHex(chainId), evidence: none };
    if (rpc.method === "net_version") return { ok: true, result: String(chainId), evidence: none };
    if (spec.kind === "write") {
      const raw = Array.isArray(rpc.params) ? rpc.params[0] : undefined;
      if (
        typeof raw !== "string" ||
        raw.length > OUTBOX_MAX_RAW_HEX_CHARS ||
        !HEX_DATA.test(raw) ||
        rpc.params.length !== 1
      ) {
        return {
          ok: false,
          error: new MultihomeError(
            "invalid_params",
            "expected one raw transaction as 0x-prefixed hex (at most 128 KiB)",
          ),
          evidence: none,
        };
      }
      // Even with no agreed head: the transaction is recorded and goes out through whatever upstream is up.
      return transactions.send(raw);
    }
    if (
      rpc.method === "eth_getTransactionCount" &&
      Array.isArray(rpc.params) &&
      rpc.params.length === 2 &&
      rpc.params[1] === "pending" &&
      typeof rpc.params[0] === "string" &&
      ADDRESS_HEX.test(rpc.params[0])
    )
      // The highest the domains' pools support, bounded by the proven mined nonce (core/outbox/pending-nonce.ts).
      return transactions.pendingNonce(rpc.params[0]);
    if (!head && options.firstHeadWaitMs !== undefined) {
      head = headBook.current() ?? (await tracker.waitForNextHead(options.firstHeadWaitMs, signal));
      none = { blockNumber: head?.number, verified: "none" };
    }
    if (!head) {
      const error = new MultihomeError("unavailable", "no block agreed by independent upstreams yet");
      // After a restart during an outage nothing is live, but what was proven before still is what it was.
      if (PROVEN_METHODS.has(rpc.method) && Array.isArray(rpc.params) && asksForLatest(spec, rpc.params)) {
        return lastKnownGood.answer(lastKnownGoodKey(rpc.method, rpc.params), error, options.maxStalenessSeconds, none);
      }
      return { ok: false, error, evidence: none };
    }
    if (rpc.method === "eth_blockNumber") return { ok: true, result: toHex(head.number), evidence: none };
    // `finalized`, `safe` and `{ blockHash }` become the anchored number they stand for (engine/verification/block-tags.ts).
    if (pinsBlock(rpc.method, spec, rpc.params)) {
      const tagged = await blockTags.pin(rpc.method, spec, rpc.params, head.number);
      if (!tagged.ok) return { ok: false, error: tagged.error, evidence: none };
      rpc = { ...rpc, params: tagged.params as RpcCall["params"] };
    }
    const pin = pinBlock(spec, rpc.params, head.number);
    if (!pin.ok)
      return {
        ok: false,
        error: new MultihomeError("invalid_params", `invalid params: ${pin.message}`),
        evidence: none,
      };
    const policy = settings.verification.methods[rpc.method] ?? "single";
    if (spec.kind !== "read") return resolver.resolve(rpc, spec, pin.pinned, head, policy, options);
    const view = cache.view(head);
    const slot = settings.cache.enabled ? cacheSlot(rpc.method, spec, pin.pinned, view) : undefined;
    if (slot) {
      const now = clock.now();
      const hit = cache.lookup(slot, now);
      // Final data cannot go stale; an answer about a recent block is served from the cache only while upstreams
      // are heard from — in an outage the client gets the last-known-good contract, which says how old it is.
      const served = hit !== undefined && (slot.ttlMs === undefined || hearingUpstreams(now));
      if (client) metrics.cache(served);
      if (served) return { ok: true, result: hit.result, evidence: hit.evidence };
    }
    // Identical concurrent reads share one resolution (and so one upstream call). It runs without any one client's
    // signal: a client that goes away stops waiting, not the others.
    const flightKey = `${options.maxStalenessSeconds ?? ""}|${slot?.key ?? `${rpc.method}|${canonicalJson(pin.pinned.params)}`}`;
    let flight = flights.get(flightKey);
    if (!flight) {
      const shared = { maxStalenessSeconds: options.maxStalenessSeconds };
      flight = (async () => {
        const stored = slot?.shared ? await cache.fromStore(slot) : undefined;
        if (stored) return stored;
        const answer = await resolver.resolve(rpc, spec, pin.pinned, head, policy, shared);
        if (slot) cache.remember(spec, slot, answer, policy, view);
        return answer;
      })();
      flights.set(flightKey, flight);
      const settled = flight;
      void settled.finally(() => flights.get(flightKey) === settled && flights.delete(flightKey));
    }
    return signal ? raceAbort(flight, signal, none) : flight;
  }

  /** A call about the newest block is labelled stale, or refused, when that block is too old; any other as it is. */
  function checkedForAge(rpc: RpcCall, options: CallOptions | undefined, client: boolean): Promise<CallAnswer> {
    const spec = serves(rpc.method);
    const answer = call(rpc, options, client);
    if (!spec || !asksForHead(rpc.method, spec, rpc.params)) return answer;
    return answer.then((answered) => staleness.check(rpc, answered, options?.maxStalenessSeconds));
  }

  /** Some admitted upstream with a usable breaker answered a head poll lately. */
  function hearingUpstreams(now: number): boolean {
    const recent = now - READY_SILENCE_POLLS * health.headPollIntervalMs;
    return upstreams.some((u) => u.admission === "admitted" && u.lastSuccessAt >= recent && u.breaker.weight(now) > 0);
  }

  function status(): ChainStatus {
    const now = clock.now();
    const head = headBook.current();
    // Usable: admitted, breaker not open, and heard from lately — an upstream whose last few probes all failed is
    // not counted on even before its breaker opens.
    const reason = !head
      ? "no block agreed by independent upstreams yet"
      : !hearingUpstreams(now)
        ? "no usable upstream"
        : undefined;
    return {
      chainId,
      ready: reason === undefined,
      ...(reason ? { reason } : {}),
      head,
      domainsDown: domainHealth.downDomains(now),
      upstreams: upstreams.map((u) => ({
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
        head: headBook.headOf(u.id),
        latencyMs: u.latency.ewma(),
      })),
    };
  }

  let stopped = false;

  const transactions = createTransactions(ctx, {
    chainId,
    target,
    settings: settings.transactions,
    read: (method, params) => call({ id: 0, method, params, notification: false }),
    headNumber: () => headBook.current()?.number,
    redactRpcError,
  });

  const streams = createStreams(
    ctx,
    {
      head: () => headBook.current(),
      hashAt: async (n) => anchors.hashAt(n) ?? (await anchors.anchor(n))?.hash,
      call: (method, params) => call({ id: 0, method, params, notification: false }),
    },
    {
      logsFromReceipts: settings.verification.methods.eth_getBlockReceipts === "proof",
      retryMs: health.headPollIntervalMs,
    },
  );

  return {
    chainId,
    start: () => {
      tracker.start();
      cordons.start();
      transactions.start();
    },
    transaction: (hash) => transactions.status(hash),
    async ready(timeoutMs) {
      // A known head is not readiness: an upstream must have been heard from lately too. Either changes only when a
      // poll answers, so it is looked at again after each new head or poll interval, until the deadline.
      const deadline = clock.now() + timeoutMs;
      while (!stopped && !status().ready) {
        const left = deadline - clock.now();
        if (left <= 0) return;
        await tracker.waitForNextHead(Math.min(left, health.headPollIntervalMs));
      }
    },
    call: (rpc, options) => checkedForAge(rpc, options, true),
    read: (rpc, options) => checkedForAge(rpc, options, false),
    subscribe: (params, deliver) => streams.subscribe(params, deliver),
    status,
    async stop() {
      stopped = true;
      cordons.stop();
      transactions.stop();
      tracker.stop();
      streams.stop();
      await Promise.all(upstreams.map((u) => u.close()));
    },
  };
}

/**
 * Domain health that also tells the activity record when an upstream fails (its requests fail over to others) and
 * when a whole domain goes down or comes back.
 */
function withEvents(health: DomainHealth, chainId: number, activity: Activity): DomainHealth {
  return {
    ...health,
    onFailure(domain, upstreamId, now) {
      const wasDown = health.isDown(domain, now);
      health.onFailure(domain, upstreamId, now);
      activity.record({
        kind: "failover",
        chainId,
        upstream: upstreamId,
        domain,
        message: `${upstreamId} (${domain}) failed; its requests go to other upstreams`,
      });
      if (!wasDown && health.isDown(domain, now)) {
        activity.record({
          kind: "domain_down",
          chainId,
          domain,
          message: `${domain}: several upstreams failed together`,
        });
      }
    },
    onSuccess(domain, upstreamId, now) {
      const wasDown = health.isDown(domain, now);
      health.onSuccess(domain, upstreamId, now);
      if (wasDown) activity.record({ kind: "domain_up", chainId, domain, message: `${domain} answers again` });
    },
  };
}
