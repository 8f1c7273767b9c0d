/**
 * `sendTransaction` through several failure domains at once: the same signed bytes go to one admitted upstream in each
 * of up to `transactions.broadcastDomains` outage domains, so one provider dropping it — or a whole cloud being down — loses
 * nothing. The transaction's id is its first signature, read from the bytes: an upstream that answers with another
 * is disputed and not believed. The first acceptance answers the client; a rejection is the chain's answer only when
 * no domain accepted.
 */

import { areIndependent } from "../../core/domains/domain.ts";
import { MultihomeError } from "../../core/errors.ts";
import type { RpcCall, RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import { entryPerItem } from "../../core/solana/batch.ts";
import { firstSignature, recentBlockhash, transactionBytes } from "../../core/solana/transaction.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { EngineContext } from "../context.ts";
import type { SolanaAnswer } from "./answer.ts";
import { type AgreedStatus, createSolanaOutbox } from "./outbox.ts";

export interface SendDeps {
  /** Outage domains a transaction is sent through at once (`transactions.broadcastDomains`). */
  domains: number;
  attemptTimeoutMs: number;
  usable(id: string): boolean;
  onDispute(upstream: Upstream, reason: string): void;
  cleanError(error: RpcErrorObject): RpcErrorObject;
}

/** One usable upstream per outage domain, the healthiest first, at most `deps.domains`. */
function spreadOver(upstreams: Upstream[], deps: SendDeps, now: number): Upstream[] {
  const chosen = new Map<string, Upstream>();
  const ranked = upstreams
    .filter((u) => deps.usable(u.id) && u.breaker.state(now) !== "open")
    .sort((a, b) => a.breaker.snapshot(now).errorRate - b.breaker.snapshot(now).errorRate);
  for (const u of ranked) if (!chosen.has(u.outageDomain)) chosen.set(u.outageDomain, u);
  return [...chosen.values()].slice(0, deps.domains);
}

/** The signed transaction a `sendTransaction` call carries: its id (first signature) and its blockhash. */
export function sentTransaction(
  params: unknown,
): { signature: string; blockhash: string; encoded: string; encoding: "base58" | "base64" } | undefined {
  const [encoded, config] = Array.isArray(params) ? params : [];
  const bytes = transactionBytes(encoded, config);
  const signature = bytes && firstSignature(bytes);
  const blockhash = bytes && recentBlockhash(bytes);
  if (!signature || !blockhash) return undefined;
  const encoding = (config as { encoding?: unknown } | undefined)?.encoding === "base64" ? "base64" : "base58";
  return { signature, blockhash, encoded: encoded as string, encoding };
}

/** Sends `params` (a `sendTransaction` call's) through several domains; the transaction's id is `signature`. */
export async function sendThroughDomains(
  upstreams: Upstream[],
  params: unknown,
  signature: string,
  deps: SendDeps,
  now = Date.now(),
): Promise<SolanaAnswer> {
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
      ...(await u.attempt("sendTransaction", params, { timeoutMs: deps.attemptTimeoutMs })),
    })),
  );
  const accepted: Upstream[] = [];
  const rejections: { u: Upstream; error: RpcErrorObject }[] = [];
  for (const { u, outcome } of outcomes) {
    if (outcome.kind === "result") {
      if (outcome.result === signature) accepted.push(u);
      else deps.onDispute(u, "sendTransaction answered with another signature than the transaction's");
    } else if (outcome.kind === "execution" || outcome.kind === "unknown") {
      rejections.push({ u, error: outcome.error });
    }
  }
  if (accepted.length > 0)
    return {
      ok: true,
      result: signature,
      evidence: { verified: "single", upstream: accepted[0]!.id, domains: accepted.map((u) => u.outageDomain) },
    };
  const rejection = agreedRejection(rejections, targets);
  if (rejection)
    return {
      ok: false,
      rpcError: deps.cleanError(rejection.error),
      evidence: { verified: "quorum", upstream: rejection.by[0]!.id, domains: rejection.by.map((u) => u.outageDomain) },
    };
  // One domain's refusal is not the chain's answer: a liar could refuse what every other domain would take. The
  // transaction stays in the outbox and goes out again.
  const refused =
    rejections.length > 0 ? `; refused by ${rejections.length} (not confirmed by an independent domain)` : "";
  return {
    ok: false,
    error: new MultihomeError(
      "unavailable",
      `no upstream accepted the transaction${refused}; the outbox keeps sending it`,
    ),
    evidence: { verified: "none" },
  };
}

