import assert from "node:assert/strict";
import { test } from "node:test";
import type { MemoryBoundResult } from "./memory-bound.ts";
import type { OpenLoopResult } from "./open-loop.ts";
import { type BenchReport, checkTargets, type MemoryOutcome, renderReport, type ScenarioOutcome } from "./report.ts";

const wrk = (rps: number): NonNullable<ScenarioOutcome["wrk"]> => ({
  requests: rps * 10,
  durationUs: 10_000_000,
  bytes: 0,
  connectErrors: 0,
  readErrors: 0,
  writeErrors: 0,
  non2xx: 0,
  timeouts: 0,
  wrong: 0,
  wrongSample: "",
  p50Us: 1000,
  p90Us: 1500,
  p99Us: 3000,
  meanUs: 1100,
  maxUs: 9000,
  rps,
});
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
      { key: "bare", title: "bare", path: "p", status: "measured", wrk: wrk(20_000) },
      { key: "pass-through", title: "pass", path: "p", status: "measured", wrk: wrk(passRps) },
      { key: "three", title: "4. three", path: "p", status: "measured", wrk: wrk(18_000) },
      { key: "three-proof", title: "4p. three, proven", path: "p", status: "measured", wrk: wrk(provenRps) },
      {
        key: "three-receipts",
        title: "4r. three, receipts",
        path: "p",
        body: '{"method":"eth_getTransactionReceipt"}',
        status: "measured",
        wrk: wrk(12_000),
      },
      {
        key: "three-receipts-proof",
        title: "4rp. three, receipts, proven",
        path: "p",
        body: '{"method":"eth_getTransactionReceipt"}',
        status: "measured",
        wrk: wrk(receiptsProvenRps),
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
  const target = checkTargets(withNginx).at(-3)!;
  assert.match(target.target, /≥ 1\.0× nginx proxy_pass/);
  assert.deepEqual([target.measured, target.met], ["2.00×", true]);
  assert.deepEqual([checkTargets(r).at(-3)!.measured, checkTargets(r).at(-3)!.met], ["—", undefined]);
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
      { key: "bare-d", title: "2d. bare, distinct", path: "p", bodies, status: "measured", wrk: wrk(19_000) },
      {
        key: "pass-d",
        title: "3d. pass, distinct",
        path: "p",
        bodies,
        baselineKey: "bare-d",
        status: "measured",
        wrk: wrk(14_250),
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

const MiB = 2 ** 20;
const usage = (heapMiB: number, rssMiB: number) => ({
  rss: rssMiB * MiB,
  heapUsed: heapMiB * MiB,
  heapTotal: 2 * heapMiB * MiB,
  external: 0,
  arrayBuffers: 0,
});

function memoryRun(cache: boolean, retainedMiB: number[], endMiB: number, over: Partial<MemoryBoundResult> = {}) {
  const run: MemoryBoundResult = {
    cache,
    cacheMaxBytes: 4 * MiB,
    finalityDepth: 1,
    distinctBodies: 200_000,
    entryBytes: 206,
    entriesBound: 20_360,
    keysTouched: 90_000,
    idle: usage(28, 150),
    samples: [
      { atMs: 250, ...usage(60, 200) },
      { atMs: 500, ...usage(86, 270) },
    ],
    retained: retainedMiB.map((heap, i) => ({ atMs: (i + 1) * 5_000, ...usage(heap, 260) })),
    end: usage(endMiB, 265),
    wrk: { ...wrk(6_000), requests: 90_000, durationUs: 15_000_000 },
    upstreamCalls: 90_000,
    ...(cache ? { cacheCheck: { recent: 64, recentUpstreamCalls: 0, evicted: 64, evictedUpstreamCalls: 64 } } : {}),
    sampleMs: 250,
    durationS: 15,
    ...over,
  };
  return run;
}

test("the memory targets: flat once the cache is full, and the cache's heap against its bound", () => {
  const measured = (withCache: MemoryBoundResult): BenchReport => ({
    ...report(20_000, 0.1),
    memory: { status: "measured", withCache, control: memoryRun(false, [31, 30.6], 30) },
  });
  const targetsOf = (r: BenchReport) =>
    checkTargets(r)
      .slice(-2)
      .map((t) => [t.measured, t.met]);
  assert.deepEqual(targetsOf(measured(memoryRun(true, [36.5, 36.8], 36.2))), [
    ["36.5 MiB at ≈30,000 keys, at most 36.8 MiB after, up to 90,000 keys (+0.3 MiB)", true],
    ["5.8 MiB (8.8 − 3.0), 1.45× the bound", false],
  ]);
  assert.deepEqual(targetsOf(measured(memoryRun(true, [33, 32.5], 32))), [
    ["33.0 MiB at ≈30,000 keys, at most 32.5 MiB after, up to 90,000 keys (−0.5 MiB)", true],
    ["2.0 MiB (5.0 − 3.0), 0.50× the bound", true],
  ]);
  // Growing after the cache was full, a wrong answer, or a cache that never answered: not met.
  assert.equal(targetsOf(measured(memoryRun(true, [33, 35], 37)))[0]![1], false);
  const wrong = memoryRun(true, [33, 32.5], 32);
  wrong.wrk = { ...wrong.wrk, wrong: 1 };
  assert.equal(targetsOf(measured(wrong))[0]![1], false);
  const uncached = memoryRun(true, [33, 32.5], 32, {
    cacheCheck: { recent: 64, recentUpstreamCalls: 64, evicted: 64, evictedUpstreamCalls: 64 },
  });
  assert.equal(targetsOf(measured(uncached))[0]![1], false);
  const unchecked = memoryRun(true, [33, 32.5], 32);
  delete unchecked.cacheCheck;
  assert.equal(targetsOf(measured(unchecked))[0]![1], false);
  // Not measured, or failed: no figure.
  const failed: MemoryOutcome = { status: "failed", note: "did not start" };
  assert.deepEqual(targetsOf({ ...report(20_000, 0.1), memory: failed }), [
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
  assert.match(section, /\| idle, before the load \(retained\) \| 0 \| 150\.0 \| 28\.0 \| 150\.0 \| 28\.0 \|/);
  assert.match(section, /\| retained at 5\.0 s \| ≈30,000 \| 260\.0 \| 36\.5 \| 260\.0 \| 31\.0 \|/);
  assert.match(section, /\| retained at 10\.0 s \| ≈60,000 \| 260\.0 \| 36\.8 \| 260\.0 \| 30\.6 \|/);
  assert.match(section, /\| end, after the load \(retained\) \| 90,000 \| 265\.0 \| 36\.2 \| 265\.0 \| 30\.0 \|/);
  assert.match(
    section,
    /\| peak during the load \(2 samples, garbage included\) \| {2}\| 270\.0 \| 86\.0 \| 270\.0 \| 86\.0 \|/,
  );
  assert.match(section, /\| distinct keys asked for \| 90,000 \| 95,000 \|/);
  assert.match(section, /\| answers other than the expected result \| 0 \| 0 \|/);
  assert.match(section, /\| retained heap growth \(highest retained − idle\) \| 8\.8 MiB \| 3\.0 MiB \|/);
  assert.match(section, /the cache holds at most 20,360 answers; the run asked for 90,000 distinct ones,\n4\.4× that/);
  assert.match(section, /0 calls reached the node \(answered from the cache\); 64 sent about 61,080 requests/);
  assert.match(section, /stopped growing once the cache was full/);
  assert.match(
    section,
    /1\.45× `cache\.maxBytes`: about\n299 bytes of heap for each answer held, which the bound counts as 206/,
  );
  assert.match(section, /by that multiple of\n`cache\.maxBytes`, not by `cache\.maxBytes` itself/);
});
