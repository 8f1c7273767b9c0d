/** The targets a run is held to: their thresholds, and each checked against the run's results. */
import { FLAT_TOLERANCE, keysAt, type MemoryBoundResult, memoryVerdict } from "../memory-bound.ts";
import { int, mib, ms2, ratio, us } from "./format.ts";
import { addedP50Of, ratioTo, titleOf } from "./lookup.ts";
import type { BenchReport, MemoryOutcome } from "./types.ts";

/** "Far beyond what fits": the distinct keys asked for must exceed the entries the cache holds by this factor. */
export const MIN_KEYS_PER_ENTRY_HELD = 2;
/** Proven reads fetch and walk a Merkle proof per request; below this share of unproven throughput they cost too much. */
export const MIN_PROVEN_THROUGHPUT_RATIO = 0.3;
/** p50 of one `verifyAccountProof` call, in µs. */
export const MAX_PROOF_P50_US = 1_000;
/** Multihome pass-through throughput over the bare Node proxy's, one body repeated. */
export const MIN_PASS_THROUGH_RATIO = 1.0;
/** The same with distinct bodies, so nothing is shared in flight: routing alone. */
export const MIN_DISTINCT_RATIO = 1.0;
/** Open-loop p50 latency Multihome pass-through may add to going direct, ms. */
export const MAX_ADDED_P50_MS = 0.3;
/** Multihome's cached, proven read throughput over nginx proxy_pass to one upstream. */
export const MIN_CACHED_RATIO = 1.0;
/** The cached read with a worker per core over the same read in one process. */
export const MIN_WORKERS_SCALING = 1.3;

/** A target's threshold ratio as the page states it: "1.0×", "0.3×". */
const atLeast = (r: number) => `≥ ${r.toFixed(1)}×`;

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | undefined;
}

type MeasuredMemory = Extract<MemoryOutcome, { status: "measured" }>;

/** Every answer of both runs was right, and the cache was seen holding recent answers and evicting old ones. */
function memoryRunsSound(memory: MeasuredMemory): boolean {
  const right = (r: MemoryBoundResult) => r.wrk.wrong === 0 && r.wrk.non2xx === 0;
  const check = memory.withCache.cacheCheck;
  const cacheSeen =
    check !== undefined && check.recentUpstreamCalls === 0 && check.evictedUpstreamCalls >= check.evicted;
  return right(memory.withCache) && right(memory.control) && cacheSeen;
}

function memoryTargets(report: BenchReport): TargetCheck[] {
  const memory = report.memory?.status === "measured" ? report.memory : undefined;
  const bound = memory ? `${mib(memory.withCache.cacheMaxBytes)} MiB` : "small";
  const countTarget =
    `The cache's own byte count (\`Engine.cacheStats()\`) ≤ \`cache.maxBytes\` ${bound} in every sample during and after ` +
    "the load, while the distinct keys asked for grow far beyond the entries it holds";
  const flatTarget =
    `Memory stays bounded with \`cache.maxBytes\` ${bound} under far more distinct cacheable answers than it holds: ` +
    "the retained heap (after a full GC) stops growing once the cache is full, while the distinct keys asked for " +
    `keep growing (any later retained sample ≤ the first + ${FLAT_TOLERANCE * 100} % of the bound), every answer right, the cache seen ` +
    "holding recent answers and evicting old ones";
  const boundTarget =
    "The heap the cache's contents take ≤ `cache.maxBytes` (retained heap growth with the cache on, minus the same " +
    "load's with it off)";
  if (!memory) {
    return [countTarget, flatTarget, boundTarget].map((target) => ({ target, measured: "—", met: undefined }));
  }
  const { withCache: on, control: off } = memory;
  const v = memoryVerdict(on, off);
  const peak = v.cachePeak;
  const held = on.end.cache?.entries;
  const countMeasured =
    peak === undefined || held === undefined
      ? "—"
      : `at most ${int(peak.bytes)} bytes (${(peak.bytes / on.cacheMaxBytes).toFixed(2)}× the bound), ` +
        `${int(held)} entries held at the end, ${int(on.keysTouched)} keys asked for (${(on.keysTouched / Math.max(1, held)).toFixed(1)}×)`;
  const flatMeasured =
    v.full === undefined || v.riseAfterFull === undefined
      ? "—"
      : `${mib(v.full.heapUsed)} MiB at ≈${int(keysAt(on, v.full.atMs))} keys, at most ` +
        `${mib(v.full.heapUsed + v.riseAfterFull)} MiB after, up to ${int(on.keysTouched)} keys ` +
        `(${v.riseAfterFull >= 0 ? "+" : "−"}${mib(Math.abs(v.riseAfterFull))} MiB)`;
  return [
    {
      target: countTarget,
      measured: countMeasured,
      met:
        v.countWithinBound === undefined || held === undefined
          ? undefined
          : v.countWithinBound && on.keysTouched > MIN_KEYS_PER_ENTRY_HELD * held,
    },
    {
      target: flatTarget,
      measured: flatMeasured,
      met: v.flat === undefined ? undefined : v.flat && memoryRunsSound(memory),
    },
    {
      target: boundTarget,
      measured: `${mib(v.cacheHeap)} MiB (${mib(v.growth)} − ${mib(v.fixedOverhead)}), ${(v.cacheHeap / on.cacheMaxBytes).toFixed(2)}× the bound`,
      met: v.withinBound,
    },
  ];
}

