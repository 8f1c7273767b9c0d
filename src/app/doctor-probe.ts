/**
 * What every `multihome doctor` probe is made of: one JSON-RPC call per check under its own deadline, classified as the
 * gateway classifies answers, with the upstream's or the transport's words redacted and shortened for the report.
 */
import type { Transport } from "../core/ports.ts";
import type { Outcome } from "../core/routing/classify.ts";
import type { RpcErrorObject } from "../core/rpc/jsonrpc.ts";
import { systemClock } from "../system/system.ts";
import type { ResolveHostname } from "../upstream/safe-lookup.ts";
import type { ConfiguredUpstream } from "../upstream/transport-for.ts";
import { sendCall } from "../upstream/upstream.ts";

/** Longest error message kept from an upstream (longer is cut): it is shown, not parsed. */
export const DOCTOR_MAX_ERROR_CHARS = 200;

export interface ProbeContext {
  timeoutMs: number;
  maxResponseBytes: number;
  /** The gateway's own transports, address policy included. */
  createTransport: (upstream: ConfiguredUpstream) => Transport;
  signal: AbortSignal | undefined;
  resolve: ResolveHostname | undefined;
}

export interface Answer {
  /** Classified as the gateway classifies it (`classifyResponse`). */
  outcome: Outcome;
  /** Why the call failed, for the report: redacted and shortened; undefined for a result. */
  error: string | undefined;
}

export interface Caller {
  call(method: string, params: unknown[]): Promise<Answer>;
}

export function shorten(text: string): string {
  return text.length > DOCTOR_MAX_ERROR_CHARS ? `${text.slice(0, DOCTOR_MAX_ERROR_CHARS)}…` : text;
}

/** The JSON-RPC error the upstream answered with, if it answered with one. */
export function rpcErrorOf(outcome: Outcome): RpcErrorObject | undefined {
  return "error" in outcome ? outcome.error : undefined;
}

/** The upstream's own words (`message (code)`), the transport's, or what was wrong with the answer. */
function describe(outcome: Outcome, thrown: unknown, redact: (text: string) => string): string | undefined {
  if (outcome.kind === "result") return undefined;
  const error = rpcErrorOf(outcome);
  if (error !== undefined) return shorten(redact(`${error.message || "error"} (${error.code})`));
  switch (outcome.kind) {
    case "capacity":
      return "rate limited";
    case "server":
      return `HTTP status ${outcome.status}`;
    case "malformed":
    case "dispute":
      return outcome.reason;
    default:
      return shorten(redact(thrown instanceof Error ? thrown.message : String(thrown)));
  }
}

/** One JSON-RPC call per check, each under its own deadline (cleared when it settles) and the run's signal. */
export function createCaller(transport: Transport, context: ProbeContext, redact: (text: string) => string): Caller {
  const deps = { clock: systemClock, transport, maxResponseBytes: context.maxResponseBytes };
  let nextId = 1;
  return {
    async call(method, params) {
      const body = JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params });
      const { outcome, thrown } = await sendCall(deps, body, { timeoutMs: context.timeoutMs, signal: context.signal });
      return { outcome, error: describe(outcome, thrown, redact) };
    },
  };
}
