import assert from "node:assert/strict";
import { test } from "node:test";
import { bundleContributors, type ClientLatency, type ClientMeasurement } from "./client.ts";
import { MiB, memoryRun, wrkResult } from "./fixtures.ts";
import type { MemoryBoundResult } from "./memory-bound.ts";
import type { OpenLoopResult } from "./open-loop.ts";
import {
  type BenchReport,
  checkTargets,
  clientSection,
  MAX_ADDED_P50_MS,
  type MemoryOutcome,
  MIN_CACHED_RATIO,
  MIN_DISTINCT_RATIO,
  MIN_PASS_THROUGH_RATIO,
  renderReport,
  withKeptSections,
} from "./report.ts";

const loop = (p50Ms: number, p99Ms: number): OpenLoopResult => ({
  sent: 10_000,
  ok: 10_000,
  wrong: 0,
  failed: 0,
  sentPerSecond: 1000,
  p50Ms,
  p90Ms: p50Ms,
  p99Ms,
  p999Ms: p99Ms,
  maxMs: p99Ms,
  lagP99Ms: 1,
  latenciesMs: new Float64Array([p50Ms, p99Ms]),
  inSendOrderMs: new Float64Array([p50Ms, p99Ms]),
});

function report(
  passRps: number,
  addedP50Ms: number,
  provenRps = 9_000,
  proofP50Us = 80,
  receiptsProvenRps = 6_000,
): BenchReport {
  return {
    date: "2026-01-01",
    machine: {
      cpuModel: "cpu",
      cores: 2,
      memoryGiB: 4,
      kernel: "6",
      node: "v24",
      anvil: "1.7.1",
      wrk: "wrk 4",
      loadAverage: [0.1, 0.2, 0.3],
    },
    settings: {
      durationS: 10,
      warmupS: 2,
      connections: 32,
      threads: 1,
      upstreamConnections: 32,
      rate: 1000,
      openLoopDurationS: 10,
      openLoopWarmupS: 2,
    },
    body: "{}",
    baselineKey: "bare",
    passThroughKey: "pass-through",
    provenKey: "three-proof",
    unprovenKey: "three",
    receiptsProvenKey: "three-receipts-proof",
    receiptsUnprovenKey: "three-receipts",
    proofTiming: { runs: 1_000, nodes: 4, p50Us: proofP50Us, p99Us: 250 },
    blockTiming: {
      runs: 100,
      transactions: 140,
      bodyP50Us: 3_100,
      bodyP99Us: 9_800,
      receiptsP50Us: 3_600,
      receiptsP99Us: 11_200,
      senderP50Us: 1_350,
    },
    directKey: "direct",
    scenarios: [
      { key: "bare", title: "bare", path: "p", status: "measured", wrk: wrkResult(20_000) },
      { key: "pass-through", title: "pass", path: "p", status: "measured", wrk: wrkResult(passRps) },
      { key: "three", title: "4. three", path: "p", status: "measured", wrk: wrkResult(18_000) },
      { key: "three-proof", title: "4p. three, proven", path: "p", status: "measured", wrk: wrkResult(provenRps) },
      {
        key: "three-receipts",
        title: "4r. three, receipts",
        path: "p",
        body: '{"method":"eth_getTransactionReceipt"}',
        status: "measured",
        wrk: wrkResult(12_000),
      },
      {
        key: "three-receipts-proof",
        title: "4rp. three, receipts, proven",
        path: "p",
        body: '{"method":"eth_getTransactionReceipt"}',
        status: "measured",
        wrk: wrkResult(receiptsProvenRps),
      },
      { key: "nginx", title: "nginx", path: "p", status: "not installed" },
    ],
    openLoop: [
      { key: "direct", title: "direct", result: loop(0.1, 0.5) },
      { key: "pass-through", title: "pass", result: loop(0.1 + addedP50Ms, 2) },
    ],
  };
}

