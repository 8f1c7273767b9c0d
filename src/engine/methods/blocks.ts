/**
 * Blocks, transactions and receipts — `eth_getBlockByNumber`, `eth_getBlockByHash`, `eth_getBlockReceipts`,
 * `eth_getTransactionByHash`, `eth_getTransactionReceipt`.
 * - Pinned: to the block asked for; by hash, to the block the hash names.
 * - Proven: the header hash recomputed; the body and receipts rebuilt into the header's roots; senders recovered;
 *   receipts' uncovered fields checked against the body (verification/block-reads.ts). "Not mined" (`null`) needs two
 *   independent domains.
 * - Without a proof (a `pending` tag, a block above the head, or the `single` policy): a block asked for by number is
 *   still checked against the anchored hash at that height.
 * - Evidence: `proof`, `quorum` for agreed absence or a header that could only be agreed on.
 */
import type { Anchors } from "../verification/anchors.ts";
import type { BlockReads } from "../verification/block-reads.ts";
import type { MethodFamily, PinnedRequest } from "./family.ts";

export function blocksFamily(blockReads: BlockReads, anchors: Pick<Anchors, "checkBlock">): MethodFamily {
  return {
    methods: [
      "eth_getBlockByNumber",
      "eth_getBlockByHash",
      "eth_getBlockReceipts",
      "eth_getTransactionByHash",
      "eth_getTransactionReceipt",
    ],
    async prove({ rpc, pinned, head, options }: PinnedRequest) {
      if (!Array.isArray(pinned.params)) return undefined;
      const read = await blockReads.read(rpc.method, pinned, head.number, options.signal);
      if (read.ok === true) return { ok: true, result: read.result, evidence: read.evidence };
      if (read.ok === false)
        return { ok: false, error: read.error, evidence: { blockNumber: head.number, verified: "none" } };
      // No proven path for these params: answered by the policy's fallback, with the check below.
      return undefined;
    },
    check({ rpc, pinned, head }: PinnedRequest) {
      if (rpc.method !== "eth_getBlockByNumber" || pinned.blockNumber === undefined) return undefined;
      return anchors.checkBlock(pinned.blockNumber, head.number);
    },
  };
}
