/**
 * `multihome drill --domain hosting=aws --duration 60s`: asks a running gateway (its admin API) to treat a failure
 * domain as down, follows the drill while it runs and through its recovery, and reports what the gateway's clients
 * saw: requests, failures, p50/p99 and which domains served them. Exit code 0 when no client request failed during
 * the drill, 1 when some did, 2 for bad usage or a drill the gateway refused.
 */

import { type Drill, type DrillStats, parseDrillSelector } from "../core/domains/drill.ts";
import { BaseError } from "../core/errors.ts";

export interface DrillOptions {
  domain: string;
  duration: string;
  admin: string;
  token: string | undefined;
  /** How often progress is printed, ms. */
  progressMs: number;
}

export class DrillUsageError extends BaseError<"drill_usage"> {
  override readonly name = "DrillUsageError";
  readonly code = "drill_usage";
}

/** How often the drill is read back while it runs, ms. */
export const DRILL_POLL_MS = 1_000;
/** A request to the admin API that takes longer than this fails the command, ms. */
export const ADMIN_REQUEST_TIMEOUT_MS = 10_000;

/** `60s`, `2m`, `500ms`, or plain milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * factor);
}

const ms = (v: number | null) => (v === null ? "–" : `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`);

export function formatStats(s: DrillStats): string {
  const served = Object.entries(s.servedBy)
    .sort((a, b) => b[1] - a[1])
    .map(([domain, n]) => `${domain} ${n}`)
    .join(", ");
  return (
    `${s.requests} requests, ${s.failed} failed; p50 ${ms(s.p50Ms)}, p99 ${ms(s.p99Ms)}; ` +
    `served by ${served || "nobody"}`
  );
}

export function formatReport(d: Drill): string {
  return [
    `drill ${d.id}: ${d.label} down from ${new Date(d.startedAt).toISOString()} for ${Math.round((d.endsAt - d.startedAt) / 1000)} s (${d.state})`,
    `  upstreams taken down: ${d.upstreams.join(", ")}`,
    `  during:   ${formatStats(d.during)}`,
    `  after:    ${formatStats(d.after)}`,
    d.during.failed === 0
      ? `  verdict:  the gateway lost ${d.label} without failing a client request`
      : `  verdict:  ${d.during.failed} of ${d.during.requests} client requests failed while ${d.label} was down`,
  ].join("\n");
}

export async function runDrill(options: DrillOptions, out: (line: string) => void): Promise<number> {
  const selector = parseDrillSelector(options.domain);
  if (!selector) throw new DrillUsageError(`--domain takes field=value[,field=value] (hosting, operator, region)`);
  const durationMs = parseDuration(options.duration);
  if (durationMs === undefined) throw new DrillUsageError(`--duration takes 60s, 2m, 500ms or milliseconds`);
  if (!options.token) throw new DrillUsageError("the admin token is needed: --token or MULTIHOME_ADMIN_TOKEN");
  const base = options.admin.replace(/\/+$/, "");
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(ADMIN_REQUEST_TIMEOUT_MS),
    });
    const json = (await res.json()) as Drill & { error?: { code: string; message: string } };
    if (!res.ok) {
      const error = new DrillUsageError(`the gateway refused: ${json.error?.message ?? res.status}`);
      if (res.status >= 500 || res.status === 401) throw new Error(error.message);
      throw error;
    }
    return json;
  };

  let drill = await api("POST", "/admin/api/drills", { selector, durationMs });
  out(
    `drill ${drill.id}: ${drill.label} is down for ${Math.round(durationMs / 1000)} s (${drill.upstreams.join(", ")})`,
  );
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    void api("DELETE", `/admin/api/drills/${drill.id}`).catch(() => {});
  };
  process.once("SIGINT", stop);
  try {
    let lastProgress = Date.now();
    let reportedEnd = false;
    while (drill.state === "running" || drill.state === "recovering") {
      await new Promise((resolve) => setTimeout(resolve, DRILL_POLL_MS));
      drill = await api("GET", `/admin/api/drills/${drill.id}`);
      if (drill.state !== "running" && !reportedEnd) {
        reportedEnd = true;
        out(
          `  ended:    ${formatStats(drill.during)}; recovery counted until ${new Date(drill.afterEndsAt).toISOString()}`,
        );
      } else if (Date.now() - lastProgress >= options.progressMs) {
        lastProgress = Date.now();
        const phase = drill.state === "running" ? drill.during : drill.after;
        out(`  ${Math.round((Date.now() - drill.startedAt) / 1000)} s, ${drill.state}: ${formatStats(phase)}`);
      }
    }
  } finally {
    process.off("SIGINT", stop);
  }
  out(formatReport(drill));
  return drill.during.failed === 0 ? 0 : 1;
}
