/**
 * `eth_estimateGas` and `eth_createAccessList` proven: run here as transactions (transaction.ts) at the anchored block,
 * over the state `eth_call` proves (one cache per chain), while one upstream answers the same question.
 * - An estimate is searched for as go-ethereum searches (core/execution/gas-estimate.ts). The upstream's figure agrees
 *   when it is enough here and ours is not below it by more than the search's error ratio (`estimateAgrees`).
 * - An access list is traced as go-ethereum traces it, applied, and traced again until it no longer changes; the
 *   upstream's agrees when it lists the same accounts and slots (in any order) and the same gas.
 * - Agreed, the answer made here is served as `proof` (every byte of it from the local run). Otherwise independent
 *   domains decide, as for `eth_call`: the side they agree with wins, the upstream that differed is disputed, a rule this
 *   EVM runs differently from the chain is logged. An estimate above ours that is enough is not held against its
 *   upstream: other clients search differently (with margins, or to other tolerances), and a figure that suffices harms
 *   no one — the client is served ours either way. Nor is a differing access list: clients' tracers leave out
 *   different accounts. Not run here (a bound, state that could not be proven, a failed
 *   access-list run): `quorum`, as before.
 */
import { readAccessList } from "../../core/execution/access-list.ts";
import { hardforkOf } from "../../core/execution/block-env.ts";
import { readCall } from "../../core/execution/call-request.ts";
import { initCodeTooLarge } from "../../core/execution/intrinsic-gas.ts";
import { blobScheduleAt } from "../../core/fees/blob-fee.ts";
import type { Hex } from "../../core/hex.ts";
import { isQuantity } from "../../core/routing/estimate.ts";
import { toHex } from "../../core/rpc/methods.ts";
import type { CallAnswer, Evidence } from "../answers/answer.ts";
import { letIoOut } from "../io-turn.ts";
import type { ExecuteResult } from "../routing/execute.ts";
import type { AnchoredBlock } from "../verification/state-reads.ts";
import { localAccessList, sameAccessListAnswer } from "./local-access-list.ts";
import { type EstimateOutcome, estimateHere, outcomeAgrees } from "./local-estimate.ts";
import type { createProvenStates } from "./proven-state.ts";
import type { LocalTransaction, Prepared } from "./transaction.ts";
import { LOCAL_EXECUTION_STACKS, revertError, type VerifiedCallDeps } from "./verified-call.ts";

