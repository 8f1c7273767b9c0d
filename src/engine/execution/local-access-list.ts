/**
 * An access list made here over proven state, go-ethereum's way (`ethapi.AccessList`): the call is run with the list
 * it states, tracing what it touches; the list traced is applied and the call run again, until what it touches is the
 * list it ran with. The answer is that list (in canonical order: nodes keep none) and the gas the call used with it.
 */
import { type AccessListEntry, canonicalAccessListAnswer } from "../../core/execution/access-list.ts";
import type { Hex } from "../../core/hex.ts";
import type { Verdict } from "../routing/execute.ts";
import { MAX_LOCAL_EXECUTION_GAS } from "./evm.ts";
import { type Prepared, runTransaction } from "./transaction.ts";

/** Most runs one access list may take to settle (go-ethereum sets none; two is the rule, a third is rare). */
export const MAX_ACCESS_LIST_ROUNDS = 4;

export interface AccessListAnswer {
  accessList: AccessListEntry[];
  gasUsed: Hex;
}

const sameList = (a: readonly AccessListEntry[], b: readonly AccessListEntry[]) =>
  JSON.stringify(a) === JSON.stringify(b);

/** The access list and its gas, or why it was not made here (a bound, unproven state, a call that fails). */
export async function localAccessList({ tx, gasLimit }: Prepared): Promise<AccessListAnswer | { unexecuted: string }> {
  const gas = gasLimit < MAX_LOCAL_EXECUTION_GAS ? gasLimit : MAX_LOCAL_EXECUTION_GAS;
  let list = tx.accessList;
  for (let round = 0; round < MAX_ACCESS_LIST_ROUNDS; round++) {
    const run = await runTransaction({ ...tx, accessList: list }, gas, true);
    // A failed call's list is answered differently by every node (an error, or a list with the error beside it).
    if (run.kind !== "success")
      return { unexecuted: run.kind === "unexecuted" ? run.reason : `the call's ${run.kind}` };
    const { touched = [], seeded = [] } = run;
    if (sameList(touched, seeded)) return { accessList: seeded, gasUsed: `0x${run.gasUsed.toString(16)}` };
    list = touched;
  }
  return { unexecuted: `no settled access list in ${MAX_ACCESS_LIST_ROUNDS} runs` };
}

/** Whether an upstream's `eth_createAccessList` result is the local answer (the same accounts and slots, any order). */
export function sameAccessListAnswer(local: AccessListAnswer, result: unknown): boolean {
  const said = canonicalAccessListAnswer(result);
  if (!said || said.error !== undefined) return false;
  return BigInt(said.gasUsed) === BigInt(local.gasUsed) && sameList(said.accessList, local.accessList);
}

/**
 * For answers compared with one another (independent domains): the same list in canonical order, so two honest nodes
 * that list it in different orders agree. What is not an access list answer is a dispute.
 */
export function canonicalAccessListVerdict(result: unknown): Verdict {
  const canonical = canonicalAccessListAnswer(result);
  return canonical ? { ok: true, value: canonical } : { ok: false, reason: "not an access list answer" };
}
