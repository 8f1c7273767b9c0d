/**
 * docs/benchmarks.md from one run's results: machine, method, one table per scenario, targets, routing with and
 * without sharing, memory under load, open-loop latency. The code lives in `bench/report/`; this file keeps the
 * names the bench and its tests import.
 */
export { clientSection } from "./report/client-section.ts";
export { renderReport, withKeptSections } from "./report/page.ts";
export {
  checkTargets,
  MAX_ADDED_P50_MS,
  MIN_CACHED_RATIO,
  MIN_DISTINCT_RATIO,
  MIN_PASS_THROUGH_RATIO,
} from "./report/targets.ts";
export type {
  BenchReport,
  ClientOutcome,
  MemoryOutcome,
  OpenLoopOutcome,
  ProfileOutcome,
  ScenarioOutcome,
} from "./report/types.ts";
