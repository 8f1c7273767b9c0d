/**
 * The demo/test network: several anvil nodes, each standing for a provider in its own failure domain, kept on
 * identical blocks by one deterministic driver.
 *
 * anvil nodes do not talk to each other, so the driver plays the network: before every block it gathers the union
 * of all pools (a client may have reached only one node), gives every active node exactly that set in one canonical
 * order, and mines with the same timestamp everywhere. Same genesis + same transactions in the same order + same
 * timestamp = same block hash and state root. When a node still ends up different (a transaction raced in between),
 * the majority block wins and the odd node is rolled back and replayed from the driver's log.
 *
 * A reorg is played the same way: every active node rolls back the same blocks and mines the same replacements.
 * Replacements only differ from the blocks they replace by their timestamps, one second later (and so does every
 * block after them), which keeps the new branch identical on every node and the log replayable.
 *
 * On an OP-stack devnet every block starts with what the driver puts there itself, before the pools' transactions: its
 * L1-attributes deposit (op-stack.ts), a function of the block's number and timestamp, logged and replayed like the
 * rest; a replacement block gets its own.
 */

import { keccak256 } from "viem";
import type { FailureDomain } from "../core/domains/domain.ts";
import { BaseError } from "../core/errors.ts";
import { DEV_ACCOUNTS, type DevAccount } from "./accounts.ts";
import { type AnvilProcess, startAnvil } from "./anvil.ts";
import {
  type BlockSummary,
  blockAt,
  canonicalOrder,
  dropTransactions,
  fetchRawTransactions,
  type Hex,
  mineAt,
  type PoolRead,
  type PoolTx,
  readPool,
  sameList,
  submitInOrder,
} from "./node-ops.ts";
import { devnetL1Attributes, l1AttributesDeposit } from "./op-stack.ts";
import { createRpcClient, DevnetRpcError, DevnetUnreachableError, errorMessage, type RpcClient } from "./rpc.ts";

/** Genesis timestamp when none is given: 2026-01-01T00:00:00Z, in seconds. Fixed, so runs are reproducible. */
export const DEVNET_DEFAULT_START_TIMESTAMP = 1_767_225_600;
/** How far back the driver looks for the last block a node shares with the log before giving up, in blocks. */
export const DEVNET_MAX_RESYNC_DEPTH = 256;
/** Rollback-and-replay attempts for one node in one go (a transaction racing in can spoil one attempt). */
const RESYNC_ATTEMPTS = 5;

export interface DevnetNodeSpec {
  id: string;
  domain: FailureDomain;
}

export interface DevnetOptions {
  nodes: DevnetNodeSpec[];
  /** @default 31337 */
  chainId?: number;
  /** > 0: the driver mines a block on every active node every `blockTimeMs` milliseconds; 0: only `mine()` mines. @default 0 */
  blockTimeMs?: number;
  /**
   * Genesis timestamp in seconds; block N gets `startTimestamp + N * max(1, round(blockTimeMs / 1000))`, plus one
   * second for every `reorg` made before it was mined. @default {@link DEVNET_DEFAULT_START_TIMESTAMP}
   */
  startTimestamp?: number;
  /**
   * anvil's network family: `optimism` gives OP-stack nodes, which take deposit transactions (type 0x7e, unsigned:
   * their raw bytes from any sender, see `userDeposit` in op-stack.ts, or `eth_sendTransaction` to one node) and replay
   * them from their raw bytes like any other.
   * @default "ethereum"
   */
  network?: "ethereum" | "optimism";
  /**
   * Start every block with an L1-attributes deposit (from the depositor account to the L1Block predeploy), as every
   * block of a real OP chain does; only with `network: "optimism"`. @default true on `optimism`
   */
  l1AttributesDeposits?: boolean;
  /** Aborting stops the devnet. */
  signal?: AbortSignal;
  /** Told about every problem the driver works around (a node down, a node that diverged, a failed block). Never throws into the driver. */
  onError?: (error: DevnetError) => void;
}

