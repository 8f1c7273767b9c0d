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

function report(passRps: number, addedP50Ms: number): BenchReport {
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
    directKey: "direct",
    scenarios: [
      { key: "bare", title: "bare", path: "p", status: "measured", wrk: wrk(20_000) },
      { key: "pass-through", title: "pass", path: "p", status: "measured", wrk: wrk(passRps) },
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
    checkTargets(report(10_000, 0.5)).map((t) => [t.measured, t.met]),
    [
      ["0.50×", false],
      ["0.50 ms", false],
    ],
  );
  assert.deepEqual(
    checkTargets(report(22_000, 0.2)).map((t) => [t.measured, t.met]),
    [
      ["1.10×", true],
      ["0.20 ms", true],
    ],
  );
});

test("the page states the core count, every scenario and the unmet targets", () => {
  const page = renderReport(report(10_000, 0.5));
  assert.match(page, /\| cores \| \*\*2\*\*/);
  assert.match(page, /\| pass \| 10,000 \| 1\.00 \| 3\.00 \| 0 \| 0 \| 0 \| 0\.50× \|/);
  assert.match(page, /\| nginx \| not installed \|/);
  assert.match(page, /\| 0\.50× \| \*\*no\*\* \|/);
  assert.match(page, /\| pass \| 1,000 \| 0\.60 \| .* \| 0\.50 \| 1\.50 \|/);
});
