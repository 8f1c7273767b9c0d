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
}

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
export class TransportError extends Error {
  readonly kind: TransportFailureKind;
  constructor(kind: TransportFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransportError";
    this.kind = kind;
  }
}

export interface SendOptions {
  /** Aborts the attempt; the transport must reject with `TransportError` kind `aborted`/`timeout` promptly. */
  signal: AbortSignal;
  /** Response body cap in bytes; exceeding it rejects with kind `too_large`. */
  maxResponseBytes: number;
}

/** Sends one JSON-RPC payload (already serialized) to one upstream. */
export interface Transport {
  send(body: string, options: SendOptions): Promise<TransportResponse>;
  close(): Promise<void>;
}
