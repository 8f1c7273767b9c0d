/**
 * createEngine: the engine's public API. It owns one `Chain` per configured chain and answers calls; it knows
 * nothing of HTTP, stores or the CLI (those sit around it in server/ and app/).
 */
import type { Config } from "../config/schema.ts";
import { chainPreset, type ForkSchedule, missingPresetWarning } from "../core/chain-presets.ts";
import { outageDomainOf } from "../core/domains/domain.ts";
import type { Drill, DrillRefusal, DrillSelector } from "../core/domains/drill.ts";
import { MultihomeError } from "../core/errors.ts";
import { createByteLru } from "../core/lru.ts";
import { type ChainMetrics, noopMetrics, type VerificationOutcome } from "../core/ports.ts";
import type { RpcCall } from "../core/rpc/jsonrpc.ts";
import { staleAfterMs } from "../core/rpc/staleness.ts";
import type { Readiness } from "../core/rpc/status.ts";
import type { Commitment } from "../core/solana/slots.ts";
import { type Activity, createActivity } from "./activity.ts";
import { type AccountAnswer, accountView } from "./answers/account-view.ts";
import { holdToFloor } from "./answers/answer.ts";
import type { CachedAnswer } from "./answers/answer-cache.ts";
import { type CallAnswer, type CallOptions, type Chain, createChain } from "./chain.ts";
import type { EngineContext } from "./context.ts";
import type { TransactionStatus } from "./outbox/transactions.ts";
import type { SolanaAnswer } from "./solana/answer.ts";
import { createSolanaCluster, type SolanaCluster, type SolanaClusterStatus } from "./solana/cluster.ts";
import type { SolanaSend } from "./solana/outbox.ts";
import type { Deliver, SolanaSubscribeResult } from "./solana/subscriptions.ts";
import type { SubscribeResult } from "./streams.ts";

export type { ChainStatus, Readiness } from "../core/rpc/status.ts";
export type { ActivityEvent } from "./activity.ts";
export type { AccountAnswer, AccountView } from "./answers/account-view.ts";
export { isVerification, rpcErrorOf, VERIFICATIONS } from "./answers/answer.ts";
export type { CallAnswer, CallOptions, Evidence, Verification } from "./chain.ts";
export type { EngineContext } from "./context.ts";
export type { SolanaAnswer, SolanaEvidence } from "./solana/answer.ts";
export type { SolanaClusterStatus } from "./solana/cluster.ts";
export type { SolanaSend } from "./solana/outbox.ts";
export { SOLANA_SUBSCRIPTION_METHODS, SOLANA_SUBSCRIPTIONS } from "./solana/subscriptions.ts";
export type { SubscribeResult } from "./streams.ts";

export interface Engine {
  chainIds(): number[];
  /** Begin admitting upstreams and tracking heads. */
  start(): void;
  /** Resolves once every chain has an agreed head, or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<Readiness>;
  call(chainId: number, call: RpcCall, options?: CallOptions): Promise<CallAnswer>;
  /** The wallet's view of one account; see account-view.ts. */
  account(chainId: number, address: string, options?: CallOptions): Promise<AccountAnswer | undefined>;
  /** What became of a transaction; `undefined` for an unknown chain or a transaction nobody knows. */
  transaction(chainId: number, hash: string): Promise<TransactionStatus | undefined>;
  /**
   * eth_subscribe (`newHeads`, `logs`) on a chain's anchored blocks: `deliver` gets each notification's result, every
   * block once and in order; see streams.ts.
   */
  subscribe(chainId: number, params: unknown, deliver: (result: unknown) => void): SubscribeResult;
  readiness(): Readiness;
  /** The process's answer cache: bytes counted against `cache.maxBytes`, and entries. */
  cacheStats(): { bytes: number; entries: number };
  /** Recent events, the last minute's traffic per upstream, and drills (see activity.ts). */
  activity: Pick<Activity, "events" | "traffic" | "drills" | "stopDrill">;
  /** Treats every upstream in the selected domain, on every chain and Solana cluster, as down for `durationMs`. */
  startDrill(selector: DrillSelector, durationMs: number): Drill | DrillRefusal;
  /**
   * Another worker of this gateway served head `number` on `chainId`: this engine catches up before answering about
   * the newest block (engine/sibling-heads.ts).
   */
  siblingHead(chainId: number, number: number): void;
  /** Told of each chain's every new agreed head (a worker tells its siblings). */
  onHead(listener: (chainId: number, number: number) => void): void;
  /** Another worker of this gateway agreed on these slots of a Solana cluster: never serve older ones. */
  siblingSlots(cluster: string, slots: Partial<Record<Commitment, number>>): void;
  /** Told of each Solana cluster's every move of its agreed slots (a worker tells its siblings). */
  onSlots(listener: (cluster: string, slots: Partial<Record<Commitment, number>>) => void): void;
  /** The Solana clusters served, by name (`/rpc/solana/{name}`). */
  solanaClusters(): string[];
  /** A call on a Solana cluster; undefined when no cluster has that name. */
  solanaCall(
    name: string,
    call: RpcCall,
    options?: { maxStalenessSeconds?: number },
  ): Promise<SolanaAnswer> | undefined;
  solanaStatus(): SolanaClusterStatus[];
  /** A Solana subscription (slotSubscribe, accountSubscribe, signatureSubscribe) served from the agreed view. */
  solanaSubscribe(name: string, method: string, params: unknown, deliver: Deliver): SolanaSubscribeResult;
  /** A transaction sent through a Solana cluster, as its outbox knows it; undefined when unknown. */
  solanaTransaction(name: string, signature: string): Promise<SolanaSend | undefined>;
  stop(): Promise<void>;
}

