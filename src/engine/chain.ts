/** Everything Multihome keeps for one chain, and answering one call on it. */

import { areIndependent } from "../core/domains/domain.ts";
import { createDomainHealth, type DomainHealth } from "../core/domains/domain-health.ts";
import { createHeadBook } from "../core/domains/head.ts";
import type { ByteLru } from "../core/lru.ts";
import { noopMetrics } from "../core/ports.ts";
import { createMethodPolicy } from "../core/rpc/access.ts";
import type { RpcCall, RpcErrorObject } from "../core/rpc/jsonrpc.ts";
import type { ChainStatus } from "../core/rpc/status.ts";
import { createRedactor } from "../core/security/redact.ts";
import type { Activity } from "./activity.ts";
import type { CallAnswer, CallOptions } from "./answers/answer.ts";
import { type CachedAnswer, createAnswerCache } from "./answers/answer-cache.ts";
import { createLastKnownGoodBook } from "./answers/last-known-good.ts";
import { createStaleCheck } from "./answers/staleness.ts";
import type { EngineContext } from "./context.ts";
import { createTransactions, type TransactionStatus } from "./outbox/transactions.ts";
import { createPipeline } from "./pipeline.ts";
import { createResolver } from "./resolve.ts";
import { createCordons } from "./routing/cordons.ts";
import { execute } from "./routing/execute.ts";
import { createHeadTracker, type HeadTracker, READY_SILENCE_POLLS } from "./routing/head-tracker.ts";
import { createTarget, createUpstreams, upstreamStatus } from "./routing/upstream-set.ts";
import type { ChainSettings } from "./settings.ts";
import { createSiblingHeads } from "./sibling-heads.ts";
import { createStreams, type SubscribeResult } from "./streams.ts";
import { createAnchors } from "./verification/anchors.ts";
import { createBlockReads } from "./verification/block-reads.ts";
import { createBlockTags } from "./verification/block-tags.ts";

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
  /** Another worker of this gateway served head `number` (see `siblingHeads` below). */
  siblingHead(number: number): void;
  /** Told of every new agreed head (a worker tells its siblings). */
  onHead(listener: (number: number) => void): void;
  stop(): Promise<void>;
}

/**
 * How long a call waits for this engine to reach a head another worker of the gateway already served, ms: a client
 * moved between workers must not see the head go back. Longer, it is answered at the head this engine has.
 */
export const SIBLING_HEAD_WAIT_MS = 1_000;

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
  const upstreams = createUpstreams(ctx, settings, activity, (u) => metrics.upstream(u));
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
  const target = createTarget(
    settings,
    upstreams,
    domainHealth,
    (id) => headBook.headOf(id),
    (ids) => tracker.refresh(ids),
  );
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
      for (const listener of headListeners) listener(head.number);
    },
    onVerifiedHeader: (header) => anchors.rememberHeader(header),
    onDispute: (u, reason) => target.onDispute?.(u, reason),
    onReorg: (deepBelow, branch) => cache.onReorg(deepBelow, branch),
  });

  const headListeners: ((number: number) => void)[] = [];
  const siblings = createSiblingHeads({
    head: () => headBook.current()?.number,
    refresh: () => tracker.refresh(upstreams.map((u) => u.id)),
    waitForNextHead: (ms) => tracker.waitForNextHead(ms),
    now: () => clock.now(),
    waitMs: SIBLING_HEAD_WAIT_MS,
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
    call: (rpc, options) => pipeline.internal(rpc, options),
  });

  const cache = createAnswerCache(ctx, {
    chainId,
    answers,
    anchors,
    settings: settings.cache,
    headNumber: () => headBook.current()?.number,
    forgetBlock: (hash) => blockReads.forget(hash),
  });

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
      upstreams: upstreams.map((u) => upstreamStatus(u, now, activity, headBook.headOf(u.id))),
    };
  }

  let stopped = false;

  const transactions = createTransactions(ctx, {
    chainId,
    target,
    settings: settings.transactions,
    read: (method, params) => pipeline.internal({ id: 0, method, params, notification: false }),
    headNumber: () => headBook.current()?.number,
    redactRpcError,
  });

  const streams = createStreams(
    ctx,
    {
      head: () => headBook.current(),
      hashAt: async (n) => anchors.hashAt(n) ?? (await anchors.anchor(n))?.hash,
      call: (method, params) => pipeline.internal({ id: 0, method, params, notification: false }),
    },
    {
      logsFromReceipts: settings.verification.methods.eth_getBlockReceipts === "proof",
      retryMs: health.headPollIntervalMs,
    },
  );

  const pipeline = createPipeline({
    ctx,
    settings,
    serves,
    head: () => headBook.current(),
    waitForHead: (ms, signal) => tracker.waitForNextHead(ms, signal),
    catchUp: () => siblings.catchUp(),
    blockTags,
    cache,
    resolver,
    transactions,
    lastKnownGood,
    staleness,
    hearingUpstreams,
    countCache: (hit) => metrics.cache(hit),
  });

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
    call: pipeline.call,
    read: pipeline.read,
    subscribe: (params, deliver) => streams.subscribe(params, deliver),
    siblingHead: (number) => siblings.served(number),
    onHead: (listener) => void headListeners.push(listener),
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
