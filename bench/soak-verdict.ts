/**
 * What `npm run bench:soak` (bench/soak.ts) records, and its verdict: the cached read after varied traffic against the
 * same read before it, and the memory retained at the end against before, less what the answer cache's own count grew
 * by (that much is the cache doing its job, within `cache.maxBytes`). Pure, so the verdict is tested.
 */
import type { VerificationPolicy } from "../src/core/rpc/methods.ts";
import type { MemoryReport } from "./serve.ts";

/** The cached read after the traffic must run at least this share of its rate before it. */
export const SOAK_READ_RATIO = 0.9;
/** Memory retained at the end may exceed its level before by at most this share, once the cache's growth is set aside. */
export const SOAK_MEMORY_EXCESS = 0.1;

export interface ReadPhase {
  phase: string;
  rps: number;
  /**
   * The gateway's CPU time per request during the phase (profiling included when it ran), µs: less sensitive than
   * the rate to what else runs on the machine.
   */
  cpuUsPerRequest?: number;
  /** Every run's rate when the phase is the best of several. */
  runsRps?: number[];
  p50Us: number;
  p99Us: number;
  wrong: number;
  errors: number;
}

export interface MemoryPhase extends MemoryReport {
  phase: string;
  /** Whether a full collection ran first (retained memory), or the process was sampled as it was. */
  gc: boolean;
}

export interface RoundResult {
  round: number;
  requests: number;
  rps: number;
  wrong: number;
  errors: number;
  wrongSample: string;
}

export interface SoakSummary {
  date: string;
  settings: {
    rounds: number;
    roundDurationS: number;
    roundBodies: number;
    readDurationS: number;
    readRepeats: number;
    idleS: number;
    connections: number;
    callPolicy: VerificationPolicy;
    cacheMaxBytes: string;
  };
  reads: ReadPhase[];
  rounds: RoundResult[];
  memory: MemoryPhase[];
  verdict: SoakVerdict;
}

export interface SoakVerdict {
  /** The cached read right after the last round, and after the idle spell, against before the first round. */
  afterTrafficRatio: number;
  afterIdleRatio: number;
  /**
   * Retained heap (after a full collection) at the end minus before, less what the cache's own count grew by, as a
   * share of before: the memory the claim is about.
   */
  heapExcessShare: number;
  /**
   * The same for RSS, shown beside it: RSS also holds the heap pages V8 grew to under load and keeps (`heapTotal`),
   * which no collection returns, so it is not the claim's measure.
   */
  rssExcessShare: number;
  readMet: boolean;
  memoryMet: boolean;
}

/** The summary's verdict: the first read against the last ones, and memory at the end against before the traffic. */
export function soakVerdict(reads: readonly ReadPhase[], memory: readonly MemoryPhase[]): SoakVerdict {
  const retained = memory.filter((m) => m.gc);
  const before = retained.find((m) => m.phase === "before");
  const end = retained.at(-1);
  const first = reads.find((r) => r.phase === "before");
  const afterTraffic = reads.findLast((r) => r.phase.startsWith("after round"));
  const afterIdle = reads.at(-1);
  if (!before || !end || !first || !afterTraffic || !afterIdle) throw new Error("the soak is missing a phase");
  const cacheGrowth = (end.cache?.bytes ?? 0) - (before.cache?.bytes ?? 0);
  const heapExcessShare = (end.heapUsed - before.heapUsed - cacheGrowth) / before.heapUsed;
  const rssExcessShare = (end.rss - before.rss - cacheGrowth) / before.rss;
  const afterTrafficRatio = afterTraffic.rps / first.rps;
  const afterIdleRatio = afterIdle.rps / first.rps;
  return {
    afterTrafficRatio,
    afterIdleRatio,
    heapExcessShare,
    rssExcessShare,
    readMet: afterTrafficRatio >= SOAK_READ_RATIO && afterIdleRatio >= SOAK_READ_RATIO,
    memoryMet: heapExcessShare <= SOAK_MEMORY_EXCESS,
  };
}
