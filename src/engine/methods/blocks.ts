/**
 * Blocks, transactions and receipts — `eth_getBlockByNumber`, `eth_getBlockByHash`, `eth_getBlockReceipts`,
 * `eth_getTransactionByHash`, `eth_getTransactionReceipt`.
 * - Pinned: to the block asked for; by hash, to the block the hash names.
 * - Proven: the header hash recomputed; the body and receipts rebuilt into the header's roots; senders recovered;
 *   receipts' uncovered fields checked against the body (verification/block-reads.ts). "Not mined" (`null`) needs two
 *   independent domains.
 * - Derived from the proven block: its transaction count, a transaction by index (sender recovered), its uncle count,
 *   and the uncle by index of a block without uncles (`null`). An uncle's own header is not fetched: a block with
 *   uncles answers that one as its policy's fallback.
 * - Without a proof (a `pending` tag, a block above the head, or the `single` policy): a block asked for by number is
 *   still checked against the anchored hash at that height.
 * - Evidence: `proof`, `quorum` for agreed absence or a header that could only be agreed on.
 */
import { parseBlockNumber, toHex } from "../../core/rpc/methods.ts";
import type { CallAnswer } from "../answers/answer.ts";
import type { Anchors } from "../verification/anchors.ts";
import type { BlockReads } from "../verification/block-reads.ts";
import type { MethodFamily, PinnedRequest } from "./family.ts";

type Block = { transactions: unknown[]; uncles?: unknown[] };

/**
 * Reads answered from the proven block their first param names: the block read that proves it (by number or by hash,
 * with full transactions or not) and what is taken from it (`undefined`: not provable from the block alone).
 */
const DERIVED: Record<string, { byHash: boolean; full: boolean; take(block: Block, index?: number): unknown }> = {
  eth_getBlockTransactionCountByNumber: { byHash: false, full: false, take: (b) => toHex(b.transactions.length) },
  eth_getBlockTransactionCountByHash: { byHash: true, full: false, take: (b) => toHex(b.transactions.length) },
  eth_getTransactionByBlockNumberAndIndex: { byHash: false, full: true, take: (b, i) => b.transactions[i!] ?? null },
  eth_getTransactionByBlockHashAndIndex: { byHash: true, full: true, take: (b, i) => b.transactions[i!] ?? null },
  eth_getUncleCountByBlockNumber: { byHash: false, full: false, take: (b) => toHex(b.uncles?.length ?? 0) },
  eth_getUncleCountByBlockHash: { byHash: true, full: false, take: (b) => toHex(b.uncles?.length ?? 0) },
  eth_getUncleByBlockNumberAndIndex: { byHash: false, full: false, take: (b) => (b.uncles?.length ? undefined : null) },
  eth_getUncleByBlockHashAndIndex: { byHash: true, full: false, take: (b) => (b.uncles?.length ? undefined : null) },
};

export function blocksFamily(blockReads: BlockReads, anchors: Pick<Anchors, "checkBlock">): MethodFamily {
  async function read(method: string, { pinned, head, options }: PinnedRequest): Promise<CallAnswer | undefined> {
    const answer = await blockReads.read(method, pinned, head.number, options.signal);
    if (answer.ok === true) return { ok: true, result: answer.result, evidence: answer.evidence };
    if (answer.ok === false)
      return { ok: false, error: answer.error, evidence: { blockNumber: head.number, verified: "none" } };
    // No proven path for these params: answered by the policy's fallback, with the check below.
    return undefined;
  }

  /** A derived read: the proven block, then what the method takes from it. */
  async function derived(request: PinnedRequest): Promise<CallAnswer | undefined> {
    const rule = DERIVED[request.rpc.method]!;
    const [block, indexParam] = request.pinned.params as unknown[];
    const index = indexParam === undefined ? undefined : parseBlockNumber(indexParam);
    if (indexParam !== undefined && index === undefined) return undefined;
    const method = rule.byHash ? "eth_getBlockByHash" : "eth_getBlockByNumber";
    const proven = await read(method, { ...request, pinned: { ...request.pinned, params: [block, rule.full] } });
    if (!proven?.ok) return proven;
    const taken = proven.result === null ? null : rule.take(proven.result as Block, index);
    return taken === undefined ? undefined : { ok: true, result: taken, evidence: proven.evidence };
  }

  return {
    methods: [
      "eth_getBlockByNumber",
      "eth_getBlockByHash",
      "eth_getBlockReceipts",
      "eth_getTransactionByHash",
      "eth_getTransactionReceipt",
      ...Object.keys(DERIVED),
    ],
    prove(request: PinnedRequest) {
      if (!Array.isArray(request.pinned.params)) return Promise.resolve(undefined);
      return request.rpc.method in DERIVED ? derived(request) : read(request.rpc.method, request);
    },
    check({ rpc, pinned, head }: PinnedRequest) {
      if (rpc.method !== "eth_getBlockByNumber" || pinned.blockNumber === undefined) return undefined;
      return anchors.checkBlock(pinned.blockNumber, head.number);
    },
  };
}
