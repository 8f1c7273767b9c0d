/**
 * One chain's part of the process answer cache, and of the store's shared answers: where an answer is kept, for how
 * long, what is shared with other replicas, and what a reorg evicts. The rules of what may be kept are pure
 * (`core/rpc/cache-policy.ts`); this module applies them to the byte-bounded LRU, the store and the block hashes answers
 * depend on.
 */

import type { AgreedHead } from "../../core/domains/head.ts";
import type { ByteLru } from "../../core/lru.ts";
import { type AnswerStanding, type CacheSlot, type CacheView, keepAnswer } from "../../core/rpc/cache-policy.ts";
import type { MethodSpec, VerificationPolicy } from "../../core/rpc/methods.ts";
import { answerFits } from "../../core/store.ts";
import type { EngineContext } from "../context.ts";
import type { ChainSettings } from "../settings.ts";
import { type Anchors, inDeepReorg } from "../verification/anchors.ts";
import type { CallAnswer, EncodedResult, Evidence } from "./answer.ts";

/**
 * A cached answer as it is served: the answer itself, built once (a hit returns this same object, frozen), with its
 * result kept encoded so a hit is written without serialising it again.
 */
export type CachedAnswer = Readonly<Extract<CallAnswer, { ok: true }>> & { encoded: EncodedResult };

/** What the store keeps for an answer: `{ result, evidence }` as JSON. */
interface StoredAnswer {
  result: unknown;
  evidence: Evidence;
}

/** The answer served from the cache, built once when it is kept. */
function cachedAnswer(result: unknown, evidence: Evidence, json: string): CachedAnswer {
  return Object.freeze({
    ok: true as const,
    result,
    evidence: Object.freeze({ ...evidence }),
    encoded: Object.freeze({ of: result, json }),
  });
}

/** Established by a proof or by independent domains agreeing: what may be shared, and what nothing unverified replaces. */
export function isVerified(evidence: Evidence | undefined): boolean {
  return evidence?.verified === "proof" || evidence?.verified === "quorum";
}

/** A stored answer's JSON, or undefined when it is not one (a store is an accelerator: what it holds is checked). */
function parseStoredAnswer(json: string): StoredAnswer | undefined {
  try {
    const parsed = JSON.parse(json) as Partial<StoredAnswer> | null;
    if (typeof parsed !== "object" || parsed === null || typeof parsed.evidence !== "object") return undefined;
    if (parsed.evidence === null || parsed.result === undefined) return undefined;
    return parsed as StoredAnswer;
  } catch {
    return undefined;
  }
}

/**
 * What an entry costs beyond its key and serialized result (the objects around them, its map and recency slots, its
 * block tags), for the byte bound: filling the cache's own structures with 5,000–40,000 balance answers measured
 * about 780 bytes of retained heap each, of which their key and result strings take about 75.
 */
export const CACHE_ENTRY_OVERHEAD_BYTES = 768;
/** What a cached answer counts against `cache.maxBytes`: its key, its `{ result, evidence }` JSON, and the overhead. */
export function cachedAnswerBytes(key: string, json: string): number {
  return key.length + json.length + CACHE_ENTRY_OVERHEAD_BYTES;
}
/** `{ result, evidence }` as the store keeps it: the same text as `JSON.stringify({ result, evidence })`. */
function storedJson(resultJson: string, evidence: Evidence): string {
  return `{"result":${resultJson},"evidence":${JSON.stringify(evidence)}}`;
}
/**
 * Expired answers dropped (at most) at each lookup and each answer kept: the cache lets go of what expired as fast as
 * new answers arrive, so answers kept briefly (about recent blocks, or one upstream's word) do not pile up to the byte
 * bound under varied traffic.
 */
export const CACHE_PRUNE_PER_CALL = 8;
/** Block hashes tracked for reorg eviction; beyond it the oldest are evicted from the cache at once. */
export const MAX_WATCHED_BLOCKS = 65_536;

export interface AnswerCacheDeps {
  chainId: number;
  /** The process's answer cache, shared by all its chains (one byte bound). */
  answers: ByteLru<CachedAnswer>;
  anchors: Anchors;
  settings: ChainSettings["cache"];
  /** The agreed head's number now. */
  headNumber(): number | undefined;
  /** A block orphaned by a reorg: its verified body and receipts are dropped too. */
  forgetBlock(hash: string): void;
}

