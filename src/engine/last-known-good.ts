/**
 * Last-known-good: every proven value is recorded with its block, hash and evidence, so that when nothing live can be
 * proven the client hears the last verified value, its block and its age — never a made-up one.
 */
import { MultihomeError } from "../core/errors.ts";
import { noopMetrics } from "../core/ports.ts";
import type { LastKnownGood } from "../core/store.ts";
import type { CallAnswer, Evidence } from "./answer.ts";
import type { EngineContext } from "./context.ts";
import type { AnchoredBlock } from "./state-reads.ts";

/** The last-known-good key of a proven read: the method and what it asked about (address, slot). */
export function lastKnownGoodKey(method: string, params: unknown[] | Record<string, unknown>): string {
  const args = Array.isArray(params) ? params : [];
  const address = String(args[0]).toLowerCase();
  return method === "eth_getStorageAt"
    ? `${method}:${address}:${BigInt(String(args[1])).toString(16)}`
    : `${method}:${address}`;
}

export interface LastKnownGoodBook {
  record(key: string, value: unknown, anchor: AnchoredBlock): void;
  answer(
    key: string,
    error: MultihomeError,
    maxStalenessSeconds: number | undefined,
    none: Evidence,
  ): Promise<CallAnswer>;
}

export function createLastKnownGoodBook(ctx: EngineContext, chainId: number): LastKnownGoodBook {
  const { clock } = ctx;
  const metrics = (ctx.metrics ?? noopMetrics).chain(chainId);
  function record(key: string, value: unknown, anchor: AnchoredBlock): void {
    const entry: LastKnownGood = {
      chainId,
      key,
      value,
      blockNumber: anchor.number,
      blockHash: anchor.hash,
      evidence: { method: "proof", domains: anchor.domains },
      recordedAt: clock.now(),
    };
    ctx.store.putLastKnownGood(entry).catch((error: unknown) => {
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
  ): Promise<CallAnswer> {
    let lkg: LastKnownGood | undefined;
    try {
      lkg = await ctx.store.getLastKnownGood(chainId, key);
    } catch (cause) {
      ctx.logger.warn({ chainId, err: (cause as Error).message }, "could not read a last-known-good value");
    }
    if (!lkg) {
      metrics.lastKnownGood("missing");
      return { ok: false, error, evidence: none };
    }
    const ageSeconds = Math.max(0, Math.floor((clock.now() - lkg.recordedAt) / 1000));
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

  return { record, answer };
}
