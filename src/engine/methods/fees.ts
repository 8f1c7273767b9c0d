/**
 * Fees — `eth_maxPriorityFeePerGas`, `eth_gasPrice`, `eth_feeHistory`, `eth_blobBaseFee` (engine/fees/).
 * - Proven: suggestions from the tips paid in the last proven blocks (go-ethereum's oracle rule); fee history and the
 *   blob base fee from anchored headers and verified receipts. No provider is asked.
 * - Not provable here (a body of a type this stack cannot encode, a base-fee rule not known, a tag, a range too wide):
 *   independent domains decide (for suggestions, their median) — never one provider's word.
 * - Evidence: `proof` (`quorum` for the fallback, or a header that could only be agreed on).
 */
import type { ChainStack, ForkSchedule } from "../../core/chain-presets.ts";
import type { CallAnswer } from "../answers/answer.ts";
import { createFeeHistory } from "../fees/fee-history.ts";
import { createFeeOracle } from "../fees/tip-oracle.ts";
import type { Anchors } from "../verification/anchors.ts";
import type { BlockReads } from "../verification/block-reads.ts";
import type { Answering, MethodFamily, PinnedRequest } from "./family.ts";

export interface FeeSettings {
  chainId: number;
  stack?: ChainStack;
  forks?: ForkSchedule;
}

export function feesFamily(
  answering: Answering,
  anchors: Pick<Anchors, "anchor">,
  blockReads: Pick<BlockReads, "anchoredBody" | "receiptsOf">,
  settings: FeeSettings,
): MethodFamily {
  const oracle = createFeeOracle({ anchoredBody: blockReads.anchoredBody });
  const history = createFeeHistory({
    chainId: settings.chainId,
    stack: settings.stack ?? "ethereum",
    ...(settings.forks ? { forks: settings.forks } : {}),
    anchor: anchors.anchor,
    anchoredBody: blockReads.anchoredBody,
    receiptsOf: blockReads.receiptsOf,
  });

  /** A tip (or, for `eth_gasPrice`, tip + base fee) from the tips paid in the last proven blocks. */
  async function suggested({ rpc, head }: PinnedRequest): Promise<CallAnswer | undefined> {
    const suggestion = await oracle.suggest(head);
    if (!suggestion) return undefined;
    const { tip, baseFee, head: at } = suggestion;
    return {
      ok: true,
      result: `0x${(rpc.method === "eth_gasPrice" ? tip + baseFee : tip).toString(16)}`,
      evidence: {
        blockNumber: at.number,
        verified: at.headerDigest === undefined ? "proof" : "quorum",
        blockHash: at.hash,
        domains: at.domains,
      },
    };
  }

  function fromHistory({ rpc, pinned, head }: PinnedRequest): Promise<CallAnswer | undefined> {
    if (rpc.method === "eth_blobBaseFee") return history.blobBaseFee(head);
    return Array.isArray(pinned.params)
      ? history.feeHistory(pinned.params, pinned.blockNumber, head)
      : Promise.resolve(undefined);
  }

  return {
    methods: ["eth_maxPriorityFeePerGas", "eth_gasPrice", "eth_feeHistory", "eth_blobBaseFee"],
    async prove(request: PinnedRequest) {
      const { rpc, pinned, head, options } = request;
      const proven = rpc.method === "eth_feeHistory" || rpc.method === "eth_blobBaseFee" ? fromHistory : suggested;
      const answer = await proven(request);
      if (answer) return answer;
      return answering.agreed(rpc, answering.planOf(request), pinned.blockNumber ?? head.number, options.signal);
    },
  };
}
