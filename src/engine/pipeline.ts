/**
 * One client call on one chain, as a line of steps:
 *
 *   admit (served? within limits?) → answer here what needs nobody (chain id, a write, the pending nonce)
 *   → wait for a head → pin the block (tags become the anchored number) → the answer cache → one shared resolution
 *   per identical call (resolve.ts: the method family's verifier) → remember it → label its age (staleness)
 *
 * Each step is a function below; what a method family proves and how lives in resolve.ts and engine/methods/.
 */

import type { AgreedHead } from "../core/domains/head.ts";
import { MultihomeError } from "../core/errors.ts";
import { ADDRESS_HEX } from "../core/hex.ts";
import type { MethodPolicy } from "../core/rpc/access.ts";
import { cacheSlot, canonicalJson } from "../core/rpc/cache-policy.ts";
import { limitCall } from "../core/rpc/call-limits.ts";
import type { RpcCall } from "../core/rpc/jsonrpc.ts";
import { type MethodSpec, pinBlock, toHex } from "../core/rpc/methods.ts";
import { asksForHead } from "../core/rpc/staleness.ts";
import { OUTBOX_MAX_RAW_HEX_CHARS } from "../core/store.ts";
import type { CallAnswer, CallOptions, Evidence } from "./answers/answer.ts";
import type { AnswerCache } from "./answers/answer-cache.ts";
import { type LastKnownGoodBook, lastKnownGoodKey } from "./answers/last-known-good.ts";
import type { StaleCheck } from "./answers/staleness.ts";
import type { EngineContext } from "./context.ts";
import type { Transactions } from "./outbox/transactions.ts";
import type { Resolver } from "./resolve.ts";
import type { ChainSettings } from "./settings.ts";
import type { BlockTags } from "./verification/block-tags.ts";
import { pinsBlock } from "./verification/block-tags.ts";
import { PROVEN_METHODS } from "./verification/state-reads.ts";

export interface PipelineDeps {
  ctx: EngineContext;
  settings: Pick<ChainSettings, "chainId" | "calls" | "cache" | "verification">;
  serves: MethodPolicy;
  head(): AgreedHead | undefined;
  waitForHead(timeoutMs: number, signal?: AbortSignal): Promise<AgreedHead | undefined>;
  /** Undefined when this engine's head is at least any other worker's; else resolves once it is (bounded). */
  catchUp(): Promise<void> | undefined;
  blockTags: BlockTags;
  cache: AnswerCache;
  resolver: Resolver;
  transactions: Pick<Transactions, "send" | "pendingNonce">;
  lastKnownGood: LastKnownGoodBook;
  staleness: StaleCheck;
  /** Some usable upstream was heard from lately: a recent answer may be served from the cache. */
  hearingUpstreams(now: number): boolean;
  /** A client's cache lookup, counted for the hit ratio. */
  countCache(hit: boolean): void;
}

type Refusal = Extract<CallAnswer, { error: MultihomeError }>;

const HEX_DATA = /^0x(?:[0-9a-fA-F]{2})+$/;

function asksForLatest(spec: { blockParam?: number }, params: unknown[]): boolean {
  const block = spec.blockParam === undefined ? undefined : params[spec.blockParam];
  return block === undefined || block === "latest";
}

const refuse = (code: MultihomeError["code"], message: string, evidence: Evidence): Refusal => ({
  ok: false,
  error: new MultihomeError(code, message),
  evidence,
});

/** Resolves with the call's answer, or with a cancellation as soon as this caller's signal aborts. */
function raceAbort(answer: Promise<CallAnswer>, signal: AbortSignal, none: Evidence): Promise<CallAnswer> {
  const cancelled = refuse("timeout", "request cancelled", none);
  if (signal.aborted) return Promise.resolve(cancelled);
  return new Promise((resolve) => {
    const onAbort = () => resolve(cancelled);
    signal.addEventListener("abort", onAbort, { once: true });
    void answer.then((a) => {
      signal.removeEventListener("abort", onAbort);
      resolve(a);
    });
  });
}

