import type { Clock, Logger, Metrics, Random, Transport } from "../core/ports.ts";
import type { Store } from "../core/store.ts";

/** Shared dependencies, passed explicitly (no process-global state). */
export interface EngineContext {
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Builds the transport for an upstream URL; the app wires HTTP or WebSocket. */
  createTransport(upstream: { id: string; url: string; connections: number; allowPrivateNetwork?: boolean }): Transport;
  /** Where last-known-good values live (memory, SQLite, Redis): an accelerator, never needed to serve. */
  store: Store;
  /**
   * Also keep verified answers about final data in the store, and look there on a cache miss: SQLite keeps them
   * across restarts, Redis shares them with every replica. Off for the memory store, which the process cache already is.
   */
  storeAnswers?: boolean;
  /** Where counters and histograms go. @default noopMetrics (records nothing) */
  metrics?: Metrics;
}