export interface VerifiedEstimateDeps extends VerifiedCallDeps {
  /** The proven state `eth_call` runs over: one per chain. */
  states: ReturnType<typeof createProvenStates>;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

export function createVerifiedEstimates(deps: VerifiedEstimateDeps) {
  const { states } = deps;

  /** `hinted`: an upstream's access list is asked ahead for a callee not proven yet at this block (see `hint`). */
  async function prepare(params: unknown[], blockNumber: number, hinted: boolean): Promise<Prepared | undefined> {
    if (!LOCAL_EXECUTION_STACKS.has(deps.stack)) return undefined;
    const anchored = await deps.anchor(blockNumber);
    const env = anchored && anchored.headerDigest === undefined ? anchored.env : undefined;
    const hardfork = env && hardforkOf(env, deps.forks);
    if (!anchored || !env || !hardfork) return undefined;
    const baseFee = env.baseFeePerGas === undefined ? undefined : BigInt(env.baseFeePerGas);
    const read = readCall(params, BigInt(env.gasLimit), BigInt(deps.gasCap), baseFee);
    if (!read.ok || read.request.blobVersionedHashes) return undefined;
    const call = params[0] as Record<string, unknown>;
    const accessList = readAccessList(call.accessList);
    const feeCap = BigInt((call.maxFeePerGas ?? call.gasPrice ?? "0x0") as string);
    // A fee cap under the base fee is refused by nodes before anything runs: their words, not this EVM's.
    if (!accessList || (call.maxFeePerGas !== undefined && baseFee !== undefined && feeCap < baseFee)) return undefined;
    const { request } = read;
    if (initCodeTooLarge({ data: request.data, creation: !request.to }, hardfork)) return undefined;
    const stated = call.gas === undefined || call.gas === null ? undefined : BigInt(call.gas as string);
    const gasLimit = min(
      stated !== undefined && stated >= 21_000n ? stated : BigInt(env.gasLimit),
      BigInt(deps.gasCap),
    );
    if (hinted) hint(anchored, request.to, params, blockNumber);
    const proven = states.at(anchored);
    // The sender and the callee are read first by every run: proven side by side.
    void proven.account(request.from).catch(() => {});
    if (request.to) void proven.account(request.to).catch(() => {});
    const blockHash = async (n: bigint) => (await deps.anchor(Number(n)))?.hash;
    const tx: LocalTransaction = {
      chainId: deps.chainId,
      env,
      hardfork,
      blobSchedule: blobScheduleAt(Number(BigInt(env.timestamp)), deps.chainId, deps.forks),
      proven,
      blockHash,
      request,
      feeCap,
      accessList,
    };
    return { anchored, tx, gasLimit };
  }

  /** One upstream's answer to the same question, asked alongside the local run. */
  const upstreamAnswer = (method: string, params: unknown[], blockNumber: number) =>
    deps.execute({ method, params, heavy: true, minBlock: blockNumber });

  const evidenceOf = (anchored: AnchoredBlock, upstream?: string): Evidence => ({
    blockNumber: anchored.number,
    verified: "proof",
    blockHash: anchored.hash,
    domains: anchored.domains,
    ...(upstream ? { upstream } : {}),
  });

  /**
   * The local answer when the upstream's agrees, or when independent domains side with it (the upstream is then
   * disputed); theirs when they agree with each other against it (logged: a rule this EVM runs differently).
   */
  async function decide(
    method: string,
    anchored: AnchoredBlock,
    upstream: ExecuteResult,
    agrees: (said: ExecuteResult | CallAnswer) => Promise<boolean>,
    answer: (evidence: Evidence) => CallAnswer,
    describe: () => string,
    agree: () => Promise<CallAnswer>,
    /** Whether an upstream's differing answer is a fault to dispute (default: any difference is). */
    faulty: (said: ExecuteResult) => boolean = () => true,
  ): Promise<CallAnswer> {
    const said = "upstream" in upstream ? upstream : undefined;
    if (said && (await agrees(said))) return answer(evidenceOf(anchored, said.upstream));
    const agreed = await agree();
    if (await agrees(agreed)) {
      if (said && faulty(said))
        deps.onDispute(said.upstream, `${method} answer differs from its execution over proven state`);
      return answer(evidenceOf(anchored, agreed.evidence.upstream));
    }
    deps.onMismatch({ blockNumber: anchored.number, local: `${method} ${describe()}`, agreed: describeAnswer(agreed) });
    return agreed;
  }

  /** `eth_estimateGas(params)` at `blockNumber`; `agree` answers it from independent domains when it cannot be proven. */
  async function estimateGas(
    params: unknown[],
    blockNumber: number,
    agree: () => Promise<CallAnswer>,
  ): Promise<CallAnswer> {
    const prepared = await prepare(params, blockNumber, true);
    if (!prepared) return agree();
    const asked = upstreamAnswer("eth_estimateGas", params, blockNumber);
    await letIoOut();
    const local = await estimateHere(prepared);
    const upstream = await asked;
    if (local.kind === "unexecuted") return agree();
    return decide(
      "eth_estimateGas",
      prepared.anchored,
      upstream,
      (said) => outcomeAgrees(prepared, local, said),
      (evidence) => estimateAnswer(local, evidence),
      () => describeEstimate(local),
      agree,
      // A figure at or above ours is enough: another estimator's, not a lie (only one too low makes a sender lose).
      (said) => !(said.ok && local.kind === "estimate" && isQuantity(said.result) && BigInt(said.result) >= local.gas),
    );
  }

  /** `eth_createAccessList(params)` at `blockNumber`, as `estimateGas`. */
  async function createAccessList(
    params: unknown[],
    blockNumber: number,
    agree: () => Promise<CallAnswer>,
  ): Promise<CallAnswer> {
    const prepared = await prepare(params, blockNumber, false);
    if (!prepared) return agree();
    const asked = upstreamAnswer("eth_createAccessList", params, blockNumber);
    // The upstream's list is also a hint of what to prove ahead (never truth: the run proves what it reads).
    void asked.then(
      (r) => r.ok && states.prefetch(prepared.anchored, (r.result as { accessList?: unknown })?.accessList),
    );
    await letIoOut();
    const local = await localAccessList(prepared);
    const upstream = await asked;
    if ("unexecuted" in local) return agree();
    const agrees = async (said: ExecuteResult | CallAnswer) => said.ok && sameAccessListAnswer(local, said.result);
    return decide(
      "eth_createAccessList",
      prepared.anchored,
      upstream,
      agrees,
      (evidence) => ({ ok: true, result: local, evidence }),
      () => `${local.accessList.length} accounts, gas ${BigInt(local.gasUsed)}`,
      agree,
      // Clients' tracers leave out different accounts (the coinbase, precompiles of later forks): a list that differs
      // is not held against its upstream. The client is served the list traced here either way.
      () => false,
    );
  }

  /**
   * A call to a contract not yet proven at this block: an upstream's access list says what it will read, proven ahead
   * in one request per account (a hint, as for `eth_call`).
   */
  function hint(anchored: AnchoredBlock, to: Hex | undefined, params: unknown[], blockNumber: number) {
    if (!to || states.known(anchored, to)) return;
    void upstreamAnswer("eth_createAccessList", [params[0], toHex(blockNumber)], blockNumber).then(
      (r) => r.ok && states.prefetch(anchored, (r.result as { accessList?: unknown } | null)?.accessList),
    );
  }

  return { estimateGas, createAccessList };
}

/** The client's answer, every byte of it from the local search. */
function estimateAnswer(local: Exclude<EstimateOutcome, { kind: "unexecuted" }>, evidence: Evidence): CallAnswer {
  if (local.kind === "estimate") return { ok: true, result: `0x${local.gas.toString(16)}`, evidence };
  if (local.kind === "revert") return { ok: false, rpcError: revertError(local.returnData), evidence };
  return { ok: false, rpcError: { code: -32000, message: local.error }, evidence };
}

function describeEstimate(local: Exclude<EstimateOutcome, { kind: "unexecuted" }>): string {
  if (local.kind === "estimate") return `estimate ${local.gas}`;
  return local.kind === "revert" ? `revert ${local.returnData.slice(0, 74)}` : `error ${local.error.slice(0, 60)}`;
}

function describeAnswer(answer: CallAnswer): string {
  if (answer.ok) return `success ${JSON.stringify(answer.result).slice(0, 74)}`;
  return "rpcError" in answer ? `error ${answer.rpcError.code} ${answer.rpcError.message.slice(0, 60)}` : "no answer";
}
