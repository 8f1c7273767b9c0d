/**
 * How a gas estimate is made, go-ethereum's way (`eth/gasestimator`): run the transaction at the highest gas limit it
 * may have — its failure there is the answer — then search down for the lowest limit it succeeds with: first the gas it
 * used before refunds plus the call stipend, scaled by 64/63 (a sub-call is given at most 63/64 of what is left),
 * then halves (skewed low: most transactions need little more than they use) until the bracket is within
 * ESTIMATE_ERROR_RATIO_PER_MILLE of its top. The runs themselves are the caller's (`run`): this is the search only.
 *
 * And how an upstream's estimate is judged against one made here (`estimateAgrees`).
 */

/**
 * How far above the lowest sufficient gas limit an estimate may stop, per mille (go-ethereum's `estimateGasErrorRatio`
 * of 0.015). Wallets add 20–25 % on top; a perfect estimate would cost more runs for nothing.
 */
export const ESTIMATE_ERROR_RATIO_PER_MILLE = 15;

const TX_GAS = 21_000n;
/** What a value-carrying CALL hands its callee on top of what it forwards. */
const CALL_STIPEND = 2_300n;

/** One run of the transaction at a gas limit. */
export type Trial<F> =
  /** It succeeded: the gas it was charged, and the most it held before refunds (at least the calldata floor). */
  | { kind: "success"; gasUsed: bigint; peakGasUsed: bigint }
  /** It failed in a way more gas might mend (out of gas, a revert, a limit under the intrinsic gas). */
  | { kind: "failed"; outOfGas: boolean; outcome: F }
  /** It cannot succeed at any limit, or was not run (insufficient funds, a bound): the search stops with this. */
  | { kind: "stop"; outcome: F };

export type Estimate<F> =
  | { kind: "estimate"; gas: bigint }
  /** The transaction fails at the highest limit, not for want of gas: that failure is the answer. */
  | { kind: "failed"; outcome: F }
  /** It runs out of gas at the highest limit. */
  | { kind: "exceeds"; allowance: bigint }
  | { kind: "stop"; outcome: F };

/**
 * The lowest gas limit (within the error ratio) `run` succeeds with, up to `highest`. A value transfer to an account
 * without code (`plainTransfer`) is tried at 21,000 first, and that is the answer when it succeeds.
 */
export async function estimateGasLimit<F>(
  run: (gasLimit: bigint) => Promise<Trial<F>>,
  { highest, plainTransfer }: { highest: bigint; plainTransfer: boolean },
): Promise<Estimate<F>> {
  if (plainTransfer) {
    const transfer = await run(TX_GAS);
    if (transfer.kind === "success") return { kind: "estimate", gas: TX_GAS };
  }
  const first = await run(highest);
  if (first.kind === "stop") return first;
  if (first.kind === "failed")
    return first.outOfGas ? { kind: "exceeds", allowance: highest } : { kind: "failed", outcome: first.outcome };
  let lo = first.gasUsed - 1n;
  let hi = highest;
  const optimistic = ((first.peakGasUsed + CALL_STIPEND) * 64n) / 63n;
  if (optimistic < hi) {
    const trial = await run(optimistic);
    if (trial.kind === "stop") return trial;
    if (trial.kind === "success") hi = optimistic;
    else lo = optimistic;
  }
  while (lo + 1n < hi) {
    if ((hi - lo) * 1000n < BigInt(ESTIMATE_ERROR_RATIO_PER_MILLE) * hi) break;
    let mid = lo + (hi - lo) / 2n;
    if (mid > lo * 2n) mid = lo * 2n;
    const trial = await run(mid);
    if (trial.kind === "stop") return trial;
    if (trial.kind === "success") hi = mid;
    else lo = mid;
  }
  return { kind: "estimate", gas: hi };
}

/**
 * Whether an upstream's estimate agrees with the one made here: it is enough here (`sufficient`: the transaction
 * succeeds with it — asked only when it is below ours), and ours is not below it by more than the error ratio. An
 * honest node of the same rules passes both: its figure is at least the lowest sufficient limit, and at most the
 * error ratio above it (exactly it for a node that searches to the last unit of gas, as anvil does). A figure too low
 * to run fails the first; an inflated one, the second.
 */
export function estimateAgrees(local: bigint, upstream: bigint, sufficient: boolean): boolean {
  if (upstream < local && !sufficient) return false;
  return local * 1000n >= upstream * BigInt(1000 - ESTIMATE_ERROR_RATIO_PER_MILLE);
}
