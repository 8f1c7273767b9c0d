/**
 * A small closed-loop load driver: `concurrency` workers send requests back to back until `durationMs` passes or
 * `maxRequests` were sent. Every request's outcome and latency is kept, so tests can report and assert on them.
 */
import { performance } from "node:perf_hooks";

export interface Sample {
  ok: boolean;
  latencyMs: number;
  at: number;
  detail?: string;
}

export interface LoadReport {
  requests: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  failures: string[];
  samples: Sample[];
}

export async function runLoad(options: {
  durationMs: number;
  concurrency: number;
  maxRequests?: number;
  /** One request; resolve `ok: false` with a detail for a failed one (throwing counts as failed too). */
  request: (i: number) => Promise<{ ok: boolean; detail?: string }>;
}): Promise<LoadReport> {
  const samples: Sample[] = [];
  const start = performance.now();
  const deadline = start + options.durationMs;
  const max = options.maxRequests ?? Number.POSITIVE_INFINITY;
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline && next < max) {
      const i = next++;
      const t0 = performance.now();
      let ok = false;
      let detail: string | undefined;
      try {
        const r = await options.request(i);
        ok = r.ok;
        detail = r.detail;
      } catch (error) {
        detail = (error as Error).message;
      }
      samples.push({ ok, latencyMs: performance.now() - t0, at: t0 - start, ...(detail ? { detail } : {}) });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return summarize(samples);
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

export function summarize(samples: Sample[]): LoadReport {
  const latencies = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  const failures = samples.filter((s) => !s.ok);
  return {
    requests: samples.length,
    failed: failures.length,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.at(-1) ?? 0,
    failures: [...new Set(failures.map((f) => f.detail ?? "failed"))].slice(0, 10),
    samples,
  };
}

export function formatReport(name: string, r: LoadReport): string {
  return `${name}: ${r.requests} requests, ${r.failed} failed, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms`;
}
