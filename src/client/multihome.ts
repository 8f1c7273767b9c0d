/**
 * createMultihome: the gateway's engine embedded in a wallet or an app, in Node or in a browser. The same pipeline
 * (agreed heads across failure domains, proofs, quorum, hedging, breakers, last-known-good) runs in the caller's
 * process over the upstreams it lists: direct providers and Multihome gateways alike, each in its own domain, every
 * answer verified here. State is in memory unless a store is given; nothing here touches a Node-only module.
 */

import { type Config, type ConfigInput, configSchema } from "../config/schema.ts";
import { ConfigError, parseWith } from "../config/validate.ts";
import type { FailureDomain } from "../core/domains/domain.ts";
import { BaseError, ERRORS, type ErrorCode, MultihomeError, toRpcError } from "../core/errors.ts";
import { type Clock, type Logger, type Random, silentLogger, type Transport } from "../core/ports.ts";
import { callShapeProblem, type RpcCall, type RpcErrorObject } from "../core/rpc/jsonrpc.ts";
import { SUBSCRIPTION_METHODS } from "../core/rpc/methods.ts";
import type { Store } from "../core/store.ts";
import {
  type AccountAnswer,
  type CallAnswer,
  type CallOptions,
  type ChainStatus,
  createEngine,
  type Engine,
  type Evidence,
  isVerification,
  rpcErrorOf,
  VERIFICATIONS,
  type Verification,
} from "../engine/engine.ts";
import { createMemoryStore } from "../stores/memory/memory-store.ts";
import { systemClock, systemRandom } from "../system/system.ts";
import { createFetchTransport } from "../upstream/fetch-transport.ts";

export type { AccountAnswer, AccountView, ChainStatus, Evidence, Verification } from "../engine/engine.ts";

/** The answer cache of an embedded engine, bytes: a page or an app needs far less than a gateway. */
export const CLIENT_CACHE_MAX_BYTES_DEFAULT = 8 * 1024 * 1024;
/** How long `ready()` waits for an agreed head by default, ms. */
export const CLIENT_READY_TIMEOUT_MS_DEFAULT = 10_000;

export interface ClientUpstream {
  /** Names the upstream in evidence and status. @default its operator (numbered when two share one) */
  id?: string;
  /** `http(s)://…`; may carry an API key (it never appears in an error). A Multihome gateway is `…/rpc/{chainId}`. */
  url: string;
  /** Who runs it and where: a gateway's domain is where that gateway runs. */
  domain: FailureDomain;
  /** Extra request headers (an API key header, a gateway's `Authorization`); treated as secrets. */
  headers?: Record<string, string>;
}

/** The gateway config's policy sections, with the same names, defaults and limits (see docs/config.md). */
export type ClientSettings = Pick<
  ConfigInput,
  "routing" | "health" | "verification" | "cache" | "transactions" | "logs" | "calls" | "methods" | "upstream"
>;

export interface MultihomeOptions {
  chainId: number;
  upstreams: ClientUpstream[];
  settings?: ClientSettings;
  /** Where last-known-good values and the outbox live. @default a memory store */
  store?: Store;
  /** @default silent */
  logger?: Logger;
  /** How an upstream is reached. @default fetch */
  transport?: (upstream: ClientUpstream) => Transport;
  /** For tests. @default the system clock */
  clock?: Clock;
  /** For tests. @default Math.random */
  random?: Random;
  /**
   * The weakest evidence an answer may have (`proof` > `quorum` > `single`): one below it is refused with
   * `insufficient_evidence` (-32002) instead of returned, so an app behind viem or ethers, which never sees the
   * evidence, cannot be handed one upstream's word where it needs a proof. @default "none" (every answer)
   */
  minEvidence?: Verification;
}

export interface RequestArguments {
  method: string;
  params?: readonly unknown[] | Record<string, unknown>;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /**
   * Accept the last verified value up to this old (seconds) when nothing live can be verified: it is then the result,
   * marked by `evidence.staleSeconds`. Without it such a call fails with `unavailable`, carrying that value in
   * `error.data.lastKnownGood`.
   */
  maxStalenessSeconds?: number;
  /** This call's minimum evidence, in place of the engine's `minEvidence`. */
  minEvidence?: Verification;
}

/** A JSON-RPC error as a client sees it: the chain's own (reverts) or Multihome's (`data.multihomeCode`). */
export type RpcErrorBody = RpcErrorObject;

/** Every answer with how it was established: a wallet shows "verified", "as of block N, 3 minutes ago" or why not. */
export type Answer =
  | { ok: true; result: unknown; evidence: Evidence }
  | { ok: false; error: RpcErrorBody; evidence: Evidence };

