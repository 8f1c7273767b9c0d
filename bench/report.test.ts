import assert from "node:assert/strict";
import { test } from "node:test";
import type { OpenLoopResult } from "./open-loop.ts";
import { type BenchReport, checkTargets, renderReport, type ScenarioOutcome } from "./report.ts";

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
  const target = checkTargets(withNginx).at(-2)!;
  assert.match(target.target, /≥ 1\.0× nginx proxy_pass/);
  assert.deepEqual([target.measured, target.met], ["2.00×", true]);
  assert.deepEqual([checkTargets(r).at(-2)!.measured, checkTargets(r).at(-2)!.met], ["—", undefined]);
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