export interface DevnetNode {
  id: string;
  domain: FailureDomain;
  url: string;
  wsUrl: string;
  port: number;
  pid: number;
}

export interface DevnetNodeStatus {
  paused: boolean;
  /** At the driver's head with the logged block hashes (false while down, lagging or being replayed). */
  inSync: boolean;
  /** Its state differs from the others with the same transactions (e.g. `anvil_setBalance` made it a liar): never repaired. */
  diverged: boolean;
  /** The last call to it failed at the transport level. */
  unreachable: boolean;
}

export interface Devnet {
  chainId: number;
  nodes: DevnetNode[];
  /** anvil's default funded dev accounts. */
  accounts: DevAccount[];
  /** Last block number mined by the driver. */
  head(): number;
  /**
   * Heights at which some node mined another block than the one the chain kept (a client's transaction raced into its
   * pool while the driver mined) and was rolled back and replayed: until then, that node served its own block, which
   * is a one-block reorg as far as a client can tell.
   */
  forkedHeights(): number[];
  /** Mines `count` (default 1) identical blocks on every active node; returns the new head. */
  mine(count?: number): Promise<number>;
  /** Submits to every node (paused ones too: a lagging provider still hears about transactions); returns the hash. */
  sendRawTransaction(raw: Hex): Promise<Hex>;
  /**
   * Replaces the last `depth` blocks on every active node with `depth` new blocks at the same heights (so the head
   * number is unchanged), whose hashes differ from the orphaned ones; the transactions of the orphaned blocks are
   * re-included in the first replacement block (in their original order, deposits first), so each ends up in a block
   * with a new hash. With L1-attributes deposits, each replacement starts with its own (a new L1 origin) instead.
   * Paused nodes keep the old branch until `resume` (which then brings them onto the new branch). Transactions
   * waiting in pools stay there for the next block. `depth` is an integer from 1 to the head, at most
   * {@link DEVNET_MAX_RESYNC_DEPTH}.
   * Resolves with the orphaned block hashes (lowest first) and the new hashes at the same heights.
   */
  reorg(depth: number): Promise<DevnetReorg>;
  /** Stops mining that node: it lags behind until `resume`. */
  pause(nodeId: string): void;
  /** Replays the blocks it missed (same transactions, same timestamps) so it catches up with identical hashes. */
  resume(nodeId: string): Promise<void>;
  nodeStatus(nodeId: string): DevnetNodeStatus;
  /** Stops the driver loop and every anvil process; idempotent. */
  stop(): Promise<void>;
}

export interface DevnetReorg {
  /** Hashes of the replaced blocks, lowest first. */
  orphaned: Hex[];
  /** Hashes of the new blocks at the same heights, lowest first. */
  replacements: Hex[];
  /** The head block number (the same as before the reorg). */
  head: number;
}

export type DevnetErrorKind = "unreachable" | "diverged" | "resync" | "mine" | "stopped" | "start";

export class DevnetError extends BaseError<DevnetErrorKind> {
  override readonly name = "DevnetError";
  readonly code: DevnetErrorKind;
  readonly nodeId: string | undefined;
  constructor(code: DevnetErrorKind, nodeId: string | undefined, message: string, options?: { cause?: unknown }) {
    super(nodeId === undefined ? message : `node ${nodeId}: ${message}`, options);
    this.code = code;
    this.nodeId = nodeId;
  }
}

/** One block as the driver mined it: enough to replay it byte for byte on a node that missed it. */
interface LoggedBlock {
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

interface NodeState {
  id: string;
  view: DevnetNode;
  anvil: AnvilProcess;
  rpc: RpcClient;
  paused: boolean;
  inSync: boolean;
  diverged: boolean;
  unreachable: boolean;
}

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
}

interface PoolCandidate extends PoolTx {
  raw: Hex;
}