export function createAnswerCache(ctx: EngineContext, deps: AnswerCacheDeps) {
  const { clock } = ctx;
  const { chainId, answers, anchors, settings } = deps;
  /** Block hashes cached answers depend on, with their height when known: checked after every reorg. */
  const watched = new Map<string, number | undefined>();

  function view(head: AgreedHead): CacheView {
    return {
      head: head.number,
      finalized: head.number - settings.finalityDepth,
      // The same rule as anchoring: a block one domain vouches for is not cached as that height's block.
      hashAt: anchors.hashAt,
      unfinalizedTtlMs: settings.unfinalizedTtlMs,
    };
  }

  /**
   * Keeps a live answer in the process cache (never an error, a `null`, or a stale value), and a verified one about
   * final data in the store. One upstream's word never takes the place of a verified answer.
   */
  function remember(
    spec: MethodSpec,
    slot: CacheSlot,
    answer: CallAnswer,
    policy: VerificationPolicy,
    view: CacheView,
  ) {
    if (!answer.ok || answer.evidence.staleSeconds !== undefined) return;
    const standing: AnswerStanding =
      policy !== "single" && answer.evidence.verified !== policy
        ? "short"
        : isVerified(answer.evidence)
          ? "verified"
          : "single";
    const keep = keepAnswer(spec, slot, answer.result, standing, view);
    if (!keep) return;
    const key = `${chainId}|${keep.key}`;
    const now = clock.now();
    answers.prune(now, CACHE_PRUNE_PER_CALL);
    if (standing === "single" && isVerified(answers.get(key, now)?.evidence)) return;
    const resultJson = JSON.stringify(answer.result);
    const json = storedJson(resultJson, answer.evidence);
    if (keep.shared && ctx.storeAnswers && answerFits(keep.key, json)) {
      ctx.store
        .putAnswer(chainId, keep.key, json)
        .catch((error: unknown) => ctx.logger.debug({ err: (error as Error).message }, "answer not shared"));
    }
    answers.set(key, cachedAnswer(answer.result, answer.evidence, resultJson), {
      bytes: cachedAnswerBytes(key, json),
      ...(keep.ttlMs !== undefined ? { expiresAt: now + keep.ttlMs } : {}),
      tags: keep.tags.map((t) => `${chainId}|${t}`),
    });
    for (const tag of keep.tags) {
      if (watched.has(tag)) continue;
      watched.set(tag, answer.evidence.blockNumber);
      if (watched.size > MAX_WATCHED_BLOCKS) {
        // Too many to check on a reorg: what is no longer watched is no longer cached either.
        const [oldest] = watched.keys();
        watched.delete(oldest!);
        answers.evictTag(`${chainId}|${oldest}`);
      }
    }
  }

  /**
   * A verified answer about final data another replica (or this one, before a restart) kept in the store; taken into
   * the process cache. A store that fails is a miss, never an error.
   */
  async function fromStore(slot: CacheSlot): Promise<CallAnswer | undefined> {
    if (!ctx.storeAnswers) return undefined;
    let json: string | undefined;
    try {
      json = await ctx.store.getAnswer(chainId, slot.key);
    } catch (error) {
      ctx.logger.debug({ err: (error as Error).message }, "stored answers not read");
      return undefined;
    }
    if (json === undefined) return undefined;
    const stored = parseStoredAnswer(json);
    // What an older Multihome kept on one upstream's word is not served: it is asked again, and the verified answer
    // replaces it.
    if (!stored || !isVerified(stored.evidence)) return undefined;
    const key = `${chainId}|${slot.key}`;
    const cached = cachedAnswer(stored.result, stored.evidence, JSON.stringify(stored.result));
    answers.set(key, cached, { bytes: cachedAnswerBytes(key, json), tags: [] });
    return cached;
  }

  /**
   * After a reorg: forget everything that belonged to a block some usable upstream now contradicts — after one deeper
   * than the walk, everything below `deepBelow` within the head history.
   */
  function onReorg(deepBelow?: number, branch?: AgreedHead) {
    const orphaned = new Set<string>(anchors.reconcile(deepBelow, branch));
    const floor = (deps.headNumber() ?? 0) - settings.finalityDepth;
    for (const [hash, number] of watched) {
      // Height unknown: drop it to be safe (a cache miss costs one upstream call, a stale hit a wrong answer).
      if (
        number === undefined ||
        (deepBelow !== undefined && inDeepReorg(number, deepBelow)) ||
        (number > floor && (anchors.doubted(number, hash) || (branch && anchors.offBranch(branch, number, hash))))
      )
        orphaned.add(hash);
      else if (number <= floor) watched.delete(hash);
    }
    for (const hash of orphaned) {
      watched.delete(hash);
      deps.forgetBlock(hash);
      answers.evictTag(`${chainId}|${hash.toLowerCase()}`);
    }
    if (orphaned.size > 0)
      ctx.logger.info({ chainId, blocks: orphaned.size }, "reorg: answers about orphaned blocks evicted");
  }

  /** A cached answer for this slot, unless there is none (or it expired). */
  const lookup = (slot: CacheSlot, now: number) => {
    answers.prune(now, CACHE_PRUNE_PER_CALL);
    return answers.get(`${chainId}|${slot.key}`, now);
  };

  return { view, lookup, remember, fromStore, onReorg };
}

export type AnswerCache = ReturnType<typeof createAnswerCache>;
