/**
 * JSON-RPC over HTTP and WebSocket: body → calls → engine → one response. Whole-body failures get 400/413 without any
 * upstream call; a well-formed call always gets HTTP 200 with a JSON-RPC error object, except rate limits (429).
 * Over WebSocket the same text is sent as one message (the status and headers have no equivalent there).
 */
import { randomBytes } from "node:crypto";
import { MultihomeError, toRpcError } from "../core/errors.ts";
import { type Logger, type Metrics, noopMetrics } from "../core/ports.ts";
import { bodyCost, callCost } from "../core/rpc/access.ts";
import {
  type ParsedItem,
  type ParseLimits,
  parseRequestBody,
  type RpcCall,
  type RpcId,
  serializeEncodedResult,
  serializeError,
  serializeResult,
} from "../core/rpc/jsonrpc.ts";
import { methodLabel, SUBSCRIPTION_METHODS } from "../core/rpc/methods.ts";
import {
  type CallAnswer,
  type Engine,
  isVerification,
  rpcErrorOf,
  VERIFICATIONS,
  type Verification,
} from "../engine/engine.ts";

/** What a caller may do: the methods its key allows, and the units its calls cost against its limit. */
export interface RpcGate {
  mayCall(method: string): boolean;
  costs: Readonly<Record<string, number>>;
  /** Debit the body's cost; an error (rate_limited) refuses the whole body. */
  charge(units: number): Promise<MultihomeError | undefined>;
  /** Who is calling, for logs: the API key's configured id, or `anonymous` (never the key itself). */
  client: string;
}

export interface RpcHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Request ids: a random per-server prefix and a counter — unique, cheap, and nothing to guess from. */
export function createRequestIds(): () => string {
  const prefix = randomBytes(4).toString("hex");
  let counter = 0;
  return () => {
    counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
    return `${prefix}-${counter.toString(36)}`;
  };
}

/** The answer to a body that failed as a whole (parse error, empty batch, too large). */
export function wholeBodyError(error: MultihomeError, requestId: string): RpcHttpResponse {
  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": requestId };
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
  return { status: error.httpStatus, headers, body: serializeError(null, toRpcError(error)) };
}

function internalError(requestId: string): MultihomeError {
  return new MultihomeError("internal", "internal error", { data: { requestId } });
}

/** The largest `multihome-max-staleness` a client may ask for: 30 days, in seconds. */
export const MAX_STALENESS_SECONDS = 2_592_000;

/** `multihome-max-staleness`: whole seconds, at most MAX_STALENESS_SECONDS; undefined when absent. */
export function parseMaxStaleness(value: string | string[] | undefined): number | undefined | "invalid" {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d{1,7}$/.test(value.trim())) return "invalid";
  const seconds = Number(value.trim());
  return seconds <= MAX_STALENESS_SECONDS ? seconds : "invalid";
}

/** Sets the weakest evidence a caller accepts, on a JSON-RPC request or a WebSocket upgrade (for all its calls). */
export const MIN_EVIDENCE_HEADER = "multihome-min-evidence";

/** The caller's minimum evidence from its header: a level, undefined when absent, or the invalid_request refusal. */
export function minEvidenceOf(value: string | string[] | undefined): Verification | undefined | MultihomeError {
  if (value === undefined) return undefined;
  const level = typeof value === "string" ? value.trim().toLowerCase() : undefined;
  if (isVerification(level)) return level;
  return new MultihomeError(
    "invalid_request",
    `invalid request: ${MIN_EVIDENCE_HEADER} must be one of ${VERIFICATIONS.join(", ")}`,
  );
}

/** The evidence of an answer Multihome gives itself (no upstream, no block). */
export const NO_EVIDENCE = { blockNumber: undefined, verified: "none" as const };

/** The answer to eth_subscribe and eth_unsubscribe over plain HTTP. */
function needsWebSocket(call: RpcCall): CallAnswer {
  return {
    ok: false,
    error: new MultihomeError(
      "method_not_found",
      `${call.method} needs a WebSocket connection: GET /rpc/{chainId} with Upgrade: websocket`,
    ),
    evidence: NO_EVIDENCE,
  };
}

/** A call's outcome as metrics and logs name it. */
function outcomeOf(answer: CallAnswer): string {
  if (answer.ok) return "ok";
  return "rpcError" in answer ? "execution_error" : answer.error.code;
}

