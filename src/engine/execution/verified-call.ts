/**
 * `eth_call` proven: run locally at the anchored block over proven state (evm.ts), while one upstream runs it too.
 * - Both agree: the answer is `proof`. The local run binds it to the chain's state (no upstream chose a byte of it);
 *   the upstream's binds this EVM's rules to the chain's (a precompile or fork rule this library lacks would differ).
 * - They differ: independent domains are asked (`quorum`). The side they agree with wins: the local answer (still
 *   `proof`; the upstream that differed is disputed), or theirs, served as `quorum` and logged as a call this EVM
 *   runs differently from the chain (blamed on nobody).
 * - Not run locally (state that could not be proven, a bound, a block before London): `quorum`, as before.
 */
import { decodeAbiParameters } from "viem";
import type { ChainStack, ForkSchedule } from "../../core/chain-presets.ts";
import { hardforkOf } from "../../core/execution/block-env.ts";
import { readCall } from "../../core/execution/call-request.ts";
import { blobScheduleAt } from "../../core/fees/blob-fee.ts";
import type { Hex } from "../../core/hex.ts";
import type { RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import { toHex } from "../../core/rpc/methods.ts";
import type { CallAnswer, Evidence } from "../answers/answer.ts";
import { letIoOut } from "../io-turn.ts";
import type { CallPlan, ExecuteResult } from "../routing/execute.ts";
import type { AnchoredBlock } from "../verification/state-reads.ts";
import { type LocalOutcome, MAX_LOCAL_EXECUTION_GAS, runLocally } from "./evm.ts";
import { createProvenStates } from "./proven-state.ts";

export interface VerifiedCallDeps {
  chainId: number;
  stack: ChainStack;
  forks?: ForkSchedule;
  /** The most gas a call runs with. */
  gasCap: number;
  anchor(number: number): Promise<AnchoredBlock | undefined>;
  execute(plan: CallPlan): Promise<ExecuteResult>;
  onDispute(upstreamId: string, reason: string): void;
  /** This EVM and independent domains disagree on a call: for the operator, not a dispute. */
  onMismatch(detail: { blockNumber: number; local: string; agreed: string }): void;
}

/**
 * Stacks whose EVM this one runs as the chain does. Not Arbitrum: ArbOS answers NUMBER and BLOCKHASH with L1's and has
 * precompiles of its own (0x64…), so its calls are answered by independent domains as before.
 */
export const LOCAL_EXECUTION_STACKS: ReadonlySet<ChainStack> = new Set(["ethereum", "op-stack", "polygon"]);

/** The Error(string) selector Solidity reverts with. */
const ERROR_STRING = "0x08c379a0";

export function createVerifiedCalls(deps: VerifiedCallDeps) {
  const states = createProvenStates({ execute: deps.execute });

  /** `eth_call(params)` at `blockNumber`; `agree` answers it by quorum when it cannot be proven. */
  async function call(params: unknown[], blockNumber: number, agree: () => Promise<CallAnswer>): Promise<CallAnswer> {
    if (!LOCAL_EXECUTION_STACKS.has(deps.stack)) return agree();
    const anchored = await deps.anchor(blockNumber);
    // Roots agreed on (a header that could not be hashed) prove nothing further by themselves: quorum as before.
    const env = anchored && anchored.headerDigest === undefined ? anchored.env : undefined;
    const hardfork = env && hardforkOf(env, deps.forks);
    if (!anchored || !env || !hardfork) return agree();
    const baseFee = env.baseFeePerGas === undefined ? undefined : BigInt(env.baseFeePerGas);
    const read = readCall(params, BigInt(env.gasLimit), BigInt(deps.gasCap), baseFee);
    if (!read.ok) return agree();
    const blockHash = async (n: bigint) => (await deps.anchor(Number(n)))?.hash;
    // A call to a contract whose state at this block is not proven yet: an upstream's access list says what it will
    // read, so that is proven ahead in one request per account (a hint: the execution still proves what it reads).
    const { to } = read.request;
    if (to && !states.known(anchored, to))
      void deps
        .execute({
          method: "eth_createAccessList",
          params: [params[0], toHex(blockNumber)],
          heavy: true,
          minBlock: blockNumber,
        })
        .then((r) => r.ok && states.prefetch(anchored, (r.result as { accessList?: unknown } | null)?.accessList));
    const view = states.at(anchored);
    // The sender and the callee are read first by every call: proven side by side, not one after the other.
    void view.account(read.request.from).catch(() => {});
    if (to) void view.account(to).catch(() => {});
    // The upstream's call leaves before the local run: a run over proven state never waits for I/O, so a request sent
    // just before it would leave only once it ended (the warm Multicall3 of 50: 2.2x the unverified call, not 1.3x).
    const asked = deps.execute({ method: "eth_call", params, heavy: true, minBlock: blockNumber });
    await letIoOut();
    const local = await runLocally(
      {
        chainId: deps.chainId,
        env,
        hardfork,
        blobSchedule: blobScheduleAt(Number(BigInt(env.timestamp)), deps.chainId, deps.forks),
        proven: view,
        blockHash,
      },
      read.request,
    );
    const upstream = await asked;
    if (local.kind === "unexecuted") return agree();
    const evidence = (upstream?: string): Evidence => ({
      blockNumber: anchored.number,
      verified: "proof",
      blockHash: anchored.hash,
      domains: anchored.domains,
      ...(upstream ? { upstream } : {}),
    });
    const said = "upstream" in upstream ? upstream : undefined;
    if (said && sameOutcome(local, said)) return answerOf(local, evidence(said.upstream));
    const agreed = await agree();
    if (sameOutcome(local, agreed)) {
      if (said) deps.onDispute(said.upstream, "call answer differs from its execution over proven state");
      return answerOf(local, evidence(agreed.evidence.upstream));
    }
    // Run with less gas than asked (MAX_LOCAL_EXECUTION_GAS), a call that reads GAS may differ: not worth a word.
    if (read.request.gas <= MAX_LOCAL_EXECUTION_GAS)
      deps.onMismatch({ blockNumber: anchored.number, local: describe(local), agreed: describeAnswer(agreed) });
    return agreed;
  }

  /**
   * The client's answer, every byte of it from the local run: its return data, its revert data (and reason), or the
   * error it stopped with (out of gas, invalid opcode…) — never the words of the upstream it was compared with.
   */
  function answerOf(local: Exclude<LocalOutcome, { kind: "unexecuted" }>, evidence: Evidence): CallAnswer {
    if (local.kind === "success") return { ok: true, result: local.returnData, evidence };
    if (local.kind === "revert") return { ok: false, rpcError: revertError(local.returnData), evidence };
    return { ok: false, rpcError: { code: -32000, message: local.error }, evidence };
  }

  return { call, states };
}

/** What a node says of a revert: code 3, "execution reverted" (with the Error(string) reason), the revert data. */
export function revertError(data: Hex): RpcErrorObject {
  let reason = "";
  if (data.startsWith(ERROR_STRING)) {
    try {
      reason = `: ${decodeAbiParameters([{ type: "string" }], `0x${data.slice(10)}`)[0]}`;
    } catch {
      // Not a well-formed Error(string): the data says what it says.
    }
  }
  return { code: 3, message: `execution reverted${reason}`, data };
}

function isRevert(error: RpcErrorObject): boolean {
  return error.code === 3 || /revert/i.test(error.message);
}

/** Whether an upstream's or the quorum's answer is the local outcome. */
function sameOutcome(local: LocalOutcome, said: ExecuteResult | CallAnswer): boolean {
  if (said.ok) return local.kind === "success" && String(said.result).toLowerCase() === local.returnData;
  if (!("rpcError" in said)) return false;
  const error = said.rpcError;
  if (isRevert(error)) {
    const data = typeof error.data === "string" ? error.data.toLowerCase() : "0x";
    return local.kind === "revert" && data === local.returnData;
  }
  return local.kind === "failure";
}

function describe(local: LocalOutcome): string {
  if (local.kind === "success" || local.kind === "revert") return `${local.kind} ${local.returnData.slice(0, 74)}`;
  return local.kind === "failure" ? `failure ${local.error}` : `unexecuted ${local.reason}`;
}

function describeAnswer(answer: CallAnswer): string {
  if (answer.ok) return `success ${String(answer.result).slice(0, 74)}`;
  return "rpcError" in answer ? `error ${answer.rpcError.code} ${answer.rpcError.message.slice(0, 60)}` : "no answer";
}
