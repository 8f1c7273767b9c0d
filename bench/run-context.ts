/** What the parts of `npm run bench` share: the run's options, its log and its process tracking, built by `bench/run.ts`. */

/** One run's options and the helpers every part of it uses. */
export interface RunContext {
  /** The repository root. */
  root: string;
  /** Raw results, CPU profiles and the external proxies' files (bench/results). */
  results: string;
  /** Files of distinct bodies, removed when the run ends (or is interrupted). */
  bodiesDir: string;
  /** Seconds of each measured closed-loop (wrk) run. */
  durationS: number;
  /** Seconds of the warm-up before each measured run, closed or open loop. */
  warmupS: number;
  connections: number;
  /** wrk threads. */
  threads: number;
  /** Requests per second of the open-loop runs. */
  rate: number;
  openLoopDurationS: number;
  /** Seconds of each of the two memory runs. */
  memoryDurationS: number;
  log(line: string): void;
  /** Registers what was started so an interrupt still stops it by its pid; its `stop` then unregisters it. */
  track<T extends { stop(): Promise<void> }>(started: Promise<T>): Promise<T>;
}

/** A count as the log and the page show it: rounded, with thousands separators. */
export const int = (n: number) => Math.round(n).toLocaleString("en-US");
