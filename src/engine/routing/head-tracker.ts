/**
 * Per chain: admits upstreams (right chain id, same genesis), polls every upstream's head, feeds health, and keeps
 * the agreed head. The polls double as health probes, so a dead upstream is noticed even when it gets no traffic,
 * at no more than one probe per poll interval.
 *
 * A polled header whose fields do not hash to its hash (or break the fork schedule) is a dispute. One that carries a
 * field Multihome does not know cannot be hashed at all (a fork newer than this code): it still counts as a report of
 * the head, which only independent upstreams agreeing on its hash can make the agreed head, but its roots are not
 * taken as verified and nobody is disputed for it.
 */
import type { ForkSchedule } from "../../core/chain-presets.ts";
import type { DomainHealth } from "../../core/domains/domain-health.ts";
import { type AgreedHead, agreedValue, type HeadBook } from "../../core/domains/head.ts";
import { noopMetrics } from "../../core/ports.ts";
import { parseBlockNumber } from "../../core/rpc/methods.ts";
import { checkHeader, type HeaderCheck } from "../../core/verification/header.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { EngineContext } from "../context.ts";

/** The fields of a header whose hash was checked (the rest of the block JSON is not trusted). */
export interface VerifiedHeader {
  number: string;
  hash: `0x${string}`;
  stateRoot: `0x${string}`;
  transactionsRoot: `0x${string}`;
  receiptsRoot: `0x${string}`;
  /** Seconds since epoch, hex quantity. */
  timestamp: string;
}

/** Deepest reorg followed back by parent hashes (deeper ones re-anchor old blocks by quorum instead). */
export const REORG_WALK_MAX_BLOCKS = 64;
/**
 * Headers one upstream may be asked for by reorg walks within REORG_WALK_WINDOW_MS (four of the deepest walks); beyond,
 * its reorg reports start no walk. Honest reorgs are mostly a block or two deep; an upstream inventing branches every
 * poll spends this budget, on itself only.
 */
export const REORG_WALK_FETCHES_PER_WINDOW = 4 * REORG_WALK_MAX_BLOCKS;
export const REORG_WALK_WINDOW_MS = 60_000;
/** An upstream silent for this many head-poll intervals does not count towards readiness. */
export const READY_SILENCE_POLLS = 3;
/**
 * Head poll interval for an upstream whose breaker is open or half-open while it was heard from within
 * READY_SILENCE_POLLS intervals (capped by `health.headPollIntervalMs`).
 */
export const RECOVERY_POLL_INTERVAL_MS = 250;

export interface HeadTrackerOptions {
  chainId: number;
  upstreams: Upstream[];
  headBook: HeadBook;
  domainHealth: DomainHealth;
  pollIntervalMs: number;
  chainCheckIntervalMs: number;
  attemptTimeoutMs: number;
  /** Backoff after a rate limit that named no duration, ms. */
  defaultBackoffMs: number;
  /** The chain's fork schedule, when known: which fork fields each header must carry. */
  forks?: ForkSchedule;
  /** Called after each change of the agreed head. */
  onHead?: (head: AgreedHead) => void;
  /** A polled header whose hash was recomputed from its fields and matched. */
  onVerifiedHeader?: (header: VerifiedHeader) => void;
  /**
   * An upstream's chain reorganised and its new branch was learned: what was anchored may be orphaned. `deepBelow`: the
   * reorg went deeper than the walk, and everything below that height is in doubt too. `branch`: the agreed head was
   * just replaced by this one, which does not stand on it: what is not known to be on its branch is in doubt.
   */
  onReorg?: (deepBelow?: number, branch?: AgreedHead) => void;
  /** A polled header failed verification. */
  onDispute?: (upstream: Upstream, reason: string) => void;
}

export interface HeadTracker {
  start(): void;
  /**
   * Poll these upstreams' heads now (sharing a poll already under way). Used before giving up on a call because every
   * remaining upstream looked behind: their last report may simply predate the newest block.
   */
  refresh(upstreamIds: string[]): Promise<void>;
  stop(): void;
  /** The next head agreed from now on; undefined after `timeoutMs`, when `signal` aborts or when the tracker stops. */
  waitForNextHead(timeoutMs: number, signal?: AbortSignal): Promise<AgreedHead | undefined>;
}

