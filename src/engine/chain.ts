/** Everything Multihome keeps for one chain, and answering one call on it. */

import { createMethodPolicy } from "../core/access.ts";
import {
  type AnswerStanding,
  type CacheSlot,
  type CacheView,
  cacheSlot,
  canonicalJson,
  keepAnswer,
} from "../core/cache-policy.ts";
import { limitCall } from "../core/call-limits.ts";
import { createDisputes } from "../core/disputes.ts";
import { areIndependent } from "../core/domain.ts";
import { createDomainHealth, type DomainHealth } from "../core/domain-health.ts";
import { MultihomeError } from "../core/errors.ts";
import { ESTIMATE_METHODS } from "../core/estimate.ts";
import { type AgreedHead, createHeadBook } from "../core/head.ts";
import { ADDRESS_HEX } from "../core/hex.ts";
import type { RpcCall, RpcErrorObject } from "../core/jsonrpc.ts";
import { createLatencyWindow } from "../core/latency.ts";
import { logsBreakFilter } from "../core/log-filter.ts";
import type { ByteLru } from "../core/lru.ts";
import {
  type MethodSpec,
  type PinnedCall,
  parseBlockNumber,
  pinBlock,
  toHex,
  type VerificationPolicy,
} from "../core/methods.ts";
import { noopMetrics } from "../core/ports.ts";
import { createRetryBudget } from "../core/retry-budget.ts";
import { asksForHead } from "../core/staleness.ts";
import { answerFits, OUTBOX_MAX_RAW_HEX_CHARS } from "../core/store.ts";
import { createRedactor } from "../upstream/redact.ts";
import { createUpstream, type Upstream, viewOf } from "../upstream/upstream.ts";
import { type Activity, drillable } from "./activity.ts";
import { createAnchors, inDeepReorg } from "./anchors.ts";
import type { CallAnswer, CallOptions, Evidence } from "./answer.ts";
import { createBlockReads } from "./block-reads.ts";
import { createBlockTags, pinsBlock } from "./block-tags.ts";
import type { EngineContext } from "./context.ts";
import { type CallPlan, type ExecuteTarget, execute, type Verdict } from "./execute.ts";
import { createHeadTracker, type HeadTracker } from "./head-tracker.ts";
import { createLastKnownGoodBook, lastKnownGoodKey } from "./last-known-good.ts";
import { executeEstimate, executeQuorum } from "./quorum.ts";
import type { ChainSettings } from "./settings.ts";
import { createStaleCheck } from "./staleness.ts";
import { PROVEN_METHODS, readProven } from "./state-reads.ts";
import { createStreams, type SubscribeResult } from "./streams.ts";
import { createTransactions, type TransactionStatus } from "./transactions.ts";

export type { CallAnswer, CallOptions, Evidence, Verification } from "./answer.ts";

export interface ChainStatus {
  chainId: number;
  ready: boolean;
  reason?: string;
  head: AgreedHead | undefined;
  domainsDown: string[];
  upstreams: {
    id: string;
    domain: string;
    operator: string;
    hosting: string;
    region: string;
    admission: string;
    /** Cordoned: on the wrong chain, or for failed verifications. */
    cordoned: boolean;
    /** Taken down by a running drill. */
    drilled: boolean;
    cordonReason?: string;
    breaker: string;
    head: number | undefined;
    latencyMs: number | undefined;
  }[];
}

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

/** Logs that break their own filter (outside the range, another address or topic) are false: a dispute. */
function logsVerdict(filter: Record<string, unknown>) {
  return (logs: unknown): Verdict => {
    const broken = logsBreakFilter(logs, filter);
    return broken === undefined ? { ok: true, value: logs } : { ok: false, reason: `logs: ${broken}` };
  };
}

function asksForLatest(spec: { blockParam?: number }, params: unknown[]): boolean {
  const block = spec.blockParam === undefined ? undefined : params[spec.blockParam];
  return block === undefined || block === "latest";
}

/** How often a chain takes on cordons other replicas shared, ms. */
export const CORDON_SYNC_INTERVAL_MS = 1_000;

/** An upstream silent for this many head-poll intervals does not count towards readiness. */
export const READY_SILENCE_POLLS = 3;

const HEX_DATA = /^0x(?:[0-9a-fA-F]{2})+$/;

/** A cached answer and the evidence it was served with. */
export interface CachedAnswer {
  result: unknown;
  evidence: Evidence;
}