/** What a rejected `request` throws: EIP-1193's shape (`code`, `data`), plus the evidence. */
export class MultihomeRpcError extends BaseError<number> {
  override readonly name = "MultihomeRpcError";
  readonly code: number;
  readonly data: unknown;
  readonly evidence: Evidence;
  constructor(error: RpcErrorBody, evidence: Evidence) {
    super(error.message);
    this.code = error.code;
    this.data = error.data;
    this.evidence = evidence;
  }
}

export interface EvidenceEvent {
  method: string;
  params: readonly unknown[] | Record<string, unknown>;
  answer: Answer;
}

export interface Multihome {
  readonly chainId: number;
  /** The result, or a thrown `MultihomeRpcError`: what EIP-1193 providers and viem transports need. */
  request(args: RequestArguments, options?: RequestOptions): Promise<unknown>;
  /** The result or error together with its evidence; never throws for an answer. */
  call(args: RequestArguments, options?: RequestOptions): Promise<Answer>;
  /** A wallet's view of an account: balance and nonce proven together, or the last verified ones marked stale. */
  account(address: string): Promise<AccountAnswer>;
  /** Resolves once a head is agreed across domains, or after `timeoutMs`; `ready` says which. */
  ready(timeoutMs?: number): Promise<{ ready: boolean; status: ChainStatus }>;
  status(): ChainStatus;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /**
   * Told of every answer the engine gives to `request` and `call` (adapters hand callers only the result), with its
   * evidence; refusals made before the engine is asked (a malformed call, a closed engine) are not. Returns the
   * unsubscribe.
   */
  onAnswer(listener: (event: EvidenceEvent) => void): () => void;
  close(): Promise<void>;
}

/** Upstream ids: given ones kept, missing ones from the operator, numbered on collision. */
export function upstreamIds(upstreams: readonly ClientUpstream[]): string[] {
  const taken = new Set(upstreams.flatMap((u) => (u.id === undefined ? [] : [u.id])));
  return upstreams.map((u) => {
    if (u.id !== undefined) return u.id;
    // A missing domain is reported by the schema; the id only has to be something until then.
    const base = u.domain?.operator ?? "upstream";
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
    taken.add(id);
    return id;
  });
}

function toAnswer(answer: CallAnswer): Answer {
  // A fresh object with only what a caller is told (a cached answer is shared, frozen, and carries its encoding).
  return answer.ok
    ? { ok: true, result: answer.result, evidence: answer.evidence }
    : { ok: false, error: rpcErrorOf(answer), evidence: answer.evidence };
}

/** The gateway's config for these options, checked by the same schema; problems are named by the options' paths. */
function clientConfig(options: MultihomeOptions, ids: string[]): Config {
  const minEvidence =
    options.minEvidence === undefined || isVerification(options.minEvidence)
      ? []
      : [`minEvidence: must be one of ${VERIFICATIONS.join(", ")}`];
  return parseClientConfig(options.settings ?? {}, { chainId: options.chainId }, options.upstreams, ids, minEvidence);
}

/**
 * The config of an embedded engine serving one entry of `chains` (an EVM chain, or a Solana cluster) over these
 * upstreams; `problems` found before are reported with the schema's. Problems are named by the options' paths.
 */
