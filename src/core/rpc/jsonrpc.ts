/**
 * JSON-RPC 2.0 framing: turning a request body into validated calls, and answers back into bytes.
 * Ids are echoed exactly: integers beyond 2^53 keep their digits (JSON.rawJSON), fractional or negative-zero ids are
 * rejected because no client could match them reliably.
 */
import { MultihomeError } from "../errors.ts";

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

/** What one pass over a body's text tells before JSON.parse builds anything. */
export interface BodyShape {
  /** Arrays and objects nest deeper than the limit somewhere. */
  tooDeep: boolean;
  /** Items of a top-level array (its commas outside nested values and strings, plus one); 0 for anything else. */
  batchItems: number;
}

/**
 * One linear pass over a body, outside strings: how deep it nests and how many items a batch holds. Runs before
 * JSON.parse, so that a body of a million `[`, or a batch far over the item limit, is refused without building
 * anything. On valid JSON `batchItems` is exactly the array's length; on invalid JSON it is what the text claims.
 */
export function scanBody(text: string, maxDepth: number): BodyShape {
  let depth = 0;
  let inString = false;
  let isArray = false;
  let separators = 0;
  let hasItem = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    if (depth === 0 && !isArray && c === 91 /* [ */) isArray = true;
    else if (depth === 1 && isArray && c !== 93 /* ] */) {
      hasItem = true;
      if (c === 44 /* , */) separators++;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123 /* { */) {
      if (++depth > maxDepth) return { tooDeep: true, batchItems: 0 };
    } else if (c === 93 || c === 125 /* } */) depth--;
  }
  return { tooDeep: false, batchItems: isArray && hasItem ? separators + 1 : 0 };
}

/** A JSON integer literal: the only number an id may be written as (`1.0`, `1e0` and `-0` are refused). */
const INTEGER_LITERAL = /^-?(0|[1-9]\d*)$/;

/**
 * The source text of each numeric `id` member, by the object holding it: parseItem checks it, so `0e0` or `1.0` is
 * refused rather than echoed as `0` or `1`, and integers beyond 2^53 keep their digits.
 */
type IdSources = WeakMap<object, string>;

function parsePrecise(text: string): { value: unknown; idSources: IdSources } {
  const idSources: IdSources = new WeakMap();
  const value = JSON.parse(text, function (this: object, key, raw: unknown, context?: { source?: string }) {
    if (typeof raw !== "number" || context?.source === undefined) return raw;
    if (key === "id") idSources.set(this, context.source);
    return !Number.isSafeInteger(raw) && INTEGER_LITERAL.test(context.source) && context.source !== "-0"
      ? JSON.rawJSON(context.source)
      : raw;
  });
  return { value, idSources };
}

/** Some id is a number that may not be written as a plain safe integer: only then is the body parsed with sources. */
function needsPreciseParse(value: unknown, text: string): boolean {
  let numericId = false;
  const items = Array.isArray(value) ? value : [value];
  for (const item of items) {
    if (item && typeof item === "object" && "id" in item) {
      const id = (item as { id: unknown }).id;
      if (typeof id !== "number") continue;
      if (!Number.isSafeInteger(id) || Object.is(id, -0)) return true;
      numericId = true;
    }
  }
  // A fraction or exponent written as an id (`"id":1.0`, `"id":0e0`) parses to a safe integer: only the text shows
  // it, and the key may be spelled with escapes (`"\u0069d"`). String ids never pay for the scan.
  return numericId && (/"id"\s*:\s*-?\d+[.eE]/.test(text) || text.includes("\\u"));
}

/** Parse a whole request body. Throws `MultihomeError` for whole-body failures; per-item failures are returned. */
export function parseRequestBody(text: string, limits: ParseLimits): ParsedBody {
  const shape = scanBody(text, limits.maxDepth);
  if (shape.tooDeep) {
    throw new MultihomeError("invalid_request", `invalid request: nesting deeper than ${limits.maxDepth}`);
  }
  // Refused (and charged for every item) before parsing: a 10,000-item batch is never built.
  if (shape.batchItems > limits.maxBatchItems) {
    throw new MultihomeError("limit_exceeded", `too many calls in batch (limit ${limits.maxBatchItems})`, {
      data: { reason: "too many calls in batch", limit: limits.maxBatchItems, items: shape.batchItems },
    });
  }
  let value: unknown;
  let idSources: IdSources | undefined;
  try {
    value = JSON.parse(text);
    if (needsPreciseParse(value, text)) ({ value, idSources } = parsePrecise(text));
  } catch {
    const empty = /^\s*$/.test(text);
    throw new MultihomeError("parse_error", empty ? "parse error: empty body" : "parse error: body is not valid JSON");
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw new MultihomeError("invalid_request", "invalid request: empty batch");
    return { batch: true, items: value.map((item) => parseItem(item, limits, idSources)) };
  }
  const item = parseItem(value, limits, idSources);
  if (!item.ok) throw item.error;
  return { batch: false, item };
}

/** Why `method` and `params` cannot make a JSON-RPC call, or undefined when they can. */
export function callShapeProblem(method: unknown, params: unknown, maxMethodLength: number): string | undefined {
  if (typeof method !== "string" || method.length === 0) return "method must be a non-empty string";
  if (method.length > maxMethodLength) return `method name longer than ${maxMethodLength} characters`;
  if (!METHOD_NAME.test(method)) return "method name has characters outside [A-Za-z0-9_]";
  if (typeof params !== "object" || params === null) return "params must be an array or an object";
  return undefined;
}

function invalid(id: RpcId, message: string): ParsedItem {
  return { ok: false, id, error: new MultihomeError("invalid_request", `invalid request: ${message}`) };
}

function parseId(raw: unknown, source: string | undefined): { ok: true; id: RpcId } | { ok: false } {
  if (raw === null || typeof raw === "string") return { ok: true, id: raw };
  if (typeof raw === "number") {
    if (source !== undefined && !INTEGER_LITERAL.test(source)) return { ok: false };
    return Number.isSafeInteger(raw) && !Object.is(raw, -0) ? { ok: true, id: raw } : { ok: false };
  }
  if (typeof raw === "object" && JSON.isRawJSON(raw)) return { ok: true, id: raw };
  return { ok: false };
}

function parseItem(value: unknown, limits: ParseLimits, idSources: IdSources | undefined): ParsedItem {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return invalid(null, "expected a JSON-RPC request object");
  }
  const obj = value as Record<string, unknown>;
  const hasId = "id" in obj;
  const parsedId = hasId ? parseId(obj.id, idSources?.get(obj)) : { ok: true as const, id: null };
  if (!parsedId.ok) return invalid(null, "id must be a string, an integer or null");
  const id = parsedId.id;
  if (obj.jsonrpc !== "2.0") return invalid(id, 'invalid JSON-RPC version (expected "2.0")');
  const method = obj.method;
  const params = obj.params ?? [];
  const problem = callShapeProblem(method, params, limits.maxMethodLength);
  if (problem !== undefined) return invalid(id, problem);
  return {
    ok: true,
    call: { id, method: method as string, params: params as RpcCall["params"], notification: !hasId },
  };
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

/**
 * The same text as `serializeResult(id, result)` when `json` is `JSON.stringify(result)`: an answer kept encoded is
 * written as it is, without serialising its result again.
 */
export function serializeEncodedResult(id: RpcId, json: string): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${json}}`;
}

export function serializeError(id: RpcId, error: RpcErrorObject): string {
  return JSON.stringify({ jsonrpc: "2.0", id, error });
}
