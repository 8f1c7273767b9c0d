/**
 * Runs one call in @ethereumjs/evm at an anchored block, over state proven as the execution touches it
 * (proven-state.ts), with the block's own header fields and the hardfork its chain was running. The EVM library is
 * loaded on the first call that needs it (a chunk of its own in the browser bundle).
 *
 * The state manager is ethereumjs's in-memory one with checkpoints, filled lazily: an account, slot or code the call
 * reads for the first time is proven and put into every checkpoint layer, as if it had been there from the start; what
 * the call writes stays in the layers and is thrown away with them.
 */

import { bytesToHex, hexToBytes } from "viem";
import { BaseError } from "../../core/errors.ts";
import type { BlockEnv, ExecutionHardfork } from "../../core/execution/block-env.ts";
import type { CallRequest } from "../../core/execution/call-request.ts";
import { type BlobSchedule, blobBaseFee } from "../../core/fees/blob-fee.ts";
import type { Hex } from "../../core/hex.ts";
import { type ProvenState, UnprovenStateError } from "./proven-state.ts";

/** Most accounts, slots and codes one call may prove; a call that needs more is not executed here. */
export const MAX_EXECUTION_PROOFS = 512;
/**
 * Most gas one call may burn here. The EVM runs on the event loop: 3M gas of a tight loop takes about 200 ms of CPU
 * (50M would take 3.4 s). A call that needs more (most take well under 1M; Multicall3 of 50 balanceOf about 200k) is
 * answered by independent domains instead.
 */
export const MAX_LOCAL_EXECUTION_GAS = 3_000_000n;

export type LocalOutcome =
  | { kind: "success"; returnData: Hex; gasUsed: bigint }
  | { kind: "revert"; returnData: Hex; gasUsed: bigint }
  /** The EVM stopped with an error other than REVERT (out of gas, invalid opcode…). */
  | { kind: "failure"; error: string }
  /** Not executed here: state that could not be proven, a bound, or what this EVM cannot run. */
  | { kind: "unexecuted"; reason: string };

type Evm = typeof import("@ethereumjs/evm");
type CommonLib = typeof import("@ethereumjs/common");
type StateLib = typeof import("@ethereumjs/statemanager");
type Util = typeof import("@ethereumjs/util");
let libraries: Promise<{ evm: Evm; common: CommonLib; state: StateLib; util: Util }> | undefined;

function load() {
  libraries ??= Promise.all([
    import("@ethereumjs/evm"),
    import("@ethereumjs/common"),
    import("@ethereumjs/statemanager"),
    import("@ethereumjs/util"),
  ]).then(([evm, common, state, util]) => ({ evm, common, state, util }));
  return libraries;
}

/** The block a run here executes at: its chain, header fields, rules and anchored history, over proven state. */
export interface LocalBlock {
  chainId: number;
  env: BlockEnv;
  hardfork: ExecutionHardfork;
  /** The blob schedule the block ran under, when known (core/fees/blob-fee.ts): what BLOBBASEFEE reads. */
  blobSchedule: BlobSchedule | undefined;
  proven: ProvenState;
  blockHash(number: bigint): Promise<Hex | undefined>;
}

export async function runLocally(at: LocalBlock, request: CallRequest): Promise<LocalOutcome> {
  const { proven } = at;
  try {
    const { evm, block, util } = await createLocalEvm(at, request.gasPrice);
    const result = await evm.runCall({
      block,
      caller: util.createAddressFromString(request.from),
      origin: util.createAddressFromString(request.from),
      ...(request.to ? { to: util.createAddressFromString(request.to) } : {}),
      data: hexToBytes(request.data),
      value: request.value,
      gasLimit: request.gas < MAX_LOCAL_EXECUTION_GAS ? request.gas : MAX_LOCAL_EXECUTION_GAS,
      gasPrice: request.gasPrice,
      ...(request.blobVersionedHashes ? { blobVersionedHashes: request.blobVersionedHashes } : {}),
    });
    if (proven.asked() > MAX_EXECUTION_PROOFS)
      return { kind: "unexecuted", reason: `more than ${MAX_EXECUTION_PROOFS} proofs` };
    const { execResult } = result;
    const returnData = bytesToHex(execResult.returnValue);
    if (!execResult.exceptionError) return { kind: "success", returnData, gasUsed: execResult.executionGasUsed };
    if (execResult.exceptionError.error === "revert")
      return { kind: "revert", returnData, gasUsed: execResult.executionGasUsed };
    if (request.gas > MAX_LOCAL_EXECUTION_GAS && execResult.exceptionError.error === "out of gas")
      return { kind: "unexecuted", reason: `more than ${MAX_LOCAL_EXECUTION_GAS} gas` };
    return { kind: "failure", error: String(execResult.exceptionError.error) };
  } catch (error) {
    return { kind: "unexecuted", reason: unexecutedReason(error) };
  }
}

/**
 * An EVM at an anchored block over proven state: the block's header fields, its hardfork's rules, BLOCKHASH from the
 * anchored chain. `gasPrice` 0 runs it with no base fee, as nodes run calls that pay nothing.
 */
