/**
 * What became of a failed attempt, told from the error a client library threw (undici, fetch, ws): whether anything
 * may have been sent decides whether a write may be retried. Free of Node modules, so the browser's fetch transport
 * shares it.
 */
import { BaseError } from "../core/errors.ts";
import { TransportError, type TransportFailureKind } from "../core/ports.ts";

/** The `code` of an `AddressBlockedError`: stable, safe to log and to match on. */
export const ADDRESS_BLOCKED_CODE = "EADDRBLOCKED";

/** A connection refused by the address policy before anything was sent. The message names a class, never a host. */
export class AddressBlockedError extends BaseError<typeof ADDRESS_BLOCKED_CODE> {
  override readonly name = "AddressBlockedError";
  readonly code = ADDRESS_BLOCKED_CODE;
  /** One of `ADDRESS_REFUSALS` (or a resolver outcome), without the host or address. */
  readonly reason: string;
  constructor(reason: string) {
    super(`upstream address refused: ${reason}`);
    this.reason = reason;
  }
}

/** The reason of an `AddressBlockedError` anywhere in `error`'s cause chain or `errors` list. */
export function addressBlockedReason(error: unknown, depth = 0): string | undefined {
  if (typeof error !== "object" || error === null || depth > 4) return undefined;
  if (error instanceof AddressBlockedError) return error.reason;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  const fromCause = addressBlockedReason(cause, depth + 1);
  if (fromCause !== undefined) return fromCause;
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const reason = addressBlockedReason(inner, depth + 1);
      if (reason !== undefined) return reason;
    }
  }
  return undefined;
}

/** What a transport error message may say of a failure: ` (CODE)`, ` (EADDRBLOCKED: <reason>)`, or nothing. */
export function failureDetail(error: unknown, code: string | undefined): string {
  if (code === undefined) return "";
  const blocked = code === ADDRESS_BLOCKED_CODE ? addressBlockedReason(error) : undefined;
  return ` (${code}${blocked === undefined ? "" : `: ${blocked}`})`;
}

/** Error codes meaning the connection was never established, so the request was not sent. */
const CONNECT_CODES = new Set([
  ADDRESS_BLOCKED_CODE,
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EADDRNOTAVAIL",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
]);

const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** The pool was closed or destroyed under the request: only `close()` does that. */
const CLOSED_CODES = new Set(["UND_ERR_DESTROYED", "UND_ERR_CLOSED"]);

const TOO_LARGE_CODES = new Set(["UND_ERR_RES_EXCEEDED_MAX_SIZE"]);

/** Error codes found on `error`, its `cause` chain and an `AggregateError`'s `errors` (happy eyeballs). */
function errorCodes(error: unknown, depth = 0): string[] {
  if (typeof error !== "object" || error === null || depth > 4) return [];
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  const codes = typeof code === "string" ? [code] : [];
  codes.push(...errorCodes(cause, depth + 1));
  if (Array.isArray(errors)) for (const inner of errors) codes.push(...errorCodes(inner, depth + 1));
  return codes;
}

function isTimeoutReason(reason: unknown): boolean {
  return typeof reason === "object" && reason !== null && (reason as { name?: unknown }).name === "TimeoutError";
}

/** The kind of a failed attempt, and the code it was decided on (safe to show: codes never carry the URL). */
export function classifyHttpFailure(
  error: unknown,
  signal: AbortSignal,
): { kind: TransportFailureKind; code: string | undefined } {
  // The caller's signal wins over whatever undici reports for the torn-down socket.
  if (signal.aborted) return { kind: isTimeoutReason(signal.reason) ? "timeout" : "aborted", code: undefined };
  const codes = errorCodes(error);
  const first = (set: Set<string>): string | undefined => codes.find((code) => set.has(code));
  const tls = codes.find((code) => code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_"));
  const connect = first(CONNECT_CODES) ?? tls;
  if (connect !== undefined) return { kind: "connect", code: connect };
  const timeout = first(TIMEOUT_CODES);
  if (timeout !== undefined) return { kind: "timeout", code: timeout };
  const tooLarge = first(TOO_LARGE_CODES);
  if (tooLarge !== undefined) return { kind: "too_large", code: tooLarge };
  const closed = first(CLOSED_CODES);
  if (closed !== undefined) return { kind: "aborted", code: closed };
  // ECONNRESET, EPIPE, UND_ERR_SOCKET, premature close, content-length mismatches, parser errors, and anything
  // unknown: the request may have been sent, so never claim it was not.
  return { kind: "reset", code: codes.find((code) => /^[A-Z0-9_]{1,64}$/.test(code)) };
}

/** What a transport error says of each kind of failure (never the URL). */
export const TRANSPORT_MESSAGES: Record<TransportFailureKind, string> = {
  connect: "could not connect to the upstream",
  reset: "upstream connection closed before the response was complete",
  timeout: "upstream attempt deadline passed",
  too_large: "upstream response is too large",
  aborted: "upstream attempt aborted",
};

/** What a send on a closed transport is refused with (code `aborted`). */
export const TRANSPORT_CLOSED_MESSAGE = "transport is closed";

/** The error of an attempt its caller aborted: `timeout` when the reason is a deadline (`AbortSignal.timeout`). */
export function abortedError(signal: AbortSignal): TransportError {
  const kind = isTimeoutReason(signal.reason) ? "timeout" : "aborted";
  return new TransportError(kind, TRANSPORT_MESSAGES[kind]);
}
