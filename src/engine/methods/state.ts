/**
 * Account state — `eth_getBalance`, `eth_getTransactionCount`, `eth_getCode`, `eth_getStorageAt`, `eth_getProof`.
 * - Pinned: to the block asked for (`latest` → the agreed head).
 * - Proven: one `eth_getProof` checked against the anchored block's state root (verification/state-reads.ts); code
 *   against its proven hash. A proof that fails is a dispute; another domain is asked.
 * - `eth_getProof` itself: the answer's account proof, every field it claims and each storage proof checked against
 *   the anchored state root; served with only the fields a proof has.
 * - Evidence: `proof` (`quorum` when the anchored header could only be agreed on, not hashed).
 * - Last-known-good: a value proven at the head is remembered; when nothing can be proven, it is what the client may
 *   accept (with its age), never a zero.
 */
import type { CallAnswer, Evidence } from "../answers/answer.ts";
import { type LastKnownGoodBook, lastKnownGoodKey } from "../answers/last-known-good.ts";
import type { Anchors } from "../verification/anchors.ts";
import { type AnchoredBlock, PROVEN_METHODS, readProofAnswer, readProven } from "../verification/state-reads.ts";
import type { Answering, MethodFamily, PinnedRequest } from "./family.ts";

export function stateFamily(
  answering: Answering,
  anchors: Pick<Anchors, "anchor" | "distrust">,
  lastKnownGood: LastKnownGoodBook,
): MethodFamily {
  const evidence = (anchor: AnchoredBlock, supplier: string): Evidence => ({
    blockNumber: anchor.number,
    verified: anchor.headerDigest === undefined ? "proof" : "quorum",
    blockHash: anchor.hash,
    domains: anchor.domains,
    upstream: supplier,
  });

  async function prove({ rpc, pinned, head, options }: PinnedRequest): Promise<CallAnswer | undefined> {
    const { blockNumber, params } = pinned;
    if (blockNumber === undefined || !Array.isArray(params)) return undefined;
    const none: Evidence = { blockNumber: head.number, verified: "none" };
    const io = { anchor: anchors.anchor, distrust: anchors.distrust, execute: answering.run(options.signal) };
    if (rpc.method === "eth_getProof") {
      const proof = await readProofAnswer(io, params, blockNumber);
      if (!proof.ok) return { ok: false, error: proof.error, evidence: none };
      return { ok: true, result: proof.value, evidence: evidence(proof.anchor, proof.supplier) };
    }
    const proven = await readProven(io, rpc.method, params, blockNumber);
    const key = lastKnownGoodKey(rpc.method, params);
    if (proven.ok) {
      // Only a value at the head is the last known one; a read at an older block says nothing of the present.
      if (proven.anchor.number === head.number)
        lastKnownGood.record(lastKnownGood.entry(key, proven.value, proven.anchor));
      return { ok: true, result: proven.value, evidence: evidence(proven.anchor, proven.supplier) };
    }
    // Pinned to an explicit old block, a newer last-known-good would be a different question.
    if (proven.error.code === "invalid_params" || blockNumber !== head.number)
      return { ok: false, error: proven.error, evidence: none };
    return lastKnownGood.answer(key, proven.error, options.maxStalenessSeconds, none);
  }

  return { methods: [...PROVEN_METHODS, "eth_getProof"], prove };
}
