/**
 * `sendTransaction` through several failure domains at once: the same signed bytes go to one admitted upstream in each
 * of up to SOLANA_SEND_DOMAINS outage domains, so one provider dropping it — or a whole cloud being down — loses
 * nothing. The transaction's id is its first signature, read from the bytes: an upstream that answers with another
 * is disputed and not believed. The first acceptance answers the client; a rejection is the chain's answer only when
 * no domain accepted.
 */

import { MultihomeError } from "../../core/errors.ts";
import type { RpcCall, RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import { firstSignature, transactionBytes } from "../../core/solana/transaction.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { SolanaAnswer } from "./answer.ts";

/** Outage domains a transaction is sent through at once. */
export const SOLANA_SEND_DOMAINS = 3;

export interface SendDeps {
  attemptTimeoutMs: number;
  usable(id: string): boolean;
  onDispute(upstream: Upstream, reason: string): void;
  cleanError(error: RpcErrorObject): RpcErrorObject;
}

/** One usable upstream per outage domain, the healthiest first, at most SOLANA_SEND_DOMAINS. */
function spreadOver(upstreams: Upstream[], deps: SendDeps, now: number): Upstream[] {
  const chosen = new Map<string, Upstream>();
  const ranked = upstreams
    .filter((u) => deps.usable(u.id) && u.breaker.state(now) !== "open")
    .sort((a, b) => a.breaker.snapshot(now).errorRate - b.breaker.snapshot(now).errorRate);
  for (const u of ranked) if (!chosen.has(u.outageDomain)) chosen.set(u.outageDomain, u);
  return [...chosen.values()].slice(0, SOLANA_SEND_DOMAINS);
}

export async function sendThroughDomains(
  upstreams: Upstream[],
  call: RpcCall,
  deps: SendDeps,
  now = Date.now(),
): Promise<SolanaAnswer> {
  const [encoded, config] = Array.isArray(call.params) ? call.params : [];
  const bytes = transactionBytes(encoded, config);
  const signature = bytes && firstSignature(bytes);
  if (!signature)
    return {
      ok: false,
      error: new MultihomeError("invalid_params", "invalid params: expected a signed transaction in its encoding"),
      evidence: { verified: "none" },
    };
  const targets = spreadOver(upstreams, deps, now);
  if (targets.length === 0)
    return {
      ok: false,
      error: new MultihomeError("unavailable", "no upstream can take the transaction now"),
      evidence: { verified: "none" },
    };
  const outcomes = await Promise.all(
    targets.map(async (u) => ({
      u,
      ...(await u.attempt("sendTransaction", call.params, { timeoutMs: deps.attemptTimeoutMs })),
    })),
  );
  const accepted: Upstream[] = [];
  let rejection: { u: Upstream; error: RpcErrorObject } | undefined;
  for (const { u, outcome } of outcomes) {
    if (outcome.kind === "result") {
      if (outcome.result === signature) accepted.push(u);
      else deps.onDispute(u, "sendTransaction answered with another signature than the transaction's");
    } else if (outcome.kind === "execution" || outcome.kind === "unknown") {
      rejection ??= { u, error: outcome.error };
    }
  }
  if (accepted.length > 0)
    return {
      ok: true,
      result: signature,
      evidence: { verified: "single", upstream: accepted[0]!.id, domains: accepted.map((u) => u.outageDomain) },
    };
  if (rejection)
    return {
      ok: false,
      rpcError: deps.cleanError(rejection.error),
      evidence: { verified: "single", upstream: rejection.u.id },
    };
  return {
    ok: false,
    error: new MultihomeError("unavailable", "no upstream accepted the transaction"),
    evidence: { verified: "none" },
  };
}
