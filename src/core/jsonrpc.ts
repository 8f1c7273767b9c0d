/**
 * JSON-RPC 2.0 framing: turning a request body into validated calls, and answers back into bytes.
 * Ids are echoed exactly: integers beyond 2^53 keep their digits (JSON.rawJSON), fractional or negative-zero ids are
 * rejected because no client could match them reliably.
 */
import { MultihomeError } from "./errors.ts";

declare global {
  interface JSON {
    rawJSON(text: string): object;
    isRawJSON(value: unknown): boolean;
  }
}

/** A request id as it will be echoed: string, safe integer, null, or a raw JSON integer literal. */
export type RpcId = string | number | null | object;

export interface RpcCall {
  id: RpcId;
  method: string;
  params: unknown[] | Record<string, unknown>;
  /** No `id` member: executed, but never answered (JSON-RPC 2.0 §4.1). */
  notification: boolean;
}

export type ParsedItem = { ok: true; call: RpcCall } | { ok: false; id: RpcId; error: MultihomeError };

export type ParsedBody = { batch: false; item: ParsedItem } | { batch: true; items: ParsedItem[] };

export interface ParseLimits {
  /** Most items in one batch. */
  maxBatchItems: number;
  /** Deepest nesting of arrays/objects in the whole body. */
  maxDepth: number;
  /** Longest method name, in characters. */
  maxMethodLength: number;
}

const METHOD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Depth of the deepest array/object nesting, scanning outside strings. Runs before JSON.parse so that a body of a
 * million `[` is refused in linear time without building anything.
 */
export function nestingDepthExceeds(text: string, maxDepth: number): boolean {
  if (text.length <= maxDepth) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > maxDepth) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}

function preciseReviver(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === "number" && context?.source !== undefined && !Number.isSafeInteger(value)) {
    return /^-?\d+$/.test(context.source) && context.source !== "-0" ? JSON.rawJSON(context.source) : value;
  }
  return value;
}

function needsPreciseParse(value: unknown): boolean {
  const ids = Array.isArray(value) ? value : [value];
  for (const item of ids) {
    if (item && typeof item === "object" && "id" in item) {
      const id = (item as { id: unknown }).id;
      if (typeof id === "number" && (!Number.isSafeInteger(id) || Object.is(id, -0))) return true;
    }
  }
  return false;
}

/** Parse a whole request body. Throws `MultihomeError` for whole-body failures; per-item failures are returned. */
export function parseRequestBody(text: string, limits: ParseLimits): ParsedBody {
  if (nestingDepthExceeds(text, limits.maxDepth)) {
    throw new MultihomeError("invalid_request", `invalid request: nesting deeper than ${limits.maxDepth}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
    if (needsPreciseParse(value)) value = JSON.parse(text, preciseReviver);
  } catch {
    const empty = /^\s*$/.test(text);
    throw new MultihomeError("parse_error", empty ? "parse error: empty body" : "parse error: body is not valid JSON");
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw new MultihomeError("invalid_request", "invalid request: empty batch");
    if (value.length > limits.maxBatchItems) {
      throw new MultihomeError("limit_exceeded", `too many calls in batch (limit ${limits.maxBatchItems})`, {
        data: { reason: "too many calls in batch", limit: limits.maxBatchItems },
      });
    }
    return { batch: true, items: value.map((item) => parseItem(item, limits)) };
  }
  const item = parseItem(value, limits);
  if (!item.ok) throw item.error;
  return { batch: false, item };
}

function invalid(id: RpcId, message: string): ParsedItem {
  return { ok: false, id, error: new MultihomeError("invalid_request", `invalid request: ${message}`) };
}

function parseId(raw: unknown): { ok: true; id: RpcId } | { ok: false } {
  if (raw === null || typeof raw === "string") return { ok: true, id: raw };
  if (typeof raw === "number") {
    return Number.isSafeInteger(raw) && !Object.is(raw, -0) ? { ok: true, id: raw } : { ok: false };
  }
  if (typeof raw === "object" && JSON.isRawJSON(raw)) return { ok: true, id: raw };
  return { ok: false };
}

function parseItem(value: unknown, limits: ParseLimits): ParsedItem {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return invalid(null, "expected a JSON-RPC request object");
  }
  const obj = value as Record<string, unknown>;
  const hasId = "id" in obj;
  const parsedId = hasId ? parseId(obj.id) : { ok: true as const, id: null };
  if (!parsedId.ok) return invalid(null, "id must be a string, an integer or null");
  const id = parsedId.id;
  if (obj.jsonrpc !== "2.0") return invalid(id, 'invalid JSON-RPC version (expected "2.0")');
  const method = obj.method;
  if (typeof method !== "string" || method.length === 0) return invalid(id, "method must be a non-empty string");
  if (method.length > limits.maxMethodLength) {
    return invalid(id, `method name longer than ${limits.maxMethodLength} characters`);
  }
  if (!METHOD_NAME.test(method)) return invalid(id, "method name has characters outside [A-Za-z0-9_]");
  const params = obj.params ?? [];
  if (typeof params !== "object" || params === null) return invalid(id, "params must be an array or an object");
  return { ok: true, call: { id, method, params: params as RpcCall["params"], notification: !hasId } };
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** One response object, serialized. `result` must already be JSON-safe. */
export function serializeResult(id: RpcId, result: unknown): string {
  return JSON.stringify({ jsonrpc: "2.0", id, result });
}

export function serializeError(id: RpcId, error: RpcErrorObject): string {
  return JSON.stringify({ jsonrpc: "2.0", id, error });
}