test("targets: throughput ratio to the bare proxy and added open-loop p50", () => {
  assert.deepEqual(
    checkTargets(report(10_000, 0.5, 5_000, 1_200, 3_500)).map((t) => [t.measured, t.met]),
    [
      ["0.50×", false],
      ["—", undefined],
      ["0.50 ms", false],
      ["0.28×", false],
      ["0.29×", false],
      ["1200.0 µs", false],
      ["—", undefined],
      ["—", undefined],
      ["—", undefined],
      ["—", undefined],
      ["—", undefined],
      ["—", undefined],
      ["—", undefined],
    ],
  );
  assert.deepEqual(
    checkTargets(report(22_000, 0.2, 5_400, 1_000, 3_600)).map((t) => [t.measured, t.met]),
    [
      ["1.10×", true],
      ["—", undefined],
      ["0.20 ms", true],
      ["0.30×", true],
      ["0.30×", true],
      ["1000.0 µs", true],
      ["—", undefined],
      ["—", undefined],
      ["—", undefined],
      ["—", undefined],
      ["—", undefined],
      ["—", undefined],
      ["—", undefined],
    ],
  );
});

test("the cached-workload target compares Multihome with its cache on against nginx, and is unmeasured without nginx", () => {
  const r = report(20_000, 0.1);
  const withNginx = {
    ...r,
    cachedKey: "cached",
    nginxKey: "nginx",
    scenarios: [
      ...r.scenarios.filter((x) => x.key !== "nginx"),
      { ...r.scenarios[0]!, key: "cached", title: "8. cached" },
      {
        ...r.scenarios[0]!,
        key: "nginx",
        title: "6. nginx",
        wrk: { ...r.scenarios[0]!.wrk!, rps: r.scenarios[0]!.wrk!.rps / 2 },
      },
    ],
  };
  const target = checkTargets(withNginx)[6]!;
  assert.match(target.target, /≥ 1\.0× nginx proxy_pass/);
  assert.deepEqual([target.measured, target.met], ["2.00×", true]);
  assert.deepEqual([checkTargets(r)[6]!.measured, checkTargets(r)[6]!.met], ["—", undefined]);
});

test("the worker targets: the cached read with a worker per core against nginx and one process, routing against the bare proxy", () => {
  const r = report(20_000, 0.1);
  const rps = r.scenarios[0]!.wrk!.rps;
  const scenario = (key: string, title: string, factor: number) => ({
    ...r.scenarios[0]!,
    key,
    title,
    wrk: { ...r.scenarios[0]!.wrk!, rps: rps * factor },
  });
  const withWorkers = {
    ...r,
    cachedKey: "cached",
    nginxKey: "nginx",
    cachedWorkersKey: "cached-workers",
    distinctBaselineKey: "bare-d",
    distinctWorkersKey: "distinct-workers",
    scenarios: [
      ...r.scenarios.filter((x) => x.key !== "nginx"),
      scenario("nginx", "6. nginx", 1),
      scenario("cached", "8. cached", 1),
      scenario("cached-workers", "8w. cached, workers", 1.2),
      scenario("bare-d", "2d. bare, distinct", 1),
      scenario("distinct-workers", "3dw. distinct, workers", 0.9),
    ],
  };
  const [vsNginx, vsOne, routing] = checkTargets(withWorkers).slice(7, 10);
  assert.match(vsNginx!.target, /\(8w\) ≥ 1\.0× nginx proxy_pass \(6, one worker\)/);
  assert.deepEqual([vsNginx!.measured, vsNginx!.met], ["1.20×", true]);
  assert.match(vsOne!.target, /≥ 1\.3× Multihome in one process \(8\)/);
  assert.deepEqual([vsOne!.measured, vsOne!.met], ["1.20×", false]);
  assert.match(routing!.target, /\(3dw, distinct bodies\) ≥ 1\.0× the bare Node proxy \(2d\)/);
  assert.deepEqual([routing!.measured, routing!.met], ["0.90×", false]);
});