export function parseClientConfig(
  settings: ClientSettings,
  chain: Record<string, unknown>,
  upstreams: readonly ClientUpstream[],
  ids: string[],
  problems: string[] = [],
): Config {
  const httpOnly = upstreams.flatMap((u, i) =>
    /^https?:\/\//i.test(String(u.url))
      ? []
      : [`upstreams.${i}.url: must be http(s)://; the embedded client has no WebSocket upstreams`],
  );
  if (httpOnly.length + problems.length > 0)
    throw new ConfigError("invalid Multihome options", [...httpOnly, ...problems]);
  try {
    return parseWith(configSchema, {
      ...settings,
      cache: { maxBytes: CLIENT_CACHE_MAX_BYTES_DEFAULT, ...settings.cache },
      store: { kind: "memory" },
      chains: [
        {
          ...chain,
          // The app names its upstreams, and a wallet's own node may well be at 192.168.x.y: only the addresses that
          // are never an RPC node (cloud metadata) stay refused.
          upstreams: upstreams.map((u, i) => ({
            id: ids[i],
            url: u.url,
            domain: u.domain,
            allowPrivateNetwork: true,
          })),
        },
      ],
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const issues = error.issues.map((issue) => issue.replace(/^chains\.0\./, ""));
    throw new ConfigError("invalid Multihome options", issues);
  }
}

/** The engine of an embedded client, over its upstreams (fetch by default), started. */
export function startClientEngine(
  config: Config,
  options: Pick<MultihomeOptions, "transport" | "clock" | "random" | "logger" | "store">,
  byId: ReadonlyMap<string, ClientUpstream>,
): Engine {
  const transportOf = options.transport ?? ((u: ClientUpstream) => createFetchTransport(u));
  const engine = createEngine(config, {
    clock: options.clock ?? systemClock,
    random: options.random ?? systemRandom,
    logger: options.logger ?? silentLogger,
    createTransport: (upstream) => transportOf(byId.get(upstream.id)!),
    store: options.store ?? createMemoryStore(),
  });
  engine.start();
  return engine;
}

export function createMultihome(options: MultihomeOptions): Multihome {
  const { chainId } = options;
  const ids = upstreamIds(options.upstreams);
  const byId = new Map(options.upstreams.map((u, i) => [ids[i]!, u]));
  const config = clientConfig(options, ids);
  const logger = options.logger ?? silentLogger;
  const engine = startClientEngine(config, options, byId);
  const listeners = new Set<(event: EvidenceEvent) => void>();
  let nextId = 1;
  let closed = false;
  const status = (): ChainStatus => engine.readiness().chains[0]!;

  /**
   * An app calls right after creating the engine, as it would with `http()`: until the first head is agreed, a call
   * that needs one waits for it, up to the engine's request deadline or the caller's signal.
   */
  const firstHeadWait = (signal: AbortSignal | undefined): CallOptions => ({
    firstHeadWaitMs: config.routing.requestTimeoutMs,
    ...(signal !== undefined ? { signal } : {}),
  });

  const none: Evidence = { blockNumber: undefined, verified: "none" };
  const refuse = (code: ErrorCode, message: string): Answer => ({
    ok: false,
    error: toRpcError(new MultihomeError(code, message)),
    evidence: none,
  });

  async function call(args: RequestArguments, requestOptions: RequestOptions = {}): Promise<Answer> {
    if (closed) return refuse("unavailable", "this Multihome is closed");
    const params = args?.params ?? [];
    const problem = callShapeProblem(args?.method, params, config.server.maxMethodLength);
    if (problem !== undefined) return refuse("invalid_request", `${ERRORS.invalid_request.message}: ${problem}`);
    const minEvidence = requestOptions.minEvidence ?? options.minEvidence;
    if (minEvidence !== undefined && !isVerification(minEvidence))
      return refuse("invalid_request", `invalid request: minEvidence must be one of ${VERIFICATIONS.join(", ")}`);
    // viem and ethers poll over HTTP transports; the embedded engine has no socket to push notifications on.
    if (SUBSCRIPTION_METHODS.has(args.method))
      return refuse("method_not_found", `${args.method} is not offered by the embedded client: poll instead`);
    const rpc: RpcCall = {
      id: nextId++,
      method: args.method,
      // The engine re-serializes every call: what it holds must be plain JSON (a bigint would not survive).
      params: params as RpcCall["params"],
      notification: false,
    };
    const answer = toAnswer(
      await engine.call(chainId, rpc, {
        ...firstHeadWait(requestOptions.signal),
        ...(requestOptions.maxStalenessSeconds !== undefined
          ? { maxStalenessSeconds: requestOptions.maxStalenessSeconds }
          : {}),
        ...(minEvidence !== undefined ? { minEvidence } : {}),
      }),
    );
    for (const listener of listeners) {
      // A listener's bug must not turn an answer into a failure.
      try {
        listener({ method: args.method, params, answer });
      } catch (error) {
        logger.warn({ err: (error as Error)?.message, method: args.method }, "an onAnswer listener threw");
      }
    }
    return answer;
  }

  return {
    chainId,
    call,
    async request(args, requestOptions) {
      const answer = await call(args, requestOptions);
      if (!answer.ok) throw new MultihomeRpcError(answer.error, answer.evidence);
      return answer.result;
    },
    async account(address) {
      // Defined for every configured chain, and this engine has exactly one.
      return (await engine.account(chainId, address, firstHeadWait(undefined)))!;
    },
    async ready(timeoutMs = CLIENT_READY_TIMEOUT_MS_DEFAULT) {
      const readiness = await engine.ready(timeoutMs);
      return { ready: readiness.ready, status: readiness.chains[0]! };
    },
    status,
    get closed() {
      return closed;
    },
    onAnswer(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      await engine.stop();
    },
  };
}