/** What one request did, for its log line: each call's method (as labels name it) and outcome. */
interface RequestTrace {
  methods: string[];
  outcomes: string[];
}

/** Who made a request and when it began: what its log line says besides what it did. */
export interface RequestLog {
  logger: Logger;
  requestId: string;
  chainId: number;
  /** A key's id or `anonymous`. */
  client: string;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
}

/**
 * One debug line per request: its id (the `x-request-id` answered), chain, method(s), outcome(s), status, duration and
 * who called. Methods are named as metrics name them, so a client cannot write into logs.
 */
function logRequest(log: RequestLog, status: number, trace: RequestTrace): void {
  const { logger, requestId, chainId, client } = log;
  const durationMs = Math.round((performance.now() - log.startedAt) * 1000) / 1000;
  if (trace.methods.length <= 1) {
    logger.debug(
      {
        requestId,
        chainId,
        method: trace.methods[0] ?? "none",
        outcome: trace.outcomes[0] ?? "ok",
        status,
        durationMs,
        client,
      },
      "request",
    );
    return;
  }
  const outcomes: Record<string, number> = {};
  for (const o of trace.outcomes) outcomes[o] = (outcomes[o] ?? 0) + 1;
  logger.debug(
    {
      requestId,
      chainId,
      batch: trace.methods.length,
      methods: [...new Set(trace.methods)],
      outcomes,
      status,
      durationMs,
      client,
    },
    "request",
  );
}

/**
 * A body refused as a whole before the JSON-RPC handler read it (too large, not UTF-8, a bad header, over the limit):
 * counted and logged like any other request, and answered with a JSON-RPC error object, id null.
 */
export function refuseBody(error: MultihomeError, log: RequestLog, metrics: Metrics): RpcHttpResponse {
  if (error.code === "rate_limited") metrics.refused("rate_limit");
  metrics.request(log.chainId, undefined, error.code, (performance.now() - log.startedAt) / 1000);
  const response = wholeBodyError(error, log.requestId);
  if (log.logger.isLevelEnabled("debug")) logRequest(log, response.status, { methods: [], outcomes: [error.code] });
  return response;
}

function answerToJson(id: RpcId, answer: CallAnswer): string {
  if (!answer.ok) return serializeError(id, rpcErrorOf(answer));
  // Kept encoded (a cache hit): written as it is, unless something since put another result in its place.
  const encoded = answer.encoded;
  return encoded !== undefined && encoded.of === answer.result
    ? serializeEncodedResult(id, encoded.json)
    : serializeResult(id, answer.result);
}

export async function handleRpcBody(
  engine: Engine,
  chainId: number,
  text: string,
  options: {
    limits: ParseLimits;
    logger: Logger;
    requestId: string;
    signal?: AbortSignal;
    maxStalenessSeconds?: number;
    /** The caller's `multihome-min-evidence`: every call of the body is held to it. */
    minEvidence?: Verification;
    /** Answers eth_subscribe and eth_unsubscribe (a WebSocket connection's own state); absent over HTTP. */
    subscriptions?: (call: RpcCall) => CallAnswer;
    /** The caller's key scope and rate limit; absent: every served method, no limit. */
    gate?: RpcGate;
    metrics?: Metrics;
  },
): Promise<RpcHttpResponse> {
  const startedAt = performance.now();
  // The trace only exists for the debug line: at info and above a request builds nothing for its log.
  const trace = options.logger.isLevelEnabled("debug") ? { methods: [], outcomes: [] } : undefined;
  const response = await answerBody(engine, chainId, text, options, startedAt, trace);
  if (trace) {
    const { logger, requestId } = options;
    logRequest(
      { logger, requestId, chainId, client: options.gate?.client ?? "anonymous", startedAt },
      response.status,
      trace,
    );
  }
  return response;
}

