/**
 * Account state — `eth_getBalance`, `eth_getTransactionCount`, `eth_getCode`, `eth_getStorageAt`.
 * - Pinned: to the block asked for (`latest` → the agreed head).
 * - Proven: one `eth_getProof` checked against the anchored block's state root (verification/state-reads.ts); code
 *   against its proven hash. A proof that fails is a dispute; another domain is asked.
 * - Evidence: `proof` (`quorum` when the anchored header could only be agreed on, not hashed).
 * - Last-known-good: a value proven at the head is remembered; when nothing can be proven, it is what the client may
 *   accept (with its age), never a zero.
 */
import type { CallAnswer, Evidence } from "../answers/answer.ts";
import { type LastKnownGoodBook, lastKnownGoodKey } from "../answers/last-known-good.ts";
import type { Anchors } from "../verification/anchors.ts";
import { PROVEN_METHODS, readProven } from "../verification/state-reads.ts";
import type { Answering, MethodFamily, PinnedRequest } from "./family.ts";

export function stateFamily(
  answering: Answering,
  anchors: Pick<Anchors, "anchor" | "distrust">,
  lastKnownGood: LastKnownGoodBook,
): MethodFamily {
  async function prove({ rpc, pinned, head, options }: PinnedRequest): Promise<CallAnswer | undefined> {
    const { blockNumber, params } = pinned;
    if (blockNumber === undefined || !Array.isArray(params)) return undefined;
    const none: Evidence = { blockNumber: head.number, verified: "none" };
    const io = { anchor: anchors.anchor, distrust: anchors.distrust, execute: answering.run(options.signal) };
    const proven = await readProven(io, rpc.method, params, blockNumber);
    const key = lastKnownGoodKey(rpc.method, params);
    if (proven.ok) {
      // Only a value at the head is the last known one; a read at an older block says nothing of the present.
      if (proven.anchor.number === head.number)
        lastKnownGood.record(lastKnownGood.entry(key, proven.value, proven.anchor));
      return {
        ok: true,
        result: proven.value,
        evidence: {
          blockNumber: proven.anchor.number,
          verified: proven.anchor.headerDigest === undefined ? "proof" : "quorum",
          blockHash: proven.anchor.hash,
          domains: proven.anchor.domains,
          upstream: proven.supplier,
        },
      };
    }
    // Pinned to an explicit old block, a newer last-known-good would be a different question.
    if (proven.error.code === "invalid_params" || blockNumber !== head.number)
      return { ok: false, error: proven.error, evidence: none };
    return lastKnownGood.answer(key, proven.error, options.maxStalenessSeconds, none);
  }

  return { methods: [...PROVEN_METHODS], prove };
}
