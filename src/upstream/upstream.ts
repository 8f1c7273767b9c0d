/**
 * One upstream at run time: its transport, breaker, latency window, rate-limit backoff and admission state.
 * `attempt()` sends one JSON-RPC call and returns its classified outcome; it never throws.
 */

import { type FailureDomain, outageDomainOf } from "../core/domains/domain.ts";
import type { Clock, Transport, UpstreamCallOutcome, UpstreamMetrics } from "../core/ports.ts";
import { TransportError } from "../core/ports.ts";
import { type Breaker, createBreaker } from "../core/routing/breaker.ts";
import { classifyResponse, classifyTransportFailure, type Outcome } from "../core/routing/classify.ts";
import { createLatencyWindow, type LatencyWindow } from "../core/routing/latency.ts";
import type { UpstreamView } from "../core/routing/select.ts";

/** Per-upstream latency: a short memory, so a fleet that turns slow is recognised within seconds. */
export const UPSTREAM_LATENCY_WINDOW = { size: 64, maxAgeMs: 15_000 } as const;

export type AdmissionState =
  /** Not yet confirmed to be on the configured chain: never used for traffic. */
  | "pending"
  | "admitted"
  /** Excluded (wrong chain, different genesis): never used until a later check clears it. */
  | "cordoned";

export interface AttemptResult {
  outcome: Outcome;
  /** Milliseconds from send to outcome. */
  elapsedMs: number;
}

export interface AttemptOptions {
  /** Deadline of the attempt, ms: covers connect, headers and body. */
  timeoutMs: number;
  /** Cancels the attempt. */
  signal?: AbortSignal;
  /** Or: the caller's own controller for this attempt, aborted on the deadline too. */
  controller?: AbortController;
}

export interface Upstream {
  readonly id: string;
  readonly domain: FailureDomain;
  /** Outage domain label, `hosting/region`. */
  readonly outageDomain: string;
  readonly breaker: Breaker;
  readonly latency: LatencyWindow;
  admission: AdmissionState;
  cordonReason: string | undefined;
  backoffUntil: number;
  /** Cordoned for failed verifications (disputes) until this time, ms since epoch; 0 when not. */
  cordonedUntil: number;
  /** When the upstream last answered (a result or a chain error), ms since epoch; 0 never. */
  lastSuccessAt: number;
  /** Send one call. `timeoutMs` covers connect, headers and body. */
  attempt(method: string, params: unknown, options: AttemptOptions): Promise<AttemptResult>;
  close(): Promise<void>;
}

export interface UpstreamDeps {
  clock: Clock;
  transport: Transport;
  maxResponseBytes: number;
  breaker: Parameters<typeof createBreaker>[0];
  /** Every attempt's outcome and duration are counted here. */
  metrics?: UpstreamMetrics;
}

/** An attempt's outcome as metrics name it; undefined for one cancelled by its caller (a hedge that lost). */
export function callOutcome(outcome: Outcome): UpstreamCallOutcome | undefined {
  switch (outcome.kind) {
    case "result":
    case "execution":
      return "ok";
    case "transport":
      return outcome.failure === "aborted" ? undefined : outcome.failure;
    case "capacity":
      return "rate_limited";
    case "server":
      return "server_error";
    case "unknown":
      return "unknown_error";
    case "unsupported":
    case "malformed":
    case "too_large":
      return outcome.kind;
  }
  // Left: a dispute, which no attempt ends in (verification decides it afterwards, and counts it with `dispute()`).
  return undefined;
}

/** The outcome of one call, and what the transport threw when it failed (a `TransportError` never holds the URL). */
export interface SentCall {
  outcome: Outcome;
  thrown?: unknown;
}

/**
 * Sends one JSON-RPC request `body` under the attempt's own deadline and the caller's signal, and classifies the
 * answer. Never throws. `Upstream.attempt` is this plus metrics; `multihome doctor` calls it directly.
 */
export async function sendCall(
  deps: Pick<UpstreamDeps, "clock" | "transport" | "maxResponseBytes">,
  body: string,
  options: AttemptOptions,
): Promise<SentCall> {
  const { clock, transport, maxResponseBytes } = deps;
  // One controller and one cleared timer per attempt (AbortSignal.timeout/any would leave a timer behind for every
  // request, firing long after the answer came back). A caller that owns the controller saves the linking.
  const controller = options.controller ?? new AbortController();
  let timedOut = false;
  const cancelTimer = clock.setTimer(options.timeoutMs, () => {
    timedOut = true;
    controller.abort(new DOMException("attempt deadline exceeded", "TimeoutError"));
  });
  const caller = options.signal;
  const onCallerAbort = () => controller.abort(caller?.reason);
  if (caller?.aborted) onCallerAbort();
  else caller?.addEventListener("abort", onCallerAbort, { once: true });
  try {
    const response = await transport.send(body, { signal: controller.signal, maxResponseBytes });
    return { outcome: classifyResponse(response, clock.now()) };
  } catch (error) {
    const kind = timedOut
      ? "timeout"
      : error instanceof TransportError
        ? error.code
        : controller.signal.aborted
          ? "aborted"
          : "reset";
    return { outcome: classifyTransportFailure(kind), thrown: error };
  } finally {
    cancelTimer();
    caller?.removeEventListener("abort", onCallerAbort);
  }
}

export function createUpstream(config: { id: string; domain: FailureDomain }, deps: UpstreamDeps): Upstream {
  const { clock, transport } = deps;
  let nextId = 1;

  async function attempt(method: string, params: unknown, options: AttemptOptions) {
    const started = clock.now();
    const body = JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params });
    const { outcome } = await sendCall(deps, body, options);
    const elapsedMs = clock.now() - started;
    const counted = callOutcome(outcome);
    if (counted) deps.metrics?.call(counted, elapsedMs / 1000);
    return { outcome, elapsedMs };
  }

  return {
    id: config.id,
    domain: config.domain,
    outageDomain: outageDomainOf(config.domain),
    breaker: createBreaker(deps.breaker),
    latency: createLatencyWindow(UPSTREAM_LATENCY_WINDOW),
    admission: "pending",
    cordonReason: undefined,
    backoffUntil: 0,
    lastSuccessAt: 0,
    cordonedUntil: 0,
    attempt,
    close: () => transport.close(),
  };
}

/** The routing view of an upstream at `now`. */
export function viewOf(u: Upstream, now: number, head: number | undefined, domainDown: boolean): UpstreamView {
  const snapshot = u.breaker.snapshot(now);
  return {
    id: u.id,
    domain: u.outageDomain,
    latencyMs: u.latency.ewma(),
    errorRate: snapshot.errorRate,
    weight: u.breaker.weight(now),
    domainDown,
    backoffUntil: u.backoffUntil,
    cordoned: u.admission !== "admitted" || u.cordonedUntil > now,
    head,
  };
}