/**
 * The rejection that is the chain's answer: the same error code from two independent domains — or, where the
 * upstreams sent to cannot form an independent pair (one's own node), from every one of them.
 */
function agreedRejection(
  rejections: readonly { u: Upstream; error: RpcErrorObject }[],
  targets: readonly Upstream[],
): { error: RpcErrorObject; by: Upstream[] } | undefined {
  const pairable = targets.some((a) => targets.some((b) => areIndependent(a.domain, b.domain)));
  for (const r of rejections) {
    const alike = rejections.filter((o) => o.error.code === r.error.code).map((o) => o.u);
    const agreed = pairable
      ? alike.some((a) => alike.some((b) => areIndependent(a.domain, b.domain)))
      : alike.length === targets.length;
    if (agreed) return { error: r.error, by: alike };
  }
  return undefined;
}

export interface SolanaSendsDeps extends Omit<SendDeps, "domains"> {
  cluster: string;
  ctx: EngineContext;
  upstreams: Upstream[];
  transactions: { broadcastDomains: number; rebroadcastIntervalMs: number; expiryMs: number };
  /** An agreed read, as a client's would be answered: what the outbox asks of independent domains. */
  agreedRead(call: RpcCall): Promise<SolanaAnswer>;
}

/** `sendTransaction` with the outbox behind it: recorded before its first broadcast, then sent through several domains. */
export function createSolanaSends(deps: SolanaSendsDeps) {
  const { ctx, upstreams, transactions } = deps;
  const sendDeps: SendDeps = { ...deps, domains: transactions.broadcastDomains };
  /** An agreed read's value (or undefined when nothing could be agreed). */
  const agreedValue = async (method: string, params: unknown[]): Promise<unknown> => {
    const answer = await deps.agreedRead({ id: 0, method, params, notification: false });
    return answer.ok ? (answer.result as { value: unknown }).value : undefined;
  };
  const outbox = createSolanaOutbox({
    cluster: deps.cluster,
    store: ctx.store,
    clock: ctx.clock,
    logger: ctx.logger,
    rebroadcastIntervalMs: transactions.rebroadcastIntervalMs,
    expiryMs: transactions.expiryMs,
    async rebroadcast(entry) {
      const params = [entry.encoded, { encoding: entry.encoding, skipPreflight: true }];
      return (await sendThroughDomains(upstreams, params, entry.signature, sendDeps)).ok;
    },
    statuses: async (signatures) =>
      entryPerItem<AgreedStatus | null>(await agreedValue("getSignatureStatuses", [signatures]), signatures.length),
    blockhashValid: async (blockhash) =>
      (await agreedValue("isBlockhashValid", [blockhash, { commitment: "processed" }])) as boolean | undefined,
  });

  async function send(call: RpcCall): Promise<SolanaAnswer> {
    const tx = sentTransaction(call.params);
    if (!tx)
      return {
        ok: false,
        error: new MultihomeError("invalid_params", "invalid params: expected a signed transaction in its encoding"),
        evidence: { verified: "none" },
      };
    // In the store before any upstream sees it.
    await outbox.recordBroadcast(tx);
    const answer = await sendThroughDomains(upstreams, call.params, tx.signature, sendDeps);
    // Refused by the chain itself (a failed preflight, by independent domains): never sent again with preflight
    // off, which would land it failing and charge its fee.
    if (!answer.ok && "rpcError" in answer) await outbox.rejected(tx.signature);
    return answer;
  }

  return { send, outbox };
}
