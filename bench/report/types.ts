/** What a bench run records, as `bench/run.ts` builds it and the report renders it. */
import type { ClientMeasurement } from "../client.ts";
import type { MemoryBoundResult } from "../memory-bound.ts";
import type { OpenLoopResult } from "../open-loop.ts";
import type { BlockCheckTiming, ProofTiming } from "../proof-timing.ts";
import type { WrkResult } from "../wrk.ts";

export interface ScenarioOutcome {
  key: string;
  title: string;
  /** What sits between wrk and anvil, in one sentence. */
  path: string;
  /** The request, when it is not the report's `body`. */
  body?: string;
  /** What the distinct bodies sent in turn are, when the scenario sends such a set instead of one body. */
  bodies?: string;
  /** The scenario its throughput is compared with, when not the report's `baselineKey`. */
  baselineKey?: string;
  status: "measured" | "not installed" | "failed";
  /** Why it failed, or anything a reader must know about this row. */
  note?: string;
  wrk?: Omit<WrkResult, "text">;
  /** JSON-RPC items each upstream received during the measured run (scenarios behind fault proxies). */
  upstreamRequests?: Record<string, number>;
}

export interface OpenLoopOutcome {
  key: string;
  title: string;
  result: OpenLoopResult;
}

export type MemoryOutcome =
  | {
      status: "measured";
      /** The cache on with a small bound. */
      withCache: MemoryBoundResult;
      /** The same load with the cache off. */
      control: MemoryBoundResult;
    }
  | { status: "failed"; note: string };

/** The embedded client's bundle and per-request overhead (`bench/client.ts`). */
export type ClientOutcome = ({ status: "measured" } & ClientMeasurement) | { status: "failed"; note: string };

export interface BenchReport {
  date: string;
  machine: {
    cpuModel: string;
    cores: number;
    memoryGiB: number;
    kernel: string;
    node: string;
    anvil: string;
    wrk: string;
    /** 1, 5 and 15 minute load averages when the run started. */
    loadAverage: number[];
  };
  settings: {
    durationS: number;
    warmupS: number;
    connections: number;
    threads: number;
    upstreamConnections: number;
    rate: number;
    openLoopDurationS: number;
    openLoopWarmupS: number;
  };
  body: string;
  baselineKey: string;
  passThroughKey: string;
  /** The scenario with proven reads, and the one identical to it except for `verification.methods.eth_getBalance: "single"`. */
  provenKey: string;
  unprovenKey: string;
  /** Multihome with its cache on, and nginx in front of one upstream: the cached-workload comparison. */
  cachedKey?: string;
  nginxKey?: string;
  /** The cached read with `server.workers: "auto"`, and routing alone (distinct bodies) with it. */
  cachedWorkersKey?: string;
  distinctWorkersKey?: string;
  /** The same pair for receipts: `verification.methods.eth_getTransactionReceipt` "proof" and "single". */
  receiptsProvenKey: string;
  receiptsUnprovenKey: string;
  /** `verifyAccountProof` timed in the bench process; absent when it was not measured. */
  proofTiming?: ProofTiming;
  /** `checkBlockBody`, `checkBlockReceipts` and `recoverSender` timed in the bench process; absent when not measured. */
  blockTiming?: BlockCheckTiming;
  scenarios: ScenarioOutcome[];
  openLoop: OpenLoopOutcome[];
  directKey: string;
  /** The bare proxy and Multihome pass-through with distinct bodies: routing cost with no in-flight sharing. */
  distinctBaselineKey?: string;
  distinctPassThroughKey?: string;
  /** Memory under load with a small cache; absent when not measured. */
  memory?: MemoryOutcome;
  /** CPU per request under wrk of the bare proxy and of Multihome pass-through (`--profile`); absent when not profiled. */
  profile?: ProfileOutcome;
  /** The embedded client's bundle and per-request overhead; absent when not measured. */
  client?: ClientOutcome;
}

export interface ProfileOutcome {
  /** CPU time the process was busy, divided by the requests it answered, µs. */
  bareUsPerRequest: number;
  passThroughUsPerRequest: number;
}
