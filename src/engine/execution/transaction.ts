/**
 * A call run here as the transaction a node runs for `eth_estimateGas` and `eth_createAccessList` (go-ethereum's
 * `ApplyMessage` with the nonce and sender-code checks skipped, as for calls): the intrinsic gas charged first; the
 * sender's balance checked for gas × fee cap + value and the gas bought; the sender, the recipient, the precompiles,
 * the coinbase (Shanghai) and the access list warm from the start; refunds capped at a fifth of the gas used; the
 * EIP-7623 calldata floor. With `trace`, the accounts and slots the execution touched, recorded as go-ethereum's
 * `AccessListTracer` records them (the sender, the recipient and the precompiles left out, slots of any account kept).
 */
import { bytesToHex, getAddress, getContractAddress, hexToBytes } from "viem";
import { type AccessListEntry, canonicalAccessList, slotKey } from "../../core/execution/access-list.ts";
import type { CallRequest } from "../../core/execution/call-request.ts";
import { intrinsicGas } from "../../core/execution/intrinsic-gas.ts";
import type { Hex } from "../../core/hex.ts";
import type { AnchoredBlock } from "../verification/state-reads.ts";
import {
  createLocalEvm,
  type LocalBlock,
  MAX_EXECUTION_PROOFS,
  MAX_LOCAL_EXECUTION_GAS,
  unexecutedReason,
} from "./evm.ts";

/** London's refund cap (EIP-3529): at most a fifth of the gas used is given back. */
const MAX_REFUND_QUOTIENT = 5n;

export interface LocalTransaction extends LocalBlock {
  /** From, to, data, value and the price paid per gas (its `gas` is not read: each run states its limit). */
  request: CallRequest;
  /** What the balance must cover per unit of gas: the fee cap, else the gas price, else 0. */
  feeCap: bigint;
  accessList: readonly AccessListEntry[];
}

/** What `eth_estimateGas` and `eth_createAccessList` start from: the anchored block and the call as a transaction. */
export interface Prepared {
  anchored: AnchoredBlock;
  tx: LocalTransaction;
  /** The gas limit the call states (at least 21,000), else the block's; at most the configured cap. */
  gasLimit: bigint;
}

export type TransactionOutcome =
  | {
      kind: "success" | "revert";
      returnData: Hex;
      /** Charged: after refunds, at least the calldata floor. */
      gasUsed: bigint;
      /** The most the run held before refunds (at least the floor): what a limit must cover. */
      peakGasUsed: bigint;
      /** With `trace`: what it touched, in canonical order. */
      touched?: AccessListEntry[];
      /** With `trace`: what the tracer started from (the given list, less the accounts warm anyway without slots). */
      seeded?: AccessListEntry[];
    }
  /** The EVM stopped with an error other than REVERT; `outOfGas` when more gas might have mended it. */
  | { kind: "failure"; error: string; outOfGas: boolean }
  /** The limit is under the intrinsic gas or the calldata floor: the transaction is invalid at it. */
  | { kind: "intrinsic" }
  /** The sender cannot pay gas × fee cap + value (go-ethereum's words). */
  | { kind: "funds"; error: string }
  | { kind: "unexecuted"; reason: string };