/** Established by a proof or by independent domains agreeing: what may be shared, and what nothing unverified replaces. */
function isVerified(evidence: Evidence | undefined): boolean {
  return evidence?.verified === "proof" || evidence?.verified === "quorum";
}

/** A stored answer's JSON, or undefined when it is not one (a store is an accelerator: what it holds is checked). */
function parseStoredAnswer(json: string): CachedAnswer | undefined {
  try {
    const parsed = JSON.parse(json) as Partial<CachedAnswer> | null;
    if (typeof parsed !== "object" || parsed === null || typeof parsed.evidence !== "object") return undefined;
    return parsed as CachedAnswer;
  } catch {
    return undefined;
  }
}

/** What an entry costs beyond its key and serialized result (the objects around them), for the byte bound. */
export const CACHE_ENTRY_OVERHEAD_BYTES = 256;
/** What a cached answer counts against `cache.maxBytes`: its key, its `{ result, evidence }` JSON, and the overhead. */
export function cachedAnswerBytes(key: string, json: string): number {
  return key.length + json.length + CACHE_ENTRY_OVERHEAD_BYTES;
}
/** Block hashes tracked for reorg eviction; beyond it the oldest are evicted from the cache at once. */
export const MAX_WATCHED_BLOCKS = 65_536;

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
      upstreams.map((u) => viewOf(u, now, headBook.headOf(u.id), domainHealth.isDown(u.domainLabel, now))),
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
    onReorg: (deepBelow) => onReorg(deepBelow),
  });

  const redact = createRedactor(settings.upstreams.map((u) => u.url));
  const redactRpcError = (e: RpcErrorObject): RpcErrorObject => ({
    code: e.code,
    message: redact(e.message),
    ...(e.data !== undefined ? { data: JSON.parse(redact(JSON.stringify(e.data))) } : {}),
  });

  const disputes = createDisputes({
    threshold: settings.verification.disputesToCordon,
    windowMs: settings.verification.disputeWindowMs,
    cordonMs: settings.verification.cordonMs,
  });
  const cordon = (u: Upstream, until: number, reason: string) => {
    if (u.cordonedUntil >= until) return;
    u.cordonedUntil = until;
    u.cordonReason = `failed verification ${settings.verification.disputesToCordon} times: ${reason}`;
    metrics.upstream(u).cordon("disputes");
    ctx.logger.error(
      { chainId, upstream: u.id, until: new Date(until).toISOString() },
      "upstream cordoned for disputes",
    );
    activity.record({ kind: "cordon", chainId, upstream: u.id, domain: u.domainLabel, message: u.cordonReason });
    // Every replica sharing the store avoids it too.
    ctx.store
      .putCordon({ chainId, upstreamId: u.id, until, reason: u.cordonReason })
      .catch((error: unknown) => ctx.logger.warn({ err: (error as Error).message }, "cordon not shared"));
  };
  target.onDispute = (u, reason) => {
    const now = clock.now();
    ctx.logger.warn({ chainId, upstream: u.id, domain: u.domainLabel, reason }, "answer failed verification");
    metrics.upstream(u).dispute();
    activity.record({ kind: "dispute", chainId, upstream: u.id, domain: u.domainLabel, message: reason });
    const until = disputes.record(u.id, now);
    if (until !== undefined) cordon(u, until, reason);
    // Replicas pool their disputes: a liar spreading its lies over several replicas is caught as soon as one would.
    ctx.store
      .addToCounter(`disputes:${chainId}:${u.id}`, 1, settings.verification.disputeWindowMs, now)
      .then((total) => {
        const t = clock.now();
        if (total >= settings.verification.disputesToCordon && u.cordonedUntil <= t)
          cordon(u, t + settings.verification.cordonMs, reason);
      })
      .catch((error: unknown) => ctx.logger.debug({ err: (error as Error).message }, "dispute not shared"));
  };

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
  });
  const staleness = createStaleCheck(ctx, {
    staleAfterMs: settings.staleAfterMs,
    timestampAt: anchors.timestampAt,
    lastKnownGood,
  });
  const blockReads = createBlockReads({
    ...(settings.forks ? { forks: settings.forks } : {}),
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
    domainOf: (id) => upstreams.find((u) => u.id === id)?.domainLabel ?? id,
    async refreshHead() {
      await tracker.refresh(upstreams.map((u) => u.id));
      return headBook.current()?.number;
    },
  });

  const flights = new Map<string, Promise<CallAnswer>>();
  /** Block hashes cached answers depend on, with their height when known: checked after every reorg. */
  const watched = new Map<string, number | undefined>();

  function cacheView(head: AgreedHead): CacheView {
    return {
      head: head.number,
      finalized: head.number - settings.cache.finalityDepth,
      // The same rule as anchoring: a block one domain vouches for is not cached as that height's block.
      hashAt: anchors.hashAt,
      unfinalizedTtlMs: settings.cache.unfinalizedTtlMs,
    };
  }

  /**
   * Keeps a live answer in the process cache (never an error, a `null`, or a stale value), and a verified one about
   * final data in the store. One upstream's word never takes the place of a verified answer.
   */
  function remember(
    spec: MethodSpec,
    slot: CacheSlot,
    answer: CallAnswer,
    policy: VerificationPolicy,
    view: CacheView,
  ) {
    if (!answer.ok || answer.evidence.staleSeconds !== undefined) return;
    const standing: AnswerStanding =
      policy !== "single" && answer.evidence.verified !== policy
        ? "short"
        : isVerified(answer.evidence)
          ? "verified"
          : "single";
    const keep = keepAnswer(spec, slot, answer.result, standing, view);
    if (!keep) return;
    const key = `${chainId}|${keep.key}`;
    const now = clock.now();
    if (standing === "single" && isVerified(answers.get(key, now)?.evidence)) return;
    const cached: CachedAnswer = { result: answer.result, evidence: answer.evidence };
    const json = JSON.stringify(cached);
    if (keep.shared && ctx.storeAnswers && answerFits(keep.key, json)) {
      ctx.store
        .putAnswer(chainId, keep.key, json)
        .catch((error: unknown) => ctx.logger.debug({ err: (error as Error).message }, "answer not shared"));
    }
    answers.set(key, cached, {
      bytes: cachedAnswerBytes(key, json),
      ...(keep.ttlMs !== undefined ? { expiresAt: now + keep.ttlMs } : {}),
      tags: keep.tags.map((t) => `${chainId}|${t}`),
    });
    for (const tag of keep.tags) {
      if (watched.has(tag)) continue;
      watched.set(tag, answer.evidence.blockNumber);
      if (watched.size > MAX_WATCHED_BLOCKS) {
        // Too many to check on a reorg: what is no longer watched is no longer cached either.
        const [oldest] = watched.keys();
        watched.delete(oldest!);
        answers.evictTag(`${chainId}|${oldest}`);
      }
    }
  }

  /**
   * A verified answer about final data another replica (or this one, before a restart) kept in the store; taken into
   * the process cache. A store that fails is a miss, never an error.
   */
  async function fromStore(slot: CacheSlot): Promise<CallAnswer | undefined> {
    if (!ctx.storeAnswers) return undefined;
    let json: string | undefined;
    try {
      json = await ctx.store.getAnswer(chainId, slot.key);
    } catch (error) {
      ctx.logger.debug({ err: (error as Error).message }, "stored answers not read");
      return undefined;
    }
    if (json === undefined) return undefined;
    const cached = parseStoredAnswer(json);
    // What an older Multihome kept on one upstream's word is not served: it is asked again, and the verified answer
    // replaces it.
    if (!cached || !isVerified(cached.evidence)) return undefined;
    const key = `${chainId}|${slot.key}`;
    answers.set(key, cached, { bytes: cachedAnswerBytes(key, json), tags: [] });
    return { ok: true, result: cached.result, evidence: cached.evidence };
  }

  /**
   * After a reorg: forget everything that belonged to a block some usable upstream now contradicts — after one deeper
   * than the walk, everything below `deepBelow` within the head history.
   */
  function onReorg(deepBelow?: number) {
    const orphaned = new Set<string>(anchors.reconcile(deepBelow));
    const floor = (headBook.current()?.number ?? 0) - settings.cache.finalityDepth;
    for (const [hash, number] of watched) {
      // Height unknown: drop it to be safe (a cache miss costs one upstream call, a stale hit a wrong answer).
      if (
        number === undefined ||
        (deepBelow !== undefined && inDeepReorg(number, deepBelow)) ||
        (number > floor && anchors.doubted(number, hash))
      )
        orphaned.add(hash);
      else if (number <= floor) watched.delete(hash);
    }
    for (const hash of orphaned) {
      watched.delete(hash);
      blockReads.forget(hash);
      answers.evictTag(`${chainId}|${hash.toLowerCase()}`);
    }
    if (orphaned.size > 0)
      ctx.logger.info({ chainId, blocks: orphaned.size }, "reorg: answers about orphaned blocks evicted");
  }

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
      // The highest the domains' pools support, bounded by the proven mined nonce (core/pending-nonce.ts).
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
    // `finalized`, `safe` and `{ blockHash }` become the anchored number they stand for (engine/block-tags.ts).
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
    if (spec.kind !== "read") return resolve(rpc, spec, pin.pinned, head, policy, options);
    const view = cacheView(head);
    const slot = settings.cache.enabled ? cacheSlot(rpc.method, spec, pin.pinned, view) : undefined;
    if (slot) {
      const now = clock.now();
      const hit = answers.get(`${chainId}|${slot.key}`, now);
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
        const stored = slot?.shared ? await fromStore(slot) : undefined;
        if (stored) return stored;
        const answer = await resolve(rpc, spec, pin.pinned, head, policy, shared);
        if (slot) remember(spec, slot, answer, policy, view);
        return answer;
      })();
      flights.set(flightKey, flight);
      const settled = flight;
      void settled.finally(() => flights.get(flightKey) === settled && flights.delete(flightKey));
    }
    return signal ? raceAbort(flight, signal, none) : flight;
  }

  /** Answers one pinned call: proven, by quorum, or from one upstream, as the method's policy says. */
  async function resolve(
    rpc: RpcCall,
    spec: MethodSpec,
    pinned: PinnedCall,
    head: AgreedHead,
    policy: VerificationPolicy,
    options: CallOptions,
  ): Promise<CallAnswer> {
    const { signal } = options;
    const none: Evidence = { blockNumber: head.number, verified: "none" };
    if (
      policy === "proof" &&
      spec.proof === "state" &&
      pinned.blockNumber !== undefined &&
      Array.isArray(pinned.params)
    ) {
      const proven = await readProven(
        {
          anchor: anchors.anchor,
          distrust: anchors.distrust,
          execute: (plan) => execute(ctx, target, plan, signal),
        },
        rpc.method,
        pinned.params,
        pinned.blockNumber,
      );
      const key = lastKnownGoodKey(rpc.method, pinned.params);
      if (proven.ok) {
        // Only a value at the head is the last known one; a read at an older block says nothing of the present.
        if (proven.anchor.number === head.number)
          lastKnownGood.record(lastKnownGood.entry(key, proven.value, proven.anchor));
        return {
          ok: true,
          result: proven.value,
          evidence: {
            blockNumber: proven.anchor.number,
            verified: proven.anchor.headerDigest === undefined ? "proof" : "quorum",
            blockHash: proven.anchor.hash,
            domains: proven.anchor.domains,
            upstream: proven.supplier,
          },
        };
      }
      // Pinned to an explicit old block, a newer last-known-good would be a different question.
      const explicitBlock = pinned.blockNumber !== head.number;
      if (proven.error.code === "invalid_params" || explicitBlock)
        return { ok: false, error: proven.error, evidence: none };
      return lastKnownGood.answer(key, proven.error, options.maxStalenessSeconds, none);
    }
    if (policy === "proof" && spec.proof !== undefined && Array.isArray(pinned.params)) {
      const read = await blockReads.read(rpc.method, pinned, head.number, signal);
      if (read.ok === true) return { ok: true, result: read.result, evidence: read.evidence };
      if (read.ok === false) return { ok: false, error: read.error, evidence: none };
      // No proven path for these params (a tag like `pending`, a block above the head): answered as usual below.
    }
    if (rpc.method === "eth_getLogs") {
      // A wide range is asked as chunks, each a call of its own (and so checked as the policy says).
      const split = await splitLogs(rpc, pinned, options);
      if (split) return split;
    }
    const logsCheck =
      rpc.method === "eth_getLogs" ? logsVerdict((pinned.params as Record<string, unknown>[])[0]!) : undefined;
    if (policy === "quorum") {
      const plan: CallPlan = {
        method: rpc.method,
        params: pinned.params,
        heavy: spec.heavy ?? false,
        minBlock: pinned.minBlock,
        ...(logsCheck ? { verify: logsCheck } : {}),
      };
      const run = (p: CallPlan) => execute(ctx, target, p, signal);
      const safe = ESTIMATE_METHODS[rpc.method];
      const quorum = safe
        ? await executeEstimate(run, plan, safe)
        : await executeQuorum(run, plan, settings.verification.quorumSize, (u, reason) =>
            target.onDispute?.(u, reason),
          );
      const blockNumber = pinned.blockNumber ?? head.number;
      if (!quorum.ok) return { ok: false, error: quorum.error, evidence: none };
      const evidence: Evidence = {
        blockNumber,
        verified: quorum.witnesses.length >= 2 ? "quorum" : "single",
        domains: [...new Set(quorum.witnesses.map((u) => u.domainLabel))],
        upstream: quorum.witnesses[0]!.id,
      };
      return quorum.result.ok
        ? { ok: true, result: quorum.result.result, evidence }
        : { ok: false, rpcError: redactRpcError(quorum.result.rpcError), evidence };
    }
    const blockCheck =
      rpc.method === "eth_getBlockByNumber" && pinned.blockNumber !== undefined
        ? anchors.checkBlock(pinned.blockNumber, head.number)
        : undefined;
    const result = await execute(
      ctx,
      target,
      {
        method: rpc.method,
        params: pinned.params,
        heavy: spec.heavy ?? false,
        minBlock: pinned.minBlock,
        ...(blockCheck ? { verify: blockCheck.verify } : logsCheck ? { verify: logsCheck } : {}),
        ...(spec.passThrough ? { hedge: false } : {}),
      },
      signal,
    );
    const blockNumber = pinned.blockNumber ?? head.number;
    if (result.ok)
      return {
        ok: true,
        result: result.result,
        evidence: { blockNumber, verified: blockCheck?.evidence() ?? "single", upstream: result.upstream },
      };
    if ("rpcError" in result)
      // A node's error text is passed through, but never a configured upstream URL or key it may echo back.
      return {
        ok: false,
        rpcError: redactRpcError(result.rpcError),
        evidence: { blockNumber, verified: "single", upstream: result.upstream },
      };
    return { ok: false, error: result.error, evidence: none };
  }

  /**
   * A log range wider than `logs.chunkBlocks`: asked as chunks (each its own call, so cached and shared like any
   * other), at most `logs.chunkConcurrency` at once, merged in order. One failed chunk fails the whole request: a
   * partial list of logs would be a wrong answer. Undefined when the range needs no split.
   */
  async function splitLogs(rpc: RpcCall, pinned: PinnedCall, options: CallOptions): Promise<CallAnswer | undefined> {
    const filter = (pinned.params as Record<string, unknown>[])[0]!;
    const from = parseBlockNumber(filter.fromBlock);
    const to = parseBlockNumber(filter.toBlock);
    if (from === undefined || to === undefined) return undefined;
    const { maxBlockRange, chunkBlocks, chunkConcurrency } = settings.logs;
    const span = to - from + 1;
    const none: Evidence = { blockNumber: to, verified: "none" };
    if (span > maxBlockRange)
      return {
        ok: false,
        error: new MultihomeError(
          "invalid_params",
          `invalid params: block range of ${span} blocks is wider than the limit of ${maxBlockRange}`,
          { data: { limit: maxBlockRange } },
        ),
        evidence: none,
      };
    if (span <= chunkBlocks) return undefined;
    const chunks: [number, number][] = [];
    for (let a = from; a <= to; a += chunkBlocks) chunks.push([a, Math.min(to, a + chunkBlocks - 1)]);
    const answers: CallAnswer[] = new Array(chunks.length);
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < chunks.length) {
        const i = next++;
        const [a, b] = chunks[i]!;
        const answer = await call({ ...rpc, params: [{ ...filter, fromBlock: toHex(a), toBlock: toHex(b) }] }, options);
        answers[i] = answer;
        if (!answer.ok || !Array.isArray(answer.result)) failed = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(chunkConcurrency, chunks.length) }, worker));
    const failure = answers.find((a) => a !== undefined && (!a.ok || !Array.isArray(a.result)));
    if (failure) {
      if (!failure.ok) return failure;
      return {
        ok: false,
        error: new MultihomeError("unavailable", "a chunk of the log range gave no list"),
        evidence: none,
      };
    }
    const logs = answers.flatMap((a) => (a as { result: unknown[] }).result);
    return { ok: true, result: logs, evidence: { blockNumber: to, verified: "single" } };
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
        domain: u.domainLabel,
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

  /** Takes on cordons other replicas decided (through the shared store), every CORDON_SYNC_INTERVAL_MS. */
  let cancelCordonSync: (() => void) | undefined;
  let stopped = false;
  async function syncCordons() {
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
    if (!stopped) cancelCordonSync = clock.setTimer(CORDON_SYNC_INTERVAL_MS, () => void syncCordons());
  }

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
      void syncCordons();
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
      cancelCordonSync?.();
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
