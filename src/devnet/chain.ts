/**
 * The devnet driver's chain (devnet.ts): its log of the blocks it mined, its view of every node, and the small steps
 * that mining (mine.ts), catching a node up (resync.ts) and reorgs (reorg.ts) share.
 */

import { keccak256 } from "viem";
import type { AnvilProcess } from "./anvil.ts";
import { DevnetError, type DevnetNode } from "./devnet-types.ts";
import { type BlockSummary, fetchRawTransactions, type Hex, type PoolTx, sameList } from "./node-ops.ts";
import type { RpcClient } from "./rpc.ts";
import type { SerialDriver } from "./serial.ts";

/** One block as the driver mined it: enough to replay it byte for byte on a node that missed it. */
export interface LoggedBlock {
  number: number;
  hash: Hex;
  timestamp: number;
  baseFeePerGas: Hex | undefined;
  txHashes: Hex[];
  /** Raw transactions in block order. */
  txs: Hex[];
  /** How many of `txs`, from the first, the driver put there itself (the L1-attributes deposit): never re-included. */
  preamble: number;
}

/** The driver's view of one node. */
export interface NodeState {
  id: string;
  view: DevnetNode;
  anvil: AnvilProcess;
  rpc: RpcClient;
  paused: boolean;
  inSync: boolean;
  diverged: boolean;
  unreachable: boolean;
}

/** A pool transaction with its raw bytes. */
export interface PoolCandidate extends PoolTx {
  raw: Hex;
}

/** The driver's state, shared by the steps that move the chain. Operations on it run one at a time (`driver.serial`). */
export interface DevnetChain {
  readonly states: readonly NodeState[];
  /** Every block the driver mined, by number: the chain a node that missed blocks replays. */
  readonly log: LoggedBlock[];
  /** Last block number mined by the driver. */
  head: number;
  /** Seconds added to the timestamp of every block mined from now on: one more per reorg, so replacements get new hashes. */
  timestampOffset: number;
  /** Raw bytes of transactions seen in pools, so they are fetched once; pruned to the current pools every block. */
  knownRaw: Map<Hex, Hex>;
  /** Heights some node mined a block other than the kept one at (forkedHeights). */
  readonly forked: Set<number>;
  /** Aborted when the devnet stops. */
  readonly signal: AbortSignal;
  /** How raw transactions are fetched: with OP-stack deposits or not. */
  readonly deposits: { deposits: boolean };
  /** The timestamp of block `n`, with `offset` seconds added. @default offset the current `timestampOffset` */
  timestampOf(n: number, offset?: number): number;
  /** The transactions the driver itself puts first in block `number` mined at `timestamp`. */
  preambleOf(number: number, timestamp: number): Hex[];
  readonly driver: SerialDriver<DevnetError, NodeState>;
}

/** The hashes of the logged transactions of blocks `from..=to` (genesis has none). */
export function loggedHashes(chain: DevnetChain, from: number, to: number): Set<Hex> {
  const hashes = new Set<Hex>();
  for (let n = Math.max(from, 1); n <= to; n++) for (const h of chain.log[n]?.txHashes ?? []) hashes.add(h);
  return hashes;
}

/** Raw bytes for pool transactions: from the cache, else from the node that holds them. */
export async function withRaw(chain: DevnetChain, s: NodeState, txs: readonly PoolTx[]): Promise<PoolCandidate[]> {
  const missing = txs.filter((t) => !chain.knownRaw.has(t.hash)).map((t) => t.hash);
  const fetched = await fetchRawTransactions(s.rpc, missing, chain.signal, chain.deposits);
  const out: PoolCandidate[] = [];
  for (const t of txs) {
    const raw = chain.knownRaw.get(t.hash) ?? fetched.get(t.hash);
    if (raw) out.push({ ...t, raw });
  }
  return out;
}

/** Marks a node whose block differs from the others' with the same parent and transactions; reported once. */
export function markDiverged(chain: DevnetChain, s: NodeState, number: number): void {
  if (s.diverged) return;
  s.diverged = true;
  chain.driver.report(
    new DevnetError(
      "diverged",
      s.id,
      `block ${number} has the same parent and transactions as the others but a different hash: its state was changed outside the chain; it is no longer repaired`,
    ),
  );
}

/** Tells `onError` when a block does not start with what the driver put first in it (anvil refused it). */
export function checkPreamble(chain: DevnetChain, block: BlockSummary, preamble: readonly Hex[]): void {
  const expected = preamble.map((raw) => keccak256(raw));
  if (sameList(block.transactions.slice(0, expected.length), expected)) return;
  chain.driver.report(
    new DevnetError("mine", undefined, `block ${block.number} does not start with its L1-attributes deposit`),
  );
}

/** The block most nodes agree on; ties go to the one seen first. */
export function majority(blocks: readonly BlockSummary[]): BlockSummary | undefined {
  let best: BlockSummary | undefined;
  let bestCount = 0;
  for (const b of blocks) {
    const count = blocks.filter((x) => x.hash === b.hash).length;
    if (count > bestCount) {
      best = b;
      bestCount = count;
    }
  }
  return best;
}
