/**
 * The one place where an upstream attempt's outcome is classified. Everything else (routing, health, breakers)
 * acts on the `decision`:
 * - `answer`: the chain's answer (a result, a revert, invalid params); return it, do not try elsewhere.
 * - `retry`: the upstream is fine but busy (rate limited); try elsewhere and leave it alone for a while.
 * - `failover`: the upstream failed; try elsewhere and count it against its health.
 * - `fatal`: trying elsewhere cannot help (the answer is too large); fail the request.
 * Unknown error shapes from a node take `failover` — the next domain decides; if every attempt ends with the same
 * unknown error it is passed through unchanged (see engine/execute).
 */

import type { TransportFailureKind, TransportResponse } from "../ports.ts";
import type { RpcErrorObject } from "../rpc/jsonrpc.ts";
import { backoffFromRpcError, parseRetryAfter } from "./backoff.ts";

export type Decision = "answer" | "retry" | "failover" | "fatal";

export type Outcome =
  | { kind: "result"; decision: "answer"; result: unknown }
  /** Execution error of the chain (revert, out of gas, nonce too low…) or a client mistake the node reported. */
  | { kind: "execution"; decision: "answer"; error: RpcErrorObject }
  | { kind: "capacity"; decision: "retry"; backoffMs: number | undefined }
  | { kind: "unsupported"; decision: "failover"; error: RpcErrorObject }
  | { kind: "transport"; decision: "failover"; failure: TransportFailureKind }
  | { kind: "server"; decision: "failover"; status: number; error?: RpcErrorObject }
  | { kind: "malformed"; decision: "failover"; reason: string }
  | { kind: "unknown"; decision: "failover"; error: RpcErrorObject }
  | { kind: "too_large"; decision: "fatal" }
  /** The answer failed verification (proof, header hash): a dispute against that upstream. */
  | { kind: "dispute"; decision: "failover"; reason: string };

const EXECUTION_MESSAGE =
  /revert|out ?of ?gas|EVM error |gas required exceeds|intrinsic gas|invalid opcode|stack (underflow|overflow)|insufficient funds|nonce too (low|high)|already known|known transaction|replacement transaction underpriced|transaction underpriced|exceeds block gas limit|max fee per gas less than block base fee|invalid (sender|signature|transaction)|tx fee .* exceeds|invalid jump|static call|precompile|max initcode size exceeded|contract creation code storage out of gas/i;
const CAPACITY_MESSAGE =
  /rate.?limit|too many requests|request limit|exceeded (the|your)? ?(capacity|quota|throughput)|compute units|credits|throughput|capacity exceeded|daily request count exceeded/i;
const UNSUPPORTED_MESSAGE =
  /method .*(not (found|supported|available|exist)|unsupported)|(not|un)supported method|does not exist\/is not available|method not allowed|not implemented/i;
const MISSING_STATE_MESSAGE =
  /header not found|missing trie node|unknown block|block height is|BlockOutOfRange|block .*out of range|pruned|state (is )?not available|historical state|block not found|not (yet )?synced|syncing/i;
const RANGE_MESSAGE =
  /query returned more than|block range|range (is )?too (large|wide)|too many (blocks|logs|results)/i;

const CAPACITY_CODES = new Set([-32005, -32029, -32090, -32097, 429]);
const UNSUPPORTED_CODES = new Set([-32601, -32004]);

export function classifyTransportFailure(failure: TransportFailureKind): Outcome {
  if (failure === "too_large") return { kind: "too_large", decision: "fatal" };
  return { kind: "transport", decision: "failover", failure };
}

/** Classify one upstream HTTP answer to a single (non-batch) JSON-RPC call. */
export function classifyResponse(response: TransportResponse, now: number): Outcome {
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    if (response.status === 429)
      return { kind: "capacity", decision: "retry", backoffMs: parseRetryAfter(response.retryAfter, now) };
    if (response.status >= 500 || response.status === 0)
      return { kind: "server", decision: "failover", status: response.status };
    return { kind: "malformed", decision: "failover", reason: `unparseable body (HTTP ${response.status})` };
  }
  if (response.status === 429) {
    const fromBody = isErrorBody(body) ? backoffFromRpcError(body.error) : undefined;
    return {
      kind: "capacity",
      decision: "retry",
      backoffMs: maxDefined(parseRetryAfter(response.retryAfter, now), fromBody),
    };
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    return { kind: "malformed", decision: "failover", reason: "response is not a JSON-RPC object" };
  }
  if (isErrorBody(body)) return classifyRpcError(body.error, response, now);
  if (!("result" in body)) {
    if (response.status >= 500) return { kind: "server", decision: "failover", status: response.status };
    return { kind: "malformed", decision: "failover", reason: "response has neither result nor error" };
  }
  if (response.status >= 300) return { kind: "server", decision: "failover", status: response.status };
  return { kind: "result", decision: "answer", result: (body as { result: unknown }).result };
}

function isErrorBody(body: unknown): body is { error: RpcErrorObject } {
  if (!body || typeof body !== "object" || !("error" in body)) return false;
  const error = (body as { error: unknown }).error;
  return !!error && typeof error === "object" && typeof (error as { code?: unknown }).code === "number";
}

function classifyRpcError(error: RpcErrorObject, response: TransportResponse, now: number): Outcome {
  const message = typeof error.message === "string" ? error.message : "";
  const clean: RpcErrorObject = {
    code: error.code,
    message,
    ...(error.data !== undefined ? { data: error.data } : {}),
  };
  if (error.code === 3 || EXECUTION_MESSAGE.test(message))
    return { kind: "execution", decision: "answer", error: clean };
  if (RANGE_MESSAGE.test(message)) return { kind: "unsupported", decision: "failover", error: clean };
  if (CAPACITY_CODES.has(error.code) || CAPACITY_MESSAGE.test(message)) {
    return {
      kind: "capacity",
      decision: "retry",
      backoffMs: maxDefined(parseRetryAfter(response.retryAfter, now), backoffFromRpcError(error)),
    };
  }
  if (UNSUPPORTED_CODES.has(error.code) || UNSUPPORTED_MESSAGE.test(message)) {
    return { kind: "unsupported", decision: "failover", error: clean };
  }
  // A node that lacks the block or state says so with all kinds of codes (even -32602): another node may have it.
  if (MISSING_STATE_MESSAGE.test(message))
    return { kind: "server", decision: "failover", status: response.status, error: clean };
  if (error.code === -32602) return { kind: "execution", decision: "answer", error: clean };
  if (error.code === -32603 || response.status >= 500) {
    return { kind: "server", decision: "failover", status: response.status, error: clean };
  }
  return { kind: "unknown", decision: "failover", error: clean };
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}
