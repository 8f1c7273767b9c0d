/**
 * One Solana cluster: its upstreams in their failure domains, the agreed slot per commitment, and answering one call —
 * by agreement at one slot (account reads, blockhashes, signature statuses), from the agreed view (the slot, the
 * genesis hash), through several domains (sends), or on one upstream's word for everything else, labelled so.
 */

import { solanaChainKey } from "../../core/chain-key.ts";
import { createDomainHealth } from "../../core/domains/domain-health.ts";
import { MultihomeError } from "../../core/errors.ts";
import { noopMetrics } from "../../core/ports.ts";
import type { RpcCall, RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import type { ChainStatus } from "../../core/rpc/status.ts";
import { createRedactor } from "../../core/security/redact.ts";
import { solanaMethodKind } from "../../core/solana/methods.ts";
import { COMMITMENTS, type Commitment, createSlotBook } from "../../core/solana/slots.ts";
import type { Activity } from "../activity.ts";
import type { EngineContext } from "../context.ts";
import { createCordons } from "../routing/cordons.ts";
import { execute } from "../routing/execute.ts";
import { createTarget, createUpstreams, type UpstreamSetSettings, upstreamStatus } from "../routing/upstream-set.ts";
import type { ChainSettings } from "../settings.ts";
import type { SolanaAnswer } from "./answer.ts";
import type { SolanaSend } from "./outbox.ts";
import { createSolanaReads, NONE } from "./reads.ts";
import { createSolanaSends } from "./send.ts";
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
  transaction(signature: string): Promise<SolanaSend | undefined>;
  status(): SolanaClusterStatus;
  /** Another worker of this gateway agreed on these slots: never serve older ones (see SlotBook.raise). */
  siblingSlots(slots: Partial<Record<Commitment, number>>): void;
  /** Told of every move of the agreed slots (a worker tells its siblings). */
  onSlots(listener: (slots: Partial<Record<Commitment, number>>) => void): void;
  stop(): Promise<void>;
}

export function createSolanaCluster(
  ctx: EngineContext,
  settings: SolanaClusterSettings,
  activity: Activity,
): SolanaCluster {
  const { clock } = ctx;
  const { health, routing } = settings;
  const metrics = (ctx.metrics ?? noopMetrics).chain(solanaChainKey(settings.name));
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
    onSlots: (slots) => slotsMoved(slots, true),
  });
  const siblingListeners: ((slots: Partial<Record<Commitment, number>>) => void)[] = [];
  /** `own`: agreed here (told to the other workers), not raised by one of them. */
  function slotsMoved(slots: Partial<Record<Commitment, number>>, own: boolean): void {
    for (const settle of [...slotWaiters]) settle();
    for (const listener of [...slotListeners]) listener(slots);
    if (own) for (const listener of siblingListeners) listener(slots);
  }
  const redact = createRedactor(settings.upstreams.map((u) => u.url));
  // An answer independent domains contradicted at its own slot: disputed, and cordoned as EVM upstreams are, after
  // `verification.disputesToCordon` within the window — pooled with every replica and worker sharing the store.
  const cordons = createCordons(ctx, {
    chainId: solanaChainKey(settings.name),
    upstreams,
    verification: settings.verification,
    metrics,
    activity,
    failed: "agreement",
  });
  target.onDispute = cordons.onDispute;
  const run = (plan: Parameters<typeof execute>[2]) => execute(ctx, target, plan);
  const ready = () => COMMITMENTS.every((c) => book.agreed(c) !== undefined);
  const agreedSlots = (): Partial<Record<Commitment, number>> =>
    Object.fromEntries(COMMITMENTS.map((c) => [c, book.agreed(c)]));
  const cleanError = (e: RpcErrorObject): RpcErrorObject => ({
    code: e.code,
    message: redact(e.message),
    ...(e.data !== undefined ? { data: JSON.parse(redact(JSON.stringify(e.data))) } : {}),
  });

  const reads = createSolanaReads({
    clock,
    book,
    run,
    onDispute: (u, reason) => target.onDispute?.(u, reason),
    cleanError,
  });
  const { agreedRead, agreedSlot, single, immutable } = reads;
  const sends = createSolanaSends({
    cluster: settings.name,
    ctx,
    upstreams,
    transactions: settings.transactions,
    attemptTimeoutMs: routing.attemptTimeoutMs,
    usable: tracker.usable,
    onDispute: (u, reason) => target.onDispute?.(u, reason),
    cleanError,
    agreedRead,
  });
  const { send, outbox } = sends;

  const subscriptions = createSolanaSubscriptions({
    onSlots(listener) {
      slotListeners.add(listener);
      return () => slotListeners.delete(listener);
    },
    slots: agreedSlots,
    read: agreedRead,
  });

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
      cordons.start();
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
    siblingSlots(slots) {
      if (book.raise(slots)) slotsMoved(agreedSlots(), false);
    },
    onSlots: (listener) => void siblingListeners.push(listener),
    subscribe: (method, params, deliver) => subscriptions.subscribe(method, params, deliver),
    async stop() {
      stop.abort();
      tracker.stop();
      cordons.stop();
      outbox.stop();
      for (const settle of [...slotWaiters]) settle();
      slotListeners.clear();
      await Promise.all(upstreams.map((u) => u.close()));
    },
  };
}
