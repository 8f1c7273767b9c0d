/**
 * Catching a node up with the devnet driver's log (devnet.ts): find the last block it shares with the log, roll back
 * what follows, replay the logged blocks byte for byte, then put back the transactions it held that the log lacks.
 */

import { type DevnetChain, loggedHashes, markDiverged, type NodeState, withRaw } from "./chain.ts";
import { DevnetError } from "./devnet-types.ts";
import {
  blockAt,
  dropTransactions,
  type Hex,
  mineAt,
  type PoolTx,
  readPool,
  sameList,
  submitInOrder,
} from "./node-ops.ts";
import { DevnetUnreachableError } from "./rpc.ts";

/** How far back the driver looks for the last block a node shares with the log before giving up, in blocks. */
export const DEVNET_MAX_RESYNC_DEPTH = 256;
/** Rollback-and-replay attempts for one node in one go (a transaction racing in can spoil one attempt). */
const RESYNC_ATTEMPTS = 5;

/**
 * Brings a node to the driver's head with the logged hashes: finds the last block it shares with the log, rolls
 * back what follows, replays the logged blocks, then puts back the transactions it held that the log lacks.
 */
export async function resync(chain: DevnetChain, s: NodeState): Promise<true> {
  if (s.diverged) return resyncDiverged(chain, s);
  let lastError: unknown;
  for (let i = 0; i < RESYNC_ATTEMPTS; i++) {
    try {
      if (await resyncOnce(chain, s)) {
        s.inSync = true;
        return true;
      }
      if (s.diverged) return true;
    } catch (error) {
      if (error instanceof DevnetUnreachableError) throw error;
      lastError = error;
    }
  }
  throw new DevnetError("resync", s.id, `could not be brought to block ${chain.head} yet (retried on the next block)`, {
    cause: lastError,
  });
}

async function resyncOnce(chain: DevnetChain, s: NodeState): Promise<boolean> {
  const { log, head, signal: sig } = chain;
  const pool = await readPool(s.rpc, sig);
  let ancestor = Math.min(pool.height, head);
  const floor = Math.max(0, ancestor - DEVNET_MAX_RESYNC_DEPTH);
  for (;;) {
    const block = await blockAt(s.rpc, ancestor, sig);
    if (block.hash === log[ancestor]?.hash) break;
    if (ancestor === floor) throw new DevnetError("resync", s.id, `shares no block with the log since ${floor}`);
    ancestor--;
  }
  if (pool.height > ancestor) {
    // anvil takes the next base fee from the last block it mined, even one rolled back: undo one block more so
    // that a logged block, with its logged base fee, is always replayed on top of a rollback.
    ancestor = Math.max(0, Math.min(ancestor, head - 1));
  }
  // Keep what it holds that the log does not: its pool, and the transactions of the blocks about to be undone.
  const logged = loggedHashes(chain, ancestor + 1, head);
  const keep = new Map<Hex, PoolTx>();
  for (const t of pool.txs) if (!logged.has(t.hash)) keep.set(t.hash, t);
  for (let n = ancestor + 1; n <= pool.height; n++) {
    const block = await blockAt(s.rpc, n, sig);
    for (const h of block.transactions) if (!logged.has(h)) keep.set(h, { hash: h, from: "", nonce: 0n });
  }
  const kept = new Map<Hex, Hex>();
  for (const c of await withRaw(chain, s, [...keep.values()])) kept.set(c.hash, c.raw);
  if (pool.height > ancestor) await s.rpc.call("anvil_rollback", [pool.height - ancestor], sig);

  try {
    let check = true;
    for (let n = ancestor + 1; n <= head; n++) {
      const entry = log[n];
      if (!entry) throw new DevnetError("resync", s.id, `block ${n} missing from the log`);
      const current = await readPool(s.rpc, sig);
      const unlogged = current.txs.filter((t) => !logged.has(t.hash));
      for (const c of await withRaw(chain, s, unlogged)) kept.set(c.hash, c.raw);
      await dropTransactions(
        s.rpc,
        current.txs.map((t) => t.hash),
        sig,
      );
      // anvil derives the next base fee from the block it mined last, even if that block was rolled back.
      if (entry.baseFeePerGas) await s.rpc.call("anvil_setNextBlockBaseFeePerGas", [entry.baseFeePerGas], sig);
      await submitInOrder(s.rpc, entry.txs, sig);
      await mineAt(s.rpc, entry.timestamp, sig);
      if (!check) continue;
      const block = await blockAt(s.rpc, n, sig);
      if (block.hash === entry.hash) continue;
      if (block.parentHash === log[n - 1]?.hash && sameList(block.transactions, entry.txHashes)) {
        markDiverged(chain, s, n);
        check = false;
        continue;
      }
      // A transaction reached its pool between the drop and the mine; the next attempt undoes this block.
      return false;
    }
    return !s.diverged;
  } finally {
    // Its own transactions go back into its pool, where the next block's gathering finds them.
    if (!sig.aborted) await submitInOrder(s.rpc, [...kept.values()], sig);
  }
}

/** A diverged node keeps its own state; it is only kept at the same height, with the same transactions. */
async function resyncDiverged(chain: DevnetChain, s: NodeState): Promise<true> {
  const { log, head, signal: sig } = chain;
  const height = Number(await s.rpc.call("eth_blockNumber", [], sig));
  if (height > head) await s.rpc.call("anvil_rollback", [height - head], sig);
  for (let n = height + 1; n <= head; n++) {
    const entry = log[n];
    if (!entry) break;
    await submitInOrder(s.rpc, entry.txs, sig);
    await mineAt(s.rpc, entry.timestamp, sig);
  }
  s.inSync = true;
  return true;
}