export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const { nodes: specs, chainId = 31337, blockTimeMs = 0, signal, onError, network = "ethereum" } = options;
  const startTimestamp = options.startTimestamp ?? DEVNET_DEFAULT_START_TIMESTAMP;
  const l1Attributes = options.l1AttributesDeposits ?? network === "optimism";
  validateOptions(specs, blockTimeMs, startTimestamp);
  if (l1Attributes && network !== "optimism") {
    throw new TypeError('startDevnet: `l1AttributesDeposits` needs `network: "optimism"`');
  }
  const deposits = { deposits: network === "optimism" };
  /** The transactions the driver itself puts first in block `number` mined at `timestamp`. */
  const preambleOf = (number: number, timestamp: number): Hex[] =>
    l1Attributes ? [l1AttributesDeposit(devnetL1Attributes(number, timestamp))] : [];
  signal?.throwIfAborted();
  const blockInterval = Math.max(1, Math.round(blockTimeMs / 1000));
  /** Seconds added to the timestamp of every block mined from now on: one more per reorg, so replacements get new hashes. */
  let timestampOffset = 0;
  const timestampOf = (n: number, offset = timestampOffset) => startTimestamp + n * blockInterval + offset;

  const started = await Promise.allSettled(
    specs.map(() =>
      startAnvil({
        chainId,
        timestamp: startTimestamp,
        noMining: true,
        extraArgs: ["--order", "fifo", ...(network === "optimism" ? ["--network", "optimism"] : [])],
        signal,
      }),
    ),
  );
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(started.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    throw new DevnetError("start", undefined, `an anvil node did not start: ${errorMessage(failed.reason)}`, {
      cause: failed.reason,
    });
  }
  const states: NodeState[] = specs.map((spec, i) => {
    const anvil = (started[i] as PromiseFulfilledResult<AnvilProcess>).value;
    const view: DevnetNode = Object.freeze({
      id: spec.id,
      domain: Object.freeze({ ...spec.domain }),
      url: anvil.url,
      wsUrl: anvil.wsUrl,
      port: anvil.port,
      pid: anvil.pid,
    });
    const state = { paused: false, inSync: true, diverged: false, unreachable: false };
    return { id: spec.id, view, anvil, rpc: createRpcClient(anvil.url), ...state };
  });

  const driverAbort = new AbortController();
  const log: LoggedBlock[] = [];
  /** Raw bytes of transactions seen in pools, so they are fetched once; pruned to the current pools every block. */
  let knownRaw = new Map<Hex, Hex>();
  let head = 0;
  /** Heights some node mined a block other than the kept one at (forkedHeights). */
  const forked = new Set<number>();
  let stopped = false;
  let stopping: Promise<void> | undefined;
  let loopTimer: NodeJS.Timeout | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  function report(error: DevnetError): void {
    if (stopped) return;
    try {
      onError?.(error);
    } catch {
      // A faulty listener must not stop the chain.
    }
  }

  /** Chain operations (mine, reorg, resume) run one at a time: each one assumes the head does not move under it. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(() => {
      if (stopped) throw new DevnetError("stopped", undefined, "the devnet is stopped");
      return fn();
    });
    queue = run.catch(() => {});
    return run;
  }

  /** Runs one step against one node; a failure marks the node out of sync, is reported, and yields undefined. */
  async function attempt<T>(s: NodeState, what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      const value = await fn();
      s.unreachable = false;
      return value;
    } catch (error) {
      s.inSync = false;
      if (stopped) return undefined;
      if (error instanceof DevnetUnreachableError) {
        if (!s.unreachable) report(new DevnetError("unreachable", s.id, `${what}: ${error.message}`, { cause: error }));
        s.unreachable = true;
      } else if (error instanceof DevnetError) {
        report(error);
      } else {
        report(new DevnetError("mine", s.id, `${what}: ${errorMessage(error)}`, { cause: error }));
      }
      return undefined;
    }
  }

  function markDiverged(s: NodeState, number: number): void {
    if (s.diverged) return;
    s.diverged = true;
    report(
      new DevnetError(
        "diverged",
        s.id,
        `block ${number} has the same parent and transactions as the others but a different hash: its state was changed outside the chain; it is no longer repaired`,
      ),
    );
  }

  function loggedHashes(from: number, to: number): Set<Hex> {
    const hashes = new Set<Hex>();
    for (let n = Math.max(from, 1); n <= to; n++) for (const h of log[n]?.txHashes ?? []) hashes.add(h);
    return hashes;
  }

  /** Raw bytes for pool transactions: from the cache, else from the node that holds them. */
  async function withRaw(s: NodeState, txs: readonly PoolTx[]): Promise<PoolCandidate[]> {
    const missing = txs.filter((t) => !knownRaw.has(t.hash)).map((t) => t.hash);
    const fetched = await fetchRawTransactions(s.rpc, missing, driverAbort.signal, deposits);
    const out: PoolCandidate[] = [];
    for (const t of txs) {
      const raw = knownRaw.get(t.hash) ?? fetched.get(t.hash);
      if (raw) out.push({ ...t, raw });
    }
    return out;
  }

  /**
   * Brings a node to the driver's head with the logged hashes: finds the last block it shares with the log, rolls
   * back what follows, replays the logged blocks, then puts back the transactions it held that the log lacks.
   */
  async function resync(s: NodeState): Promise<true> {
    if (s.diverged) return resyncDiverged(s);
    let lastError: unknown;
    for (let i = 0; i < RESYNC_ATTEMPTS; i++) {
      try {
        if (await resyncOnce(s)) {
          s.inSync = true;
          return true;
        }
        if (s.diverged) return true;
      } catch (error) {
        if (error instanceof DevnetUnreachableError) throw error;
        lastError = error;
      }
    }
    throw new DevnetError("resync", s.id, `could not be brought to block ${head} yet (retried on the next block)`, {
      cause: lastError,
    });
  }

  async function resyncOnce(s: NodeState): Promise<boolean> {
    const sig = driverAbort.signal;
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
    const logged = loggedHashes(ancestor + 1, head);
    const keep = new Map<Hex, PoolTx>();
    for (const t of pool.txs) if (!logged.has(t.hash)) keep.set(t.hash, t);
    for (let n = ancestor + 1; n <= pool.height; n++) {
      const block = await blockAt(s.rpc, n, sig);
      for (const h of block.transactions) if (!logged.has(h)) keep.set(h, { hash: h, from: "", nonce: 0n });
    }
    const kept = new Map<Hex, Hex>();
    for (const c of await withRaw(s, [...keep.values()])) kept.set(c.hash, c.raw);
    if (pool.height > ancestor) await s.rpc.call("anvil_rollback", [pool.height - ancestor], sig);

    try {
      let check = true;
      for (let n = ancestor + 1; n <= head; n++) {
        const entry = log[n];
        if (!entry) throw new DevnetError("resync", s.id, `block ${n} missing from the log`);
        const current = await readPool(s.rpc, sig);
        const unlogged = current.txs.filter((t) => !logged.has(t.hash));
        for (const c of await withRaw(s, unlogged)) kept.set(c.hash, c.raw);
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
          markDiverged(s, n);
          check = false;
          continue;
        }
        // A transaction reached its pool between the drop and the mine; the next attempt undoes this block.
        return false;
      }
      return !s.diverged;
    } finally {
      // Its own transactions go back into its pool, where the next block's gathering finds them.
      if (!driverAbort.signal.aborted) await submitInOrder(s.rpc, [...kept.values()], sig);
    }
  }

  /** A diverged node keeps its own state; it is only kept at the same height, with the same transactions. */
  async function resyncDiverged(s: NodeState): Promise<true> {
    const sig = driverAbort.signal;
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

  async function produceBlock(): Promise<number> {
    const sig = driverAbort.signal;
    const number = head + 1;
    const timestamp = timestampOf(number);
    const active = new Set(states.filter((s) => !s.paused));
    if (active.size === 0) throw new DevnetError("mine", undefined, `block ${number}: every node is paused`);

    // 1. Read every pool (paused nodes too: a lagging provider still relays what it was sent); catch up laggards.
    const reads = new Map<NodeState, PoolRead>();
    await Promise.all(
      states.map(async (s) => {
        let read = await attempt(s, "reading its pool", () => readPool(s.rpc, sig));
        if (!read) return;
        if (active.has(s) && (read.height !== head || !s.inSync)) {
          if (!(await attempt(s, "catching up", () => resync(s)))) return;
          read = await attempt(s, "reading its pool", () => readPool(s.rpc, sig));
          if (!read) return;
        }
        reads.set(s, read);
      }),
    );

    // 2. The union of all pools, minus what a lagging node holds that the chain already mined.
    const union = new Map<Hex, PoolTx>();
    const holder = new Map<Hex, NodeState>();
    for (const [s, read] of reads) {
      const stale = read.height < head ? loggedHashes(read.height + 1, head) : undefined;
      for (const t of read.txs) {
        if (stale?.has(t.hash) || union.has(t.hash)) continue;
        union.set(t.hash, t);
        holder.set(t.hash, s);
      }
    }
    const candidates: PoolCandidate[] = [];
    await Promise.all(
      [...reads.keys()].map(async (s) => {
        const mine = [...union.values()].filter((t) => holder.get(t.hash) === s);
        const got = await attempt(s, "fetching raw transactions", () => withRaw(s, mine));
        if (got) candidates.push(...got);
      }),
    );
    const preamble = preambleOf(number, timestamp);
    knownRaw = new Map(candidates.map((c) => [c.hash, c.raw]));
    for (const raw of preamble) knownRaw.set(keccak256(raw), raw);
    const ordered = [...preamble, ...canonicalOrder(candidates).map((c) => c.raw)];

    // 3. Same transactions, same order, same timestamp on every active node that is at the head.
    const ready = states.filter((s) => active.has(s) && reads.get(s)?.height === head);
    const mined = await Promise.all(
      ready.map((s) =>
        attempt(s, `mining block ${number}`, async () => {
          const own = reads.get(s)?.txs.map((t) => t.hash) ?? [];
          await dropTransactions(s.rpc, own, sig);
          await submitInOrder(s.rpc, ordered, sig);
          await mineAt(s.rpc, timestamp, sig);
          return blockAt(s.rpc, number, sig);
        }),
      ),
    );

    // 4. The majority block (ties: the first node in the list) becomes the chain; the others follow it.
    const results = ready
      .map((s, i) => ({ s, block: mined[i] }))
      .filter((r): r is { s: NodeState; block: BlockSummary } => r.block !== undefined);
    const honest = results.filter((r) => !r.s.diverged);
    const reference = majority(honest.map((r) => r.block));
    if (!reference) throw new DevnetError("mine", undefined, `block ${number}: no node in sync could mine it`);
    const referenceNode = honest.find((r) => r.block.hash === reference.hash)!.s;
    const raws = await rawsOf(referenceNode, reference.transactions);
    checkPreamble(reference, preamble);
    log[number] = {
      number,
      hash: reference.hash,
      timestamp,
      baseFeePerGas: reference.baseFeePerGas,
      txHashes: reference.transactions,
      txs: raws,
      preamble: preamble.length,
    };
    head = number;

    await Promise.all(
      results.map(async ({ s, block }) => {
        if (s.diverged || block.hash === reference.hash) {
          s.inSync = true;
          return;
        }
        if (block.parentHash === reference.parentHash && sameList(block.transactions, reference.transactions)) {
          markDiverged(s, number);
          s.inSync = true;
          return;
        }
        s.inSync = false;
        forked.add(number);
        await attempt(s, `repairing block ${number}`, () => resync(s));
      }),
    );
    return head;
  }

  async function rawsOf(s: NodeState, hashes: readonly Hex[]): Promise<Hex[]> {
    const missing = hashes.filter((h) => !knownRaw.has(h));
    const fetched = await fetchRawTransactions(s.rpc, missing, driverAbort.signal, deposits);
    return hashes.map((h) => {
      const raw = knownRaw.get(h) ?? fetched.get(h);
      if (!raw) throw new DevnetError("mine", s.id, `raw transaction ${h} not available`);
      return raw;
    });
  }

  /** Tells `onError` when a block does not start with what the driver put first in it (anvil refused it). */
  function checkPreamble(block: BlockSummary, preamble: readonly Hex[]): void {
    const expected = preamble.map((raw) => keccak256(raw));
    if (sameList(block.transactions.slice(0, expected.length), expected)) return;
    report(new DevnetError("mine", undefined, `block ${block.number} does not start with its L1-attributes deposit`));
  }

  /**
   * Replaces blocks `head - depth + 1 ..= head` on every active node. Laggards are caught up first, so every node
   * starts from the logged chain; each one then rolls back, mines the same replacements, and gets its pool back.
   */
  async function reorgChain(depth: number): Promise<DevnetReorg> {
    if (depth > head || depth > DEVNET_MAX_RESYNC_DEPTH) {
      throw new RangeError(
        `reorg(depth): depth must be at most the head (${head}) and at most ${DEVNET_MAX_RESYNC_DEPTH}, got ${depth}`,
      );
    }
    const sig = driverAbort.signal;
    const fork = head - depth;
    const orphaned = log.slice(fork + 1, head + 1);
    if (orphaned.length !== depth || orphaned.some((b) => b === undefined)) {
      throw new DevnetError("mine", undefined, `reorg: blocks ${fork + 1}..${head} missing from the log`);
    }
    const active = states.filter((s) => !s.paused);
    if (active.length === 0) throw new DevnetError("mine", undefined, "reorg: every node is paused");

    await Promise.all(
      active.map(async (s) => {
        const read = await attempt(s, "reading its pool", () => readPool(s.rpc, sig));
        if (read && (read.height !== head || !s.inSync)) await attempt(s, "catching up", () => resync(s));
      }),
    );
    const ready = active.filter((s) => s.inSync);

    const rawOf = new Map<Hex, Hex>();
    for (const b of orphaned) for (const [i, h] of b.txHashes.entries()) rawOf.set(h, b.txs[i] as Hex);
    const offset = timestampOffset + 1;
    const timestamps = orphaned.map((b) => timestampOf(b.number, offset));
    const preambles = orphaned.map((b, i) => preambleOf(b.number, timestamps[i] as number));
    for (const raw of preambles.flat()) rawOf.set(keccak256(raw), raw);
    // The orphaned blocks' own preambles are replaced, not re-included; deposits keep coming before the rest.
    const reincluded = orphaned.flatMap((b) => b.txs.slice(b.preamble));
    const plan: ReplacementPlan = {
      fork,
      txs: [...reincluded.filter(isDepositRaw), ...reincluded.filter((raw) => !isDepositRaw(raw))],
      preambles,
      // anvil would derive it from the rolled-back head; the orphaned block's own base fee is the one its parent gives.
      baseFeePerGas: orphaned[0]?.baseFeePerGas,
      timestamps,
    };
    const mined = await Promise.all(
      ready.map((s) => attempt(s, `replacing blocks ${fork + 1}..${head}`, () => replaceBlocks(s, plan))),
    );

    // The head block commits to the whole branch: the majority head wins, the other nodes follow it.
    const results = ready
      .map((s, i) => ({ s, blocks: mined[i] }))
      .filter((r): r is { s: NodeState; blocks: BlockSummary[] } => r.blocks !== undefined);
    const honest = results.filter((r) => !r.s.diverged);
    const tip = majority(honest.map((r) => r.blocks[depth - 1] as BlockSummary));
    const winner = tip && honest.find((r) => r.blocks[depth - 1]?.hash === tip.hash);
    if (!winner) throw new DevnetError("mine", undefined, `reorg of depth ${depth}: no node in sync could mine it`);
    const unknown = winner.blocks.flatMap((b) => b.transactions).filter((h) => !rawOf.has(h));
    for (const [h, raw] of await fetchRawTransactions(winner.s.rpc, unknown, sig, deposits)) rawOf.set(h, raw);
    for (const [i, block] of winner.blocks.entries()) {
      const preamble = plan.preambles[i] ?? [];
      checkPreamble(block, preamble);
      const txs = block.transactions.map((h) => {
        const raw = rawOf.get(h);
        if (!raw) throw new DevnetError("mine", winner.s.id, `raw transaction ${h} not available`);
        return raw;
      });
      log[block.number] = {
        number: block.number,
        hash: block.hash,
        timestamp: block.timestamp,
        baseFeePerGas: block.baseFeePerGas,
        txHashes: block.transactions,
        txs,
        preamble: preamble.length,
      };
    }
    timestampOffset = offset;

    await Promise.all(
      results.map(async ({ s, blocks }) => {
        if (s.diverged || blocks[depth - 1]?.hash === winner.blocks[depth - 1]?.hash) {
          s.inSync = true;
          return;
        }
        s.inSync = false;
        await attempt(s, `repairing blocks ${fork + 1}..${head}`, () => resync(s));
      }),
    );
    return {
      orphaned: orphaned.map((b) => b.hash),
      replacements: winner.blocks.map((b) => b.hash),
      head,
    };
  }

  /** One node's part of a reorg: set its pool aside, roll back, mine the replacements, put its pool back. */
  async function replaceBlocks(s: NodeState, plan: ReplacementPlan): Promise<BlockSummary[]> {
    const sig = driverAbort.signal;
    const pool = await readPool(s.rpc, sig);
    if (pool.height !== head) throw new DevnetError("mine", s.id, `moved to block ${pool.height} during the reorg`);
    const kept = await withRaw(s, pool.txs);
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

  /**
   * When the next timed block is due: `blockTimeMs` after the one before, however long mining took. Block timestamps
   * step by whole block times, so with a whole number of seconds per block they keep pace with the clock instead of
   * falling behind by each block's mining time.
   */
  let nextBlockDueAt = 0;
  function scheduleNext(): void {
    if (stopped || blockTimeMs <= 0) return;
    nextBlockDueAt += blockTimeMs;
    const delay = Math.max(0, nextBlockDueAt - Date.now());
    loopTimer = setTimeout(() => {
      loopTimer = undefined;
      serial(produceBlock)
        .catch((error: unknown) => {
          if (stopped) return;
          report(
            error instanceof DevnetError
              ? error
              : new DevnetError("mine", undefined, errorMessage(error), { cause: error }),
          );
        })
        .then(scheduleNext);
    }, delay);
  }

  function nodeState(nodeId: string): NodeState {
    const s = states.find((x) => x.id === nodeId);
    if (!s) throw new DevnetError("mine", nodeId, "no such node");
    return s;
  }

  const onAbort = () => void devnet.stop();

  const devnet: Devnet = {
    chainId,
    nodes: states.map((s) => s.view),
    accounts: DEV_ACCOUNTS.map((a) => ({ ...a })),
    head: () => head,
    forkedHeights: () => [...forked].sort((a, b) => a - b),
    async mine(count = 1) {
      if (!Number.isInteger(count) || count < 0) throw new TypeError(`mine(count): count must be an integer >= 0`);
      for (let i = 0; i < count; i++) await serial(produceBlock);
      return head;
    },
    async sendRawTransaction(raw) {
      if (typeof raw !== "string" || !/^0x([0-9a-fA-F]{2})+$/.test(raw)) {
        throw new TypeError("sendRawTransaction: expected 0x-prefixed hex bytes");
      }
      if (stopped) throw new DevnetError("stopped", undefined, "the devnet is stopped");
      const outcomes = await Promise.allSettled(
        states.map((s) => s.rpc.call<Hex>("eth_sendRawTransaction", [raw], driverAbort.signal)),
      );
      const isAccepted = (o: PromiseSettledResult<Hex>) =>
        o.status === "fulfilled" ||
        (o.reason instanceof DevnetRpcError && /already (known|imported)/i.test(o.reason.message));
      // What the active nodes say counts first: a lagging node may accept a transaction the head has moved past.
      const active = outcomes.filter((_, i) => !states[i]?.paused);
      if (active.some(isAccepted)) return keccak256(raw);
      const rejected = active.find((o) => o.status === "rejected" && o.reason instanceof DevnetRpcError);
      if (rejected?.status === "rejected") throw rejected.reason;
      if (outcomes.some(isAccepted)) return keccak256(raw);
      const first = outcomes.find((o) => o.status === "rejected");
      throw first?.status === "rejected"
        ? first.reason
        : new DevnetError("unreachable", undefined, "no node took the transaction");
    },
    async reorg(depth) {
      if (!Number.isInteger(depth) || depth < 1) {
        throw new TypeError(`reorg(depth): depth must be an integer >= 1, got ${String(depth)}`);
      }
      return serial(() => reorgChain(depth));
    },
    pause(nodeId) {
      nodeState(nodeId).paused = true;
    },
    async resume(nodeId) {
      const s = nodeState(nodeId);
      if (!s.paused) return;
      await serial(async () => {
        s.paused = false;
        s.inSync = false;
        try {
          await resync(s);
        } catch (error) {
          if (error instanceof DevnetUnreachableError) {
            throw new DevnetError("unreachable", s.id, `catching up: ${error.message}`, { cause: error });
          }
          throw error;
        }
      });
    },
    nodeStatus(nodeId) {
      const { paused, inSync, diverged, unreachable } = nodeState(nodeId);
      return { paused, inSync, diverged, unreachable };
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        if (loopTimer) clearTimeout(loopTimer);
        loopTimer = undefined;
        signal?.removeEventListener("abort", onAbort);
        driverAbort.abort(new DevnetError("stopped", undefined, "the devnet is stopped"));
        await queue;
        await Promise.all(states.map((s) => s.anvil.stop()));
      })();
      return stopping;
    },
  };
  signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const genesis = await Promise.all(states.map((s) => blockAt(s.rpc, 0, driverAbort.signal)));
    const first = genesis[0]!;
    if (genesis.some((g) => g.hash !== first.hash)) {
      throw new DevnetError("start", undefined, "the nodes started with different genesis blocks");
    }
    log[0] = {
      number: 0,
      hash: first.hash,
      timestamp: first.timestamp,
      baseFeePerGas: first.baseFeePerGas,
      txHashes: [],
      txs: [],
      preamble: 0,
    };
    // The genesis state root is the empty trie's, so no proof can be checked against it: start at block 1.
    await serial(produceBlock);
    const behind = states.filter((s) => !s.inSync || s.unreachable);
    if (behind.length > 0) {
      throw new DevnetError("start", undefined, `block 1 differs on ${behind.map((s) => s.id).join(", ")}`);
    }
  } catch (error) {
    await devnet.stop();
    throw error;
  }
  nextBlockDueAt = Date.now();
  scheduleNext();
  return devnet;
}

