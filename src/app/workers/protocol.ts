/** What the primary and its workers say to each other over the IPC channel (app/workers/). */
import type { DrillSelector } from "../../core/domains/drill.ts";

/** Primary → worker. */
export type ToWorker =
  /** A connection (the IPC message's handle) accepted by the front door, from `client` (undefined: a trusted proxy). */
  | { type: "connection"; client?: string }
  /** Drain and exit. */
  | { type: "stop" }
  /** Another worker served this head (the highest any worker has): catch up before answering about the newest block. */
  | { type: "head"; chainId: number; number: number }
  /** A drill started (with `durationMs`) or stopped (without) on another worker: do the same. */
  | { type: "drill"; selector: DrillSelector; durationMs?: number }
  /** Scrape your metrics (prom-client JSON) and answer `scraped` with this id. */
  | { type: "scrape"; id: number }
  /** The whole gateway's metrics, aggregated over every worker: the answer to `metrics` with this id. */
  | { type: "metrics"; id: number; text: string }
  /** `client` is noisy until `until` (ms since the epoch): its connections belong on the isolation worker. */
  | { type: "noisy"; client: string; until: number };

/** Worker → primary. */
export type ToPrimary =
  /** Serving: connections may be handed over. `admin`: the admin listener's URL (worker 0's). */
  | { type: "ready"; admin?: string }
  /** A connection the primary handed over closed: its client's count goes down. */
  | { type: "closed"; client: string }
  /** A client was refused for its rate: its next connections go to the isolation worker. */
  | { type: "noisy"; client: string }
  /** This worker agreed on a new head. */
  | { type: "head"; chainId: number; number: number }
  /** A drill started (with `durationMs`) or stopped (without) here: tell the other workers. */
  | { type: "drill"; selector: DrillSelector; durationMs?: number }
  /** The whole gateway's metrics, please (worker 0's admin listener is scraped). */
  | { type: "metrics"; id: number }
  /** This worker's metrics, for the scrape with this id. */
  | { type: "scraped"; id: number; metrics: object[] };

/** The environment variable that tells a worker its index (stable across restarts: its own store file). */
export const WORKER_INDEX_ENV = "MULTIHOME_WORKER_INDEX";
/** Set ("1") for the isolation worker (assign.ts): the one noisy clients are sent to. */
export const WORKER_ISOLATION_ENV = "MULTIHOME_WORKER_ISOLATION";

const isDrill = (message: object) => {
  const m = message as { selector?: unknown; durationMs?: unknown };
  return (
    typeof m.selector === "object" &&
    m.selector !== null &&
    (m.durationMs === undefined || (Number.isSafeInteger(m.durationMs) && (m.durationMs as number) > 0))
  );
};

const isHead = (m: { type?: unknown; chainId?: unknown; number?: unknown }) =>
  m.type === "head" && Number.isSafeInteger(m.chainId) && Number.isSafeInteger(m.number);

export function isToWorker(message: unknown): message is ToWorker {
  const m = message as { type?: unknown; id?: unknown; text?: unknown } | null;
  if (m === null || m === undefined) return false;
  if (m.type === "scrape") return Number.isSafeInteger(m.id);
  if (m.type === "drill") return isDrill(m);
  if (m.type === "metrics") return Number.isSafeInteger(m.id) && typeof m.text === "string";
  if (m.type === "noisy") {
    const { client, until } = m as { client?: unknown; until?: unknown };
    return typeof client === "string" && Number.isSafeInteger(until);
  }
  return m.type === "connection" || m.type === "stop" || isHead(m);
}

export function isToPrimary(message: unknown): message is ToPrimary {
  const m = message as { type?: unknown; client?: unknown } | null;
  if (m === null || m === undefined) return false;
  if (m.type === "ready" || isHead(m)) return true;
  const { id, metrics } = m as { id?: unknown; metrics?: unknown };
  if (m.type === "metrics") return Number.isSafeInteger(id);
  if (m.type === "drill") return isDrill(m);
  if (m.type === "scraped") return Number.isSafeInteger(id) && Array.isArray(metrics);
  return (m.type === "closed" || m.type === "noisy") && typeof m.client === "string";
}
