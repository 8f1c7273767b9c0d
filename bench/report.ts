/**
 * docs/benchmarks.md from one run's results: machine, method, one table per scenario, targets, routing with and
 * without sharing, memory under load, open-loop latency.
 */
import type { ClientKey, ClientLatency, ClientMeasurement } from "./client.ts";
import {
  bytesPerEntry,
  EVICTED_BACK_CAPACITIES,
  FLAT_TOLERANCE,
  keysAt,
  type MemoryBoundResult,
  memoryVerdict,
  peakOf,
  RECENT_BACK,
} from "./memory-bound.ts";
import type { OpenLoopResult } from "./open-loop.ts";
import type { BlockCheckTiming, ProofTiming } from "./proof-timing.ts";
import type { CacheStats, MemoryReport } from "./serve.ts";
import type { WrkResult } from "./wrk.ts";

export interface ScenarioOutcome {
  key: string;
  title: string;
  /** What sits between wrk and anvil, in one sentence. */
  path: string;
  /** The request, when it is not the report's `body`. */
  body?: string;
  /** What the distinct bodies sent in turn are, when the scenario sends such a set instead of one body. */
  bodies?: string;
  /** The scenario its throughput is compared with, when not the report's `baselineKey`. */
  baselineKey?: string;
  status: "measured" | "not installed" | "failed";
  /** Why it failed, or anything a reader must know about this row. */
  note?: string;
  wrk?: Omit<WrkResult, "text">;
  /** JSON-RPC items each upstream received during the measured run (scenarios behind fault proxies). */
  upstreamRequests?: Record<string, number>;
}

export interface OpenLoopOutcome {
  key: string;
  title: string;
  result: OpenLoopResult;
}

export type MemoryOutcome =
  | {
      status: "measured";
      /** The cache on with a small bound. */
      withCache: MemoryBoundResult;
      /** The same load with the cache off. */
      control: MemoryBoundResult;
    }
  | { status: "failed"; note: string };

/** The embedded client's bundle and per-request overhead (`bench/client.ts`). */
export type ClientOutcome = ({ status: "measured" } & ClientMeasurement) | { status: "failed"; note: string };

export interface BenchReport {
  date: string;
  machine: {
    cpuModel: string;
    cores: number;
    memoryGiB: number;
    kernel: string;
    node: string;
    anvil: string;
    wrk: string;
    /** 1, 5 and 15 minute load averages when the run started. */
    loadAverage: number[];
  };
  settings: {
    durationS: number;
    warmupS: number;
    connections: number;
    threads: number;
    upstreamConnections: number;
    rate: number;
    openLoopDurationS: number;
    openLoopWarmupS: number;
  };
  body: string;
  baselineKey: string;
  passThroughKey: string;
  /** The scenario with proven reads, and the one identical to it except for `verification.methods.eth_getBalance: "single"`. */
  provenKey: string;
  unprovenKey: string;
  /** Multihome with its cache on, and nginx in front of one upstream: the cached-workload comparison. */
  cachedKey?: string;
  nginxKey?: string;
  /** The cached read with `server.workers: "auto"`, and routing alone (distinct bodies) with it. */
  cachedWorkersKey?: string;
  distinctWorkersKey?: string;
  /** The same pair for receipts: `verification.methods.eth_getTransactionReceipt` "proof" and "single". */
  receiptsProvenKey: string;
  receiptsUnprovenKey: string;
  /** `verifyAccountProof` timed in the bench process; absent when it was not measured. */
  proofTiming?: ProofTiming;
  /** `checkBlockBody`, `checkBlockReceipts` and `recoverSender` timed in the bench process; absent when not measured. */
  blockTiming?: BlockCheckTiming;
  scenarios: ScenarioOutcome[];
  openLoop: OpenLoopOutcome[];
  directKey: string;
  /** The bare proxy and Multihome pass-through with distinct bodies: routing cost with no in-flight sharing. */
  distinctBaselineKey?: string;
  distinctPassThroughKey?: string;
  /** Memory under load with a small cache; absent when not measured. */
  memory?: MemoryOutcome;
  /** CPU per request under wrk of the bare proxy and of Multihome pass-through (`--profile`); absent when not profiled. */
  profile?: ProfileOutcome;
  /** The embedded client's bundle and per-request overhead; absent when not measured. */
  client?: ClientOutcome;
}

export interface ProfileOutcome {
  /** CPU time the process was busy, divided by the requests it answered, µs. */
  bareUsPerRequest: number;
  passThroughUsPerRequest: number;
}

/** "Far beyond what fits": the distinct keys asked for must exceed the entries the cache holds by this factor. */
export const MIN_KEYS_PER_ENTRY_HELD = 2;
/** A send lag above this means the driver's own process was starved of CPU. */
const MAX_HEALTHY_LAG_MS = 5;
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

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (us: number) => (us / 1000).toFixed(2);
const ms2 = (v: number) => v.toFixed(2);
const us = (v: number) => v.toFixed(1);
const ratio = (r: number | undefined) => (r === undefined || !Number.isFinite(r) ? "—" : `${r.toFixed(2)}×`);
/** A target's threshold ratio as the page states it: "1.0×", "0.3×". */
const atLeast = (r: number) => `≥ ${r.toFixed(1)}×`;
/** "1 thread", "2 threads". */
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** The scenario a scenario's throughput is compared with in the tables. */
function baselineOf(report: BenchReport, s: ScenarioOutcome): string {
  return s.baselineKey ?? report.baselineKey;
}

