/**
 * Answers about the newest block, checked for age. When independent domains stop agreeing on new blocks (one domain
 * left, the others down or hung), the agreed head stays where it was and answers at it can still be proven — about a
 * block that may be long past. So an answer to a call about the newest block (see `asksForHead`) whose block is older
 * than the chain's bound is stale: served marked with its age (`staleSeconds`) when the client opted in for that age,
 * otherwise refused with -32002 — carrying, for a proven state read, the value as last-known-good with its block and
 * age. The age runs from the block's timestamp in its verified header to the injected clock.
 */
import { MultihomeError } from "../../core/errors.ts";
import type { RpcCall } from "../../core/rpc/jsonrpc.ts";
import { blockAgeSeconds, isStale } from "../../core/rpc/staleness.ts";
import type { EngineContext } from "../context.ts";
import { PROVEN_METHODS } from "../verification/state-reads.ts";
import type { CallAnswer, Evidence } from "./answer.ts";
import { type LastKnownGoodBook, lastKnownGoodKey } from "./last-known-good.ts";

export interface StaleCheck {
  /** `answer` to `rpc`, a call about the newest block, as the client may have it given the age of its block. */
  check(rpc: RpcCall, answer: CallAnswer, maxStalenessSeconds: number | undefined): Promise<CallAnswer>;
}

export function createStaleCheck(
  ctx: EngineContext,
  options: {
    /** The chain's bound, ms; undefined: blocks come on demand, their age says nothing. */
    staleAfterMs: number | undefined;
    /** The timestamp (seconds) of the agreed block at a height, from its verified header. */
    timestampAt(number: number): Promise<number | undefined>;
    lastKnownGood: LastKnownGoodBook;
  },
): StaleCheck {
  const { clock } = ctx;
  const { staleAfterMs, timestampAt, lastKnownGood } = options;

  async function check(rpc: RpcCall, answer: CallAnswer, maxStalenessSeconds: number | undefined): Promise<CallAnswer> {
    // Failures of Multihome's own say no more than they say; a chain's error (a revert) is an answer like a result.
    const answered = answer.ok || "rpcError" in answer;
    const number = answer.evidence.blockNumber;
    if (staleAfterMs === undefined || !answered || answer.evidence.staleSeconds !== undefined || number === undefined)
      return answer;
    const timestamp = await timestampAt(number);
    const now = clock.now();
    if (timestamp === undefined || !isStale(timestamp, now, staleAfterMs)) return answer;
    const ageSeconds = blockAgeSeconds(timestamp, now);
    const error = new MultihomeError(
      "unavailable",
      `no live answer: block ${number}, the newest independent upstreams agree on, is ${ageSeconds} s old ` +
        `(answers about the newest block are stale after ${Math.ceil(staleAfterMs / 1000)} s on this chain)`,
    );
    const none: Evidence = { blockNumber: number, verified: "none" };
    const { blockHash, domains = [], verified } = answer.evidence;
    if (answer.ok && verified === "proof" && blockHash && PROVEN_METHODS.has(rpc.method) && Array.isArray(rpc.params)) {
      // A proven value at a stale head is last-known-good itself: the same contract, with its block's age.
      const key = lastKnownGoodKey(rpc.method, rpc.params);
      const fresh = lastKnownGood.entry(key, answer.result, { number, hash: blockHash, timestamp, domains });
      return lastKnownGood.answer(key, error, maxStalenessSeconds, none, fresh);
    }
    if (maxStalenessSeconds !== undefined && ageSeconds <= maxStalenessSeconds)
      return { ...answer, evidence: { ...answer.evidence, staleSeconds: ageSeconds } };
    return { ok: false, error, evidence: none };
  }

  return { check };
}
