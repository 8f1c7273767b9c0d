/**
 * What a transaction pays before its first opcode runs, and the least it pays in all, under the rules of the fork its
 * block runs: go-ethereum's `IntrinsicGas` and `FloorDataGas`. (@ethereumjs/common knows these figures only together
 * with @ethereumjs/tx, which Multihome does not load: they are written here, each with the EIP that set it.)
 */
import type { Hex } from "../hex.ts";
import type { AccessListEntry } from "./access-list.ts";
import { EXECUTION_HARDFORKS, type ExecutionHardfork } from "./block-env.ts";

/** Every transaction (Frontier). */
const TX_GAS = 21_000n;
/** A transaction that creates a contract (Homestead). */
const TX_CREATION_GAS = 53_000n;
/** A zero byte of calldata. */
const DATA_ZERO_GAS = 4n;
/** A non-zero byte of calldata (EIP-2028). */
const DATA_NON_ZERO_GAS = 16n;
/** An address of the access list (EIP-2930). */
const ACCESS_LIST_ADDRESS_GAS = 2_400n;
/** A storage key of the access list (EIP-2930). */
const ACCESS_LIST_SLOT_GAS = 1_900n;
/** A 32-byte word of a creation's init code (EIP-3860, Shanghai). */
const INIT_CODE_WORD_GAS = 2n;
/** A calldata token: the least a transaction pays per token (EIP-7623, Prague; a zero byte is one token, others 4). */
const FLOOR_GAS_PER_TOKEN = 10n;
/** The largest init code a creation may carry (EIP-3860, Shanghai), bytes. */
const MAX_INIT_CODE_BYTES = 49_152;

export interface IntrinsicGas {
  /** Charged before execution: the gas limit must be at least this. */
  gas: bigint;
  /** What the transaction pays at least, whatever it used (EIP-7623; 0 before Prague): the limit must reach it too. */
  floor: bigint;
}

const since = (hardfork: ExecutionHardfork, fork: ExecutionHardfork) =>
  EXECUTION_HARDFORKS.indexOf(hardfork) >= EXECUTION_HARDFORKS.indexOf(fork);

/** Zero and non-zero bytes of `data` (`0x`-prefixed, even length). */
function countBytes(data: Hex): { zero: bigint; nonZero: bigint } {
  let zero = 0;
  for (let i = 2; i < data.length; i += 2) if (data[i] === "0" && data[i + 1] === "0") zero++;
  const total = (data.length - 2) / 2;
  return { zero: BigInt(zero), nonZero: BigInt(total - zero) };
}

export function intrinsicGas(
  tx: { data: Hex; creation: boolean; accessList: readonly AccessListEntry[] },
  hardfork: ExecutionHardfork,
): IntrinsicGas {
  const { zero, nonZero } = countBytes(tx.data);
  let gas = tx.creation ? TX_CREATION_GAS : TX_GAS;
  gas += zero * DATA_ZERO_GAS + nonZero * DATA_NON_ZERO_GAS;
  if (tx.creation && since(hardfork, "shanghai")) {
    const words = (BigInt((tx.data.length - 2) / 2) + 31n) / 32n;
    gas += words * INIT_CODE_WORD_GAS;
  }
  for (const entry of tx.accessList)
    gas += ACCESS_LIST_ADDRESS_GAS + BigInt(entry.storageKeys.length) * ACCESS_LIST_SLOT_GAS;
  const floor = since(hardfork, "prague") ? TX_GAS + (zero + nonZero * 4n) * FLOOR_GAS_PER_TOKEN : 0n;
  return { gas, floor };
}

/** Init code over the EIP-3860 bound: no node runs such a creation (an error of its own). */
export function initCodeTooLarge(tx: { data: Hex; creation: boolean }, hardfork: ExecutionHardfork): boolean {
  return tx.creation && since(hardfork, "shanghai") && (tx.data.length - 2) / 2 > MAX_INIT_CODE_BYTES;
}