export function ratioTo(report: BenchReport, key: string, baseKey = report.baselineKey): number | undefined {
  const base = report.scenarios.find((s) => s.key === baseKey)?.wrk;
  const own = report.scenarios.find((s) => s.key === key)?.wrk;
  return base && own ? own.rps / base.rps : undefined;
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | undefined;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
/** "20,360 / 4,193,880", or empty when the sample carries no cache count. */
const cacheCell = (c: CacheStats | undefined) => (c ? `${int(c.entries)} / ${int(c.bytes)}` : "");

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

/** Open-loop p50 of Multihome pass-through minus going direct, ms; undefined when either was not measured. */
function addedP50Of(report: BenchReport): number | undefined {
  const direct = report.openLoop.find((o) => o.key === report.directKey)?.result;
  const through = report.openLoop.find((o) => o.key === report.passThroughKey)?.result;
  return direct && through ? through.p50Ms - direct.p50Ms : undefined;
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

/** A scenario's number ("4p" of "4p. Multihome, …"), or its key when the title has none. */
function titleOf(report: BenchReport, key: string): string {
  const title = report.scenarios.find((s) => s.key === key)?.title;
  return title?.match(/^(\w+)\./)?.[1] ?? key;
}

/** "a", "a and b", "a, b and c". */
function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** The pass-through-vs-bare-proxy figure twice: one body repeated (sharing helps) and distinct bodies (it cannot). */
function sharingSection(report: BenchReport): string[] {
  const { distinctBaselineKey: bareD, distinctPassThroughKey: passD } = report;
  if (bareD === undefined || passD === undefined) return [];
  const rps = (key: string) => {
    const w = report.scenarios.find((x) => x.key === key)?.wrk;
    return w ? int(w.rps) : "—";
  };
  const row = (label: string, bare: string, pass: string) =>
    `| ${label} | ${titleOf(report, bare)}: ${rps(bare)} | ${titleOf(report, pass)}: ${rps(pass)} | ${ratio(ratioTo(report, pass, bare))} |`;
  return [
    "## Pass-through vs bare Node proxy, with and without sharing",
    "",
    "Two measures of the same comparison, from the same run. Multihome joins identical concurrent requests into one",
    "upstream call (in-flight sharing, always on); the bare proxy forwards each. With one body repeated by",
    `${report.settings.connections} connections, sharing does much of the work, so that ratio measures sharing as much as routing. With`,
    "distinct bodies nothing can be shared (the cache is off too): that ratio is what routing costs.",
    "",
    "| workload | bare Node proxy, requests/s | Multihome pass-through, requests/s | pass-through vs bare proxy |",
    "|---|---|---|---|",
    row("one body repeated (sharing)", report.baselineKey, report.passThroughKey),
    row("distinct bodies, none alike in flight (no sharing: routing alone)", bareD, passD),
    "",
  ];
}

/** The memory scenario: its setting, the memory it measured, and the cache check. */
function memorySection(report: BenchReport): string[] {
  const memory = report.memory;
  if (memory === undefined) return [];
  const head = ["## Memory under load with a small cache", ""];
  if (memory.status !== "measured") return [...head, `**failed**: ${memory.note}`, ""];
  const { withCache: on, control: off } = memory;
  const v = memoryVerdict(on, off);
  const row = (label: string, keys: string, a: MemoryReport, b?: MemoryReport) =>
    `| ${label} | ${keys} | ${cacheCell(a.cache)} | ${mib(a.rss)} | ${mib(a.heapUsed)} | ${b ? mib(b.rss) : ""} | ${b ? mib(b.heapUsed) : ""} |`;
  const check = on.cacheCheck;
  const held = on.end.cache?.entries;
  const charged = bytesPerEntry(on);
  const peak = v.cachePeak;
  const samplesOn = on.samples.length;
  return [
    ...head,
    `Multihome with one upstream, \`verification.methods.eth_getBalance: "single"\`, the cache on with`,
    `\`cache.maxBytes\` ${int(on.cacheMaxBytes)} (${mib(on.cacheMaxBytes)} MiB) and \`cache.finalityDepth\` ${on.finalityDepth}, so that with the`,
    `nodes still at block 2 every balance at block 1 is final and cached until evicted. wrk (${plural(report.settings.threads, "thread")}, as in the`,
    `closed loop, no warm-up) sends \`eth_getBalance\` at block 1 of ${int(on.distinctBodies)} distinct addresses in turn for ${on.durationS} s,`,
    "each answer checked against its own body's (as in 2d and 3d). No body comes back before the cache has evicted",
    "its answer, so the cache fills, then every answer stored evicts the oldest. The gateway runs with",
    `\`--expose-gc\` and reports \`process.memoryUsage()\` and its cache's own count (\`Engine.cacheStats()\`: the entries`,
    `held and the bytes charged against \`cache.maxBytes\`) over IPC: every ${on.sampleMs} ms during the load as it is`,
    '(garbage included), and after a full garbage collection ("retained") when idle before the load, twice during',
    "it and after it. The control is the same load with the cache off: every request is a miss in both runs, so the",
    "difference between them is what the cache holds. A fault proxy between Multihome and the node counts the calls",
    "that reach the node. Distinct keys at a point during the load are estimated from the run's average rate.",
    "",
    "| | distinct keys asked for (cache on) | cache on: entries / bytes counted | RSS MiB | heapUsed MiB | cache off: RSS MiB | heapUsed MiB |",
    "|---|---|---|---|---|---|---|",
    row("idle, before the load (retained)", "0", on.idle, off.idle),
    ...on.retained.map((x, i) => {
      const c = off.retained[i];
      return row(`retained at ${(x.atMs / 1000).toFixed(1)} s`, `≈${int(keysAt(on, x.atMs))}`, x, c);
    }),
    row("end, after the load (retained)", int(on.keysTouched), on.end, off.end),
    `| peak during the load (${samplesOn} samples, garbage included) | | ${cacheCell(peak)} | ${mib(peakOf(on.samples).rss)} | ${mib(peakOf(on.samples).heapUsed)} | ${mib(peakOf(off.samples).rss)} | ${mib(peakOf(off.samples).heapUsed)} |`,
    "",
    "The peak row's cache figures are the highest count in any sample, during the load or after it.",
    "",
    "| measure | cache on | cache off |",
    "|---|---|---|",
    `| requests in the run | ${int(on.wrk.requests)} | ${int(off.wrk.requests)} |`,
    `| requests/s | ${int(on.wrk.rps)} | ${int(off.wrk.rps)} |`,
    `| answers other than the expected result | ${int(on.wrk.wrong)} | ${int(off.wrk.wrong)} |`,
    `| non-2xx answers | ${int(on.wrk.non2xx)} | ${int(off.wrk.non2xx)} |`,
    `| distinct keys asked for | ${int(on.keysTouched)} | ${int(off.keysTouched)} |`,
    `| \`eth_getBalance\` calls reaching the node | ${int(on.upstreamCalls)} | ${int(off.upstreamCalls)} |`,
    `| retained heap growth (highest retained − idle) | ${mib(v.growth)} MiB | ${mib(v.fixedOverhead)} MiB |`,
    "",
    ...(held === undefined || charged === undefined || peak === undefined
      ? ["Multihome did not report its cache's count."]
      : [
          `At the end the cache held ${int(held)} answers and counted ${int(on.end.cache?.bytes ?? 0)} bytes against the bound, about`,
          `${int(charged)} per answer (its key, the \`{ result, evidence }\` JSON and a fixed per-entry estimate of ${on.entryOverheadBytes}`,
          `bytes); its count peaked at ${int(peak.bytes)} bytes, ${(peak.bytes / on.cacheMaxBytes).toFixed(2)}× \`cache.maxBytes\`${peak.bytes <= on.cacheMaxBytes ? "" : " (**over the bound**)"}. The run asked`,
          `for ${int(on.keysTouched)} distinct answers, ${(on.keysTouched / Math.max(1, held)).toFixed(1)}× the answers held.`,
        ]),
    ...(check && held !== undefined
      ? [
          `After the load, ${check.recent} bodies sent about ${int(RECENT_BACK)} requests before its end were asked again and`,
          `${int(check.recentUpstreamCalls)} calls reached the node (answered from the cache); ${check.evicted} sent about ${int(EVICTED_BACK_CAPACITIES * held)} requests`,
          `(${EVICTED_BACK_CAPACITIES}× the answers held) before its end were asked again and ${int(check.evictedUpstreamCalls)} calls reached it (evicted).`,
        ]
      : ["The run was too short to check which answers the cache holds."]),
    "",
    `The retained heap ${v.flat === undefined ? "could not be compared before and after the cache filled" : v.flat ? "stopped growing once the cache was full" : "**kept growing after the cache was full**"}. The heap the cache's`,
    `contents take, ${mib(v.cacheHeap)} MiB (cache on minus cache off), is ${(v.cacheHeap / on.cacheMaxBytes).toFixed(2)}× \`cache.maxBytes\`${
      held && charged
        ? `: about\n${int(v.cacheHeap / held)} bytes of heap for each answer held, which the bound counts as ${int(charged)}.`
        : "."
    }`,
    ...(v.withinBound
      ? []
      : [
          "The bound holds the cache to a fixed number of answers, so its heap is bounded, but by that multiple of",
          "`cache.maxBytes`, not by `cache.maxBytes` itself.",
        ]),
    "RSS is V8's and the allocator's reserve for the garbage a load of this rate makes; compare it with the",
    "control's rather than with the cache bound.",
    "",
  ];
}

/** The scenario a proven one is compared with: identical but for its method's `"single"` verification. */
function unverifiedTwinOf(report: BenchReport, key: string): string | undefined {
  if (key === report.provenKey) return report.unprovenKey;
  if (key === report.receiptsProvenKey) return report.receiptsUnprovenKey;
  return undefined;
}

function errorsOf(w: Omit<WrkResult, "text">): number {
  return w.connectErrors + w.readErrors + w.writeErrors + w.timeouts;
}

function scenarioTable(report: BenchReport, s: ScenarioOutcome): string[] {
  if (s.status !== "measured" || !s.wrk) return [`**${s.status}**${s.note ? `: ${s.note}` : ""}`];
  const w = s.wrk;
  const rows: [string, string][] = [
    ["requests/s", int(w.rps)],
    ["latency p50", `${ms(w.p50Us)} ms`],
    ["latency p90", `${ms(w.p90Us)} ms`],
    ["latency p99", `${ms(w.p99Us)} ms`],
    ["latency max", `${ms(w.maxUs)} ms`],
    ["requests in the measured run", int(w.requests)],
    ["non-2xx answers", int(w.non2xx)],
    ["answers other than the expected result", int(w.wrong)],
    ["socket errors (connect/read/write/timeout)", `${w.connectErrors}/${w.readErrors}/${w.writeErrors}/${w.timeouts}`],
    [
      s.baselineKey === undefined
        ? "throughput vs bare Node proxy"
        : `throughput vs bare Node proxy with the same bodies (${titleOf(report, s.baselineKey)})`,
      ratio(ratioTo(report, s.key, baselineOf(report, s))),
    ],
  ];
  const twin = unverifiedTwinOf(report, s.key);
  if (twin !== undefined) {
    rows.push([
      `throughput vs the same reads unverified (${titleOf(report, twin)})`,
      ratio(ratioTo(report, s.key, twin)),
    ]);
  }
  if (s.upstreamRequests) {
    rows.push([
      "JSON-RPC calls reaching each upstream",
      Object.entries(s.upstreamRequests)
        .map(([id, n]) => `${id} ${int(n)}`)
        .join(", "),
    ]);
  }
  const lines = ["| measure | value |", "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${v} |`)];
  if (w.wrong > 0 && w.wrongSample) lines.push("", `First unexpected answer: \`${w.wrongSample.slice(0, 200)}\``);
  if (s.note) lines.push("", s.note);
  return lines;
}

/**
 * Sections of docs/benchmarks.md holding what benches of their own print (`npm run bench:call`, `npm run bench:logs`,
 * `npm run bench:soak`), not by this report: a new report keeps them as they are, after its own.
 */
export const KEPT_SECTIONS = ["## Verified eth_call", "## Proven eth_getLogs", "## Soak", "## Solana"] as const;

/** `rendered` with the kept sections of the `previous` page appended (those it does not have already). */
export function withKeptSections(rendered: string, previous: string | undefined): string {
  if (!previous) return rendered;
  const kept = previous
    .split(/\n(?=## )/)
    .filter((section) => KEPT_SECTIONS.some((heading) => section.startsWith(`${heading}\n`)))
    .filter((section) => !rendered.includes(section.split("\n")[0]!));
  return kept.length === 0 ? rendered : `${rendered.trimEnd()}\n\n${kept.map((k) => k.trimEnd()).join("\n\n")}\n`;
}

export function renderReport(report: BenchReport): string {
  const { machine: m, settings: st } = report;
  const targets = checkTargets(report);
  const direct = report.openLoop.find((o) => o.key === report.directKey)?.result;
  const receipts = `${titleOf(report, report.receiptsUnprovenKey)} and ${titleOf(report, report.receiptsProvenKey)}`;
  const ownBodies = report.scenarios.filter((s) => s.body !== undefined || s.bodies !== undefined);
  const distinct = report.scenarios.filter((s) => s.bodies !== undefined);
  const cachedNote = report.cachedKey ? ` but ${titleOf(report, report.cachedKey)}` : "";
  const out: string[] = [
    "# Benchmarks",
    "",
    "Generated by `npm run bench` (`bench/run.ts`); every number below comes from one run on the machine described.",
    "Raw wrk output and the results as JSON are written to `bench/results/` (not committed).",
    "",
    `Run on ${report.date}.`,
    "",
    "## Machine",
    "",
    "| | |",
    "|---|---|",
    `| CPU | ${m.cpuModel} |`,
    `| cores | **${m.cores}** — load generator, gateway, baselines and anvil nodes all share them |`,
    `| memory | ${m.memoryGiB.toFixed(1)} GiB |`,
    `| kernel | Linux ${m.kernel} |`,
    `| Node | ${m.node} |`,
    `| anvil | ${m.anvil} |`,
    `| wrk | ${m.wrk} |`,
    `| load average at start (1/5/15 min) | ${m.loadAverage.map((l) => l.toFixed(2)).join(" / ")} |`,
    "",
    "## Targets",
    "",
    "| target | measured | met |",
    "|---|---|---|",
    ...targets.map(
      (t) => `| ${t.target} | ${t.measured} | ${t.met === undefined ? "not measured" : t.met ? "yes" : "**no**"} |`,
    ),
    "",
    ...sharingSection(report),
    "## Method",
    "",
    `- Every request but those of ${listOf(ownBodies.map((x) => titleOf(report, x.key)))} is the same body: the balance of a dev account at an explicit, already`,
    "  mined block, so every path asks the upstream for exactly the same work and Multihome routes it like any pinned",
    "  state read:",
    "",
    `  \`${report.body}\``,
    "",
    `- ${receipts} send \`eth_getTransactionReceipt\` of one transfer in the middle of block 2 (their sections show the`,
    "  body); before the run their answer is also parsed and its receipt's `transactionHash`, `status` and `blockHash`",
    "  compared with the transfer's.",
    ...(distinct.length > 0
      ? [
          `- ${listOf(distinct.map((x) => titleOf(report, x.key)))} send distinct bodies in turn (\`bench/cycle.lua\` reads them from a file and`,
          "  formats each request once): more bodies than connections, so no two requests in flight are alike and",
          "  Multihome's in-flight sharing never joins two. Each body carries its JSON-RPC id and each answer is checked",
          "  against the expected result of the body its id names; every expected result is checked against the node",
          "  before the run. Their ratio column compares each with the bare proxy on the same bodies.",
        ]
      : []),
    "- Upstreams are real anvil nodes started with one genesis timestamp and no automine, then mined to block 1 (empty)",
    "  and block 2 (100 EIP-1559 transfers from five dev accounts) with explicit timestamps (identical block hashes on",
    "  every node, checked for both blocks); anvil's per-request logging is switched off",
    "  (`anvil_setLoggingEnabled`) so log writes cost no scenario anything. All scenarios use the same nodes; the",
    "  single-upstream ones use the same node.",
    `- Multihome runs with its answer cache off (\`cache.enabled: false\`) in every closed-loop scenario${cachedNote}: the same body repeated`,
    "  would otherwise be answered from the cache and measure a map lookup, not routing and verification. Identical",
    "  concurrent requests still share one upstream call (in-flight sharing is always on).",
    `- Closed loop: wrk, ${plural(st.threads, "thread")}, ${st.connections} connections, a ${st.warmupS} s warm-up run (discarded),`,
    `  then ${st.durationS} s measured with \`--latency\`; \`bench/post.lua\` sends the body, reads every answer and counts`,
    "  any that is not the expected result (a JSON-RPC error arrives with HTTP 200, so non-2xx alone would not catch it).",
    '- Multihome runs with `verification.methods.eth_getBalance: "single"` (each balance is one upstream\'s word) in every scenario',
    `  but ${titleOf(report, report.provenKey)} and the open-loop row "proven reads", so those measure routing; ${titleOf(report, report.provenKey)} is ${titleOf(report, report.unprovenKey)} with`,
    '  `"proof"` (the default): each balance is answered from `eth_getProof`, verified against the state root of a',
    "  block the independent domains agree on. Before each run the answer is checked, including its",
    `  \`multihome-verified\` header (\`single\` or \`proof\`). ${titleOf(report, report.receiptsProvenKey)} is ${titleOf(report, report.receiptsUnprovenKey)} with`,
    '  `verification.methods.eth_getTransactionReceipt: "proof"` instead of `"single"`: each request still locates the',
    "  transaction with one upstream call, but the receipt served comes from block 2's receipts list, verified against",
    "  the agreed header's roots and the block's transactions once and then kept in memory by block hash.",
    "- Each server under test runs in its own Node process (same Node as above), started before its scenario and",
    "  stopped after it; only one is up at a time. Multihome runs with the memory store and logging off; every",
    `  upstream pool (Multihome's and the bare proxy's) has ${st.upstreamConnections} connections.`,
    `- Open loop: \`bench/open-loop.ts\` sends ${int(st.rate)} requests/s on a fixed schedule for ${st.openLoopDurationS} s`,
    `  (after ${st.openLoopWarmupS} s of warm-up at the same rate, discarded) with an undici Pool, whether or not earlier`,
    '  requests have answered; latency is from hand-off to the client to the end of the body. "Added" is the',
    "  difference to the same driver talking to anvil directly.",
    `- The ratio column is throughput divided by the bare Node proxy's in this run. With ${m.cores} cores, the load`,
    "  generator and anvil take CPU from whatever sits between them, so absolute numbers are low and only the",
    "  ratios within one run are meaningful.",
    "",
    "## Closed loop (wrk)",
    "",
    "| scenario | requests/s | p50 ms | p99 ms | non-2xx | wrong answers | socket errors | vs bare Node proxy |",
    "|---|---|---|---|---|---|---|---|",
    ...report.scenarios.map((s) =>
      s.status === "measured" && s.wrk
        ? `| ${s.title} | ${int(s.wrk.rps)} | ${ms(s.wrk.p50Us)} | ${ms(s.wrk.p99Us)} | ${int(s.wrk.non2xx)} | ${int(s.wrk.wrong)} | ${int(errorsOf(s.wrk))} | ${ratio(ratioTo(report, s.key, baselineOf(report, s)))}${s.baselineKey === undefined ? "" : ` (vs ${titleOf(report, s.baselineKey)})`} |`
        : `| ${s.title} | ${s.status} | | | | | | |`,
    ),
    "",
  ];
  for (const s of report.scenarios) {
    const request =
      s.bodies !== undefined
        ? [`Requests: ${s.bodies}.`, ""]
        : s.body === undefined
          ? []
          : [`Request: \`${s.body}\``, ""];
    out.push(`### ${s.title}`, "", s.path, "", ...request, ...scenarioTable(report, s), "");
  }
  out.push(...memorySection(report));
  out.push(
    `## Open loop (${int(st.rate)} requests/s)`,
    "",
    "| path | sent/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | added p50 ms | added p99 ms | not ok | send lag p99 ms |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...report.openLoop.map(({ key, title, result: r }) => {
      const added = (v: number, base: number | undefined) =>
        base === undefined || key === report.directKey ? "—" : ms2(v - base);
      return `| ${title} | ${int(r.sentPerSecond)} | ${ms2(r.p50Ms)} | ${ms2(r.p90Ms)} | ${ms2(r.p99Ms)} | ${ms2(r.p999Ms)} | ${ms2(r.maxMs)} | ${added(r.p50Ms, direct?.p50Ms)} | ${added(r.p99Ms, direct?.p99Ms)} | ${int(r.wrong + r.failed)} | ${ms2(r.lagP99Ms)} |`;
    }),
    "",
    '"send lag" is how late the driver handed requests over against its schedule (timer granularity is 1 ms); it',
    "shows the rate was held, and it is not part of the latencies.",
    "",
  );
  const behind = report.openLoop.filter((o) => o.result.lagP99Ms > MAX_HEALTHY_LAG_MS);
  if (behind.length > 0) {
    out.push(
      `**Warning:** the driver fell behind its schedule (send lag p99 over ${MAX_HEALTHY_LAG_MS} ms) for ` +
        `${behind.map((o) => o.title).join(", ")}: something else was using the CPU, so those rows measure the ` +
        "machine, not the path. Run again on a quiet machine.",
      "",
    );
  }
  const timing = report.proofTiming;
  if (timing) {
    out.push(
      "## Proof verification",
      "",
      `\`verifyAccountProof\` on the account proof in \`src/core/fixtures/proofs.json\` (the contract account, ${timing.nodes} trie`,
      `nodes), timed call by call in the bench process before any server starts: ${int(timing.runs)} runs, no warm-up,`,
      `**p50 ${us(timing.p50Us)} µs, p99 ${us(timing.p99Us)} µs** (target p50 ≤ ${MAX_PROOF_P50_US / 1000} ms).`,
      "",
    );
  }
  const blocks = report.blockTiming;
  if (blocks) {
    out.push(
      "## Block and receipt verification",
      "",
      `The checks behind proven blocks, transactions and receipts, on the largest block in \`src/core/fixtures/bodies.json\``,
      `(${int(blocks.transactions)} transactions, from anvil), timed call by call in the bench process before any server starts:`,
      `${int(blocks.runs)} runs of each, no warm-up. Multihome runs the two block checks once per block hash and recovers`,
      "each transaction's sender once (both are kept in memory), so a steady stream of reads of one block pays neither.",
      "",
      "| check | p50 µs | p99 µs |",
      "|---|---|---|",
      `| \`checkBlockBody\` (full transactions: hashes, placement, transactions root) | ${us(blocks.bodyP50Us)} | ${us(blocks.bodyP99Us)} |`,
      `| \`checkBlockReceipts\` (with the block's transaction hashes: receipts root, gas, logs) | ${us(blocks.receiptsP50Us)} | ${us(blocks.receiptsP99Us)} |`,
      `| \`recoverSender\` (secp256k1, one transaction) | ${us(blocks.senderP50Us)} | |`,
      "",
    );
  }
  out.push(...clientSection(report.client));
  out.push(...whereTheTimeGoes(report));
  return out.join("\n");
}

/**
 * What the profile (`npm run bench -- --profile`) said about the gap to the bare proxy, kept with the numbers so a
 * reader knows why the throughput target is or is not met. The figures come from the run; the account of where the
 * time goes is the last profile read, so update it when the profile changes.
 */
function whereTheTimeGoes(report: BenchReport): string[] {
  const { profile } = report;
  const cores = report.machine.cores;
  const added = addedP50Of(report);
  const openLoop =
    added === undefined
      ? "the open-loop figure"
      : `the open-loop figure (added p50 ${ms2(added)} ms, ${added <= MAX_ADDED_P50_MS ? "within" : "**over**"} the ${MAX_ADDED_P50_MS} ms target)`;
  const perRequest = profile
    ? `: in this run Multihome spent about ${us(profile.passThroughUsPerRequest)} µs of CPU per request against the bare proxy's ${us(profile.bareUsPerRequest)} µs.`
    : ": Multihome spends more CPU per request than the bare proxy (this run was not profiled, so no figures here).";
  return [
    "## Where Multihome's extra time goes",
    "",
    "From `npm run bench -- --profile` (CPU profiles of the bare proxy and of Multihome pass-through under the same wrk",
    `load, summarised in \`bench/results/profile.txt\`)${perRequest}`,
    "Socket writes and undici cost both the same; the difference is spread thin over work the bare proxy",
    "does not do — parsing and validating the request (the JSON parse, the depth scan), re-serialising the call for the",
    "upstream, parsing and classifying the answer, pinning the block, choosing an upstream, and the per-attempt deadline",
    "and hedge timers — no single function above 2 %. Removed on the way here: a never-cleared `AbortSignal.timeout`",
    "per attempt (it fired ~1 s after every answer; p99 fell from ~50 ms to ~3 ms without it), a random request id per call, per-request",
    "disconnect listeners, an async iterator per response body, a per-call latency quantile, undici's request API on",
    "every upstream call (a response stream, its promise chain and an abort signal handed to undici: calls go through",
    "the pool's raw dispatch now, about 4 µs of CPU less each), and responses written one by",
    "one as each was ready — each woke wrk on its own; written together once per turn of the event loop",
    "(`src/server/turn-writes.ts`), the cached read (8) went from 9,850 to 24,472 requests/s and routing alone (3d",
    `against 2d) from 0.50× to 0.84× in the run that brought it in. With ${cores} cores shared`,
    "by wrk, anvil and the gateway, each microsecond of gateway CPU is taken from the other two, which is why the",
    `closed-loop ratio without sharing (${distinctPair(report)}) trails ${openLoop};`,
    "with one body repeated, in-flight sharing saves more upstream work than this costs. Answering repeated reads from the",
    "finality-aware cache removes the upstream round trip, and with it this comparison's premise.",
    "",
    "## Measured elsewhere",
    "",
    "Figures from their own commands, kept with what they measure (this page is rewritten by every `npm run bench`):",
    "a well-behaved client under a hostile mix (`npm run bench:hostile`) in",
    "[security.md](security.md#under-a-hostile-client-mix), and what recording a metric costs",
    "(`node bench/metrics-cost.ts`) in [metrics.md](metrics.md#recording-cost), and the cost of the one-liar defences",
    "on proven reads against the commit before them (`node bench/before-after.ts`) in",
    "[security.md](security.md#cost-on-the-verified-hot-path), and what a verified `eth_call` costs against the",
    "unverified call (`npm run bench:call`) in [verification.md](verification.md#cost). The sections on verified",
    "`eth_call`, proven `eth_getLogs` and the soak hold what `npm run bench:call`, `npm run bench:logs` and",
    "`npm run bench:soak` print, and are kept as they are when this page is rewritten.",
    "",
  ];
}

/** "3d against 2d", from the scenarios' titles. */
function distinctPair(report: BenchReport): string {
  const { distinctPassThroughKey: pass, distinctBaselineKey: bare } = report;
  return pass && bare ? `${titleOf(report, pass)} against ${titleOf(report, bare)}` : "distinct bodies";
}

const CLIENT_TITLES: Record<ClientKey, string> = {
  baseline: "viem `http()`, direct",
  one: "Multihome, one upstream",
  three: "Multihome, three domains",
};
/** Upstream calls of another method per request from which a row of the client table is broken down by method. */
const CLIENT_BREAKDOWN_MIN_CALLS = 0.01;
const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const x = (own: number, base: number | undefined) => ratio(base === undefined || base === 0 ? undefined : own / base);

/** `a`, `a and b`, `a, b and c`. */
function listed(items: readonly string[]): string {
  return items.length < 2 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** Each measured method with the evidence the engines answered it with, as the rows hold it: `` `eth_call` `single` ``. */
function evidenceByMethod(rows: readonly ClientLatency[]): string {
  const byMethod = new Map<string, Set<string>>();
  for (const r of rows) {
    if (r.verified === undefined) continue;
    const set = byMethod.get(r.method) ?? new Set<string>();
    set.add(r.verified);
    byMethod.set(r.method, set);
  }
  return [...byMethod].map(([m, v]) => `\`${m}\` ${[...v].map((e) => `\`${e}\``).join(" or ")}`).join(", ");
}

/**
 * The embedded client: its browser bundle against the budget, and each request's latency and CPU through the
 * embedded engine as ratios to viem's `http()` on the same requests in the same run. `node bench/client.ts` prints
 * exactly this.
 */
export function clientSection(client: ClientOutcome | undefined): string[] {
  if (client === undefined) return [];
  const head = ["## Embedded client", ""];
  if (client.status !== "measured") return [...head, `**failed**: ${client.note}`, ""];
  const { bundle: b, rows, domains } = client;
  const within = b.gzipBytes <= b.budgetGzipBytes;
  const baselineOf = (r: ClientLatency) =>
    rows.find((o) => o.client === "baseline" && o.method === r.method && o.concurrency === r.concurrency);
  // Head polls reach every row a little; a row is broken down when something else stands in for the method asked.
  const breakdown = rows.filter(
    (r) =>
      r.client !== "baseline" &&
      Object.entries(r.upstreamCallsByMethod).some(([m, n]) => m !== r.method && n >= CLIENT_BREAKDOWN_MIN_CALLS),
  );
  return [
    ...head,
    'The library entry (`src/client/index.ts`, `import { createMultihome } from "multihome"`) as a browser bundle, and',
    "what a request through the embedded engine costs against viem's own `http()` transport, from `bench/client.ts`",
    "(`node bench/client.ts` prints this section on its own).",
    "",
    "### Browser bundle",
    "",
    "`buildBrowserBundle` (`scripts/build.ts`: esbuild, browser platform, one minified ES module):",
    `**${kib(b.bytes)} KiB minified, ${kib(b.gzipBytes)} KiB gzip** (${int(b.bytes)} and ${int(b.gzipBytes)} bytes, gzip level 9), against a budget`,
    `of ${kib(b.budgetGzipBytes)} KiB gzip (\`CLIENT_BUNDLE_BUDGET_GZIP_BYTES\`, held by \`test/client-bundle.test.ts\`): ${within ? "within it" : "**over it**"}.`,
    `The proof verifier (${b.verifierFiles.map((f) => `\`${f}\``).join(", ")}: \`VERIFIER_FILES\`) is ${b.verifierInside ? "inside" : "**missing**"}. ${int(b.files)} source files,`,
    "grouped by npm package or source folder (minified bytes each adds, before gzip):",
    "",
    "| contributor | KiB | share | files |",
    "|---|---|---|---|",
    ...b.contributors.map(
      (c) => `| ${c.name} | ${kib(c.bytes)} | ${((100 * c.bytes) / b.bytes).toFixed(1)} % | ${int(c.files)} |`,
    ),
    "",
    "### Per-request overhead",
    "",
    `- ${domains.length} anvil nodes, one in each of ${listed(domains)}; block ${client.block} holds`,
    `  ${client.distinctTargets} transfers to fresh accounts and a contract whose every call reads one storage slot. The nodes mine`,
    `  nothing during the run (each node's head is checked after it), so every read is answered at block ${client.block}.`,
    "- Three viem public clients in the bench process, each sent the same requests with `client.request` (no viem",
    "  action cache or request sharing: `eth_blockNumber` is as `getBlockNumber({ cacheTime: 0 })`): viem `http()`",
    `  straight to the ${domains[0] ?? "first"} node (the baseline); \`multihome({ upstreams })\` with that node alone (one domain, so it`,
    "  is allowed to anchor blocks alone: `anchorMinDomains: 1`, `anchorMinUpstreams: 1`); and `multihome({ upstreams })`",
    `  over the ${domains.length} domains (the defaults). Both Multihome engines run with the answer cache off, and the reads cycle`,
    `  through ${client.distinctTargets} accounts (and as many calldata) so no two requests in flight are alike: every request`,
    "  reaches a node, none is shared.",
    "- The evidence column is `evidence.verified` of one untimed `call` to each engine with the request's first",
    "  parameters, made before it is measured (the bench refuses to measure a balance read that is not `proof`):",
    `  ${evidenceByMethod(rows)}.`,
    "  `none` is an answer from the engine's agreed head or its configuration, with no upstream call (the head is as",
    "  fresh as the last head poll, `health.headPollIntervalMs` apart); `proof` is one `eth_getProof` checked against",
    "  the state root of the agreed head, whose header the head polls already hold; `single` is one upstream's word.",
    "  The rows not answered locally are the engine's overhead.",
    `- Closed loop at each concurrency: ${int(client.warmup)} warm-up requests per client (discarded), then ${int(client.requests)} measured, in`,
    `  ${client.rounds} slices with the clients taking turns in rotated order. Latency is from the call to its result in this`,
    "  process. CPU is `process.cpuUsage()` (user + system) of the whole bench process over a client's measured slices,",
    "  divided by its requests: the nodes run in their own processes, so it is client-side work, but it includes the",
    "  background head polls of the engines idle during those slices (the baseline's rows too). Upstream calls are the",
    "  HTTP requests a client sent to the nodes during its own slices, divided by its requests (its own head polls",
    "  included, the other engines' not). Wrong answers differ from the baseline's answer to the same request. No",
    "  threshold applies: the ratios are the figures.",
    "- Balance reads with `proof` evidence include the node's own extra work: `http()` asks it for a plain",
    "  `eth_getBalance`, the engine for `eth_getProof` (a larger answer, walked and hashed on both sides).",
    "",
    "| request | concurrency | client | evidence | p50 µs | p99 µs | mean µs | CPU µs/request | upstream calls/request | p50 vs http() | mean vs http() | CPU vs http() | wrong |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => {
      const base = baselineOf(r);
      const vs = (pick: (o: ClientLatency) => number) =>
        r.client === "baseline" ? "—" : x(pick(r), base && pick(base));
      return `| \`${r.method}\` | ${r.concurrency} | ${CLIENT_TITLES[r.client]} | ${r.verified === undefined ? "—" : `\`${r.verified}\``} | ${int(r.p50Us)} | ${int(r.p99Us)} | ${int(r.meanUs)} | ${int(r.cpuUsPerRequest)} | ${r.upstreamCallsPerRequest.toFixed(2)} | ${vs((o) => o.p50Us)} | ${vs((o) => o.meanUs)} | ${vs((o) => o.cpuUsPerRequest)} | ${int(r.wrong)} |`;
    }),
    "",
    ...(breakdown.length > 0
      ? [
          "Upstream JSON-RPC calls per request, by method, where another method stands in for the one asked",
          "(`eth_getBlockByNumber` is the head polls):",
          "",
          ...breakdown.map(
            (r) =>
              `- \`${r.method}\`, concurrency ${r.concurrency}, ${CLIENT_TITLES[r.client]}: ${Object.entries(
                r.upstreamCallsByMethod,
              )
                .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
                .map(([m, n]) => `${m} ${n.toFixed(3)}`)
                .join(", ")}`,
          ),
          "",
        ]
      : []),
  ];
}