export async function runTransaction(
  tx: LocalTransaction,
  gasLimit: bigint,
  trace = false,
): Promise<TransactionOutcome> {
  const { request, hardfork, proven } = tx;
  if (gasLimit > MAX_LOCAL_EXECUTION_GAS)
    return { kind: "unexecuted", reason: `more than ${MAX_LOCAL_EXECUTION_GAS} gas` };
  const intrinsic = intrinsicGas({ data: request.data, creation: !request.to, accessList: tx.accessList }, hardfork);
  if (gasLimit < intrinsic.gas || gasLimit < intrinsic.floor) return { kind: "intrinsic" };
  try {
    const { evm, block, util } = await createLocalEvm(tx, request.gasPrice);
    const from = util.createAddressFromString(request.from);
    const sender = (await evm.stateManager.getAccount(from)) ?? new util.Account();
    const want = gasLimit * tx.feeCap + request.value;
    if (sender.balance < want)
      return {
        kind: "funds",
        error: `insufficient funds for gas * price + value: address ${getAddress(request.from)} have ${sender.balance} want ${want}`,
      };
    sender.balance -= gasLimit * request.gasPrice;
    await evm.stateManager.putAccount(from, sender);
    const to = request.to ?? getContractAddress({ from: request.from, nonce: sender.nonce }).toLowerCase();
    const precompiles = [...evm.precompiles.keys()].map((a) => `0x${a}`);
    for (const address of [...precompiles, request.from, ...(request.to ? [request.to] : [])])
      evm.journal.addAlwaysWarmAddress(address);
    if (hardfork !== "london") evm.journal.addAlwaysWarmAddress(tx.env.coinbase);
    for (const { address, storageKeys } of tx.accessList) {
      evm.journal.addAlwaysWarmAddress(address);
      for (const key of storageKeys) evm.journal.addAlwaysWarmSlot(address, key);
    }
    const tracer = trace ? accessTracer(new Set([request.from, to, ...precompiles]), tx.accessList) : undefined;
    if (tracer) tracer.attach(evm.journal);
    const { execResult } = await evm.runCall({
      block,
      caller: from,
      origin: from,
      ...(request.to ? { to: util.createAddressFromString(request.to) } : {}),
      data: hexToBytes(request.data),
      value: request.value,
      gasLimit: gasLimit - intrinsic.gas,
      gasPrice: request.gasPrice,
    });
    if (proven.asked() > MAX_EXECUTION_PROOFS)
      return { kind: "unexecuted", reason: `more than ${MAX_EXECUTION_PROOFS} proofs` };
    const used = intrinsic.gas + execResult.executionGasUsed;
    const floored = (gas: bigint) => (gas < intrinsic.floor ? intrinsic.floor : gas);
    const error = execResult.exceptionError?.error;
    if (error !== undefined && error !== "revert")
      return { kind: "failure", error: String(error), outOfGas: error === "out of gas" };
    const refund = error === undefined ? min(execResult.gasRefund ?? 0n, used / MAX_REFUND_QUOTIENT) : 0n;
    return {
      kind: error === undefined ? "success" : "revert",
      returnData: bytesToHex(execResult.returnValue),
      gasUsed: floored(used - refund),
      peakGasUsed: floored(used),
      ...(tracer ? { touched: tracer.list(), seeded: tracer.seeded } : {}),
    };
  } catch (error) {
    return { kind: "unexecuted", reason: unexecutedReason(error) };
  }
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The two questions the EVM asks its journal each time an opcode reaches an account or a slot (EIP-2929). */
interface WarmthJournal {
  isWarmedAddress(address: Uint8Array): boolean;
  isWarmedStorage(address: Uint8Array, slot: Uint8Array): boolean;
}

/**
 * go-ethereum's `AccessListTracer`: every slot SLOAD or SSTORE reaches in the running account; every account BALANCE,
 * EXTCODE*, SELFDESTRUCT or a CALL of any kind reaches, but for `excluded` (warm anyway). Starts from `given`.
 *
 * It listens where those opcodes ask whether what they reach is warm (each asks, warm or cold, before it is charged)
 * rather than at every step: a step event copies the stack and memory, which made a Multicall3 of 50 reads take half
 * a second to trace. Unlike go-ethereum's, it also hears a CREATE ask about its creator, already listed whenever it
 * was reached by a call.
 */
function accessTracer(excluded: ReadonlySet<string>, given: readonly AccessListEntry[]) {
  const touched = new Map<string, Set<Hex>>();
  const address = (a: string) => {
    if (!touched.has(a)) touched.set(a, new Set());
  };
  const slot = (a: string, key: Hex) => {
    address(a);
    touched.get(a)!.add(key);
  };
  for (const entry of given) {
    if (!excluded.has(entry.address)) address(entry.address);
    for (const key of entry.storageKeys) slot(entry.address, key);
  }
  const list = () =>
    canonicalAccessList([...touched].map(([a, keys]) => ({ address: a as Hex, storageKeys: [...keys] })));
  const seeded = list();
  function attach(journal: WarmthJournal) {
    const isWarmedAddress = journal.isWarmedAddress.bind(journal);
    const isWarmedStorage = journal.isWarmedStorage.bind(journal);
    journal.isWarmedAddress = (a) => {
      const hex = bytesToHex(a);
      if (!excluded.has(hex)) address(hex);
      return isWarmedAddress(a);
    };
    journal.isWarmedStorage = (a, key) => {
      slot(bytesToHex(a), slotKey(bytesToHex(key)));
      return isWarmedStorage(a, key);
    };
  }
  return { attach, list, seeded };
}
