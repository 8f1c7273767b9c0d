/**
 * Fee suggestions and gas estimates have no proof and need not be equal across honest nodes (pools differ), so they
 * are taken from several independent domains and combined so that one domain's outlier never decides: with three or
 * more answers, the median; with two, the one that is safe for the user — the lower fee (a high one overpays in full),
 * the higher gas estimate (a low one runs out of gas and loses the fee).
 */

/** How many independent domains an estimate is asked of. */
export const ESTIMATE_WITNESSES = 3;

/** Which way an outlier hurts: `low` — take the lower of two (fees); `high` — the higher (gas estimates). */
export type SafeSide = "low" | "high";

/** Which side is safe for each method combined this way. */
export const ESTIMATE_METHODS: Readonly<Record<string, SafeSide>> = {
  eth_gasPrice: "low",
  eth_maxPriorityFeePerGas: "low",
  eth_blobBaseFee: "low",
  eth_estimateGas: "high",
};

const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;

export function isQuantity(value: unknown): value is string {
  return typeof value === "string" && QUANTITY.test(value);
}

/** The combined value of `values` (at least one), as described above. */
export function combineEstimates(values: readonly bigint[], safe: SafeSide): bigint {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length === 0) throw new RangeError("no estimates to combine");
  if (sorted.length === 1) return sorted[0]!;
  if (sorted.length === 2) return safe === "low" ? sorted[0]! : sorted[1]!;
  // An even count has two middles: the safe one.
  const upper = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 || safe === "high" ? sorted[upper]! : sorted[upper - 1]!;
}
