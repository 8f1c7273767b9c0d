/**
 * The base fee of the block after a given one, by EIP-1559's rule: it moves towards the gas target (the gas limit
 * over the elasticity) by at most 1/denominator per block. Ethereum's parameters are fixed (8, 2). The OP stack's come
 * from its chain config until Holocene, and since Holocene from the parent header's `extraData` (version 0: the
 * denominator and elasticity as two big-endian u32), which the header hash binds. A rule Multihome does not know
 * (Arbitrum's ArbOS pricing, Polygon's own denominators, an OP header from before Holocene or with Jovian's minimum
 * base fee) is `undefined`: the caller does not compute what it cannot know.
 */
import type { ChainStack } from "../chain-presets.ts";

export interface BaseFeeRule {
  /** The base fee moves by at most 1/denominator of itself per block. */
  denominator: bigint;
  /** Gas target = gas limit / elasticity. */
  elasticity: bigint;
}

/** Ethereum's parameters (EIP-1559: `BASE_FEE_MAX_CHANGE_DENOMINATOR` 8, `ELASTICITY_MULTIPLIER` 2). */
export const ETHEREUM_BASE_FEE_RULE: BaseFeeRule = { denominator: 8n, elasticity: 2n };

/** The fields of a parent header the rule reads. */
export interface ParentGas {
  baseFee: bigint;
  gasUsed: bigint;
  gasLimit: bigint;
}

/** The base fee of the block after `parent`, as go-ethereum's `eip1559.CalcBaseFee` computes it. */
export function nextBaseFee(parent: ParentGas, rule: BaseFeeRule): bigint {
  const target = parent.gasLimit / rule.elasticity;
  if (target === 0n || parent.gasUsed === target) return parent.baseFee;
  if (parent.gasUsed > target) {
    const delta = (parent.baseFee * (parent.gasUsed - target)) / target / rule.denominator;
    return parent.baseFee + (delta < 1n ? 1n : delta);
  }
  const delta = (parent.baseFee * (target - parent.gasUsed)) / target / rule.denominator;
  return parent.baseFee > delta ? parent.baseFee - delta : 0n;
}

/**
 * The OP stack's Holocene parameters from a header's `extraData`: 9 bytes, version 0, then denominator and elasticity
 * (big-endian u32). Undefined for anything else: an empty `extraData` (before Holocene, when the chain config decides),
 * Jovian's version 1 (which adds a minimum base fee and counts the DA footprint), or zero parameters.
 */
export function holoceneRule(extraData: string): BaseFeeRule | undefined {
  if (!/^0x00[0-9a-fA-F]{16}$/.test(extraData)) return undefined;
  const denominator = BigInt(`0x${extraData.slice(4, 12)}`);
  const elasticity = BigInt(`0x${extraData.slice(12, 20)}`);
  return denominator === 0n || elasticity === 0n ? undefined : { denominator, elasticity };
}

/** The rule that gives the base fee of the block after a parent with this `extraData`, on this stack; undefined when unknown. */
export function baseFeeRuleOf(stack: ChainStack, parentExtraData: string): BaseFeeRule | undefined {
  switch (stack) {
    case "ethereum":
      return ETHEREUM_BASE_FEE_RULE;
    case "op-stack":
      return holoceneRule(parentExtraData);
    default:
      // Arbitrum prices gas in ArbOS (not EIP-1559); Polygon PoS changed its denominator in its own forks.
      return undefined;
  }
}
