/**
 * What an OP-stack devnet adds to its blocks: the deposit transactions (type 0x7e) an OP-stack sequencer puts there.
 *
 * Every block of a real OP chain starts with the L1-attributes deposit: from the depositor account to the L1Block
 * predeploy, carrying the L1 origin the block was derived from (`setL1BlockValuesEcotone` calldata). The devnet plays
 * a fictional L1 with one L1 block per L2 block, whose hash depends on the L2 block's number and timestamp, so a
 * replacement block of a reorg (one second later) has an L1 origin of its own, as after an L1 reorg.
 *
 * User deposits (`mint` credits ETH to their sender on L2) are encoded here too, so a test can hand the same raw bytes
 * to every node (`devnet.sendRawTransaction`). Deposits are unsigned: anvil's `--network optimism` takes their raw
 * bytes from any sender, without impersonation.
 *
 * anvil 1.7 facts (measured): its pool keys deposits by (sender, nonce 0), so a second deposit from the same sender
 * waiting in one pool is refused as "replacement transaction underpriced": at most one deposit per sender per block.
 * `eth_getRawTransactionByHash` of a *mined* deposit crashes the node (node-ops.ts never asks it). The L1Block
 * predeploy has no code on anvil, so the L1-attributes call succeeds without storing anything (no L1 fee data).
 * anvil states a deposit's `nonce` as 0 and its receipt's `depositNonce` as the sender's nonce after the deposit (the
 * OP specification: before it).
 * Sources: the OP specification ("Deposits": source hashes, "L1 attributes deposited transaction").
 */
import {
  bytesToHex,
  concatBytes,
  type Hex,
  hexToBytes,
  keccak256,
  numberToBytes,
  padHex,
  stringToBytes,
  toFunctionSelector,
} from "viem";
import { encodeTransaction } from "../core/encodings/encode.ts";

/** Sender of every L1-attributes deposit. */
export const L1_ATTRIBUTES_DEPOSITOR = "0xdeaddeaddeaddeaddeaddeaddeaddeaddead0001" as const;
/** The L1Block predeploy, which L1-attributes deposits call. */
export const L1_BLOCK_PREDEPLOY = "0x4200000000000000000000000000000000000015" as const;
/** Gas of an L1-attributes deposit (Regolith onwards), in gas units. */
export const L1_ATTRIBUTES_GAS = 1_000_000;
/** `setL1BlockValuesEcotone()`: its arguments are packed after the selector, not ABI-encoded. */
export const SET_L1_BLOCK_VALUES_ECOTONE = toFunctionSelector("setL1BlockValuesEcotone()");

/** Source-hash domains of the OP specification. */
const USER_DEPOSIT_DOMAIN = 0n;
const L1_INFO_DEPOSIT_DOMAIN = 1n;

/** What an L1-attributes deposit tells the L2 about its L1 origin (the Ecotone layout). */
export interface L1Attributes {
  /** L1 origin. */
  number: bigint;
  /** L1 origin's timestamp, in seconds. */
  timestamp: bigint;
  hash: Hex;
  /** Position of the L2 block in its epoch (0 for the first L2 block on this L1 origin). */
  sequenceNumber: bigint;
  baseFeeScalar: bigint;
  blobBaseFeeScalar: bigint;
  /** L1 base fee, in wei. */
  baseFee: bigint;
  /** L1 blob base fee, in wei. */
  blobBaseFee: bigint;
  /** The batcher's address, left-padded to 32 bytes as the L1 system config stores it. */
  batcherHash: Hex;
}

/**
 * The fictional L1 block that L2 block `number` (mined at `timestamp`, seconds) derives from: one L1 block per L2
 * block, with OP mainnet's fee scalars and batcher, a 1 gwei base fee and the smallest blob base fee.
 */
export function devnetL1Attributes(number: number, timestamp: number): L1Attributes {
  const hash = keccak256(
    concatBytes([
      stringToBytes("multihome devnet L1"),
      numberToBytes(number, { size: 32 }),
      numberToBytes(timestamp, { size: 32 }),
    ]),
  );
  return {
    number: BigInt(number),
    timestamp: BigInt(timestamp),
    hash,
    sequenceNumber: 0n,
    baseFeeScalar: 5_227n,
    blobBaseFeeScalar: 1_014_213n,
    baseFee: 1_000_000_000n,
    blobBaseFee: 1n,
    batcherHash: padHex("0x6887246668a3b87f54deb3b94ba47a6f63f32985", { size: 32 }),
  };
}