export async function createLocalEvm(at: LocalBlock, gasPrice: bigint) {
  const { chainId, env, hardfork, proven, blockHash } = at;
  const lib = await load();
  const common = lib.common.createCustomCommon({ chainId }, lib.common.Mainnet, { hardfork });
  const stateManager = provenStateManager(lib, proven);
  const evm = await lib.evm.createEVM({
    common,
    stateManager,
    blockchain: {
      async getBlock(number: number) {
        const hash = await blockHash(BigInt(number));
        if (!hash) throw new UnprovenStateError(`no anchored hash for block ${number} (BLOCKHASH)`);
        return { hash: () => hexToBytes(hash) };
      },
      shallowCopy() {
        return this;
      },
    } as never,
  });
  const excessBlobGas = env.excessBlobGas === undefined ? undefined : BigInt(env.excessBlobGas);
  const block = {
    header: {
      number: BigInt(env.number),
      coinbase: lib.util.createAddressFromString(env.coinbase),
      timestamp: BigInt(env.timestamp),
      difficulty: BigInt(env.difficulty),
      prevRandao: hexToBytes(env.prevRandao),
      gasLimit: BigInt(env.gasLimit),
      // A call that pays nothing runs with no base fee, as nodes run eth_call (BASEFEE then reads 0).
      baseFeePerGas: gasPrice === 0n ? 0n : env.baseFeePerGas === undefined ? undefined : BigInt(env.baseFeePerGas),
      getBlobGasPrice: () => blobGasPrice(excessBlobGas, at.blobSchedule),
    },
  };
  return { evm, block, util: lib.util };
}

/** Why a run threw: state that could not be proven, a bound reached, or something this EVM cannot run. */
export function unexecutedReason(error: unknown): string {
  if (error instanceof UnprovenStateError || error instanceof ExecutionBoundError) return error.message;
  return `the EVM could not run it: ${(error as Error).message}`;
}

/** A bound on what one call may cost was reached. */
class ExecutionBoundError extends BaseError<"execution_bound"> {
  override readonly name = "ExecutionBoundError";
  readonly code = "execution_bound";
}

/**
 * BLOBBASEFEE: the blob base fee of the block from its excess blob gas under its blob schedule (1 wei at no excess,
 * whatever the schedule). A schedule not known here (a chain without a fork schedule, BPO forks not known) cannot be
 * run here: the call is answered by independent domains.
 */
function blobGasPrice(excessBlobGas: bigint | undefined, schedule: BlobSchedule | undefined): bigint | undefined {
  if (excessBlobGas === undefined) return undefined;
  if (excessBlobGas === 0n) return 1n;
  if (!schedule) throw new UnprovenStateError("the blob schedule of this block is not known here (BLOBBASEFEE)");
  return blobBaseFee(excessBlobGas, schedule);
}

/** ethereumjs's in-memory state manager, filled from proofs the first time a piece of state is read. */
function provenStateManager(lib: { state: StateLib; util: Util }, proven: ProvenState) {
  const { util } = lib;
  const bound = () => {
    if (proven.asked() > MAX_EXECUTION_PROOFS)
      throw new ExecutionBoundError(`more than ${MAX_EXECUTION_PROOFS} proofs`);
  };
  class ProvenStateManager extends lib.state.SimpleStateManager {
    /** Puts a proven piece into every layer that does not hold the key yet (a lower layer's write would be there). */
    private seed<V>(stack: Map<string, V>[], key: string, value: V) {
      for (const layer of stack) if (!layer.has(key)) layer.set(key, value);
    }
    override async getAccount(address: InstanceType<Util["Address"]>) {
      const key = address.toString();
      if (!this.topAccountStack().has(key)) {
        bound();
        const account = await proven.account(key as Hex);
        const value =
          account &&
          new util.Account(
            account.nonce,
            account.balance,
            hexToBytes(account.storageRoot),
            hexToBytes(account.codeHash),
          );
        this.seed(this.accountStack, key, value);
      }
      return super.getAccount(address);
    }
    override async getCode(address: InstanceType<Util["Address"]>) {
      const key = address.toString();
      if (!this.topCodeStack().has(key)) {
        bound();
        this.seed(this.codeStack, key, await proven.code(key as Hex));
      }
      return super.getCode(address);
    }
    override async getStorage(address: InstanceType<Util["Address"]>, slot: Uint8Array) {
      const key = `${address.toString()}_${bytesToHex(slot)}`;
      if (!this.topStorageStack().has(key) && !this.cleared.has(address.toString())) {
        bound();
        const value = await proven.storage(address.toString() as Hex, bytesToHex(slot));
        this.seed(this.storageStack, key, value === 0n ? new Uint8Array(0) : util.bigIntToUnpaddedBytes(value));
      }
      return super.getStorage(address, slot);
    }
    /**
     * Accounts whose storage the call cleared (a contract it created and destroyed): a slot not written since reads as
     * empty, not as proven. Kept across a revert of the clearing frame: such a frame's account is gone with it anyway.
     */
    private cleared = new Set<string>();
    override async clearStorage(address: InstanceType<Util["Address"]>) {
      this.cleared.add(address.toString());
      return super.clearStorage(address);
    }
  }
  return new ProvenStateManager();
}
