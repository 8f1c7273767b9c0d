/**
 * What recording a metric costs on the hot path, in nanoseconds per operation: Multihome's instruments
 * (src/telemetry/metrics.ts) against prom-client called directly on bound children (`labels(...).inc()`,
 * `.observe()`), timed in the same process. Every operation is repeated in a tight loop after a warm-up, and the
 * best of several rounds is kept (the least disturbed by the collector and by other processes).
 *
 * Run: `./node_modules/.bin/node bench/metrics-cost.ts [--iterations=N] [--rounds=N]`
 */
import { parseArgs } from "node:util";
import { Counter, Histogram, Registry } from "prom-client";
import { createMetrics, LATENCY_BUCKETS_SECONDS } from "../src/telemetry/metrics.ts";

export interface MetricsCost {
  iterations: number;
  rounds: number;
  /** Nanoseconds per operation, best round. */
  ns: Record<string, number>;
}

const UPSTREAM = { id: "u1", domain: { operator: "op-one", hosting: "aws", region: "us-east-1" } };

/** Best ns/op of `rounds` rounds of `iterations` calls of `op` (given the iteration index). */
function time(iterations: number, rounds: number, op: (i: number) => void): number {
  for (let i = 0; i < Math.min(iterations, 100_000); i++) op(i);
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) op(i);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / iterations);
  }
  return best;
}

export function measureMetricsCost(iterations = 2_000_000, rounds = 5): MetricsCost {
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`iterations must be a positive integer`);
  const metrics = createMetrics({ chainIds: [1] });
  const chain = metrics.chain(1);
  const upstream = chain.upstream(UPSTREAM);
  // Durations vary per call, as real ones do: the bucket found is not always the first.
  const seconds = (i: number) => LATENCY_BUCKETS_SECONDS[i % LATENCY_BUCKETS_SECONDS.length]! * 0.9;

  const registry = new Registry();
  const counter = new Counter({ name: "c_total", help: "c", labelNames: ["chain", "outcome"], registers: [registry] });
  const histogram = new Histogram({
    name: "h_seconds",
    help: "h",
    labelNames: ["chain", "method"],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const boundCounter = counter.labels({ chain: "1", outcome: "proof" });
  const boundHistogram = histogram.labels({ chain: "1", method: "eth_call" });

  const ns = {
    "metrics.request (counter + histogram)": time(iterations, rounds, (i) =>
      metrics.request(1, "eth_getBalance", "ok", seconds(i)),
    ),
    "upstream.call ok (histogram)": time(iterations, rounds, (i) => upstream.call("ok", seconds(i))),
    "upstream.call timeout (histogram + counter)": time(iterations, rounds, (i) =>
      upstream.call("timeout", seconds(i)),
    ),
    "chain.verification (counter)": time(iterations, rounds, () => chain.verification("proof")),
    "chain.cache (counter)": time(iterations, rounds, (i) => chain.cache((i & 1) === 0)),
    "prom-client bound counter inc": time(iterations, rounds, () => boundCounter.inc()),
    "prom-client bound histogram observe": time(iterations, rounds, (i) => boundHistogram.observe(seconds(i))),
  };
  return { iterations, rounds, ns };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { iterations: { type: "string", default: "2000000" }, rounds: { type: "string", default: "5" } },
  });
  const result = measureMetricsCost(Number(values.iterations), Number(values.rounds));
  console.log(`| operation | ns/op |\n|---|---|`);
  for (const [name, value] of Object.entries(result.ns)) console.log(`| ${name} | ${value.toFixed(1)} |`);
}
