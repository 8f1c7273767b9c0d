/**
 * Ports: the only way `core/` and `engine/` touch time, randomness, logs and the network.
 * Implementations live outside `core/` (see `upstream/`, `telemetry/`, `app/`).
 */

/** Monotonic-enough wall clock in milliseconds, plus cancellable timers. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Run `fn` after `ms` milliseconds; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** A source of uniform numbers in [0, 1). Seeded in tests. */
export interface Random {
  next(): number;
}

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
  /** Whether lines at `level` (`debug`, `info`…) are written: a caller skips building a line nobody will read. */
  isLevelEnabled(level: string): boolean;
}

/** A logger that writes nothing: the embedded library's default. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
  isLevelEnabled: () => false,
};

/** What a transport hands back: the raw HTTP-level answer of one attempt. */
export interface TransportResponse {
  /** HTTP status (a WebSocket transport reports 200). */
  status: number;
  /** `Retry-After` header value when present. */
  retryAfter?: string | undefined;
  /** The whole body as text (already bounded by `maxResponseBytes`). */
  body: string;
}

export type TransportFailureKind =
  /** Could not connect: nothing was sent (safe to retry even a write). */
  | "connect"
  /** Connection reset or closed after the request was (maybe) sent. */
  | "reset"
  /** The attempt deadline passed (headers or body). */
  | "timeout"
  /** The response exceeded `maxResponseBytes`. */
  | "too_large"
  /** Cancelled by the caller (hedge lost, request finished). */
  | "aborted";

/** The one error type transports throw. Its message never contains the upstream URL. */
export class TransportError extends BaseError<TransportFailureKind> {
  override readonly name = "TransportError";
  readonly code: TransportFailureKind;
  constructor(code: TransportFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface SendOptions {
  /** Aborts the attempt; the transport must reject with `TransportError` code `aborted`/`timeout` promptly. */
  signal: AbortSignal;
  /** Response body cap in bytes; exceeding it rejects with code `too_large`. */
  maxResponseBytes: number;
}

/** Sends one JSON-RPC payload (already serialized) to one upstream. */
export interface Transport {
  send(body: string, options: SendOptions): Promise<TransportResponse>;
  close(): Promise<void>;
}

/** What names an upstream in metrics: its configured id and failure domain, never its URL. */
export interface UpstreamIdentity {
  id: string;
  domain: { operator: string; hosting: string; region: string };
}

/**
 * How an upstream attempt ended, as metrics count it: `ok` (a result, or the chain's own error such as a revert),
 * or the kind of failure. An attempt cancelled because another won the race is not counted.
 */
export type UpstreamCallOutcome =
  | "ok"
  | "timeout"
  | "connect"
  | "reset"
  | "rate_limited"
  | "server_error"
  | "malformed"
  | "unsupported"
  | "unknown_error"
  | "too_large";

/** How a client's answer was checked; `failed`: no verifiable answer could be had (-32002). */
export type VerificationOutcome = "proof" | "quorum" | "single" | "none" | "failed";

/** Why a request was turned away at the front door, before any call ran. */
export type RefusalReason = "auth" | "cors" | "rate_limit" | "connection_cap" | "too_large" | "slow_consumer";

/** Instruments bound to one upstream (labels fixed when the upstream is built: nothing is looked up per call). */
export interface UpstreamMetrics {
  /** One attempt's outcome and duration, seconds. */
  call(outcome: UpstreamCallOutcome, seconds: number): void;
  /** One of its answers failed verification. */
  dispute(): void;
  /** Cordoned: for failed verifications (`disputes`) or for being on another chain (`wrong_chain`). */
  cordon(reason: "disputes" | "wrong_chain"): void;
}

/** Instruments bound to one chain. */
export interface ChainMetrics {
  /** The same upstream always gets the same bound instruments. */
  upstream(upstream: UpstreamIdentity): UpstreamMetrics;
  /** One answer given to a client call, by how it was checked. */
  verification(outcome: VerificationOutcome): void;
  /** A client's call of a cacheable read found (or not) in the process cache; the engine's own reads are not counted. */
  cache(hit: boolean): void;
  /**
   * No live verified answer: a last-known-good value was `served` (stale, by the client's opt-in), `attached` to the
   * error, or there was none (`missing`).
   */
  lastKnownGood(result: "served" | "attached" | "missing"): void;
  /** A transaction entered this outbox status through this process. */
  outboxTransition(status: "pending" | "included" | "replaced" | "expired"): void;
  /** Pending transactions the last outbox round found. */
  outboxPending(count: number): void;
}

/**
 * Counters, histograms and gauges, named by what happens in the domain. The engine and the servers depend on this port
 * only; `telemetry/metrics.ts` implements it with prom-client, `noopMetrics` is the embedded library's default.
 * Label values come from closed sets: a method Multihome does not know is `other`, a chain it does not serve `other`.
 */
/** What metrics label a chain by: an EVM chain id, or `solana/{name}` for a Solana cluster. */
export type { ChainKey };

export interface Metrics {
  chain(chain: ChainKey): ChainMetrics;
  /**
   * One client JSON-RPC call answered: `outcome` is `ok`, an error code name (`unavailable`, `rate_limited`…) or
   * `execution_error` (the chain's own error, e.g. a revert). A body refused as a whole (no method read) counts once,
   * with `method` undefined.
   */
  request(chain: ChainKey, method: string | undefined, outcome: string, seconds: number): void;
  /** A request, connection or message turned away at the front door. */
  refused(reason: RefusalReason): void;
  /** A WebSocket connection opened (+1) or closed (-1). */
  webSocketConnections(delta: number): void;
  /** WebSocket subscriptions opened (+n) or ended (-n). */
  webSocketSubscriptions(delta: number): void;
}

const noopUpstream: UpstreamMetrics = { call() {}, dispute() {}, cordon() {} };
const noopChain: ChainMetrics = {
  upstream: () => noopUpstream,
  verification() {},
  cache() {},
  lastKnownGood() {},
  outboxTransition() {},
  outboxPending() {},
};

/** Metrics that record nothing: the default when no implementation is given (the embedded library). */
export const noopMetrics: Metrics = {
  chain: () => noopChain,
  request() {},
  refused() {},
  webSocketConnections() {},
  webSocketSubscriptions() {},
};

import type { ChainKey } from "./chain-key.ts";
import { BaseError } from "./errors.ts";
