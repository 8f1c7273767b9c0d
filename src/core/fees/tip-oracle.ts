/**
 * A priority fee suggestion from recent blocks, the way node clients' fee oracles make one (go-ethereum's
 * `gasprice.Oracle`): the lowest few effective tips paid in each of the last blocks, and a percentile of them all. Fed
 * only with blocks whose transactions are proven against their roots, it is never more than what was actually paid
 * for inclusion lately: a provider cannot talk wallets into overpaying.
 */

/** Blocks looked at, newest first (go-ethereum's `checkBlocks`). */
export const TIP_ORACLE_BLOCKS = 20;
/** Lowest tips taken from each block (go-ethereum's `sampleNumber`). */
export const TIP_ORACLE_SAMPLES_PER_BLOCK = 3;
/** Percentile of the samples suggested (go-ethereum's default `Percentile`). */
export const TIP_ORACLE_PERCENTILE = 60;
/** Tips below this are ignored as noise (go-ethereum's `IgnorePrice`, 2 wei). */
export const TIP_ORACLE_IGNORE_WEI = 2n;
/** The most ever suggested, wei (go-ethereum's `MaxPrice`, 500 gwei). */
export const TIP_ORACLE_MAX_WEI = 500_000_000_000n;

type Json = Record<string, unknown>;

const quantity = (v: unknown) => (typeof v === "string" && /^0x[0-9a-fA-F]{1,64}$/.test(v) ? BigInt(v) : undefined);

/** What a transaction paid its block's producer per gas above the base fee; undefined when it pays no tip (a deposit). */
export function effectiveTip(tx: Json, baseFee: bigint | undefined): bigint | undefined {
  const maxFee = quantity(tx.maxFeePerGas);
  const maxTip = quantity(tx.maxPriorityFeePerGas);
  const gasPrice = quantity(tx.gasPrice);
  const base = baseFee ?? 0n;
  if (maxFee !== undefined && maxTip !== undefined) {
    const headroom = maxFee - base;
    return maxTip < headroom ? maxTip : headroom;
  }
  if (gasPrice === undefined) return undefined;
  return gasPrice - base;
}

/**
 * The tips to sample from one block: its lowest `TIP_ORACLE_SAMPLES_PER_BLOCK` effective tips of at least
 * `TIP_ORACLE_IGNORE_WEI`, ascending. An empty block gives none.
 */
export function blockTipSamples(txs: readonly Json[], baseFee: bigint | undefined): bigint[] {
  const tips = txs
    .map((tx) => effectiveTip(tx, baseFee))
    .filter((t): t is bigint => t !== undefined && t >= TIP_ORACLE_IGNORE_WEI)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return tips.slice(0, TIP_ORACLE_SAMPLES_PER_BLOCK);
}

/** The suggested tip from the blocks' samples; `fallback` when no block paid any (an idle chain). */
export function suggestTip(samplesPerBlock: readonly (readonly bigint[])[], fallback: bigint): bigint {
  const all = samplesPerBlock.flat().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (all.length === 0) return fallback;
  const tip = all[Math.floor(((all.length - 1) * TIP_ORACLE_PERCENTILE) / 100)]!;
  return tip > TIP_ORACLE_MAX_WEI ? TIP_ORACLE_MAX_WEI : tip;
}