/** An OP-stack deposit's raw bytes (typed transaction 0x7e; legacy ones start with an RLP list byte, 0xc0 or more). */
function isDepositRaw(raw: Hex): boolean {
  return raw.slice(0, 4).toLowerCase() === "0x7e";
}

/** The block most nodes agree on; ties go to the one seen first. */
function majority(blocks: readonly BlockSummary[]): BlockSummary | undefined {
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

function validateOptions(specs: readonly DevnetNodeSpec[], blockTimeMs: number, startTimestamp: number): void {
  if (!Array.isArray(specs) || specs.length === 0) throw new TypeError("startDevnet: `nodes` must not be empty");
  const ids = new Set<string>();
  for (const spec of specs) {
    if (!spec.id) throw new TypeError("startDevnet: every node needs an `id`");
    if (ids.has(spec.id)) throw new TypeError(`startDevnet: duplicate node id ${JSON.stringify(spec.id)}`);
    ids.add(spec.id);
  }
  if (!Number.isFinite(blockTimeMs) || blockTimeMs < 0) {
    throw new TypeError("startDevnet: `blockTimeMs` must be a number >= 0");
  }
  if (!Number.isInteger(startTimestamp) || startTimestamp < 0) {
    throw new TypeError("startDevnet: `startTimestamp` must be an integer number of seconds >= 0");
  }
}