async function answerBody(
  engine: Engine,
  chainId: number,
  text: string,
  options: Parameters<typeof handleRpcBody>[3],
  startedAt: number,
  trace: RequestTrace | undefined,
): Promise<RpcHttpResponse> {
  const { requestId, logger } = options;
  const metrics = options.metrics ?? noopMetrics;
  /** Counts one call (or, with no method, a body refused as a whole) and remembers it for the log line. */
  const count = (method: string | undefined, outcome: string) => {
    metrics.request(chainId, method, outcome, (performance.now() - startedAt) / 1000);
    if (!trace) return;
    trace.methods.push(method === undefined ? "none" : methodLabel(method));
    trace.outcomes.push(outcome);
  };
  /** A body refused or failed as a whole. */
  const wholeBody = (error: MultihomeError) => {
    if (error.code === "rate_limited") metrics.refused("rate_limit");
    count(undefined, error.code);
    return wholeBodyError(error, requestId);
  };
  let parsed: ReturnType<typeof parseRequestBody>;
  try {
    parsed = parseRequestBody(text, options.limits);
  } catch (error) {
    if (error instanceof MultihomeError) {
      // Junk is paid for too, so a client sending it runs into its limit and is then refused before being read; an
      // oversized batch costs every item it holds.
      const items = typeof error.data?.items === "number" ? error.data.items : 1;
      const refused = await options.gate?.charge(items * callCost(undefined, options.gate.costs));
      return wholeBody(refused ?? error);
    }
    logger.error({ requestId, err: (error as Error).message }, "request parsing failed unexpectedly");
    return wholeBody(internalError(requestId));
  }

  const gate = options.gate;
  if (gate) {
    const items = parsed.batch ? parsed.items : [parsed.item];
    // Every item is paid for, valid or not, before any runs: a batch of 100 costs 100 calls, not one request.
    const refused = await gate.charge(
      bodyCost(
        items.map((i) => (i.ok ? i.call : undefined)),
        gate.costs,
      ),
    );
    if (refused) return wholeBody(refused);
  }

  const run = async (
    item: ParsedItem,
  ): Promise<{ id: RpcId; answer: CallAnswer } | { id: RpcId; error: MultihomeError }> => {
    const out = await runItem(item);
    count(item.ok ? item.call.method : undefined, "error" in out ? out.error.code : outcomeOf(out.answer));
    return out;
  };
  const runItem = async (
    item: ParsedItem,
  ): Promise<{ id: RpcId; answer: CallAnswer } | { id: RpcId; error: MultihomeError }> => {
    if (!item.ok) return { id: item.id, error: item.error };
    if (gate && !gate.mayCall(item.call.method))
      return {
        id: item.call.id,
        error: new MultihomeError("method_not_found", `method ${item.call.method} is not allowed for this API key`),
      };
    if (SUBSCRIPTION_METHODS.has(item.call.method))
      return { id: item.call.id, answer: (options.subscriptions ?? needsWebSocket)(item.call) };
    try {
      return {
        id: item.call.id,
        answer: await engine.call(chainId, item.call, {
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.maxStalenessSeconds !== undefined ? { maxStalenessSeconds: options.maxStalenessSeconds } : {}),
          ...(options.minEvidence !== undefined ? { minEvidence: options.minEvidence } : {}),
        }),
      };
    } catch (error) {
      logger.error({ requestId, method: item.call.method, err: (error as Error).message }, "call failed unexpectedly");
      return { id: item.call.id, error: internalError(requestId) };
    }
  };

  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": requestId };
  if (!parsed.batch) {
    const out = await run(parsed.item);
    if (parsed.item.ok && parsed.item.call.notification)
      return { status: 204, headers: { "x-request-id": requestId }, body: "" };
    if ("error" in out)
      return { status: out.error.httpStatus, headers, body: serializeError(out.id, toRpcError(out.error)) };
    const { answer } = out;
    if (answer.evidence.blockNumber !== undefined) headers["multihome-block"] = String(answer.evidence.blockNumber);
    headers["multihome-verified"] = answer.evidence.verified;
    if (answer.evidence.staleSeconds !== undefined) headers["multihome-stale"] = String(answer.evidence.staleSeconds);
    let status = 200;
    if (!answer.ok && "error" in answer) {
      if (answer.error.httpStatus === 429 || answer.error.httpStatus === 404) status = answer.error.httpStatus;
      if (answer.error.retryAfterSeconds !== undefined) headers["retry-after"] = String(answer.error.retryAfterSeconds);
    }
    return { status, headers, body: answerToJson(out.id, answer) };
  }

  const outs = await Promise.all(parsed.items.map(run));
  const parts: string[] = [];
  outs.forEach((out, i) => {
    const item = parsed.items[i]!;
    if (item.ok && item.call.notification) return;
    parts.push("error" in out ? serializeError(out.id, toRpcError(out.error)) : answerToJson(out.id, out.answer));
  });
  if (parts.length === 0) return { status: 204, headers: { "x-request-id": requestId }, body: "" };
  return { status: 200, headers, body: `[${parts.join(",")}]` };
}
