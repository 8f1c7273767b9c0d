/**
 * Following a Solana cluster's upstreams: each is admitted once its genesis hash is the one configured (or, without
 * one, the one independent domains agree on — never the first to answer), then polled for its slot at every
 * commitment. The agreed slots (core/solana/slots.ts) are recomputed after every poll.
 */

import type { DomainHealth } from "../../core/domains/domain-health.ts";
import { agreedValue } from "../../core/domains/head.ts";
import { COMMITMENTS, type Commitment, type SlotBook } from "../../core/solana/slots.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { EngineContext } from "../context.ts";

export interface SlotTrackerOptions {
  cluster: string;
  upstreams: Upstream[];
  book: SlotBook;
  domainHealth: DomainHealth;
  pollIntervalMs: number;
  attemptTimeoutMs: number;
  /** The configured genesis hash; without it, independent domains must agree on one. */
  genesisHash: string | undefined;
  /** Told whenever an agreed slot moved. */
  onSlots?: (slots: Partial<Record<Commitment, number>>) => void;
}

export interface SlotTracker {
  start(): void;
  stop(): void;
  /** Poll these upstreams now (one poll per upstream at a time, shared with the loop). */
  refresh(ids: readonly string[]): Promise<void>;
  /** The genesis hash upstreams are held to, once known. */
  genesis(): string | undefined;
  /** Whether an upstream may be asked and may witness: admitted and not cordoned. */
  usable(id: string): boolean;
}

export function createSlotTracker(ctx: EngineContext, options: SlotTrackerOptions): SlotTracker {
  const { clock } = ctx;
  const { upstreams, book, domainHealth } = options;
  const log = {
    info: (o: object, m: string) => ctx.logger.info({ cluster: options.cluster, ...o }, m),
    error: (o: object, m: string) => ctx.logger.error({ cluster: options.cluster, ...o }, m),
  };
  const stopped = new AbortController();
  const timers = new Map<string, () => void>();
  const polling = new Map<string, Promise<void>>();
  const genesisReports = new Map<string, string>();
  let genesis = options.genesisHash;

  const usable = (id: string) => {
    const u = upstreams.find((x) => x.id === id);
    return u !== undefined && u.admission === "admitted" && u.cordonedUntil <= clock.now();
  };

  function judgeGenesis(u: Upstream): void {
    if (genesisReports.get(u.id) !== genesis) {
      if (u.admission !== "cordoned") log.error({ upstream: u.id }, "upstream cordoned: another genesis hash");
      u.admission = "cordoned";
      u.cordonReason = "wrong cluster: its genesis hash differs from the cluster's";
      book.forget(u.id);
      return;
    }
    if (u.admission === "admitted") return;
    log.info({ upstream: u.id, domain: u.outageDomain }, "upstream admitted");
    u.admission = "admitted";
    u.cordonReason = undefined;
  }

  async function checkGenesis(u: Upstream): Promise<void> {
    const { outcome } = await u.attempt("getGenesisHash", [], {
      timeoutMs: options.attemptTimeoutMs,
      signal: stopped.signal,
    });
    if (outcome.kind !== "result" || typeof outcome.result !== "string") return;
    genesisReports.set(u.id, outcome.result);
    if (genesis === undefined) {
      genesis = agreedValue(genesisReports, upstreams);
      if (genesis === undefined) return;
      for (const other of upstreams) if (other !== u && genesisReports.has(other.id)) judgeGenesis(other);
    }
    judgeGenesis(u);
  }

  async function poll(u: Upstream): Promise<void> {
    if (u.admission !== "admitted") await checkGenesis(u);
    if (!usable(u.id)) return;
    if (u.backoffUntil > clock.now()) return;
    const closed = u.breaker.state(clock.now()) === "closed";
    const reported = closed || u.breaker.allow(clock.now());
    const opts = { timeoutMs: options.attemptTimeoutMs, signal: stopped.signal };
    const answers = await Promise.all(COMMITMENTS.map((c) => u.attempt("getSlot", [{ commitment: c }], opts)));
    const at = clock.now();
    if (answers.some((a) => a.outcome.kind === "transport" && a.outcome.failure === "aborted")) return;
    const slots = answers.map((a) => (a.outcome.kind === "result" ? a.outcome.result : undefined));
    if (slots.every((s) => Number.isSafeInteger(s) && (s as number) >= 0)) {
      for (const a of answers) u.latency.record(a.elapsedMs, at);
      if (reported) u.breaker.onSuccess(at);
      else u.breaker.onProbeSuccess(at);
      u.lastSuccessAt = at;
      domainHealth.onSuccess(u.outageDomain, u.id, at);
      COMMITMENTS.forEach((c, i) => {
        book.observe(u.id, c, slots[i] as number);
      });
      const before = COMMITMENTS.map((c) => book.agreed(c));
      const after = book.agree(usable);
      if (COMMITMENTS.some((c, i) => after[c] !== before[i])) options.onSlots?.(after);
      return;
    }
    if (reported) u.breaker.onFailure(at);
    domainHealth.onFailure(u.outageDomain, u.id, at);
  }

  function pollOnce(u: Upstream): Promise<void> {
    let p = polling.get(u.id);
    if (!p) {
      p = poll(u)
        .catch((error: unknown) =>
          log.error({ upstream: u.id, err: (error as Error).message }, "slot poll failed unexpectedly"),
        )
        .finally(() => polling.delete(u.id));
      polling.set(u.id, p);
    }
    return p;
  }

  function loop(u: Upstream): void {
    const run = async () => {
      if (stopped.signal.aborted) return;
      await pollOnce(u);
      if (!stopped.signal.aborted) timers.set(u.id, clock.setTimer(options.pollIntervalMs, run));
    };
    void run();
  }

  return {
    start() {
      for (const u of upstreams) loop(u);
    },
    stop() {
      stopped.abort();
      for (const cancel of timers.values()) cancel();
      timers.clear();
    },
    async refresh(ids) {
      if (stopped.signal.aborted) return;
      await Promise.all(upstreams.filter((u) => ids.includes(u.id)).map(pollOnce));
    },
    genesis: () => genesis,
    usable,
  };
}