export function createPipeline(deps: PipelineDeps) {
  const { ctx, settings, serves } = deps;
  const { chainId } = settings;
  const flights = new Map<string, Promise<CallAnswer>>();

  /** Served, and within the per-call limits (which may normalise its params). */
  function admit(rpc: RpcCall, none: Evidence): { rpc: RpcCall; spec: MethodSpec } | Refusal {
    const spec = serves(rpc.method);
    if (!spec) return refuse("method_not_found", `method ${rpc.method} is not available`, none);
    const limited = limitCall(rpc.method, rpc.params, settings.calls);
    if (!limited.ok) return { ok: false, error: limited.error, evidence: none };
    return { rpc: limited.params === rpc.params ? rpc : { ...rpc, params: limited.params }, spec };
  }

  /** What is answered without a head or a provider's word: the chain id, a write (the outbox), the pending nonce. */
  function answerHere(rpc: RpcCall, spec: MethodSpec, none: Evidence): Promise<CallAnswer> | CallAnswer | undefined {
    if (rpc.method === "eth_chainId") return { ok: true, result: toHex(chainId), evidence: none };
    if (rpc.method === "net_version") return { ok: true, result: String(chainId), evidence: none };
    const params = rpc.params;
    if (spec.kind === "write") {
      const raw = Array.isArray(params) ? params[0] : undefined;
      if (
        typeof raw !== "string" ||
        raw.length > OUTBOX_MAX_RAW_HEX_CHARS ||
        !HEX_DATA.test(raw) ||
        params.length !== 1
      )
        return refuse("invalid_params", "expected one raw transaction as 0x-prefixed hex (at most 128 KiB)", none);
      // Even with no agreed head: the transaction is recorded and goes out through whatever upstream is up.
      return deps.transactions.send(raw);
    }
    if (
      rpc.method === "eth_getTransactionCount" &&
      Array.isArray(params) &&
      params.length === 2 &&
      params[1] === "pending" &&
      typeof params[0] === "string" &&
      ADDRESS_HEX.test(params[0])
    )
      // The highest the domains' pools support, bounded by the proven mined nonce (core/outbox/pending-nonce.ts).
      return deps.transactions.pendingNonce(params[0]);
    return undefined;
  }

  /** No head agreed: what was proven before still is what it was (the last-known-good contract), else unavailable. */
  function headless(
    rpc: RpcCall,
    spec: MethodSpec,
    options: CallOptions,
    none: Evidence,
  ): Promise<CallAnswer> | CallAnswer {
    const error = new MultihomeError("unavailable", "no block agreed by independent upstreams yet");
    if (PROVEN_METHODS.has(rpc.method) && Array.isArray(rpc.params) && asksForLatest(spec, rpc.params))
      return deps.lastKnownGood.answer(
        lastKnownGoodKey(rpc.method, rpc.params),
        error,
        options.maxStalenessSeconds,
        none,
      );
    return { ok: false, error, evidence: none };
  }

  /** `client`: a client's own call, whose cache lookup is counted (the engine's reads for itself are not). */
  async function call(rpc: RpcCall, options: CallOptions = {}, client = false): Promise<CallAnswer> {
    let head = deps.head();
    let none: Evidence = { blockNumber: head?.number, verified: "none" };
    const admitted = admit(rpc, none);
    if ("error" in admitted) return admitted;
    const { spec } = admitted;
    rpc = admitted.rpc;
    const here = answerHere(rpc, spec, none);
    if (here) return here;
    if (!head && options.firstHeadWaitMs !== undefined) {
      head = deps.head() ?? (await deps.waitForHead(options.firstHeadWaitMs, options.signal));
      none = { blockNumber: head?.number, verified: "none" };
    }
    if (!head) return headless(rpc, spec, options, none);
    const catching = deps.catchUp();
    if (catching) {
      await catching;
      head = deps.head() ?? head;
    }
    if (rpc.method === "eth_blockNumber") return { ok: true, result: toHex(head.number), evidence: none };
    // `finalized`, `safe` and `{ blockHash }` become the anchored number they stand for (verification/block-tags.ts).
    if (pinsBlock(rpc.method, spec, rpc.params)) {
      const tagged = await deps.blockTags.pin(rpc.method, spec, rpc.params, head.number);
      if (!tagged.ok) return { ok: false, error: tagged.error, evidence: none };
      rpc = { ...rpc, params: tagged.params as RpcCall["params"] };
    }
    const pin = pinBlock(spec, rpc.params, head.number);
    if (!pin.ok) return refuse("invalid_params", `invalid params: ${pin.message}`, none);
    const policy = settings.verification.methods[rpc.method] ?? "single";
    if (spec.kind !== "read") return deps.resolver.resolve(rpc, spec, pin.pinned, head, policy, options);
    const view = deps.cache.view(head);
    const slot = settings.cache.enabled ? cacheSlot(rpc.method, spec, pin.pinned, view) : undefined;
    if (slot) {
      const now = ctx.clock.now();
      const hit = deps.cache.lookup(slot, now);
      // Final data cannot go stale; an answer about a recent block is served from the cache only while upstreams
      // are heard from — in an outage the client gets the last-known-good contract, which says how old it is.
      const served = hit !== undefined && (slot.ttlMs === undefined || deps.hearingUpstreams(now));
      if (client) deps.countCache(served);
      // The answer as it was kept, encoded: nothing is built or serialised again for a hit.
      if (served) return hit;
    }
    // Identical concurrent reads share one resolution (and so one upstream call). It runs without any one client's
    // signal: a client that goes away stops waiting, not the others.
    const key = `${options.maxStalenessSeconds ?? ""}|${slot?.key ?? `${rpc.method}|${canonicalJson(pin.pinned.params)}`}`;
    const resolved = rpc;
    const flight = shared(key, async () => {
      const stored = slot?.shared ? await deps.cache.fromStore(slot) : undefined;
      if (stored) return stored;
      const answer = await deps.resolver.resolve(resolved, spec, pin.pinned, head, policy, {
        maxStalenessSeconds: options.maxStalenessSeconds,
      });
      if (slot) deps.cache.remember(spec, slot, answer, policy, view);
      return answer;
    });
    return options.signal ? raceAbort(flight, options.signal, none) : flight;
  }

  /** One resolution per key at a time, shared by every caller that asks meanwhile. */
  function shared(key: string, resolve: () => Promise<CallAnswer>): Promise<CallAnswer> {
    const running = flights.get(key);
    if (running) return running;
    const flight = resolve();
    flights.set(key, flight);
    void flight.finally(() => flights.get(key) === flight && flights.delete(key));
    return flight;
  }

  /** A call about the newest block is labelled stale, or refused, when that block is too old; any other as it is. */
  function checkedForAge(rpc: RpcCall, options: CallOptions | undefined, client: boolean): Promise<CallAnswer> {
    const spec = serves(rpc.method);
    const answer = call(rpc, options, client);
    if (!spec || !asksForHead(rpc.method, spec, rpc.params)) return answer;
    return answer.then((answered) => deps.staleness.check(rpc, answered, options?.maxStalenessSeconds));
  }

  return {
    /** A client's call: its cache lookup counted. */
    call: (rpc: RpcCall, options?: CallOptions) => checkedForAge(rpc, options, true),
    /** A read Multihome makes for itself (log chunks, the outbox, streams, the account view): not counted. */
    read: (rpc: RpcCall, options?: CallOptions) => checkedForAge(rpc, options, false),
    /** The engine's own call, without the staleness label (the resolver's log chunks, the outbox, streams). */
    internal: (rpc: RpcCall, options?: CallOptions) => call(rpc, options),
  };
}