export function createHeadTracker(ctx: EngineContext, options: HeadTrackerOptions): HeadTracker {
  const { clock, logger } = ctx;
  const { chainId, upstreams, headBook, domainHealth } = options;
  const log = logger.child({ chainId });
  const metrics = (ctx.metrics ?? noopMetrics).chain(chainId);
  const stopped = new AbortController();
  const timers = new Map<string, () => void>();
  const lastChainCheck = new Map<string, number>();
  let genesis: string | undefined;
  const genesisReports = new Map<string, string>();
  const headWaiters = new Set<(head: AgreedHead | undefined) => void>();
  /** Upstreams whose latest header could not be hashed: told once in the logs, until one of theirs verifies again. */
  const unverifiable = new Set<string>();

  // Admitted and not cordoned for failed verifications: a liar vouches for nothing.
  const usable = (id: string) => {
    const u = upstreams.find((x) => x.id === id);
    return u !== undefined && u.admission === "admitted" && u.cordonedUntil <= clock.now();
  };

  function cordon(u: Upstream, reason: string): void {
    if (u.admission !== "cordoned") {
      log.error({ upstream: u.id, reason }, "upstream cordoned");
      metrics.upstream(u).cordon("wrong_chain");
    }
    u.admission = "cordoned";
    u.cordonReason = reason;
    headBook.forget(u.id);
  }

  /** Right chain id and, once known, the same genesis block as the others. */
  async function checkChain(u: Upstream): Promise<void> {
    lastChainCheck.set(u.id, clock.now());
    const opts = { timeoutMs: options.attemptTimeoutMs, signal: stopped.signal };
    const id = await u.attempt("eth_chainId", [], opts);
    if (id.outcome.kind !== "result") return;
    const reported = parseBlockNumber(id.outcome.result);
    if (reported !== chainId) {
      cordon(
        u,
        `wrong chain: reports chain id ${String(reported ?? id.outcome.result).slice(0, 24)}, expected ${chainId}`,
      );
      return;
    }
    const block0 = await u.attempt("eth_getBlockByNumber", ["0x0", false], opts);
    if (block0.outcome.kind !== "result") return;
    const hash = (block0.outcome.result as { hash?: unknown } | null)?.hash;
    if (typeof hash !== "string") return;
    genesisReports.set(u.id, hash);
    // The genesis is whatever independent upstreams agree on — never the word of the first one to answer.
    if (genesis === undefined) {
      genesis = agreedValue(genesisReports, upstreams);
      if (genesis === undefined) return;
      for (const other of upstreams) if (other !== u && genesisReports.has(other.id)) judgeGenesis(other);
    }
    judgeGenesis(u);
  }

  function judgeGenesis(u: Upstream): void {
    if (genesisReports.get(u.id) !== genesis) {
      cordon(u, "wrong chain: its genesis block differs from the one independent upstreams agree on");
      return;
    }
    if (u.admission !== "admitted") {
      log.info(
        { upstream: u.id, domain: u.outageDomain },
        u.admission === "cordoned" ? "upstream re-admitted" : "upstream admitted",
      );
      u.admission = "admitted";
      u.cordonReason = undefined;
    }
  }

  const polling = new Map<string, Promise<void>>();

  /** One poll per upstream at a time, shared by the loop and by refresh(). */
  function pollOnce(u: Upstream): Promise<void> {
    let p = polling.get(u.id);
    if (!p) {
      p = poll(u)
        .catch((error: unknown) =>
          log.error({ upstream: u.id, err: (error as Error).message }, "head poll failed unexpectedly"),
        )
        .finally(() => polling.delete(u.id));
      polling.set(u.id, p);
    }
    return p;
  }

  async function poll(u: Upstream): Promise<void> {
    const now = clock.now();
    if (u.admission !== "admitted" || now - (lastChainCheck.get(u.id) ?? 0) >= options.chainCheckIntervalMs) {
      await checkChain(u);
      if (u.admission !== "admitted") return;
    }
    // An upstream that asked us to back off gets no polls either.
    if (u.backoffUntil > clock.now()) return;
    // Probing an open breaker is how it learns of recovery; only a reserved half-open slot may report it.
    const closed = u.breaker.state(clock.now()) === "closed";
    const reported = closed || u.breaker.allow(clock.now());
    const { outcome, elapsedMs } = await u.attempt("eth_getBlockByNumber", ["latest", false], {
      timeoutMs: options.attemptTimeoutMs,
      signal: stopped.signal,
    });
    const at = clock.now();
    if ((outcome.kind === "transport" && outcome.failure === "aborted") || outcome.kind === "capacity") {
      if (outcome.kind === "capacity") u.backoffUntil = at + (outcome.backoffMs ?? options.defaultBackoffMs);
      if (reported && !closed) u.breaker.release(at);
      return;
    }
    const block = outcome.kind === "result" ? (outcome.result as Record<string, unknown> | null) : null;
    const number = parseBlockNumber(block?.number);
    if (block && number !== undefined && typeof block.hash === "string" && typeof block.parentHash === "string") {
      u.latency.record(elapsedMs, at);
      if (reported) u.breaker.onSuccess(at);
      // An open breaker waits out its backoff no longer: a good head poll is evidence the upstream answers again. It
      // turns half-open — one probe request per poll at most, then slow start — so a flapping node is still held back.
      else u.breaker.onProbeSuccess(at);
      u.lastSuccessAt = at;
      domainHealth.onSuccess(u.outageDomain, u.id, at);
      // A header whose fields do not hash to its hash is a lie about the chain: not a report, a dispute. One that
      // cannot be hashed (a field Multihome does not know) is a report whose roots need agreement (noteHeader).
      const check = checkHeader(block, options.forks);
      if (check.ok === false || check.hash !== block.hash) {
        options.onDispute?.(u, `head header: ${check.ok === false ? check.reason : "hash does not match its fields"}`);
        return;
      }
      noteHeader(u, check, block);
      const previous = headBook.headOf(u.id);
      // Another block where it had one, or its head back below where it was (a reorg under way, or a node behind a
      // balancer): what it said below may belong to a branch left behind.
      const wentBack = previous !== undefined && number < previous;
      const reorged = headBook.linkBroken(u.id, number, block.hash, block.parentHash) || wentBack;
      const anomaly = headBook.observe(u.id, { number, hash: block.hash, parentHash: block.parentHash });
      if (anomaly || wentBack) {
        log.warn(
          { upstream: u.id, anomaly: anomaly ?? { kind: "backwards", from: previous, to: number } },
          "head anomaly: re-checking chain",
        );
        await checkChain(u);
        if (anomaly || u.admission !== "admitted") return;
      }
      if (reorged && walkBudget(u.id, at) > 0) {
        log.info({ upstream: u.id, head: number }, "reorg: learning the new branch's blocks");
        // Down to where it meets what the upstream said before (one header when it only went back on its branch).
        // Meanwhile what it said below its new head vouches for nothing: reads anchor on what is live instead.
        headBook.hold(u.id, number - 1);
        const walk = await walkBack(u, number - 1, block.parentHash);
        headBook.release(u.id, walk.kind === "met" ? walk.at : undefined);
        if (walk.kind !== "met")
          log.warn(
            { upstream: u.id, below: walk.below },
            walk.kind === "deep"
              ? "reorg deeper than the walk: older reports forgotten"
              : "reorg walk cut short: older reports forgotten",
          );
        options.onReorg?.(walk.kind === "deep" ? walk.below : undefined);
      } else if (reorged) {
        log.warn({ upstream: u.id, head: number }, "reorg not followed: this upstream's reorg walks used their budget");
        // What it took back above its new head is still doubted where independent domains no longer agree on it.
        if (wentBack) options.onReorg?.();
      }
      const before = headBook.current();
      const head = headBook.agree(usable);
      if (head && (head.number !== before?.number || head.hash !== before?.hash)) {
        // The old head is not below the new one (its witnesses took it back, and no walk followed the new branch):
        // answers about the branch left behind go before the new head is served.
        if (before && headBook.agreedAt(before.number, usable)?.hash !== before.hash)
          options.onReorg?.(undefined, head);
        options.onHead?.(head);
        for (const settle of [...headWaiters]) settle(head);
      }
      return;
    }
    if (outcome.kind === "transport" && outcome.failure === "timeout") u.latency.record(elapsedMs, at);
    if (reported) u.breaker.onFailure(at);
    domainHealth.onFailure(u.outageDomain, u.id, at);
  }

  /**
   * How a reorg walk ended: it met what the upstream said before (at that height), went as deep as allowed without
   * meeting it, or was cut short (a failed fetch, a bad header, the walk budget) with blocks below `below` unknown.
   */
  type Walk = { kind: "met"; at: number } | { kind: "deep" | "cut"; below: number };

  /**
   * After a reorg, learn an upstream's blocks on the new branch by following parent hashes down from `number` (whose
   * hash is `hash`) until they meet what it said before, so agreement on older blocks follows the new branch too.
   */
  async function walkBack(u: Upstream, number: number, hash: string): Promise<Walk> {
    let n = number;
    for (let h = hash; n > 0 && number - n < REORG_WALK_MAX_BLOCKS; n--) {
      if (walkBudget(u.id, clock.now()) <= 0) return { kind: "cut", below: n };
      spendWalkFetch(u.id, clock.now());
      const { outcome } = await u.attempt("eth_getBlockByHash", [h, false], {
        timeoutMs: options.attemptTimeoutMs,
        signal: stopped.signal,
      });
      if (outcome.kind !== "result") return { kind: "cut", below: n };
      const check = checkHeader(outcome.result, options.forks);
      if (check.ok === false || check.hash !== h) {
        options.onDispute?.(u, `ancestor header: ${check.ok === false ? check.reason : "not the block asked for"}`);
        return { kind: "cut", below: n };
      }
      const block = outcome.result as VerifiedHeader & { parentHash: string };
      noteHeader(u, check, block);
      const known = headBook.hashOf(u.id, n - 1);
      headBook.recordAncestor(u.id, n - 1, block.parentHash);
      // Stop where the new branch meets what the upstream said before; a height it never reported (heads can be
      // skipped between polls) says nothing about where the fork is, so the walk goes on.
      if (known === block.parentHash) return { kind: "met", at: n - 1 };
      h = block.parentHash;
    }
    // Walked as deep as allowed without meeting the old branch: the lowest height learned bounds what is known.
    return n > 0 ? { kind: "deep", below: n } : { kind: "met", at: 0 };
  }

  /** Walk fetches per upstream within the window (their times). */
  const walkFetches = new Map<string, number[]>();
  function walkBudget(id: string, now: number): number {
    const recent = (walkFetches.get(id) ?? []).filter((t) => t > now - REORG_WALK_WINDOW_MS);
    walkFetches.set(id, recent);
    return REORG_WALK_FETCHES_PER_WINDOW - recent.length;
  }
  function spendWalkFetch(id: string, now: number): void {
    walkFetches.get(id)?.push(now) ?? walkFetches.set(id, [now]);
  }

  /** A verified header's roots are remembered; an unhashable one is only a report of the head (see above). */
  function noteHeader(u: Upstream, check: Exclude<HeaderCheck, { ok: false }>, block: unknown): void {
    if (check.ok === true) {
      unverifiable.delete(u.id);
      options.onVerifiedHeader?.(block as VerifiedHeader);
      return;
    }
    if (unverifiable.has(u.id)) return;
    unverifiable.add(u.id);
    log.warn({ upstream: u.id, reason: check.reason }, "header cannot be verified by its hash: roots need agreement");
  }

  function loop(u: Upstream): void {
    // An upstream just held out by its breaker (a crash, a blip: it answered a poll within the last READY_SILENCE_POLLS
    // intervals) is polled every RECOVERY_POLL_INTERVAL_MS, so its return is seen within a fraction of a second. Once
    // it has been silent that long — a real outage, the gateway no longer counts it as ready — it is polled at the
    // regular interval again: a provider that is down gets at most one probe per interval (one per second by default).
    const tick = Math.min(options.pollIntervalMs, RECOVERY_POLL_INTERVAL_MS);
    let lastPoll = Number.NEGATIVE_INFINITY;
    const due = (now: number): boolean => {
      // A wall clock that stepped back must not hold polls off until it has caught up again.
      if (now - lastPoll >= options.pollIntervalMs || now < lastPoll) return true;
      const held = u.breaker.state(now) !== "closed";
      return held && now - u.lastSuccessAt < READY_SILENCE_POLLS * options.pollIntervalMs && now - lastPoll >= tick;
    };
    const run = async () => {
      if (stopped.signal.aborted) return;
      const now = clock.now();
      if (due(now)) {
        lastPoll = now;
        await pollOnce(u);
      }
      if (!stopped.signal.aborted) timers.set(u.id, clock.setTimer(tick, run));
    };
    void run();
  }

  return {
    start() {
      for (const u of upstreams) loop(u);
    },
    async refresh(ids) {
      if (stopped.signal.aborted) return;
      await Promise.all(upstreams.filter((u) => ids.includes(u.id)).map(pollOnce));
    },
    stop() {
      stopped.abort();
      for (const cancel of timers.values()) cancel();
      timers.clear();
      for (const settle of [...headWaiters]) settle(undefined);
    },
    waitForNextHead(timeoutMs, signal) {
      if (stopped.signal.aborted || signal?.aborted) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const onAbort = () => settle(undefined);
        const settle = (head: AgreedHead | undefined) => {
          cancel();
          signal?.removeEventListener("abort", onAbort);
          headWaiters.delete(settle);
          resolve(head);
        };
        const cancel = clock.setTimer(timeoutMs, onAbort);
        signal?.addEventListener("abort", onAbort, { once: true });
        headWaiters.add(settle);
      });
    },
  };
}
