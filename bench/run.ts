/**
 * `npm run bench`: closed-loop throughput and latency (wrk) of Multihome against a direct anvil and a bare Node
 * proxy, in one run on the same nodes with the same body (and, for the routing cost without in-flight sharing, with
 * distinct bodies); memory under load with a small cache; then open-loop fixed-rate latency, direct vs through
 * Multihome; the embedded client's browser bundle and per-request overhead (`bench/client.ts`). Writes docs/benchmarks.md (the committed record) and raw results to bench/results/.
 *
 * Options: --duration=S (10) --warmup=S (2) --connections=N (50, below the distinct bodies per wrk thread) --rate=N (1000) --open-loop-duration=S (10)
 * --memory-duration=S (15, each of the two memory runs) --out=FILE (docs/benchmarks.md) --profile (also
 * CPU-profile the bare proxy and Multihome pass-through under wrk; summaries in bench/results/profile.txt, not in
 * the page).
 *
 * The parts live next to it: the scenarios in bench/scenarios.ts, measuring one target in bench/measure.ts, the body
 * sets in bench/body-sets.ts, the memory runs in bench/memory-run.ts, profiling in bench/profile-servers.ts; each is
 * given a {@link RunContext} built here.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULTS } from "../src/config/defaults.ts";
import { anvilBinaryPath } from "../src/devnet/anvil.ts";
import { positive } from "./args.ts";
import { fundedAccounts, ROUTING_BODIES, routingBodies } from "./body-sets.ts";
import { measureClient } from "./client.ts";
import { balanceLoadOf, receiptLoadOf } from "./loads.ts";
import { measure, openLoops } from "./measure.ts";
import { memoryBound } from "./memory-run.ts";
import { startBenchNodes } from "./nodes.ts";
import { profileServers } from "./profile-servers.ts";
import { timeAccountProof, timeBlockChecks } from "./proof-timing.ts";
import {
  type BenchReport,
  type ClientOutcome,
  checkTargets,
  type MemoryOutcome,
  type OpenLoopOutcome,
  type ProfileOutcome,
  renderReport,
  type ScenarioOutcome,
  withKeptSections,
} from "./report.ts";
import type { RunContext } from "./run-context.ts";
import { nodeById, scenarios } from "./scenarios.ts";
import { ensureWrk } from "./wrk.ts";

const ROOT = join(import.meta.dirname, "..");
const RESULTS = join(import.meta.dirname, "results");
const THREADS = 1;
/** Calls of each block check timed: each takes milliseconds on the fixture's 140 transactions. */
const BLOCK_CHECK_RUNS = 100;

const { values: opts } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "50" },
    rate: { type: "string", default: "1000" },
    "open-loop-duration": { type: "string", default: "10" },
    "memory-duration": { type: "string", default: "15" },
    profile: { type: "boolean", default: false },
    out: { type: "string", default: join(ROOT, "docs", "benchmarks.md") },
  },
});
const durationS = positive("duration", opts.duration);
const warmupS = positive("warmup", opts.warmup);
const connections = positive("connections", opts.connections);
const rate = positive("rate", opts.rate);
const openLoopDurationS = positive("open-loop-duration", opts["open-loop-duration"]);
const memoryDurationS = positive("memory-duration", opts["memory-duration"]);
const upstreamConnections = DEFAULTS.upstream.connections;
// Each wrk thread cycles through its share of the distinct bodies: only with more of them than connections are no
// two requests in flight alike, which is what the distinct-body scenarios claim.
if (ROUTING_BODIES / THREADS <= connections) {
  throw new Error(
    `--connections must stay below ${ROUTING_BODIES / THREADS} (distinct bodies per wrk thread), got ${connections}`,
  );
}

const log = (line: string) => process.stdout.write(`${line}\n`);
/** Files of distinct bodies, removed when the run ends (or is interrupted). */
const bodiesDir = mkdtempSync(join(tmpdir(), "multihome-bench-"));

