/**
 * One Solana cluster: its upstreams in their failure domains, the agreed slot per commitment, and answering one call —
 * by agreement at one slot (account reads, blockhashes, signature statuses), from the agreed view (the slot, the
 * genesis hash), through several domains (sends), or on one upstream's word for everything else, labelled so.
 */

import { createDomainHealth } from "../../core/domains/domain-health.ts";
import { MultihomeError } from "../../core/errors.ts";
import { createByteLru } from "../../core/lru.ts";
import { noopMetrics } from "../../core/ports.ts";
import { createDisputes } from "../../core/routing/disputes.ts";
import { canonicalJson } from "../../core/rpc/cache-policy.ts";
import type { RpcCall, RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import type { ChainStatus } from "../../core/rpc/status.ts";
import { createRedactor } from "../../core/security/redact.ts";
import {
  clientMinContextSlot,
  commitmentOfCall,
  solanaMethodKind,
  withContextAsked,
  withMinContextSlot,
} from "../../core/solana/methods.ts";
import { COMMITMENTS, type Commitment, createSlotBook } from "../../core/solana/slots.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { Activity } from "../activity.ts";
import type { EngineContext } from "../context.ts";
import { execute } from "../routing/execute.ts";
import { executeQuorum } from "../routing/quorum.ts";
import { createTarget, createUpstreams, type UpstreamSetSettings, upstreamStatus } from "../routing/upstream-set.ts";
import type { ChainSettings } from "../settings.ts";
import { executeAtOneSlot, SLOT_LEAD_MAX } from "./agreement.ts";
import type { SolanaAnswer, SolanaEvidence } from "./answer.ts";
import { createSolanaLastKnownGood } from "./last-known-good.ts";
import { createSolanaOutbox, type SolanaSend } from "./outbox.ts";
import { sendThroughDomains, sentTransaction } from "./send.ts";
import { createSlotTracker } from "./slot-tracker.ts";
import { createSolanaSubscriptions, type Deliver, type SolanaSubscribeResult } from "./subscriptions.ts";

/** What the engine needs to run one Solana cluster (the app derives it from the validated config). */
export interface SolanaClusterSettings extends UpstreamSetSettings {
  name: string;
  genesisHash: string | undefined;
  verification: Pick<ChainSettings["verification"], "cordonMs" | "disputesToCordon" | "disputeWindowMs">;
  transactions: Pick<ChainSettings["transactions"], "broadcastDomains" | "rebroadcastIntervalMs" | "expiryMs">;
}

export interface SolanaClusterStatus {
  name: string;
  ready: boolean;
  slots: Partial<Record<Commitment, number>>;
  domainsDown: string[];
  /** As an EVM chain's, `head` being the upstream's processed slot. */
  upstreams: ChainStatus["upstreams"];
}

export interface SolanaCluster {
  name: string;
  start(): void;
  /** Resolves once every commitment has an agreed slot, or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void>;
  /** `maxStalenessSeconds`: when nothing can be agreed, the last agreed value up to this old is the answer. */
  call(call: RpcCall, options?: { maxStalenessSeconds?: number }): Promise<SolanaAnswer>;
  /** A subscription served from the agreed view (see subscriptions.ts). */
  subscribe(method: string, params: unknown, deliver: Deliver): SolanaSubscribeResult;
  /** A transaction sent through this cluster, as the outbox knows it. */
  transaction(signature: string): SolanaSend | undefined;
  status(): SolanaClusterStatus;
  stop(): Promise<void>;
}

const NONE: SolanaEvidence = { verified: "none" };

/** Bytes of finalized Solana blocks and transactions a cluster keeps in memory once agreed. */
export const SOLANA_IMMUTABLE_CACHE_BYTES = 16 * 1024 * 1024;

export function createSolanaCluster(
  ctx: EngineContext,
  settings: SolanaClusterSettings,
  activity: Activity,
): SolanaCluster {
  const { clock } = ctx;
  const { health, routing } = settings;
  const metrics = (ctx.metrics ?? noopMetrics).chain(`solana/${settings.name}`);
  const upstreams = createUpstreams(ctx, settings, activity, (u) => metrics.upstream(u));
  const stop = new AbortController();
  const book = createSlotBook(settings.upstreams);
  const domainHealth = createDomainHealth({
    minFailedUpstreams: health.domainMinFailedUpstreams,
    windowMs: health.domainWindowMs,
    downMs: health.domainDownMs,
  });
  const target = createTarget(
    settings,
    upstreams,
    domainHealth,
    (id) => book.slotOf(id, "processed"),
    (ids) => tracker.refresh(ids),
  );
  const slotWaiters = new Set<() => void>();
  const slotListeners = new Set<(slots: Partial<Record<Commitment, number>>) => void>();
  const tracker = createSlotTracker(ctx, {
    cluster: settings.name,
    upstreams,
    book,
    domainHealth,
    pollIntervalMs: health.headPollIntervalMs,
    attemptTimeoutMs: routing.attemptTimeoutMs,
    genesisHash: settings.genesisHash,
    onSlots: (slots) => {
      for (const settle of [...slotWaiters]) settle();
      for (const listener of [...slotListeners]) listener(slots);
    },
  });
  const redact = createRedactor(settings.upstreams.map((u) => u.url));
  const lastKnownGood = createSolanaLastKnownGood(clock);
  const disputes = createDisputes({
    threshold: settings.verification.disputesToCordon,
    windowMs: settings.verification.disputeWindowMs,
    cordonMs: settings.verification.cordonMs,
  });
  // An answer independent domains contradicted at its own slot: disputed, and cordoned as EVM upstreams are, after
  // `verification.disputesToCordon` within the window.
  target.onDispute = (u, reason) => {
    ctx.logger.warn({ cluster: settings.name, upstream: u.id, reason }, "answer failed agreement");
    metrics.upstream(u).dispute();
    const until = disputes.record(u.id, clock.now());
    if (until === undefined || u.cordonedUntil >= until) return;
    u.cordonedUntil = until;
    u.cordonReason = `failed agreement ${settings.verification.disputesToCordon} times: ${reason}`;
    metrics.upstream(u).cordon("disputes");
    ctx.logger.error(
      { cluster: settings.name, upstream: u.id, until: new Date(until).toISOString() },
      "upstream cordoned for disputes",
    );
  };
  const run = (plan: Parameters<typeof execute>[2]) => execute(ctx, target, plan);
  const ready = () => COMMITMENTS.every((c) => book.agreed(c) !== undefined);
  const agreedSlots = (): Partial<Record<Commitment, number>> =>
    Object.fromEntries(COMMITMENTS.map((c) => [c, book.agreed(c)]));
  const cleanError = (e: RpcErrorObject): RpcErrorObject => ({
    code: e.code,
    message: redact(e.message),
    ...(e.data !== undefined ? { data: JSON.parse(redact(JSON.stringify(e.data))) } : {}),
  });

  /** The commitment a call is asked at and the client's own `minContextSlot`, or the error for invalid ones. */
  function freshnessOf(call: RpcCall): { commitment: Commitment; min: number | undefined } | SolanaAnswer {
    const commitment = commitmentOfCall(call.method, call.params);
    const min = clientMinContextSlot(call.method, call.params);
    if (commitment !== undefined && min !== "invalid") return { commitment, min };
    const error = new MultihomeError("invalid_params", "invalid params: commitment or minContextSlot");
    return { ok: false, error, evidence: NONE };
  }

  async function agreedRead(call: RpcCall, maxStalenessSeconds?: number): Promise<SolanaAnswer> {
    const asked = freshnessOf(call);
    if ("ok" in asked) return asked;
    const { commitment, min } = asked;
    const floor = Math.max(min ?? 0, book.agreed(commitment) ?? 0);
    const { params, clientAsked } = withContextAsked(call.method, call.params);
    const agreement = await executeAtOneSlot(
      run,
      (at) => ({
        method: call.method,
        params: withMinContextSlot(call.method, params, at),
        heavy: false,
        minBlock: undefined,
      }),
      floor,
      Math.max(floor, book.agreed("processed") ?? 0) + SLOT_LEAD_MAX,
      (u, reason) => target.onDispute?.(u, reason),
    );
    const key = `${call.method}:${canonicalJson(withMinContextSlot(call.method, call.params, 0))}`;
    if (agreement.ok) {
      const domains = [...new Set(agreement.witnesses.map((u) => u.outageDomain))];
      const evidence: SolanaEvidence = {
        verified: "quorum",
        slot: agreement.slot,
        upstream: agreement.witnesses[0]!.id,
        domains,
      };
      // Agreed on the envelope; served as the client asked (a plain array when it did not ask `withContext`).
      const result = clientAsked ? agreement.result : (agreement.result as { value: unknown }).value;
      lastKnownGood.remember(key, result, agreement.slot, domains);
      return { ok: true, result, evidence };
    }
    if ("rpcError" in agreement)
      return { ok: false, rpcError: cleanError(agreement.rpcError), evidence: { verified: "quorum" } };
    const known = lastKnownGood.get(key);
    if (known && maxStalenessSeconds !== undefined && known.ageSeconds <= maxStalenessSeconds) {
      const evidence: SolanaEvidence = { verified: "quorum", slot: known.slot, domains: known.evidence.domains };
      return { ok: true, result: known.value, evidence: { ...evidence, staleSeconds: known.ageSeconds } };
    }
    const error = known
      ? new MultihomeError("unavailable", agreement.error.message, {
          data: { ...agreement.error.data, lastKnownGood: known },
        })
      : agreement.error;
    return { ok: false, error, evidence: NONE };
  }

  function agreedSlot(call: RpcCall): SolanaAnswer {
    const asked = freshnessOf(call);
    if ("ok" in asked) return asked;
    const { commitment, min } = asked;
    const slot = book.agreed(commitment);
    if (slot === undefined)
      return {
        ok: false,
        error: new MultihomeError("unavailable", "no slot is agreed by independent domains yet"),
        evidence: NONE,
      };
    if (min !== undefined && slot < min)
      return {
        ok: false,
        rpcError: { code: -32016, message: "Minimum context slot has not been reached", data: { contextSlot: slot } },
        evidence: { verified: "quorum", slot },
      };
    return { ok: true, result: slot, evidence: { verified: "quorum", slot } };
  }

  async function single(call: RpcCall): Promise<SolanaAnswer> {
    const r = await run({ method: call.method, params: call.params, heavy: false, minBlock: undefined });
    if (r.ok) return { ok: true, result: r.result, evidence: { verified: "single", upstream: r.upstream } };
    if ("rpcError" in r)
      return { ok: false, rpcError: cleanError(r.rpcError), evidence: { verified: "single", upstream: r.upstream } };
    return { ok: false, error: r.error, evidence: NONE };
  }

  const sendDeps = {
    domains: settings.transactions.broadcastDomains,
    attemptTimeoutMs: routing.attemptTimeoutMs,
    usable: tracker.usable,
    onDispute: (u: Upstream, reason: string) => target.onDispute?.(u, reason),
    cleanError,
  };
  /** An agreed read's value (or undefined when nothing could be agreed): what the outbox asks. */
  const agreedValue = async (method: string, params: unknown[]): Promise<unknown> => {
    const answer = await agreedRead({ id: 0, method, params, notification: false });
    return answer.ok ? (answer.result as { value: unknown }).value : undefined;
  };
  const outbox = createSolanaOutbox({
    clock,
    rebroadcastIntervalMs: settings.transactions.rebroadcastIntervalMs,
    expiryMs: settings.transactions.expiryMs,
    async rebroadcast(entry) {
      const params = [entry.encoded, { encoding: entry.encoding, skipPreflight: true }];
      return (await sendThroughDomains(upstreams, params, entry.signature, sendDeps)).ok;
    },
    statuses: async (signatures) =>
      (await agreedValue("getSignatureStatuses", [signatures])) as Awaited<
        ReturnType<Parameters<typeof createSolanaOutbox>[0]["statuses"]>
      >,
    blockhashValid: async (blockhash) =>
      (await agreedValue("isBlockhashValid", [blockhash, { commitment: "processed" }])) as boolean | undefined,
    onError: (error) =>
      ctx.logger.error({ cluster: settings.name, err: (error as Error).message }, "outbox check failed unexpectedly"),
  });

  /** Recorded before its first broadcast, then sent through several domains at once. */
  async function send(call: RpcCall): Promise<SolanaAnswer> {
    const tx = sentTransaction(call.params);
    if (!tx)
      return {
        ok: false,
        error: new MultihomeError("invalid_params", "invalid params: expected a signed transaction in its encoding"),
        evidence: NONE,
      };
    outbox.broadcasted(outbox.record(tx));
    return sendThroughDomains(upstreams, call.params, tx.signature, sendDeps);
  }

  const subscriptions = createSolanaSubscriptions({
    onSlots(listener) {
      slotListeners.add(listener);
      return () => slotListeners.delete(listener);
    },
    slots: agreedSlots,
    read: agreedRead,
  });

  /** Finalized blocks and transactions never change: agreed once by independent domains, then served from memory. */
  const immutables = createByteLru<unknown>(SOLANA_IMMUTABLE_CACHE_BYTES);
  async function immutable(call: RpcCall): Promise<SolanaAnswer> {
    if (commitmentOfCall(call.method, call.params) !== "finalized") return single(call);
    const key = `${call.method}:${canonicalJson(call.params)}`;
    const cached = immutables.get(key, clock.now());
    if (cached !== undefined) return { ok: true, result: cached, evidence: { verified: "quorum" } };
    const plan = { method: call.method, params: call.params, heavy: true, minBlock: undefined };
    const agreed = await executeQuorum(run, plan, 2, (u, reason) => target.onDispute?.(u, reason));
    if (!agreed.ok) return { ok: false, error: agreed.error, evidence: NONE };
    const domains = [...new Set(agreed.witnesses.map((u) => u.outageDomain))];
    const evidence: SolanaEvidence = { verified: "quorum", upstream: agreed.witnesses[0]!.id, domains };
    if (!agreed.result.ok) return { ok: false, rpcError: cleanError(agreed.result.rpcError), evidence };
    // Not there yet (null) may change; only what exists is kept.
    const result = agreed.result.result;
    if (result !== null) immutables.set(key, result, { bytes: key.length + JSON.stringify(result).length });
    return { ok: true, result, evidence };
  }

  /** One call, by how its method is answered. */
  async function answerCall(call: RpcCall, maxStalenessSeconds?: number): Promise<SolanaAnswer> {
    switch (solanaMethodKind(call.method)) {
      case "slot":
        return agreedSlot(call);
      case "genesis": {
        const genesis = tracker.genesis();
        return genesis
          ? { ok: true, result: genesis, evidence: { verified: "quorum" } }
          : { ok: false, error: new MultihomeError("unavailable", "no genesis hash is agreed yet"), evidence: NONE };
      }
      case "agreed":
        return agreedRead(call, maxStalenessSeconds);
      case "send":
        return send(call);
      case "immutable":
        return immutable(call);
      default:
        return single(call);
    }
  }

  return {
    name: settings.name,
    start() {
      tracker.start();
      outbox.start();
    },
    async ready(timeoutMs) {
      if (ready()) return;
      await new Promise<void>((resolve) => {
        const settle = () => {
          if (!ready() && !stop.signal.aborted) return;
          cancel();
          slotWaiters.delete(settle);
          resolve();
        };
        const cancel = clock.setTimer(timeoutMs, () => {
          slotWaiters.delete(settle);
          resolve();
        });
        slotWaiters.add(settle);
      });
    },
    async call(call, options) {
      const answer = await answerCall(call, options?.maxStalenessSeconds);
      metrics.verification(
        answer.ok || "rpcError" in answer
          ? answer.evidence.verified
          : answer.error.code === "unavailable"
            ? "failed"
            : "none",
      );
      return answer;
    },
    status: () => ({
      name: settings.name,
      ready: ready(),
      slots: agreedSlots(),
      domainsDown: domainHealth.downDomains(clock.now()),
      upstreams: upstreams.map((u) => upstreamStatus(u, clock.now(), activity, book.slotOf(u.id, "processed"))),
    }),
    transaction: (signature) => outbox.get(signature),
    subscribe: (method, params, deliver) => subscriptions.subscribe(method, params, deliver),
    async stop() {
      stop.abort();
      tracker.stop();
      outbox.stop();
      for (const settle of [...slotWaiters]) settle();
      slotListeners.clear();
      await Promise.all(upstreams.map((u) => u.close()));
    },
  };
}
