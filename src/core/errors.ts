/**
 * The one registry of Multihome's error codes. Every code a client can see is here, with its JSON-RPC code and HTTP
 * status; `docs/errors.md` documents each one and a test keeps the two in step.
 */
export const ERRORS = {
  parse_error: { rpc: -32700, http: 400, message: "parse error" },
  invalid_request: { rpc: -32600, http: 400, message: "invalid request" },
  method_not_found: { rpc: -32601, http: 200, message: "method not found or not allowed" },
  invalid_params: { rpc: -32602, http: 200, message: "invalid params" },
  internal: { rpc: -32603, http: 200, message: "internal error" },
  unavailable: { rpc: -32002, http: 200, message: "no verifiable answer is available" },
  tx_rejected: { rpc: -32003, http: 200, message: "transaction rejected" },
  limit_exceeded: { rpc: -32005, http: 413, message: "limit exceeded" },
  rate_limited: { rpc: -32005, http: 429, message: "rate limited" },
  unknown_chain: { rpc: -32602, http: 404, message: "unknown chain" },
  timeout: { rpc: -32002, http: 200, message: "request deadline exceeded" },
  insufficient_evidence: { rpc: -32002, http: 200, message: "the answer's evidence is below the minimum asked for" },
  unauthorized: { rpc: -32090, http: 401, message: "unauthorized" },
  forbidden: { rpc: -32091, http: 403, message: "forbidden" },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/**
 * The base of every error Multihome throws. `code` is stable and machine-readable — what callers, logs, metrics and
 * tests match on, never the words of the message (a string for Multihome's own failures, the JSON-RPC number where a
 * standard says so: EIP-1193's provider errors). Each class names itself (`name`): a minified bundle renames classes.
 */
export abstract class BaseError<C extends string | number = string | number> extends Error {
  abstract readonly code: C;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An error Multihome itself answers with. `data` is shown to the client: it must never carry upstream details. */
export class MultihomeError extends BaseError<ErrorCode> {
  override readonly name = "MultihomeError";
  readonly code: ErrorCode;
  readonly rpcCode: number;
  readonly httpStatus: number;
  readonly data: Record<string, unknown> | undefined;
  /** Seconds a client should wait (rate limits), sent as `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: { data?: Record<string, unknown>; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message ?? ERRORS[code].message, { cause: options.cause });
    this.code = code;
    this.rpcCode = ERRORS[code].rpc;
    this.httpStatus = ERRORS[code].http;
    this.data = options.data;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The JSON-RPC error object a client receives for a Multihome error. */
export function toRpcError(error: MultihomeError): { code: number; message: string; data: Record<string, unknown> } {
  return { code: error.rpcCode, message: error.message, data: { ...error.data, multihomeCode: error.code } };
}
