/**
 * The devnet driver's own JSON-RPC client: plain `fetch` to a loopback anvil, every call bounded by a timeout.
 * It is not the gateway's transport on purpose: the driver must keep working whatever state that code is in.
 */

/** How long the driver waits for one anvil call, in milliseconds. */
export const DEVNET_RPC_TIMEOUT_MS = 2_000;

/** The node answered with a JSON-RPC error object. */
export class DevnetRpcError extends BaseError<number> {
  override readonly name = "DevnetRpcError";
  readonly code: number;
  readonly data: unknown;
  constructor(method: string, code: number, message: string, data?: unknown) {
    super(`${method} failed: ${message} (code ${code})`);
    this.code = code;
    this.data = data;
  }
}

/** The node could not be reached, did not answer in time or answered with something that is not JSON-RPC. */
export class DevnetUnreachableError extends BaseError<"devnet_unreachable"> {
  override readonly name = "DevnetUnreachableError";
  readonly code = "devnet_unreachable";
}

export interface RpcCall {
  method: string;
  params?: unknown[];
}

/** One entry of a batch answer, in the order of the calls. */
export type RpcOutcome = { ok: true; result: unknown } | { ok: false; error: DevnetRpcError };

export interface RpcClient {
  url: string;
  call<T = unknown>(method: string, params?: unknown[], signal?: AbortSignal): Promise<T>;
  batch(calls: RpcCall[], signal?: AbortSignal): Promise<RpcOutcome[]>;
}

interface JsonRpcAnswer {
  id?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown; data?: unknown };
}

export function createRpcClient(url: string, options: { timeoutMs?: number } = {}): RpcClient {
  const { timeoutMs = DEVNET_RPC_TIMEOUT_MS } = options;
  let nextId = 1;

  async function post(body: unknown, what: string, signal: AbortSignal | undefined): Promise<unknown> {
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
      if (!response.ok && text.length === 0) throw new Error(`HTTP ${response.status}`);
    } catch (error) {
      const reason = timeout.aborted ? `no answer within ${timeoutMs} ms` : errorMessage(error);
      throw new DevnetUnreachableError(`${what} to ${url}: ${reason}`, { cause: error });
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new DevnetUnreachableError(`${what} to ${url}: answer is not JSON`, { cause: error });
    }
  }

  function outcomeOf(method: string, answer: JsonRpcAnswer | undefined): RpcOutcome {
    if (answer === undefined || typeof answer !== "object" || answer === null) {
      return { ok: false, error: new DevnetRpcError(method, -32603, "missing answer") };
    }
    if (answer.error !== undefined && answer.error !== null) {
      const code = typeof answer.error.code === "number" ? answer.error.code : -32603;
      const message = typeof answer.error.message === "string" ? answer.error.message : "unknown error";
      return { ok: false, error: new DevnetRpcError(method, code, message, answer.error.data) };
    }
    return { ok: true, result: answer.result };
  }

  return {
    url,
    async call<T>(method: string, params: unknown[] = [], signal?: AbortSignal): Promise<T> {
      const id = nextId++;
      const answer = (await post({ jsonrpc: "2.0", id, method, params }, method, signal)) as JsonRpcAnswer;
      const outcome = outcomeOf(method, answer);
      if (!outcome.ok) throw outcome.error;
      return outcome.result as T;
    },
    async batch(calls: RpcCall[], signal?: AbortSignal): Promise<RpcOutcome[]> {
      if (calls.length === 0) return [];
      const first = nextId;
      nextId += calls.length;
      const body = calls.map((c, i) => ({ jsonrpc: "2.0", id: first + i, method: c.method, params: c.params ?? [] }));
      const answer = await post(body, `batch of ${calls.length}`, signal);
      if (!Array.isArray(answer)) throw new DevnetUnreachableError(`batch to ${url}: answer is not an array`);
      // Batch answers may come back in any order: match them by id.
      const byId = new Map<unknown, JsonRpcAnswer>();
      for (const a of answer as JsonRpcAnswer[]) if (a && typeof a === "object") byId.set(a.id, a);
      return calls.map((c, i) => outcomeOf(c.method, byId.get(first + i)));
    },
  };
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}

import { BaseError } from "../core/errors.ts";
