/**
 * One block on the devnet (devnet.ts): gather the union of all pools, give every active node exactly that set in one
 * canonical order (after the driver's own preamble), mine with the same timestamp everywhere, keep the majority block
 * and bring the odd nodes onto it.
 */

import { keccak256 } from "viem";
import {
  checkPreamble,
  type DevnetChain,
  loggedHashes,
  majority,
  markDiverged,
  type NodeState,
  type PoolCandidate,
  withRaw,
} from "./chain.ts";
import { DevnetError } from "./devnet-types.ts";
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
import { resync } from "./resync.ts";

/** Mines the next block on every active node at the head; resolves with the new head. */
export async function produceBlock(chain: DevnetChain): Promise<number> {
  const { signal: sig, head } = chain;
  const { attempt } = chain.driver;
  const number = head + 1;
  const timestamp = chain.timestampOf(number);
  const active = new Set(chain.states.filter((s) => !s.paused));
  if (active.size === 0) throw new DevnetError("mine", undefined, `block ${number}: every node is paused`);

  const { reads, candidates } = await gatherPools(chain, active);
  const preamble = chain.preambleOf(number, timestamp);
  chain.knownRaw = new Map(candidates.map((c) => [c.hash, c.raw]));
  for (const raw of preamble) chain.knownRaw.set(keccak256(raw), raw);
  const ordered = [...preamble, ...canonicalOrder(candidates).map((c) => c.raw)];

  // 3. Same transactions, same order, same timestamp on every active node that is at the head.
  const ready = chain.states.filter((s) => active.has(s) && reads.get(s)?.height === head);
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
  const raws = await rawsOf(chain, referenceNode, reference.transactions);
  checkPreamble(chain, reference, preamble);
  chain.log[number] = {
    number,
    hash: reference.hash,
    timestamp,
    baseFeePerGas: reference.baseFeePerGas,
    txHashes: reference.transactions,
    txs: raws,
    preamble: preamble.length,
  };
  chain.head = number;

  await Promise.all(
    results.map(async ({ s, block }) => {
      if (s.diverged || block.hash === reference.hash) {
        s.inSync = true;
        return;
      }
      if (block.parentHash === reference.parentHash && sameList(block.transactions, reference.transactions)) {
        markDiverged(chain, s, number);
        s.inSync = true;
        return;
      }
      s.inSync = false;
      chain.forked.add(number);
      await attempt(s, `repairing block ${number}`, () => resync(chain, s));
    }),
  );
  return chain.head;
}

/** Steps 1 and 2 of a block: every node's pool read, and the union of the pools with raw bytes. */
async function gatherPools(
  chain: DevnetChain,
  active: ReadonlySet<NodeState>,
): Promise<{ reads: Map<NodeState, PoolRead>; candidates: PoolCandidate[] }> {
  const { signal: sig, head } = chain;
  const { attempt } = chain.driver;
  // 1. Read every pool (paused nodes too: a lagging provider still relays what it was sent); catch up laggards.
  const reads = new Map<NodeState, PoolRead>();
  await Promise.all(
    chain.states.map(async (s) => {
      let read = await attempt(s, "reading its pool", () => readPool(s.rpc, sig));
      if (!read) return;
      if (active.has(s) && (read.height !== head || !s.inSync)) {
        if (!(await attempt(s, "catching up", () => resync(chain, s)))) return;
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
    const stale = read.height < head ? loggedHashes(chain, read.height + 1, head) : undefined;
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
      const got = await attempt(s, "fetching raw transactions", () => withRaw(chain, s, mine));
      if (got) candidates.push(...got);
    }),
  );
  return { reads, candidates };
}

/** The raw bytes of a mined block's transactions: from the cache, else from the node that mined it. */
async function rawsOf(chain: DevnetChain, s: NodeState, hashes: readonly Hex[]): Promise<Hex[]> {
  const missing = hashes.filter((h) => !chain.knownRaw.has(h));
  const fetched = await fetchRawTransactions(s.rpc, missing, chain.signal, chain.deposits);
  return hashes.map((h) => {
    const raw = chain.knownRaw.get(h) ?? fetched.get(h);
    if (!raw) throw new DevnetError("mine", s.id, `raw transaction ${h} not available`);
    return raw;
  });
}
