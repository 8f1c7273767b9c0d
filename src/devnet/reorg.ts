/**
 * A reorg on the devnet (devnet.ts): every active node rolls back the same blocks and mines the same replacements.
 * Replacements only differ from the blocks they replace by their timestamps, one second later (and so does every
 * block after them), which keeps the new branch identical on every node and the log replayable.
 */

import { keccak256 } from "viem";
import { checkPreamble, type DevnetChain, type LoggedBlock, majority, type NodeState, withRaw } from "./chain.ts";
import { DevnetError, type DevnetReorg } from "./devnet-types.ts";
import {
  type BlockSummary,
  blockAt,
  dropTransactions,
  fetchRawTransactions,
  type Hex,
  mineAt,
  readPool,
  submitInOrder,
} from "./node-ops.ts";
import { DEVNET_MAX_RESYNC_DEPTH, resync } from "./resync.ts";

/** What every node mines in a reorg: the same blocks on top of the same fork point. */
interface ReplacementPlan {
  /** The last block kept. */
  fork: number;
  /** Raw transactions of the orphaned blocks, deposits first, else in block order: all offered to the first replacement. */
  txs: Hex[];
  /** What the driver puts first in each replacement block (its L1-attributes deposit). */
  preambles: Hex[][];
  baseFeePerGas: Hex | undefined;
  /** One per replacement block. */
  timestamps: number[];
  /** The timestamp offset of the new branch (one more than before). */
  offset: number;
  /** Raw bytes of what the replacements may hold, by hash: the orphaned blocks' transactions and the new preambles. */
  rawOf: Map<Hex, Hex>;
}

/** One node's replacement blocks. */
interface NodeBranch {
  s: NodeState;
  blocks: BlockSummary[];
}

/**
 * Replaces blocks `head - depth + 1 ..= head` on every active node. Laggards are caught up first, so every node
 * starts from the logged chain; each one then rolls back, mines the same replacements, and gets its pool back.
 */
export async function reorgChain(chain: DevnetChain, depth: number): Promise<DevnetReorg> {
  const { head, signal: sig } = chain;
  const { attempt } = chain.driver;
  const orphaned = orphanedBlocks(chain, depth);
  const fork = head - depth;
  const active = chain.states.filter((s) => !s.paused);
  if (active.length === 0) throw new DevnetError("mine", undefined, "reorg: every node is paused");

  await Promise.all(
    active.map(async (s) => {
      const read = await attempt(s, "reading its pool", () => readPool(s.rpc, sig));
      if (read && (read.height !== head || !s.inSync)) await attempt(s, "catching up", () => resync(chain, s));
    }),
  );
  const ready = active.filter((s) => s.inSync);

  const plan = planReplacements(chain, fork, orphaned);
  const mined = await Promise.all(
    ready.map((s) => attempt(s, `replacing blocks ${fork + 1}..${head}`, () => replaceBlocks(chain, s, plan))),
  );

  // The head block commits to the whole branch: the majority head wins, the other nodes follow it.
  const results = ready.map((s, i) => ({ s, blocks: mined[i] })).filter((r): r is NodeBranch => r.blocks !== undefined);
  const honest = results.filter((r) => !r.s.diverged);
  const tip = majority(honest.map((r) => r.blocks[depth - 1] as BlockSummary));
  const winner = tip && honest.find((r) => r.blocks[depth - 1]?.hash === tip.hash);
  if (!winner) throw new DevnetError("mine", undefined, `reorg of depth ${depth}: no node in sync could mine it`);
  await logBranch(chain, winner, plan);
  chain.timestampOffset = plan.offset;

  await Promise.all(
    results.map(async ({ s, blocks }) => {
      if (s.diverged || blocks[depth - 1]?.hash === winner.blocks[depth - 1]?.hash) {
        s.inSync = true;
        return;
      }
      s.inSync = false;
      await attempt(s, `repairing blocks ${fork + 1}..${head}`, () => resync(chain, s));
    }),
  );
  return {
    orphaned: orphaned.map((b) => b.hash),
    replacements: winner.blocks.map((b) => b.hash),
    head,
  };
}

/** The logged blocks a reorg of `depth` replaces, lowest first; throws when it cannot be made. */
function orphanedBlocks(chain: DevnetChain, depth: number): LoggedBlock[] {
  const { head, log } = chain;
  if (depth > head || depth > DEVNET_MAX_RESYNC_DEPTH) {
    throw new RangeError(
      `reorg(depth): depth must be at most the head (${head}) and at most ${DEVNET_MAX_RESYNC_DEPTH}, got ${depth}`,
    );
  }
  const fork = head - depth;
  const orphaned = log.slice(fork + 1, head + 1);
  if (orphaned.length !== depth || orphaned.some((b) => b === undefined)) {
    throw new DevnetError("mine", undefined, `reorg: blocks ${fork + 1}..${head} missing from the log`);
  }
  return orphaned;
}

