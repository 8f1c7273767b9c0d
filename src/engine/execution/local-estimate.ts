/**
 * A gas estimate made here over proven state, go-ethereum's way (core/execution/gas-estimate.ts), and whether an
 * upstream's answer agrees with it.
 *
 * The highest limit is the one the call states (at least 21,000), else the block's; at most what the sender's balance
 * pays for at its fee cap, and the configured cap. Runs here burn at most MAX_LOCAL_EXECUTION_GAS each, and
 * MAX_ESTIMATE_GAS_BURNT in all. When the highest limit is above what one run may burn, the search runs up to the
 * bound: a success there is a success at the highest limit too; running out of gas there says nothing (not executed
 * here); a revert there counts only when it used at most half the bound (a sub-call that ran out for want of the gas
 * held back would have used nearly all of it), and any other failure not at all.
 */

import { estimateAgrees, estimateGasLimit, type Trial } from "../../core/execution/gas-estimate.ts";
import type { Hex } from "../../core/hex.ts";
import { isQuantity } from "../../core/routing/estimate.ts";
import type { RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import type { CallAnswer } from "../answers/answer.ts";
import type { ExecuteResult } from "../routing/execute.ts";
import { MAX_LOCAL_EXECUTION_GAS, unexecutedReason } from "./evm.ts";
import { type Prepared, runTransaction, type TransactionOutcome } from "./transaction.ts";

/**
 * Most gas one estimate may burn here over all its runs (the first at the highest limit, the optimistic one, the
 * halvings, the check of an upstream's lower figure): three runs of the largest kind, about 600 ms of CPU at worst.
 */
export const MAX_ESTIMATE_GAS_BURNT = 9_000_000n;

export type EstimateOutcome =
  | { kind: "estimate"; gas: bigint }
  | { kind: "revert"; returnData: Hex }
  /** `funds`: the sender cannot pay; `allowance`: out of gas at the highest limit; `failure`: the EVM stopped. */
  | { kind: "error"; error: string; cause: "funds" | "allowance" | "failure" }
  | { kind: "unexecuted"; reason: string };

const min = (a: bigint, b: bigint) => (a < b ? a : b);

export async function estimateHere({ tx, gasLimit }: Prepared): Promise<EstimateOutcome> {
  const { request } = tx;
  let highest = gasLimit;
  let plainTransfer: boolean;
  try {
    if (tx.feeCap > 0n) {
      const balance = (await tx.proven.account(request.from))?.balance ?? 0n;
      if (request.value >= balance) return { kind: "error", error: "insufficient funds for transfer", cause: "funds" };
      highest = min(highest, (balance - request.value) / tx.feeCap);
    }
    plainTransfer = request.data === "0x" && !!request.to && (await tx.proven.code(request.to)).length === 0;
  } catch (error) {
    return { kind: "unexecuted", reason: unexecutedReason(error) };
  }
  const bound = min(highest, MAX_LOCAL_EXECUTION_GAS);
  let burnt = 0n;
  const run = async (gas: bigint): Promise<Trial<TransactionOutcome>> => {
    if (burnt > MAX_ESTIMATE_GAS_BURNT)
      return { kind: "stop", outcome: { kind: "unexecuted", reason: `more than ${MAX_ESTIMATE_GAS_BURNT} gas` } };
    const outcome = await runTransaction(tx, gas);
    if (outcome.kind === "success" || outcome.kind === "revert") burnt += outcome.peakGasUsed;
    else if (outcome.kind === "failure") burnt += gas;
    if (outcome.kind === "success")
      return { kind: "success", gasUsed: outcome.gasUsed, peakGasUsed: outcome.peakGasUsed };
    if (outcome.kind === "revert") return { kind: "failed", outOfGas: false, outcome };
    if (outcome.kind === "failure") return { kind: "failed", outOfGas: outcome.outOfGas, outcome };
    // Under the intrinsic gas: more gas mends it, as running out does.
    if (outcome.kind === "intrinsic") return { kind: "failed", outOfGas: true, outcome };
    return { kind: "stop", outcome };
  };
  const found = await estimateGasLimit(run, { highest: bound, plainTransfer });
  if (found.kind === "estimate") return found;
  const unbounded = highest > bound;
  if (found.kind === "exceeds")
    return unbounded
      ? { kind: "unexecuted", reason: `more than ${MAX_LOCAL_EXECUTION_GAS} gas` }
      : { kind: "error", error: `gas required exceeds allowance (${highest})`, cause: "allowance" };
  const { outcome } = found;
  if (outcome.kind === "funds") return { kind: "error", error: outcome.error, cause: "funds" };
  if (outcome.kind === "revert" && (!unbounded || outcome.peakGasUsed * 2n <= bound))
    return { kind: "revert", returnData: outcome.returnData };
  if (outcome.kind === "failure" && !unbounded) return { kind: "error", error: outcome.error, cause: "failure" };
  if (outcome.kind === "unexecuted") return outcome;
  return { kind: "unexecuted", reason: `failed with ${bound} gas of the ${highest} it may have` };
}

const isRevert = (error: RpcErrorObject) => error.code === 3 || /revert/i.test(error.message);

/** Whether an upstream's (or independent domains') answer to the estimate agrees with the one made here. */
export async function outcomeAgrees(
  prepared: Prepared,
  local: Exclude<EstimateOutcome, { kind: "unexecuted" }>,
  said: ExecuteResult | CallAnswer,
): Promise<boolean> {
  if (said.ok) {
    if (local.kind !== "estimate" || !isQuantity(said.result)) return false;
    const figure = BigInt(said.result);
    // A lower figure must be enough here; the check is one more run over state already proven.
    const sufficient = figure < local.gas && (await runTransaction(prepared.tx, figure)).kind === "success";
    return estimateAgrees(local.gas, figure, sufficient);
  }
  if (!("rpcError" in said)) return false;
  const error = said.rpcError;
  if (isRevert(error)) {
    const data = typeof error.data === "string" ? error.data.toLowerCase() : "0x";
    return local.kind === "revert" && data === local.returnData;
  }
  if (local.kind !== "error") return false;
  if (local.cause === "funds") return /insufficient funds/i.test(error.message);
  if (local.cause === "allowance") return /gas required exceeds|out of gas/i.test(error.message);
  return true;
}
