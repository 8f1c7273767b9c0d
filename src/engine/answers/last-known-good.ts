/**
 * Last-known-good: every value proven at the agreed head is recorded with its block, hash, block timestamp and
 * evidence, so that when nothing live can be proven the client hears the last verified value, its block and its age —
 * never a made-up one. The age is the block's (from its verified header's timestamp to now), not the time since the
 * value was recorded: a value proven now about an old block is old.
 */
import { MultihomeError } from "../../core/errors.ts";
import { noopMetrics } from "../../core/ports.ts";
import { blockAgeSeconds } from "../../core/rpc/staleness.ts";
import type { LastKnownGood } from "../../core/store.ts";
import type { EngineContext } from "../context.ts";
import type { AnchoredBlock } from "../verification/state-reads.ts";
import type { CallAnswer, Evidence } from "./answer.ts";

/** The last-known-good key of a proven read: the method and what it asked about (address, slot). */
export function lastKnownGoodKey(method: string, params: unknown[] | Record<string, unknown>): string {
  const args = Array.isArray(params) ? params : [];
  const address = String(args[0]).toLowerCase();
  return method === "eth_getStorageAt"
    ? `${method}:${address}:${BigInt(String(args[1])).toString(16)}`
    : `${method}:${address}`;
}

/** The block a proven value reflects, as far as its last-known-good entry goes. */
export type ProvenAt = Pick<AnchoredBlock, "number" | "hash" | "timestamp" | "domains" | "headerDigest">;

export interface LastKnownGoodBook {
  /** The entry for a value proven at `block`. */
  entry(key: string, value: unknown, block: ProvenAt): LastKnownGood;
  /** Keeps a value proven at the agreed head (only there: a read at an older block says nothing of the present). */
  record(entry: LastKnownGood): void;
  /**
   * No live verified answer: the client's stale opt-in, or the error with the last-known-good value attached. `fresh`
   * is a value just proven at a head that is itself stale: the newer of it and the stored one is used.
   */
  answer(
    key: string,
    error: MultihomeError,
    maxStalenessSeconds: number | undefined,
    none: Evidence,
    fresh?: LastKnownGood,
  ): Promise<CallAnswer>;
}

export function createLastKnownGoodBook(ctx: EngineContext, chainId: number): LastKnownGoodBook {
  const { clock } = ctx;
  const metrics = (ctx.metrics ?? noopMetrics).chain(chainId);
  const entry = (key: string, value: unknown, block: ProvenAt): LastKnownGood => ({
    chainId,
    key,
    value,
    blockNumber: block.number,
    blockHash: block.hash,
    blockTimestamp: block.timestamp,
    // Proven against roots that only independent agreement vouches for (an unhashable header): as good as that.
    evidence: { method: block.headerDigest === undefined ? "proof" : "quorum", domains: block.domains },
    recordedAt: clock.now(),
  });
  function record(kept: LastKnownGood): void {
    ctx.store.putLastKnownGood(kept).catch((error: unknown) => {
      ctx.logger.warn({ chainId, err: (error as Error).message }, "could not record a last-known-good value");
    });
  }

  /**
   * No live verified answer: never a made-up value. With the client's opt-in and a young enough last-known-good
   * value, serve that value marked stale; otherwise the error carries the last-known-good value, its block and age.
   */
  async function answer(
    key: string,
    error: MultihomeError,
    maxStalenessSeconds: number | undefined,
    none: Evidence,
    fresh?: LastKnownGood,
  ): Promise<CallAnswer> {
    let stored: LastKnownGood | undefined;
    try {
      stored = await ctx.store.getLastKnownGood(chainId, key);
    } catch (cause) {
      ctx.logger.warn({ chainId, err: (cause as Error).message }, "could not read a last-known-good value");
    }
    const lkg = stored && (!fresh || stored.blockNumber > fresh.blockNumber) ? stored : fresh;
    if (!lkg) {
      metrics.lastKnownGood("missing");
      return { ok: false, error, evidence: none };
    }
    const ageSeconds = blockAgeSeconds(lkg.blockTimestamp, clock.now());
    if (maxStalenessSeconds !== undefined && ageSeconds <= maxStalenessSeconds) {
      metrics.lastKnownGood("served");
      return {
        ok: true,
        result: lkg.value,
        evidence: {
          blockNumber: lkg.blockNumber,
          verified: lkg.evidence.method,
          staleSeconds: ageSeconds,
          blockHash: lkg.blockHash,
          domains: lkg.evidence.domains,
        },
      };
    }
    metrics.lastKnownGood("attached");
    const lastKnownGood = {
      value: lkg.value,
      blockNumber: lkg.blockNumber,
      blockHash: lkg.blockHash,
      ageSeconds,
      evidence: lkg.evidence,
    };
    // The failure keeps its own code (a rate limit stays a 429 with Retry-After); it just carries what is known.
    return {
      ok: false,
      error: new MultihomeError(error.code, error.message, {
        data: { ...error.data, lastKnownGood },
        ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
      }),
      evidence: none,
    };
  }

  return { entry, record, answer };
}
