/**
 * The Solana driver's own JSON-RPC client to its nodes: plain `fetch` to loopback, every call bounded by a timeout,
 * so that a stopped (SIGSTOP) node costs one timeout and never stalls the driver.
 */

import { BaseError } from "../../core/errors.ts";

/** The path the driver posts to: the same methods as `/`, with a larger body limit (node.ts). */
export const SOLANA_DRIVER_PATH = "/devnet";
/** How long the driver waits for one call to a node, in milliseconds. */
export const SOLANA_DRIVER_RPC_TIMEOUT_MS = 1_000;

/** The node answered with a JSON-RPC error object. */
export class SolanaNodeRpcError extends BaseError<number> {
  override readonly name = "SolanaNodeRpcError";
  readonly code: number;
  readonly data: unknown;
  constructor(method: string, code: number, message: string, data?: unknown) {
    super(`${method} failed: ${message} (code ${code})`);
    this.code = code;
    this.data = data;
  }
}

/** The node could not be reached, did not answer in time, or answered with something that is not JSON-RPC. */
export class SolanaNodeUnreachableError extends BaseError<"solana_node_unreachable"> {
  override readonly name = "SolanaNodeUnreachableError";
  readonly code = "solana_node_unreachable";
}

/** Per-call options. */
export interface DriverCallOptions {
  signal?: AbortSignal;
  /** @default {@link SOLANA_DRIVER_RPC_TIMEOUT_MS} */
  timeoutMs?: number;
}

/** One call of a batch. */
export interface DriverRpcCall {
  method: string;
  params?: unknown[];
}

/** The driver's client to one node. */
export interface DriverRpc {
  url: string;
  call<T = unknown>(method: string, params?: unknown[], options?: DriverCallOptions): Promise<T>;
  /** Every call's result, in order; throws the first error (the node applies them in order). */
  batch(calls: readonly DriverRpcCall[], options?: DriverCallOptions): Promise<unknown[]>;
}

interface Answer {
  id?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown; data?: unknown } | null;
}

/** A client for the node at `baseUrl` (`http://127.0.0.1:PORT`); it posts to the driver's path. */
export function createDriverRpc(baseUrl: string): DriverRpc {
  const url = `${baseUrl}${SOLANA_DRIVER_PATH}`;
  let nextId = 1;

  async function post(body: unknown, what: string, options: DriverCallOptions): Promise<unknown> {
    const { signal, timeoutMs = SOLANA_DRIVER_RPC_TIMEOUT_MS } = options;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let text: string;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: combined,
      });
      text = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    } catch (error) {
      const reason = timeout.aborted ? `no answer within ${timeoutMs} ms` : errorMessage(error);
      throw new SolanaNodeUnreachableError(`${what} to ${baseUrl}: ${reason}`, { cause: error });
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new SolanaNodeUnreachableError(`${what} to ${baseUrl}: answer is not JSON`, { cause: error });
    }
  }

  function resultOf(method: string, answer: Answer | undefined): unknown {
    if (!answer || typeof answer !== "object") throw new SolanaNodeRpcError(method, -32603, "missing answer");
    if (answer.error) {
      const code = typeof answer.error.code === "number" ? answer.error.code : -32603;
      const message = typeof answer.error.message === "string" ? answer.error.message : "unknown error";
      throw new SolanaNodeRpcError(method, code, message, answer.error.data);
    }
    return answer.result;
  }

  return {
    url: baseUrl,
    async call<T>(method: string, params: unknown[] = [], options: DriverCallOptions = {}): Promise<T> {
      const answer = await post({ jsonrpc: "2.0", id: nextId++, method, params }, method, options);
      return resultOf(method, answer as Answer) as T;
    },
    async batch(calls, options = {}) {
      if (calls.length === 0) return [];
      const first = nextId;
      nextId += calls.length;
      const body = calls.map((c, i) => ({ jsonrpc: "2.0", id: first + i, method: c.method, params: c.params ?? [] }));
      const answer = await post(body, `batch of ${calls.length}`, options);
      if (!Array.isArray(answer)) throw new SolanaNodeUnreachableError(`batch to ${baseUrl}: answer is not an array`);
      const byId = new Map<unknown, Answer>();
      for (const a of answer as Answer[]) if (a && typeof a === "object") byId.set(a.id, a);
      return calls.map((c, i) => resultOf(c.method, byId.get(first + i)));
    },
  };
}

/** An error's message with its cause's, for reports. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}