export function checkTargets(report: BenchReport): TargetCheck[] {
  const passRatio = ratioTo(report, report.passThroughKey);
  const distinctRatio =
    report.distinctPassThroughKey && report.distinctBaselineKey
      ? ratioTo(report, report.distinctPassThroughKey, report.distinctBaselineKey)
      : undefined;
  const addedP50 = addedP50Of(report);
  const provenRatio = ratioTo(report, report.provenKey, report.unprovenKey);
  const receiptsRatio = ratioTo(report, report.receiptsProvenKey, report.receiptsUnprovenKey);
  const cachedRatio =
    report.cachedKey && report.nginxKey ? ratioTo(report, report.cachedKey, report.nginxKey) : undefined;
  const timing = report.proofTiming;
  return [
    {
      target:
        `Multihome pass-through throughput ${atLeast(MIN_PASS_THROUGH_RATIO)} the bare Node proxy, same run, **one body repeated** (${titleOf(report, report.passThroughKey)} vs ${titleOf(report, report.baselineKey)}: ` +
        "in-flight sharing collapses concurrent identical requests into fewer upstream calls; the bare proxy forwards each)",
      measured: ratio(passRatio),
      met: passRatio === undefined ? undefined : passRatio >= MIN_PASS_THROUGH_RATIO,
    },
    {
      target:
        `The same (${atLeast(MIN_DISTINCT_RATIO)}), **distinct bodies** (${report.distinctPassThroughKey ? titleOf(report, report.distinctPassThroughKey) : "—"} vs ${report.distinctBaselineKey ? titleOf(report, report.distinctBaselineKey) : "—"}: ` +
        "no two requests in flight alike, so nothing is shared: routing alone)",
      measured: ratio(distinctRatio),
      met: distinctRatio === undefined ? undefined : distinctRatio >= MIN_DISTINCT_RATIO,
    },
    {
      target: `Added p50 latency at ${int(report.settings.rate)} req/s (open loop), pass-through vs direct ≤ ${MAX_ADDED_P50_MS} ms`,
      measured: addedP50 === undefined ? "—" : `${ms2(addedP50)} ms`,
      met: addedP50 === undefined ? undefined : addedP50 <= MAX_ADDED_P50_MS,
    },
    {
      target: `Verified eth_getBalance throughput ≥ ${MIN_PROVEN_THROUGHPUT_RATIO}× unverified (${titleOf(report, report.provenKey)} vs ${titleOf(report, report.unprovenKey)}), same run`,
      measured: ratio(provenRatio),
      met: provenRatio === undefined ? undefined : provenRatio >= MIN_PROVEN_THROUGHPUT_RATIO,
    },
    {
      target: `Verified eth_getTransactionReceipt throughput ≥ ${MIN_PROVEN_THROUGHPUT_RATIO}× unverified (${titleOf(report, report.receiptsProvenKey)} vs ${titleOf(report, report.receiptsUnprovenKey)}), same run`,
      measured: ratio(receiptsRatio),
      met: receiptsRatio === undefined ? undefined : receiptsRatio >= MIN_PROVEN_THROUGHPUT_RATIO,
    },
    {
      target: `\`verifyAccountProof\` p50 ≤ ${MAX_PROOF_P50_US / 1000} ms, in the bench process`,
      measured: timing === undefined ? "—" : `${us(timing.p50Us)} µs`,
      met: timing === undefined ? undefined : timing.p50Us <= MAX_PROOF_P50_US,
    },
    {
      target: `A cacheable wallet-like read through Multihome (cache on, proven) ${atLeast(MIN_CACHED_RATIO)} nginx proxy_pass to one upstream, same run`,
      measured: ratio(cachedRatio),
      met: cachedRatio === undefined ? undefined : cachedRatio >= MIN_CACHED_RATIO,
    },
    ...workerTargets(report),
    ...memoryTargets(report),
  ];
}

/** The cached read and routing alone with a worker per core: against nginx, one process, and the bare proxy. */
function workerTargets(report: BenchReport): TargetCheck[] {
  const { cachedWorkersKey: cachedW, distinctWorkersKey: distinctW } = report;
  const check = (target: string, key: string | undefined, baseline: string | undefined, min: number) => {
    const r = key && baseline ? ratioTo(report, key, baseline) : undefined;
    return { target, measured: ratio(r), met: r === undefined ? undefined : r >= min };
  };
  const t = (key: string | undefined) => (key ? titleOf(report, key) : "—");
  return [
    check(
      `The cacheable read with a worker per core (${t(cachedW)}) ${atLeast(MIN_CACHED_RATIO)} nginx proxy_pass (${t(report.nginxKey)}, one worker), same run`,
      cachedW,
      report.nginxKey,
      MIN_CACHED_RATIO,
    ),
    check(
      `The same (${t(cachedW)}) ${atLeast(MIN_WORKERS_SCALING)} Multihome in one process (${t(report.cachedKey)}), same run`,
      cachedW,
      report.cachedKey,
      MIN_WORKERS_SCALING,
    ),
    check(
      `Routing alone with a worker per core (${t(distinctW)}, distinct bodies) ${atLeast(MIN_DISTINCT_RATIO)} the bare Node proxy (${t(report.distinctBaselineKey)}), same run`,
      distinctW,
      report.distinctBaselineKey,
      MIN_DISTINCT_RATIO,
    ),
  ];
}