/** Stops for everything started and not yet stopped, so an interrupt still stops each process by its pid. */
const live = new Set<() => Promise<void>>();
async function track<T extends { stop(): Promise<void> }>(started: Promise<T>): Promise<T> {
  const value = await started;
  const stop = value.stop;
  const once = async () => {
    live.delete(once);
    await stop();
  };
  live.add(once);
  return { ...value, stop: once };
}
let interrupted = false;
const stopAllAndExit = (code: number) => {
  interrupted = true;
  void Promise.allSettled([...live].map((stop) => stop())).finally(() => {
    rmSync(bodiesDir, { recursive: true, force: true });
    process.exit(code);
  });
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping every process started`);
    stopAllAndExit(130);
  });
}
// A bug anywhere must not leave anvil nodes or servers running: stop them by pid, then fail.
process.once("uncaughtException", (error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  stopAllAndExit(1);
});

/** What every part of the run is given: its options, its log and {@link track}. */
const ctx: RunContext = {
  root: ROOT,
  results: RESULTS,
  bodiesDir,
  durationS,
  warmupS,
  connections,
  threads: THREADS,
  rate,
  openLoopDurationS,
  memoryDurationS,
  log,
  track,
};

/** The embedded client's bundle and per-request overhead, on nodes of its own, stopped before the scenarios start. */
async function clientOverhead(): Promise<ClientOutcome> {
  const controller = new AbortController();
  const abort = async () => controller.abort();
  live.add(abort);
  try {
    return { status: "measured", ...(await measureClient({ signal: controller.signal, log })) };
  } catch (error) {
    log(`  failed: ${(error as Error).message}`);
    return { status: "failed", note: (error as Error).message };
  } finally {
    live.delete(abort);
  }
}

function versionOf(binary: string): string {
  const r = spawnSync(binary, ["--version"], { encoding: "utf8" });
  // "anvil Version: 1.7.1"
  return (
    (r.stdout ?? "")
      .split("\n")[0]
      ?.replace(/^anvil Version:\s*/, "")
      .trim() || "unknown"
  );
}

async function main(): Promise<void> {
  const wrkVersion = ensureWrk(log);
  mkdirSync(RESULTS, { recursive: true });
  const cores = availableParallelism();
  // Anything else running on the machine takes CPU from the run: the page records how busy it was beforehand.
  const loadAverage = loadavg();
  log(`${cores} cores, Node ${process.version}, ${wrkVersion}`);
  // Timed before anything else starts, so nothing on this machine that the run itself started competes for the CPU.
  const proofTiming = timeAccountProof(1_000);
  log(
    `verifyAccountProof (${proofTiming.nodes} nodes), ${proofTiming.runs} runs: ` +
      `p50 ${proofTiming.p50Us.toFixed(1)} µs, p99 ${proofTiming.p99Us.toFixed(1)} µs`,
  );
  const blockTiming = await timeBlockChecks(BLOCK_CHECK_RUNS);
  log(
    `checkBlockBody / checkBlockReceipts (${blockTiming.transactions} transactions), ${blockTiming.runs} runs: ` +
      `p50 ${blockTiming.bodyP50Us.toFixed(1)} / ${blockTiming.receiptsP50Us.toFixed(1)} µs, ` +
      `p99 ${blockTiming.bodyP99Us.toFixed(1)} / ${blockTiming.receiptsP99Us.toFixed(1)} µs; ` +
      `recoverSender p50 ${blockTiming.senderP50Us.toFixed(1)} µs`,
  );
  const client = await clientOverhead();
  if (interrupted) return;
  const nodes = await track(startBenchNodes());
  try {
    const alpha = nodeById(nodes, "alpha");
    const load = await balanceLoadOf(alpha.url);

    const receiptLoad = await receiptLoadOf(nodes, alpha.url);
    const funded = await fundedAccounts(alpha.url);
    const routing = await routingBodies(bodiesDir, alpha.url, funded);

    const outcomes: ScenarioOutcome[] = [];
    const raw: string[] = [];
    for (const def of scenarios(ctx, nodes, load, receiptLoad, routing)) {
      if (interrupted) return;
      const { outcome, text } = await measure(ctx, def, load);
      outcomes.push(outcome);
      if (text) raw.push(`## ${def.title}\n${text}`);
    }

    if (interrupted) return;
    const memory: MemoryOutcome = await memoryBound(ctx, nodes, funded);

    const loops: OpenLoopOutcome[] = await openLoops(ctx, nodes, load);

    const profile: ProfileOutcome | undefined = opts.profile ? await profileServers(ctx, nodes, load) : undefined;

    const report: BenchReport = {
      date: new Date().toISOString().slice(0, 10),
      machine: {
        cpuModel: cpus()[0]?.model.trim() ?? "unknown",
        cores,
        memoryGiB: totalmem() / 2 ** 30,
        kernel: release(),
        node: process.version,
        anvil: versionOf(anvilBinaryPath()),
        wrk: wrkVersion,
        loadAverage,
      },
      settings: {
        durationS,
        warmupS,
        connections,
        threads: THREADS,
        upstreamConnections,
        rate,
        openLoopDurationS,
        openLoopWarmupS: warmupS,
      },
      body: load.body,
      baselineKey: "bare",
      passThroughKey: "pass-through",
      provenKey: "three-domains-proof",
      unprovenKey: "three-domains",
      cachedKey: "cached",
      nginxKey: "nginx",
      cachedWorkersKey: "cached-workers",
      distinctWorkersKey: "pass-through-distinct-workers",
      receiptsProvenKey: "three-domains-receipts-proof",
      receiptsUnprovenKey: "three-domains-receipts",
      proofTiming,
      blockTiming,
      directKey: "direct",
      scenarios: outcomes,
      openLoop: loops,
      distinctBaselineKey: "bare-distinct",
      distinctPassThroughKey: "pass-through-distinct",
      memory,
      ...(profile ? { profile } : {}),
      client,
    };
    writeFileSync(join(RESULTS, "wrk.txt"), raw.join("\n"));
    writeFileSync(join(RESULTS, "results.json"), `${JSON.stringify(report, null, 2)}\n`);
    const previous = existsSync(opts.out) ? readFileSync(opts.out, "utf8") : undefined;
    writeFileSync(opts.out, withKeptSections(renderReport(report), previous));
    log("");
    for (const t of checkTargets(report)) {
      log(`target: ${t.target}: ${t.measured} — ${t.met === undefined ? "not measured" : t.met ? "met" : "NOT met"}`);
    }
    log(`wrote ${relative(ROOT, opts.out)} and ${relative(ROOT, RESULTS)}/`);
  } finally {
    await Promise.allSettled([...live].map((stop) => stop()));
    rmSync(bodiesDir, { recursive: true, force: true });
  }
}

await main();
