/**
 * An open-loop, fixed-rate load driver (wrk cannot hold a fixed rate): requests leave on a schedule of `rate` per
 * second whether or not earlier ones have answered, so a slow server cannot slow the arrivals down and hide its
 * queueing. Latency is taken from the moment a request is handed to the client to the end of its body; how late the
 * driver sent against its schedule is reported too, to show it kept the rate.
 */
import { performance } from "node:perf_hooks";
import { Pool } from "undici";

export interface OpenLoopOptions {
  url: string;
  body: string;
  /** A substring every correct answer contains. */
  expect: string;
  /** Requests per second. */
  rate: number;
  durationMs: number;
  /** Connections the driver may open. @default 64 */
  connections?: number;
  /** Per-request deadline, ms. @default 5_000 */
  timeoutMs?: number;
  /** The driver's own loopback address (127.0.0.x): to the server, each address is another client. */
  localAddress?: string;
  /** More request headers (an API key). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * A pool to send through, kept open after the run (`connections` and `localAddress` are then the pool's own): runs
   * that follow each other on one pool do not pay for new connections at each start.
   */
  pool?: Pool;
}

export interface OpenLoopResult {
  /** Requests sent. */
  sent: number;
  /** Answers that were the expected result. */
  ok: number;
  /** Answers that arrived but were not the expected result (HTTP or JSON-RPC errors). */
  wrong: number;
  /** Requests that failed at the transport level or timed out. */
  failed: number;
  /** Achieved send rate, requests/s. */
  sentPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** How late the 99th-percentile request left against its schedule, ms. */
  lagP99Ms: number;
  /** Every request's latency, ascending, ms. */
  latenciesMs: Float64Array;
  /** Every request's latency in the order sent, ms: request `i` was due `i * 1000 / rate` ms after the start. */
  inSendOrderMs: Float64Array;
}

/** Nearest-rank quantile of an ascending array. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Timer granularity of the schedule: requests due within one tick leave together. */
const TICK_MS = 1;

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { url, body, expect, rate, durationMs, connections = 64, timeoutMs = 5_000, signal } = options;
  const target = new URL(url);
  const pool =
    options.pool ??
    new Pool(target.origin, {
      connections,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
  const headers = { "content-type": "application/json", ...options.headers };
  const path = `${target.pathname}${target.search}`;
  const total = Math.floor((rate * durationMs) / 1000);
  const intervalMs = 1000 / rate;
  const latencies = new Float64Array(total);
  const lags = new Float64Array(total);
  let sent = 0;
  let ok = 0;
  let wrong = 0;
  let failed = 0;
  const pending = new Set<Promise<void>>();

  const sendOne = (i: number, scheduledAt: number) => {
    const t0 = performance.now();
    lags[i] = t0 - scheduledAt;
    const p = pool
      .request({
        method: "POST",
        path,
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
      .then(async (res) => {
        const text = await res.body.text();
        latencies[i] = performance.now() - t0;
        if (res.statusCode === 200 && text.includes(expect)) ok++;
        else wrong++;
      })
      .catch(() => {
        latencies[i] = performance.now() - t0;
        failed++;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };

  const start = performance.now();
  try {
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const tick = () => {
        const now = performance.now();
        while (sent < total && start + sent * intervalMs <= now) {
          sendOne(sent, start + sent * intervalMs);
          sent++;
        }
        if (sent >= total || signal?.aborted) {
          signal?.removeEventListener("abort", onAbort);
          resolve();
          return;
        }
        timer = setTimeout(tick, TICK_MS);
      };
      tick();
    });
    const elapsedS = (performance.now() - start) / 1000;
    await Promise.all(pending);
    const inSendOrderMs = latencies.slice(0, sent);
    const sorted = latencies.subarray(0, sent).sort();
    const sortedLags = lags.subarray(0, sent).sort();
    return {
      sent,
      ok,
      wrong,
      failed,
      sentPerSecond: sent / elapsedS,
      p50Ms: quantile(sorted, 0.5),
      p90Ms: quantile(sorted, 0.9),
      p99Ms: quantile(sorted, 0.99),
      p999Ms: quantile(sorted, 0.999),
      maxMs: sorted[sorted.length - 1] ?? Number.NaN,
      lagP99Ms: quantile(sortedLags, 0.99),
      latenciesMs: sorted,
      inSendOrderMs,
    };
  } finally {
    if (!options.pool) await pool.destroy();
  }
}