/** The same replacements for every node: one second later, new preambles, the orphaned transactions re-included. */
function planReplacements(chain: DevnetChain, fork: number, orphaned: readonly LoggedBlock[]): ReplacementPlan {
  const rawOf = new Map<Hex, Hex>();
  for (const b of orphaned) for (const [i, h] of b.txHashes.entries()) rawOf.set(h, b.txs[i] as Hex);
  const offset = chain.timestampOffset + 1;
  const timestamps = orphaned.map((b) => chain.timestampOf(b.number, offset));
  const preambles = orphaned.map((b, i) => chain.preambleOf(b.number, timestamps[i] as number));
  for (const raw of preambles.flat()) rawOf.set(keccak256(raw), raw);
  // The orphaned blocks' own preambles are replaced, not re-included; deposits keep coming before the rest.
  const reincluded = orphaned.flatMap((b) => b.txs.slice(b.preamble));
  return {
    fork,
    txs: [...reincluded.filter(isDepositRaw), ...reincluded.filter((raw) => !isDepositRaw(raw))],
    preambles,
    // anvil would derive it from the rolled-back head; the orphaned block's own base fee is the one its parent gives.
    baseFeePerGas: orphaned[0]?.baseFeePerGas,
    timestamps,
    offset,
    rawOf,
  };
}

/** Logs the winning branch in place of the orphaned blocks. */
async function logBranch(chain: DevnetChain, winner: NodeBranch, plan: ReplacementPlan): Promise<void> {
  const { rawOf } = plan;
  const unknown = winner.blocks.flatMap((b) => b.transactions).filter((h) => !rawOf.has(h));
  for (const [h, raw] of await fetchRawTransactions(winner.s.rpc, unknown, chain.signal, chain.deposits)) {
    rawOf.set(h, raw);
  }
  for (const [i, block] of winner.blocks.entries()) {
    const preamble = plan.preambles[i] ?? [];
    checkPreamble(chain, block, preamble);
    const txs = block.transactions.map((h) => {
      const raw = rawOf.get(h);
      if (!raw) throw new DevnetError("mine", winner.s.id, `raw transaction ${h} not available`);
      return raw;
    });
    chain.log[block.number] = {
      number: block.number,
      hash: block.hash,
      timestamp: block.timestamp,
      baseFeePerGas: block.baseFeePerGas,
      txHashes: block.transactions,
      txs,
      preamble: preamble.length,
    };
  }
}

/** One node's part of a reorg: set its pool aside, roll back, mine the replacements, put its pool back. */
async function replaceBlocks(chain: DevnetChain, s: NodeState, plan: ReplacementPlan): Promise<BlockSummary[]> {
  const { head, signal: sig } = chain;
  const pool = await readPool(s.rpc, sig);
  if (pool.height !== head) throw new DevnetError("mine", s.id, `moved to block ${pool.height} during the reorg`);
  const kept = await withRaw(chain, s, pool.txs);
  await dropTransactions(
    s.rpc,
    pool.txs.map((t) => t.hash),
    sig,
  );
  await s.rpc.call("anvil_rollback", [head - plan.fork], sig);
  try {
    if (plan.baseFeePerGas) await s.rpc.call("anvil_setNextBlockBaseFeePerGas", [plan.baseFeePerGas], sig);
    const blocks: BlockSummary[] = [];
    for (const [i, timestamp] of plan.timestamps.entries()) {
      await submitInOrder(s.rpc, plan.preambles[i] ?? [], sig);
      if (i === 0) await submitInOrder(s.rpc, plan.txs, sig);
      await mineAt(s.rpc, timestamp, sig);
      blocks.push(await blockAt(s.rpc, plan.fork + 1 + i, sig));
    }
    return blocks;
  } finally {
    if (!sig.aborted) {
      await submitInOrder(
        s.rpc,
        kept.map((c) => c.raw),
        sig,
      );
    }
  }
}

/** An OP-stack deposit's raw bytes (typed transaction 0x7e; legacy ones start with an RLP list byte, 0xc0 or more). */
function isDepositRaw(raw: Hex): boolean {
  return raw.slice(0, 4).toLowerCase() === "0x7e";
}
