/** The closed-loop results: the sharing comparison, the summary table and one table per scenario. */
import type { WrkResult } from "../wrk.ts";
import { int, ms, ratio } from "./format.ts";
import { ratioTo, titleOf } from "./lookup.ts";
import type { BenchReport, ScenarioOutcome } from "./types.ts";

/** The scenario a scenario's throughput is compared with in the tables. */
function baselineOf(report: BenchReport, s: ScenarioOutcome): string {
  return s.baselineKey ?? report.baselineKey;
}

/** The pass-through-vs-bare-proxy figure twice: one body repeated (sharing helps) and distinct bodies (it cannot). */
export function sharingSection(report: BenchReport): string[] {
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

/** The closed-loop summary table, then each scenario: its path, its request when it has its own, and its table. */
export function closedLoopSection(report: BenchReport): string[] {
  const out: string[] = [
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
  return out;
}