test("the proven-read target names the two scenarios it compares, and is unmeasured when one failed", () => {
  const r = report(20_000, 0.1);
  const target = checkTargets(r)[3]!;
  assert.match(target.target, /≥ 0\.3× unverified \(4p vs 4\), same run/);
  assert.deepEqual([target.measured, target.met], ["0.50×", true]);
  r.scenarios = r.scenarios.map((s) => (s.key === "three-proof" ? { ...s, status: "failed", wrk: undefined } : s));
  assert.deepEqual(
    checkTargets(r)
      .slice(3, 4)
      .map((t) => [t.measured, t.met]),
    [["—", undefined]],
  );
  const { proofTiming: _, blockTiming: __, ...untimed } = r;
  assert.deepEqual(
    checkTargets(untimed)
      .slice(5, 6)
      .map((t) => [t.measured, t.met]),
    [["—", undefined]],
  );
  assert.doesNotMatch(renderReport(untimed), /## Proof verification/);
  assert.doesNotMatch(renderReport(untimed), /## Block and receipt verification/);
});

test("the proven-receipt target compares 4rp with 4r, and is unmeasured when one failed", () => {
  const r = report(20_000, 0.1);
  const target = checkTargets(r)[4]!;
  assert.equal(target.target, "Verified eth_getTransactionReceipt throughput ≥ 0.3× unverified (4rp vs 4r), same run");
  assert.deepEqual([target.measured, target.met], ["0.50×", true]);
  r.scenarios = r.scenarios.map((s) => (s.key === "three-receipts" ? { ...s, status: "failed", wrk: undefined } : s));
  assert.deepEqual([checkTargets(r)[4]!.measured, checkTargets(r)[4]!.met], ["—", undefined]);
  // The balance target does not depend on the receipt scenarios.
  assert.deepEqual([checkTargets(r)[3]!.measured, checkTargets(r)[3]!.met], ["0.50×", true]);
});

test("the page shows the receipt scenarios, their request, their ratio to the unverified twin and the block checks", () => {
  const page = renderReport(report(10_000, 0.5));
  assert.match(
    page,
    /\| Verified eth_getTransactionReceipt throughput ≥ 0\.3× unverified \(4rp vs 4r\), same run \| 0\.50× \| yes \|/,
  );
  assert.match(page, /\| 4r\. three, receipts \| 12,000 \| .* \| 0\.60× \|/);
  assert.match(page, /\| 4rp\. three, receipts, proven \| 6,000 \| .* \| 0\.30× \|/);
  assert.match(page, /### 4rp\. three, receipts, proven\n\np\n\nRequest: `\{"method":"eth_getTransactionReceipt"\}`\n/);
  assert.match(page, /\| throughput vs the same reads unverified \(4r\) \| 0\.50× \|/);
  assert.match(page, /\| throughput vs the same reads unverified \(4\) \| 0\.50× \|/);
  // Only the proven scenarios carry the row, and only the receipt ones a request of their own.
  assert.equal(page.match(/throughput vs the same reads unverified/g)?.length, 2);
  assert.equal(page.match(/^Request: /gm)?.length, 2);
  assert.match(page, /Every request but those of 4r and 4rp is the same body/);
  assert.match(page, /## Block and receipt verification\n/);
  assert.match(page, /\(140 transactions, from anvil\)/);
  assert.match(page, /100 runs of each, no warm-up/);
  assert.match(page, /\| `checkBlockBody` .* \| 3100\.0 \| 9800\.0 \|/);
  assert.match(page, /\| `checkBlockReceipts` .* \| 3600\.0 \| 11200\.0 \|/);
  assert.match(page, /\| `recoverSender` .* \| 1350\.0 \| \|/);
});

test("the page states the core count, every scenario and the unmet targets", () => {
  const page = renderReport(report(10_000, 0.5));
  assert.match(page, /\| cores \| \*\*2\*\*/);
  assert.match(page, /\| pass \| 10,000 \| 1\.00 \| 3\.00 \| 0 \| 0 \| 0 \| 0\.50× \|/);
  assert.match(page, /\| nginx \| not installed \|/);
  assert.match(page, /\| 0\.50× \| \*\*no\*\* \|/);
  assert.match(page, /\| pass \| 1,000 \| 0\.60 \| .* \| 0\.50 \| 1\.50 \|/);
  assert.match(page, /\| 4p\. three, proven \| 9,000 \| .* \| 0\.45× \|/);
  assert.match(page, /1,000 runs, no warm-up,\n\*\*p50 80\.0 µs, p99 250\.0 µs\*\* \(target p50 ≤ 1 ms\)/);
});

test("pass-through vs the bare proxy is shown twice: one body repeated, and distinct bodies with nothing shared", () => {
  const r = report(30_000, 0.1);
  const bodies = "`eth_getBalance` at block 1 of 1,024 distinct addresses";
  const withDistinct: BenchReport = {
    ...r,
    distinctBaselineKey: "bare-d",
    distinctPassThroughKey: "pass-d",
    scenarios: [
      ...r.scenarios,
      { key: "bare-d", title: "2d. bare, distinct", path: "p", bodies, status: "measured", wrk: wrkResult(19_000) },
      {
        key: "pass-d",
        title: "3d. pass, distinct",
        path: "p",
        bodies,
        baselineKey: "bare-d",
        status: "measured",
        wrk: wrkResult(14_250),
      },
    ],
  };
  const targets = checkTargets(withDistinct);
  assert.match(targets[0]!.target, /\*\*one body repeated\*\* \(pass-through vs bare: in-flight sharing/);
  assert.deepEqual([targets[0]!.measured, targets[0]!.met], ["1.50×", true]);
  assert.match(targets[1]!.target, /\*\*distinct bodies\*\* \(3d vs 2d: .*routing alone\)/);
  assert.deepEqual([targets[1]!.measured, targets[1]!.met], ["0.75×", false]);
  const page = renderReport(withDistinct);
  assert.match(page, /## Pass-through vs bare Node proxy, with and without sharing\n/);
  assert.match(page, /\| one body repeated \(sharing\) \| bare: 20,000 \| pass-through: 30,000 \| 1\.50× \|/);
  assert.match(
    page,
    /\| distinct bodies, none alike in flight \(no sharing: routing alone\) \| 2d: 19,000 \| 3d: 14,250 \| 0\.75× \|/,
  );
  // 3d is compared with 2d in both tables, 2d with the bare proxy's repeated body.
  assert.match(page, /\| 3d\. pass, distinct \| 14,250 \| .* \| 0\.75× \(vs 2d\) \|/);
  assert.match(page, /\| 2d\. bare, distinct \| 19,000 \| .* \| 0\.95× \|/);
  assert.match(page, /\| throughput vs bare Node proxy with the same bodies \(2d\) \| 0\.75× \|/);
  assert.match(
    page,
    /### 3d\. pass, distinct\n\np\n\nRequests: `eth_getBalance` at block 1 of 1,024 distinct addresses\.\n/,
  );
  assert.match(page, /Every request but those of 4r, 4rp, 2d and 3d is the same body/);
  assert.match(page, /- 2d and 3d send distinct bodies in turn/);
  // Without the pair, no section and the target is not measured.
  assert.doesNotMatch(renderReport(r), /with and without sharing/);
  assert.deepEqual([checkTargets(r)[1]!.measured, checkTargets(r)[1]!.met], ["—", undefined]);
});

test("the memory targets: the cache's own count within its bound, flat once full, and the cache's heap against its bound", () => {
  const measured = (withCache: MemoryBoundResult): BenchReport => ({
    ...report(20_000, 0.1),
    memory: { status: "measured", withCache, control: memoryRun(false, [31, 30.6], 30) },
  });
  const targetsOf = (r: BenchReport) =>
    checkTargets(r)
      .slice(-3)
      .map((t) => [t.measured, t.met]);
  const counted =
    "at most 4,190,000 bytes (1.00× the bound), 10,000 entries held at the end, 90,000 keys asked for (9.0×)";
  assert.deepEqual(targetsOf(measured(memoryRun(true, [36.5, 36.8], 36.2))), [
    [counted, true],
    ["36.5 MiB at ≈30,000 keys, at most 36.8 MiB after, up to 90,000 keys (+0.3 MiB)", true],
    ["5.8 MiB (8.8 − 3.0), 1.45× the bound", false],
  ]);
  assert.deepEqual(targetsOf(measured(memoryRun(true, [33, 32.5], 32))), [
    [counted, true],
    ["33.0 MiB at ≈30,000 keys, at most 32.5 MiB after, up to 90,000 keys (−0.5 MiB)", true],
    ["2.0 MiB (5.0 − 3.0), 0.50× the bound", true],
  ]);
  // A count over the bound in any sample (here one taken during the load), or too few keys for the cache to churn.
  const over = memoryRun(true, [33, 32.5], 32);
  over.samples[1] = { ...over.samples[1]!, cache: { entries: 10_000, bytes: 4 * MiB + 1 } };
  assert.deepEqual(targetsOf(measured(over))[0], [
    "at most 4,194,305 bytes (1.00× the bound), 10,000 entries held at the end, 90,000 keys asked for (9.0×)",
    false,
  ]);
  assert.equal(targetsOf(measured(memoryRun(true, [33, 32.5], 32, { keysTouched: 15_000 })))[0]![1], false);
  // No count reported: not measured.
  const uncounted = memoryRun(true, [33, 32.5], 32);
  delete uncounted.end.cache;
  assert.deepEqual(targetsOf(measured(uncounted))[0], ["—", undefined]);
  // Growing after the cache was full, a wrong answer, or a cache that never answered: not met.
  assert.equal(targetsOf(measured(memoryRun(true, [33, 35], 37)))[1]![1], false);
  const wrong = memoryRun(true, [33, 32.5], 32);
  wrong.wrk = { ...wrong.wrk, wrong: 1 };
  assert.equal(targetsOf(measured(wrong))[1]![1], false);
  const uncached = memoryRun(true, [33, 32.5], 32, {
    cacheCheck: { recent: 64, recentUpstreamCalls: 64, evicted: 64, evictedUpstreamCalls: 64 },
  });
  assert.equal(targetsOf(measured(uncached))[1]![1], false);
  const unchecked = memoryRun(true, [33, 32.5], 32);
  delete unchecked.cacheCheck;
  assert.equal(targetsOf(measured(unchecked))[1]![1], false);
  // Not measured, or failed: no figure.
  const failed: MemoryOutcome = { status: "failed", note: "did not start" };
  assert.deepEqual(targetsOf({ ...report(20_000, 0.1), memory: failed }), [
    ["—", undefined],
    ["—", undefined],
    ["—", undefined],
  ]);
  assert.match(
    renderReport({ ...report(20_000, 0.1), memory: failed }),
    /## Memory under load with a small cache\n\n\*\*failed\*\*: did not start\n/,
  );
  assert.doesNotMatch(renderReport(report(20_000, 0.1)), /## Memory under load/);
});

test("the memory section shows the bound, memory at each point for both runs, the counts and the cache check", () => {
  const page = renderReport({
    ...report(20_000, 0.1),
    memory: {
      status: "measured",
      withCache: memoryRun(true, [36.5, 36.8], 36.2),
      control: memoryRun(false, [31, 30.6], 30, { keysTouched: 95_000 }),
    },
  });
  const section = page.slice(page.indexOf("## Memory under load"), page.indexOf("## Open loop"));
  assert.match(section, /`cache\.maxBytes` 4,194,304 \(4\.0 MiB\) and `cache\.finalityDepth` 1/);
  assert.match(section, /wrk \(1 thread, as in the/);
  assert.match(
    section,
    /\| idle, before the load \(retained\) \| 0 \| 1 \/ 419 \| 150\.0 \| 28\.0 \| 150\.0 \| 28\.0 \|/,
  );
  assert.match(
    section,
    /\| retained at 5\.0 s \| ≈30,000 \| 10,000 \/ 4,190,000 \| 260\.0 \| 36\.5 \| 260\.0 \| 31\.0 \|/,
  );
  assert.match(
    section,
    /\| retained at 10\.0 s \| ≈60,000 \| 10,000 \/ 4,190,000 \| 260\.0 \| 36\.8 \| 260\.0 \| 30\.6 \|/,
  );
  assert.match(
    section,
    /\| end, after the load \(retained\) \| 90,000 \| 10,000 \/ 4,190,000 \| 265\.0 \| 36\.2 \| 265\.0 \| 30\.0 \|/,
  );
  assert.match(
    section,
    /\| peak during the load \(2 samples, garbage included\) \| \| 10,000 \/ 4,190,000 \| 270\.0 \| 86\.0 \| 270\.0 \| 86\.0 \|/,
  );
  assert.match(section, /\| distinct keys asked for \| 90,000 \| 95,000 \|/);
  assert.match(section, /\| answers other than the expected result \| 0 \| 0 \|/);
  assert.match(section, /\| retained heap growth \(highest retained − idle\) \| 8\.8 MiB \| 3\.0 MiB \|/);
  assert.match(
    section,
    /At the end the cache held 10,000 answers and counted 4,190,000 bytes against the bound, about\n419 per answer .* estimate of 256\nbytes\); its count peaked at 4,190,000 bytes, 1\.00× `cache\.maxBytes`\. The run asked\nfor 90,000 distinct answers, 9\.0× the answers held\./,
  );
  // The estimate printed is the run's own, not the constant of the code rendering the page.
  assert.match(
    renderReport({
      ...report(20_000, 0.1),
      memory: {
        status: "measured",
        withCache: memoryRun(true, [33], 32, { entryOverheadBytes: 99 }),
        control: memoryRun(false, [31], 30),
      },
    }),
    /fixed per-entry estimate of 99\n/,
  );
  assert.match(section, /0 calls reached the node \(answered from the cache\); 64 sent about 30,000 requests/);
  assert.match(section, /stopped growing once the cache was full/);
  assert.match(
    section,
    /1\.45× `cache\.maxBytes`: about\n608 bytes of heap for each answer held, which the bound counts as 419/,
  );
  assert.match(section, /by that multiple of\n`cache\.maxBytes`, not by `cache\.maxBytes` itself/);
});

test("the prose takes its figures from the run: connections, threads, cores, added p50 and the profile's µs", () => {
  const r = report(20_000, 0.25);
  r.machine.cores = 8;
  r.settings = { ...r.settings, connections: 48, threads: 2 };
  r.distinctBaselineKey = "bare";
  r.distinctPassThroughKey = "pass-through";
  const page = renderReport(r);
  assert.match(page, /With one body repeated by\n48 connections/);
  assert.match(page, /- Closed loop: wrk, 2 threads, 48 connections/);
  assert.match(page, /With 8 cores, the load/);
  assert.match(page, /With 8 cores shared/);
  assert.match(page, /\(added p50 0\.25 ms, within the 0\.3 ms target\)/);
  assert.doesNotMatch(page, /next measurement to add/);
  // Not profiled: no CPU figures. Profiled: this run's.
  assert.doesNotMatch(page, /µs of CPU per request/);
  assert.match(page, /this run was not profiled/);
  const profiled = renderReport({ ...r, profile: { bareUsPerRequest: 21.04, passThroughUsPerRequest: 30.96 } });
  assert.match(profiled, /about 31\.0 µs of CPU per request against the bare proxy's 21\.0 µs/);
  assert.match(renderReport(report(20_000, 0.4)), /\(added p50 0\.40 ms, \*\*over\*\* the 0\.3 ms target\)/);
});

test("each target's text and check use one threshold", () => {
  const targets = checkTargets(report(20_000, 0.3));
  assert.match(targets[0]!.target, new RegExp(`≥ ${MIN_PASS_THROUGH_RATIO.toFixed(1)}× the bare Node proxy`));
  assert.match(targets[1]!.target, new RegExp(`\\(≥ ${MIN_DISTINCT_RATIO.toFixed(1)}×\\), \\*\\*distinct bodies`));
  assert.match(targets[2]!.target, new RegExp(`≤ ${MAX_ADDED_P50_MS} ms$`));
  assert.match(targets[6]!.target, new RegExp(`≥ ${MIN_CACHED_RATIO.toFixed(1)}× nginx`));
  // Exactly at a threshold meets it.
  assert.deepEqual([targets[0]!.measured, targets[0]!.met], ["1.00×", true]);
});

const latency = (
  client: ClientLatency["client"],
  method: string,
  concurrency: number,
  p50Us: number,
  meanUs: number,
  cpuUsPerRequest: number,
  upstreamCallsByMethod: Record<string, number> = {},
): ClientLatency => ({
  method,
  concurrency,
  client,
  requests: 2_000,
  p50Us,
  p99Us: p50Us * 3,
  meanUs,
  cpuUsPerRequest,
  upstreamCallsPerRequest: Object.values(upstreamCallsByMethod).reduce((a, b) => a + b, 0),
  upstreamCallsByMethod,
  wrong: 0,
  verified:
    client === "baseline"
      ? undefined
      : method === "eth_getBalance"
        ? "proof"
        : method === "eth_call"
          ? "single"
          : "none",
});

const clientRun = (gzipBytes: number, verifierInside = true): ClientMeasurement => ({
  bundle: {
    bytes: 327_959,
    gzipBytes,
    budgetGzipBytes: 122_880,
    verifierFiles: ["src/core/verification/proof.ts", "src/core/verification/header.ts"],
    verifierInside,
    files: 149,
    contributors: [
      { name: "zod", bytes: 98_406, files: 20 },
      { name: "src/core", bytes: 56_115, files: 26 },
    ],
  },
  requests: 2_000,
  warmup: 200,
  rounds: 4,
  distinctTargets: 64,
  block: 7,
  domains: ["aws/us-east-1", "gcp/europe-west1", "hetzner/eu-central"],
  rows: [
    latency("baseline", "eth_getBalance", 1, 400, 500, 300, { eth_getBalance: 1 }),
    latency("one", "eth_getBalance", 1, 600, 700, 450, { eth_getProof: 1 }),
    latency("three", "eth_getBalance", 1, 800, 1_000, 600, { eth_getProof: 1.05, eth_getBlockByNumber: 0.012 }),
    latency("baseline", "eth_call", 1, 300, 300, 250, { eth_call: 1 }),
    latency("three", "eth_call", 1, 330, 360, 300, { eth_call: 1, eth_getBlockByNumber: 0.004 }),
    latency("baseline", "eth_chainId", 16, 3_000, 3_500, 400, { eth_chainId: 1 }),
    latency("three", "eth_chainId", 16, 30, 35, 4),
  ],
});

test("the embedded client section: bundle against its budget, the verifier, contributors and ratios to http()", () => {
  const r = report(20_000, 0.1);
  assert.doesNotMatch(renderReport(r), /## Embedded client/);
  const page = renderReport({ ...r, client: { status: "measured", ...clientRun(105_054) } });
  const section = clientSection({ status: "measured", ...clientRun(105_054) }).join("\n");
  // The page holds the section as `node bench/client.ts` prints it, before the account of where the time goes.
  assert.ok(page.includes(section));
  assert.ok(page.indexOf("## Embedded client") < page.indexOf("## Where Multihome's extra time goes"));
  assert.match(section, /\*\*320\.3 KiB minified, 102\.6 KiB gzip\*\* \(327,959 and 105,054 bytes/);
  assert.match(section, /of 120\.0 KiB gzip \(`CLIENT_BUNDLE_BUDGET_GZIP_BYTES`.*\): within it\./);
  assert.match(
    section,
    /\(`src\/core\/verification\/proof\.ts`, `src\/core\/verification\/header\.ts`: `VERIFIER_FILES`\) is inside\. 149 source files/,
  );
  // Block and domains come from the run.
  assert.match(
    section,
    /- 3 anvil nodes, one in each of aws\/us-east-1, gcp\/europe-west1 and hetzner\/eu-central; block 7 holds/,
  );
  assert.match(section, /every read is answered at block 7\./);
  assert.match(section, /straight to the aws\/us-east-1 node \(the baseline\)/);
  assert.doesNotMatch(section, /block 2/);
  // Evidence as the engines answered, not as assumed.
  assert.match(section, /\n {2}`eth_getBalance` `proof`, `eth_call` `single`, `eth_chainId` `none`\.\n/);
  assert.match(section, /the whole bench process over a client's measured slices/);
  assert.match(section, /background head polls of the engines idle during those slices/);
  assert.match(section, /\| zod \| 96\.1 \| 30\.0 % \| 20 \|/);
  assert.match(section, /then 2,000 measured, in\n {2}4 slices/);
  assert.match(
    section,
    /\| `eth_getBalance` \| 1 \| viem `http\(\)`, direct \| — \| 400 \| 1,200 \| 500 \| 300 \| 1\.00 \| — \| — \| — \| 0 \|/,
  );
  assert.match(
    section,
    /\| `eth_getBalance` \| 1 \| Multihome, one upstream \| `proof` \| 600 .* \| 1\.50× \| 1\.40× \| 1\.50× \| 0 \|/,
  );
  assert.match(
    section,
    /\| `eth_getBalance` \| 1 \| Multihome, three domains \| `proof` \| 800 .* \| 1\.06 \| 2\.00× \| 2\.00× \| 2\.00× \| 0 \|/,
  );
  // Each row against the baseline of its own method and concurrency.
  assert.match(
    section,
    /\| `eth_chainId` \| 16 \| Multihome, three domains \| `none` \| 30 .* \| 0\.00 \| 0\.01× \| 0\.01× \| 0\.01× \| 0 \|/,
  );
  assert.match(
    section,
    /- `eth_getBalance`, concurrency 1, Multihome, three domains: eth_getProof 1\.050, eth_getBlockByNumber 0\.012/,
  );
  assert.match(section, /- `eth_getBalance`, concurrency 1, Multihome, one upstream: eth_getProof 1\.000\n/);
  // Only head polls besides the method asked: no breakdown.
  assert.doesNotMatch(section, /- `eth_call`, concurrency 1/);
  assert.doesNotMatch(section, /- `eth_chainId`, concurrency 16/);

  const over = clientSection({ status: "measured", ...clientRun(130_000, false) }).join("\n");
  assert.match(over, /: \*\*over it\*\*\./);
  assert.match(over, /is \*\*missing\*\*\./);
  // A balance read the engines answered unproven is shown as such.
  const unproven = clientRun(105_054);
  unproven.rows = unproven.rows.map((r) =>
    r.method === "eth_getBalance" && r.verified ? { ...r, verified: "single" } : r,
  );
  const shown = clientSection({ status: "measured", ...unproven }).join("\n");
  assert.match(shown, /`eth_getBalance` `single`, `eth_call` `single`/);
  assert.match(shown, /\| `eth_getBalance` \| 1 \| Multihome, one upstream \| `single` \|/);
  assert.deepEqual(clientSection({ status: "failed", note: "anvil did not start" }), [
    "## Embedded client",
    "",
    "**failed**: anvil did not start",
    "",
  ]);
});

test("bundle contributors: files grouped by npm package (scoped ones by scope and name) or source folder, largest first", () => {
  assert.deepEqual(
    bundleContributors({
      "node_modules/viem/_esm/index.js": 10,
      "node_modules/viem/_esm/utils/abi.js": 5,
      "node_modules/@noble/curves/esm/secp256k1.js": 30,
      "node_modules/@noble/hashes/esm/sha3.js": 2,
      "node_modules/viem/node_modules/@noble/hashes/esm/sha2.js": 3,
      "src/core/verification/proof.ts": 8,
      "src/core/verification/header.ts": 4,
      "src/client/index.ts": 15,
      "src/index.ts": 1,
    }),
    [
      { name: "@noble/curves", bytes: 30, files: 1 },
      // Equal sizes in name order.
      { name: "src/client", bytes: 15, files: 1 },
      { name: "viem", bytes: 15, files: 2 },
      { name: "src/core", bytes: 12, files: 2 },
      { name: "@noble/hashes", bytes: 5, files: 2 },
      { name: "src/index.ts", bytes: 1, files: 1 },
    ],
  );
  assert.deepEqual(bundleContributors({}), []);
});

test("a new report keeps the sections other benches wrote (verified calls, proven logs, soak), once each, after its own", () => {
  const previous =
    "# Benchmarks\n\nold\n\n## Verified eth_call\n\ncall figures\n\n## Soak\n\nsoak figures\n\n## Proven eth_getLogs\n\nlog figures\n\n## Old\n\nx\n";
  const rendered = "# Benchmarks\n\nnew\n\n## Measured elsewhere\n\ny\n";
  const page = withKeptSections(rendered, previous);
  assert.equal(
    page,
    "# Benchmarks\n\nnew\n\n## Measured elsewhere\n\ny\n\n## Verified eth_call\n\ncall figures\n\n## Soak\n\nsoak figures\n\n## Proven eth_getLogs\n\nlog figures\n",
  );
  assert.equal(withKeptSections(page, page), page, "kept once");
  assert.equal(withKeptSections(rendered, undefined), rendered);
});
