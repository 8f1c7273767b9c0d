/** What the primary and its workers say to each other over the IPC channel (app/workers/). */
import type { DrillSelector } from "../../core/domains/drill.ts";
import { COMMITMENTS, type Commitment } from "../../core/solana/slots.ts";

/** Primary → worker. */
export type ToWorker =
  /** A connection (the IPC message's handle) accepted by the front door, from `client` (undefined: a trusted proxy). */
  | { type: "connection"; client?: string }
  /** Drain and exit. */
  | { type: "stop" }
  /** Another worker served this head (the highest any worker has): catch up before answering about the newest block. */
  | { type: "head"; chainId: number; number: number }
  /** The highest slots any worker agreed on for a Solana cluster: never serve older ones. */
  | SlotsMessage
  /** A drill started (with `durationMs`) or stopped (without) on another worker: do the same. */
  | { type: "drill"; selector: DrillSelector; durationMs?: number }
  /** Answer `scraped` with this id: your metrics (prom-client JSON) or your admin overview. */
  | { type: "scrape"; id: number; what: Gathered }
  /** The whole gateway's metrics (text) or overview, merged over every worker: the answer to `gather` with this id. */
  | { type: "gathered"; id: number; value: unknown }
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
  /** This worker's agreed slots of a Solana cluster moved. */
  | SlotsMessage
  /** A drill started (with `durationMs`) or stopped (without) here: tell the other workers. */
  | { type: "drill"; selector: DrillSelector; durationMs?: number }
  /** The whole gateway's metrics or overview, please (worker 0's admin listener was asked). */
  | { type: "gather"; id: number; what: Gathered }
  /** This worker's metrics or overview, for the scrape with this id. */
  | { type: "scraped"; id: number; value: unknown };

export interface SlotsMessage {
  type: "slots";
  cluster: string;
  slots: Partial<Record<Commitment, number>>;
}

/** What worker 0's admin listener shows of the whole gateway. */
export type Gathered = "metrics" | "overview";
const isGathered = (what: unknown): what is Gathered => what === "metrics" || what === "overview";

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

const isSlots = (m: { type?: unknown; cluster?: unknown; slots?: unknown }) => {
  if (m.type !== "slots" || typeof m.cluster !== "string" || typeof m.slots !== "object" || m.slots === null)
    return false;
  const slots = m.slots as Record<string, unknown>;
  return COMMITMENTS.every((c) => slots[c] === undefined || Number.isSafeInteger(slots[c]));
};

export function isToWorker(message: unknown): message is ToWorker {
  const m = message as { type?: unknown; id?: unknown; what?: unknown } | null;
  if (m === null || m === undefined) return false;
  if (m.type === "scrape") return Number.isSafeInteger(m.id) && isGathered(m.what);
  if (m.type === "drill") return isDrill(m);
  if (m.type === "gathered") return Number.isSafeInteger(m.id) && "value" in m;
  if (m.type === "noisy") {
    const { client, until } = m as { client?: unknown; until?: unknown };
    return typeof client === "string" && Number.isSafeInteger(until);
  }
  return m.type === "connection" || m.type === "stop" || isHead(m) || isSlots(m);
}

export function isToPrimary(message: unknown): message is ToPrimary {
  const m = message as { type?: unknown; client?: unknown } | null;
  if (m === null || m === undefined) return false;
  if (m.type === "ready" || isHead(m) || isSlots(m)) return true;
  const { id, what } = m as { id?: unknown; what?: unknown };
  if (m.type === "gather") return Number.isSafeInteger(id) && isGathered(what);
  if (m.type === "drill") return isDrill(m);
  if (m.type === "scraped") return Number.isSafeInteger(id) && "value" in m;
  return (m.type === "closed" || m.type === "noisy") && typeof m.client === "string";
}