/** `setL1BlockValuesEcotone` calldata: the selector, then the values packed (164 bytes in all). */
export function l1AttributesCalldata(a: L1Attributes): Hex {
  return bytesToHex(
    concatBytes([
      hexToBytes(SET_L1_BLOCK_VALUES_ECOTONE),
      numberToBytes(a.baseFeeScalar, { size: 4 }),
      numberToBytes(a.blobBaseFeeScalar, { size: 4 }),
      numberToBytes(a.sequenceNumber, { size: 8 }),
      numberToBytes(a.timestamp, { size: 8 }),
      numberToBytes(a.number, { size: 8 }),
      numberToBytes(a.baseFee, { size: 32 }),
      numberToBytes(a.blobBaseFee, { size: 32 }),
      hexToBytes(a.hash),
      hexToBytes(a.batcherHash),
    ]),
  );
}

/** `keccak256(domain || keccak256(l1BlockHash || index))`: index is the sequence number or the L1 log index. */
export function depositSourceHash(domain: "user" | "l1-info", l1BlockHash: Hex, index: bigint): Hex {
  const inner = keccak256(concatBytes([hexToBytes(l1BlockHash), numberToBytes(index, { size: 32 })]));
  const d = domain === "user" ? USER_DEPOSIT_DOMAIN : L1_INFO_DEPOSIT_DOMAIN;
  return keccak256(concatBytes([numberToBytes(d, { size: 32 }), hexToBytes(inner)]));
}

export interface DepositFields {
  sourceHash: Hex;
  from: Hex;
  /** Omitted: a contract creation. */
  to?: Hex;
  /** Wei credited to `from` before the call. @default 0n */
  mint?: bigint;
  /** Wei sent from `from` to `to`. @default 0n */
  value?: bigint;
  /** In gas units. */
  gas: bigint;
  /** @default "0x" */
  data?: Hex;
  /** Always false since Regolith. @default false */
  isSystemTx?: boolean;
}

/** The raw bytes of a deposit transaction: `0x7e || rlp([sourceHash, from, to, mint, value, gas, isSystemTx, data])`. */
export function encodeDeposit(fields: DepositFields): Hex {
  const { sourceHash, from, to, mint = 0n, value = 0n, gas, data = "0x", isSystemTx = false } = fields;
  const json = {
    type: "0x7e",
    sourceHash,
    from,
    to: to ?? null,
    mint: quantity(mint),
    value: quantity(value),
    gas: quantity(gas),
    isSystemTx,
    input: data,
  };
  return bytesToHex(encodeTransaction(json, "op-stack"));
}

/** The L1-attributes deposit for `attributes`: the first transaction of every OP-stack block. */
export function l1AttributesDeposit(attributes: L1Attributes): Hex {
  return encodeDeposit({
    sourceHash: depositSourceHash("l1-info", attributes.hash, attributes.sequenceNumber),
    from: L1_ATTRIBUTES_DEPOSITOR,
    to: L1_BLOCK_PREDEPLOY,
    gas: BigInt(L1_ATTRIBUTES_GAS),
    data: l1AttributesCalldata(attributes),
  });
}

/**
 * A user deposit as the L1 portal would have emitted it: `mint` wei credited to `from`, then `value` of it sent to
 * `to` with `data`. `index` tells deposits of one test apart (it stands for the L1 log index; the source hash, and so
 * the transaction hash, derive from it). @default gas 100,000
 */
export function userDeposit(options: {
  from: Hex;
  to?: Hex;
  mint?: bigint;
  value?: bigint;
  gas?: bigint;
  data?: Hex;
  index: bigint;
}): Hex {
  const { index, gas = 100_000n, ...rest } = options;
  const l1Hash = keccak256(stringToBytes("multihome devnet L1 portal"));
  return encodeDeposit({ ...rest, gas, sourceHash: depositSourceHash("user", l1Hash, index) });
}

function quantity(n: bigint): Hex {
  return `0x${n.toString(16)}`;
}
