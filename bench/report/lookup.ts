/** Finding scenarios and open-loop rows in a report, and comparing them: short titles, throughput ratios, added p50. */
import type { BenchReport } from "./types.ts";

export function ratioTo(report: BenchReport, key: string, baseKey = report.baselineKey): number | undefined {
  const base = report.scenarios.find((s) => s.key === baseKey)?.wrk;
  const own = report.scenarios.find((s) => s.key === key)?.wrk;
  return base && own ? own.rps / base.rps : undefined;
}

/** A scenario's number ("4p" of "4p. Multihome, …"), or its key when the title has none. */
export function titleOf(report: BenchReport, key: string): string {
  const title = report.scenarios.find((s) => s.key === key)?.title;
  return title?.match(/^(\w+)\./)?.[1] ?? key;
}

/** Open-loop p50 of Multihome pass-through minus going direct, ms; undefined when either was not measured. */
export function addedP50Of(report: BenchReport): number | undefined {
  const direct = report.openLoop.find((o) => o.key === report.directKey)?.result;
  const through = report.openLoop.find((o) => o.key === report.passThroughKey)?.result;
  return direct && through ? through.p50Ms - direct.p50Ms : undefined;
}