/** How a client's answer was checked, as counted: `failed` when no verifiable answer could be had. */
function verificationOf(answer: CallAnswer): VerificationOutcome {
  if (answer.ok || !("error" in answer)) return answer.evidence.verified;
  return answer.error.code === "unavailable" ? "failed" : "none";
}

/** Errors that mean the gateway failed the client, as opposed to the client's or the chain's own errors. */
const GATEWAY_FAILURES = new Set(["unavailable", "timeout", "internal"]);

/** The chain's fork schedule: the config's, else its preset's; none with `forks: false` or an unknown chain. */
function forksOf(chain: Config["chains"][number]): { forks?: ForkSchedule } {
  const forks = chain.forks === false ? undefined : (chain.forks ?? chainPreset(chain.chainId).forks);
  return forks ? { forks } : {};
}

export function createEngine(config: Config, ctx: EngineContext): Engine {
  const chains = new Map<number, Chain>();
  /** Each chain's instruments, bound once. */
  const chainMetrics = new Map<number, ChainMetrics>();
  // One bound for the whole process: every chain's answers share it.
  const answers = createByteLru<CachedAnswer>(config.cache.maxBytes);
  const activity = createActivity(ctx.clock);
  /** Upstream id → its outage domain label, per chain, to tell which domain served an answer. */
  const outageDomains = new Map<number, Map<string, string>>();
  for (const chain of config.chains) {
    const warning = missingPresetWarning(chain.chainId, chain);
    if (warning) ctx.logger.warn({ chainId: chain.chainId }, warning);
    chains.set(
      chain.chainId,
      createChain(
        ctx,
        {
          chainId: chain.chainId,
          upstreams: chain.upstreams,
          routing: config.routing,
          health: config.health,
          maxResponseBytes: config.upstream.maxResponseBytes,
          ...forksOf(chain),
          stack: chain.stack ?? chainPreset(chain.chainId).stack ?? "ethereum",
          methods: {
            allow: [...config.methods.allow, ...(chain.methods?.allow ?? [])],
            deny: [...config.methods.deny, ...(chain.methods?.deny ?? [])],
          },
          calls: {
            maxGas: config.calls.maxGas,
            maxDataBytes: config.calls.maxDataBytes,
            maxLogAddresses: config.logs.maxAddresses,
            maxLogTopicValues: config.logs.maxTopicValues,
          },
          transactions: config.transactions,
          verification: config.verification,
          logs: config.logs,
          staleAfterMs: staleAfterMs(chain.chainId, chain.staleAfterMs),
          cache: {
            enabled: config.cache.enabled,
            unfinalizedTtlMs: config.cache.unfinalizedTtlMs,
            finalityDepth:
              chain.finalityDepth ?? chainPreset(chain.chainId).finalityDepth ?? config.cache.finalityDepth,
          },
        },
        answers,
        activity,
      ),
    );
    chainMetrics.set(chain.chainId, (ctx.metrics ?? noopMetrics).chain(chain.chainId));
    outageDomains.set(chain.chainId, new Map(chain.upstreams.map((u) => [u.id, outageDomainOf(u.domain)])));
  }
  const clusters = new Map<string, SolanaCluster>(
    config.solana.map((cluster) => [
      cluster.name,
      createSolanaCluster(
        ctx,
        {
          name: cluster.name,
          genesisHash: cluster.genesisHash,
          upstreams: cluster.upstreams,
          routing: config.routing,
          health: config.health,
          maxResponseBytes: config.upstream.maxResponseBytes,
          verification: config.verification,
          transactions: config.transactions,
        },
        activity,
      ),
    ]),
  );
  /** Upstream id → outage domain, per Solana cluster: who served an answer, for drills and the dashboard. */
  const solanaDomains = new Map(
    config.solana.map((c) => [c.name, new Map(c.upstreams.map((u) => [u.id, outageDomainOf(u.domain)]))]),
  );
  /** A Solana call, counted as traffic like an EVM one (drills' reports, the dashboard's shares). */
  async function servedSolana(
    name: string,
    cluster: SolanaCluster,
    call: RpcCall,
    options?: { maxStalenessSeconds?: number },
  ): Promise<SolanaAnswer> {
    const arrivedAt = ctx.clock.now();
    const started = performance.now();
    const answer = await cluster.call(call, options);
    served(answer, solanaDomains.get(name), started, arrivedAt);
    return answer;
  }
  /** An answer given to a client, counted as traffic: by the outage domain that supplied it, failed or not. */
  function served(
    answer: CallAnswer | SolanaAnswer,
    domains: ReadonlyMap<string, string> | undefined,
    started: number,
    arrivedAt: number,
  ): void {
    const upstream = answer.evidence.upstream;
    const outageDomain = upstream === undefined ? undefined : domains?.get(upstream);
    activity.served({
      ...(upstream !== undefined && outageDomain !== undefined ? { upstream: { id: upstream, outageDomain } } : {}),
      failed: !answer.ok && "error" in answer && GATEWAY_FAILURES.has(answer.error.code),
      latencyMs: performance.now() - started,
      arrivedAt,
    });
  }
  const readiness = (): Readiness => {
    const statuses = [...chains.values()].map((c) => c.status());
    return { ready: statuses.every((s) => s.ready), chains: statuses };
  };
  return {
    chainIds: () => [...chains.keys()],
    start() {
      for (const c of chains.values()) c.start();
      for (const c of clusters.values()) c.start();
    },
    async ready(timeoutMs) {
      await Promise.all([...chains.values(), ...clusters.values()].map((c) => c.ready(timeoutMs)));
      return readiness();
    },
    async call(chainId, call, options) {
      const chain = chains.get(chainId);
      if (!chain) {
        return {
          ok: false,
          error: new MultihomeError("unknown_chain", `chain ${chainId} is not served here`),
          evidence: { blockNumber: undefined, verified: "none" },
        };
      }
      const arrivedAt = ctx.clock.now();
      const started = performance.now();
      const answer = await chain.call(call, options);
      chainMetrics.get(chainId)?.verification(verificationOf(answer));
      served(answer, outageDomains.get(chainId), started, arrivedAt);
      // Counted above as it was checked: a refusal for the caller's minimum is the caller's choice, not a failure.
      return holdToFloor(call.method, answer, options?.minEvidence);
    },
    async account(chainId, address, options) {
      const chain = chains.get(chainId);
      if (!chain) return undefined;
      let id = 0;
      return accountView(
        chainId,
        address,
        (method, params, readOptions) => chain.read({ id: ++id, method, params, notification: false }, readOptions),
        options,
      );
    },
    async transaction(chainId, hash) {
      return chains.get(chainId)?.transaction(hash);
    },
    subscribe(chainId, params, deliver) {
      const chain = chains.get(chainId);
      if (!chain)
        return { ok: false, error: new MultihomeError("unknown_chain", `chain ${chainId} is not served here`) };
      return chain.subscribe(params, deliver);
    },
    siblingHead: (chainId, number) => chains.get(chainId)?.siblingHead(number),
    onHead(listener) {
      for (const [chainId, chain] of chains) chain.onHead((number) => listener(chainId, number));
    },
    siblingSlots: (name, slots) => clusters.get(name)?.siblingSlots(slots),
    onSlots(listener) {
      for (const [name, cluster] of clusters) cluster.onSlots((slots) => listener(name, slots));
    },
    readiness,
    cacheStats: () => ({ bytes: answers.bytes(), entries: answers.size() }),
    activity,
    startDrill(selector, durationMs) {
      return activity.startDrill(
        selector,
        durationMs,
        [...config.chains, ...config.solana].flatMap((c) => c.upstreams),
      );
    },
    solanaClusters: () => [...clusters.keys()],
    solanaCall(name, call, options) {
      const cluster = clusters.get(name);
      return cluster ? servedSolana(name, cluster, call, options) : undefined;
    },
    solanaStatus: () => [...clusters.values()].map((c) => c.status()),
    solanaTransaction: async (name, signature) => clusters.get(name)?.transaction(signature),
    solanaSubscribe(name, method, params, deliver) {
      const cluster = clusters.get(name);
      if (!cluster)
        return { ok: false, error: new MultihomeError("unknown_chain", `Solana cluster ${name} is not served here`) };
      return cluster.subscribe(method, params, deliver);
    },
    async stop() {
      await Promise.all([...chains.values(), ...clusters.values()].map((c) => c.stop()));
    },
  };
}
