/**
 * Judges a randomized fault run's history against the chain, read straight from a node once the run is over: every
 * balance at the block its answer names, every receipt and status against the mined transaction, every head against
 * what the chain had mined and what the client had already been shown. Also measures what the issue of recovery asks:
 * reads failed while two honest domains had been up for a while, and the time from "two domains back" to "serving".
 */
import type { Hex } from "viem";
import type { TestNetwork } from "../network.ts";
import type { History, ReadRecord } from "./run.ts";
import { honestIntervals } from "./schedule.ts";

/** How long two honest domains must have been up before a failed read counts against the gateway. */
export const COVERED_AFTER_MS = 3_000;
/** Whole-second rounding of ages, on both sides. */
const STALE_SLACK_S = 2;

export interface ChaosReport {
  reads: number;
  failed: number;
  /** Reads asked while two honest independent domains had been up for COVERED_AFTER_MS and stayed up. */
  covered: number;
  failedCovered: number;
  failedCoveredPct: number;
  /** Failed reads by how many honest domains were up when they were asked. */
  failedByUp: Record<string, number>;
  /** The most frequent errors of covered failed reads, with counts. */
  coveredErrors: [string, number][];
  wrongBalances: number;
  /**
   * Balances that differ from the kept chain's at a height where a node briefly mined another block (a devnet race,
   * `Devnet.forkedHeights`): true of the block the gateway was shown then, so not judged wrong; reported.
   */
  onForkedBlocks: number;
  fakeZeros: number;
  headsBackwards: number;
  headsAhead: number;
  unlabelledStale: number;
  wrongReceipts: number;
  wrongStatuses: number;
  sends: number;
  accepted: number;
  minedOnce: number;
  lost: number;
  /** Per moment two honest domains were back after fewer: ms until the gateway was serving again (recoveryTimes). */
  recoveries: { atMs: number; ms: number }[];
  recoveryP50Ms: number;
  recoveryP99Ms: number;
  /** Examples of what was judged wrong, for the failure message. */
  wrongExamples: string[];
}

interface Truth {
  timestamps: Map<number, number>;
  hashes: Map<number, string>;
  balance(address: Hex, block: number): Promise<string>;
  receipts: Map<string, Record<string, unknown> | null>;
}

export async function judge(net: TestNetwork, history: History, staleAfterMs: number): Promise<ChaosReport> {
  const truth = await readTruth(net, history);
  const examples: string[] = [];
  const wrong = (what: string, r: ReadRecord) => {
    if (examples.length < 10) examples.push(`${what} at ${r.startMs} ms: ${JSON.stringify(r).slice(0, 300)}`);
  };
  const forked = new Set(net.devnet.forkedHeights());
  const counts = {
    onForkedBlocks: 0,
    wrongBalances: 0,
    fakeZeros: 0,
    headsBackwards: 0,
    headsAhead: 0,
    unlabelledStale: 0,
    wrongReceipts: 0,
    wrongStatuses: 0,
  };
  for (const r of history.reads) {
    if (!r.ok) continue;
    if (r.kind === "balance" || r.kind === "head") {
      if (r.block === undefined) {
        counts.wrongBalances++;
        wrong("no block named", r);
        continue;
      }
      if (r.block < r.shownBefore) {
        counts.headsBackwards++;
        wrong("head backwards", r);
      }
      if (r.block > r.chainHeadAtEnd + 1) {
        counts.headsAhead++;
        wrong("a block not mined yet", r);
      }
      const age = (history.t0 + r.endMs) / 1000 - (truth.timestamps.get(r.block) ?? Number.POSITIVE_INFINITY);
      if (r.stale === null && age > staleAfterMs / 1000 + STALE_SLACK_S) {
        counts.unlabelledStale++;
        wrong(`unlabelled stale (${Math.round(age)} s)`, r);
      }
    }
    if (r.kind === "balance" && r.block !== undefined) {
      const expected = await truth.balance(r.address!, r.block);
      if (BigInt(r.result as string) !== BigInt(expected) && forked.has(r.block) && BigInt(r.result as string) !== 0n) {
        counts.onForkedBlocks++;
      } else if (BigInt(r.result as string) !== BigInt(expected)) {
        counts.wrongBalances++;
        if (BigInt(r.result as string) === 0n) counts.fakeZeros++;
        wrong(`balance (truth ${expected})`, r);
      }
    }
    if (r.kind === "receipt" && !receiptHolds(r, truth.receipts.get(r.hash!))) {
      counts.wrongReceipts++;
      wrong("receipt", r);
    }
    if (r.kind === "status" && !statusHolds(r, truth)) {
      counts.wrongStatuses++;
      wrong("status", r);
    }
  }

  const honest = honestNodes(history);
  const covered = history.reads.filter((r) => isCovered(honest, r));
  const failedCovered = covered.filter((r) => !r.ok);
  const errors = new Map<string, number>();
  for (const r of failedCovered) {
    const key = `${r.kind}: ${(r.error ?? "").slice(0, 120)}`;
    errors.set(key, (errors.get(key) ?? 0) + 1);
  }
  const accepted = history.sends.filter((s) => s.acceptedAtMs !== undefined);
  const minedOnce = accepted.filter((s) => truth.receipts.get(s.hash)).length;
  const recoveries = recoveryTimes(history, honest);
  const sorted = recoveries.map((r) => r.ms).sort((a, b) => a - b);
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : 0);
  return {
    reads: history.reads.length,
    failed: history.reads.filter((r) => !r.ok).length,
    covered: covered.length,
    failedCovered: failedCovered.length,
    failedCoveredPct: covered.length ? (100 * failedCovered.length) / covered.length : 0,
    failedByUp: failedByHonestUp(history, honest),
    coveredErrors: [...errors].sort((a, b) => b[1] - a[1]).slice(0, 5),
    ...counts,
    sends: history.sends.length,
    accepted: accepted.length,
    minedOnce,
    lost: accepted.length - minedOnce,
    recoveries,
    recoveryP50Ms: q(0.5),
    recoveryP99Ms: q(0.99),
    wrongExamples: examples,
  };
}

async function readTruth(net: TestNetwork, history: History): Promise<Truth> {
  const head = Number(await net.direct("eth_blockNumber", []));
  const timestamps = new Map<number, number>();
  const hashes = new Map<number, string>();
  for (let n = 0; n <= head; n++) {
    const block = (await net.direct("eth_getBlockByNumber", [`0x${n.toString(16)}`, false])) as {
      timestamp: string;
      hash: string;
    };
    timestamps.set(n, Number(block.timestamp));
    hashes.set(n, block.hash);
  }
  const balances = new Map<string, Promise<string>>();
  const receipts = new Map<string, Record<string, unknown> | null>();
  for (const s of history.sends) {
    receipts.set(s.hash, (await net.direct("eth_getTransactionReceipt", [s.hash])) as Record<string, unknown> | null);
  }
  return {
    timestamps,
    hashes,
    receipts,
    balance(address, block) {
      const key = `${address}@${block}`;
      let p = balances.get(key);
      if (!p) {
        p = net.direct("eth_getBalance", [address, `0x${block.toString(16)}`]) as Promise<string>;
        balances.set(key, p);
      }
      return p;
    },
  };
}

const RECEIPT_FIELDS = ["blockHash", "blockNumber", "transactionIndex", "status", "gasUsed", "from", "to"] as const;

function receiptHolds(r: ReadRecord, truth: Record<string, unknown> | null | undefined): boolean {
  const got = r.result as Record<string, unknown> | null;
  if (got === null) {
    // "Not mined" is wrong only about a block the answer says it had seen.
    const minedAt = truth ? Number(truth.blockNumber) : Number.POSITIVE_INFINITY;
    return r.block === undefined || minedAt > r.block;
  }
  if (!truth) return false;
  return RECEIPT_FIELDS.every((f) => String(got[f]).toLowerCase() === String(truth[f]).toLowerCase());
}

function statusHolds(r: ReadRecord, truth: Truth): boolean {
  const body = r.result as { status?: string; block?: { number: number; hash: string } };
  if (body.status === "pending") return true;
  if (body.status !== "included" || !body.block) return false;
  const mined = truth.receipts.get(r.hash!);
  return (
    !!mined &&
    Number(mined.blockNumber) === body.block.number &&
    String(mined.blockHash).toLowerCase() === body.block.hash.toLowerCase()
  );
}

/** Per node, when it was up and honest: [start, end) pairs in run milliseconds. */
type Honest = [number, number][][];

function honestNodes(history: History): Honest {
  const nodes = [...new Set(history.episodes.map((e) => e.node))];
  return nodes.map((n) => honestIntervals(history.episodes, n, history.endMs));
}

function upAt(honest: Honest, t: number): number {
  return honest.filter((list) => list.some(([s, e]) => s <= t && t < e)).length;
}

function isCovered(honest: Honest, r: ReadRecord): boolean {
  const up = honest.filter((list) => list.some(([s, e]) => s <= r.startMs - COVERED_AFTER_MS && e >= r.endMs));
  return up.length >= 2;
}

/**
 * Moments the count of honest nodes rose from below two to two, and how long until the gateway was serving again:
 * until the first answer to a read asked after the last read that failed in the COVERED_AFTER_MS that followed (or
 * until the next fault of any node).
 */
function recoveryTimes(history: History, honest: Honest): { atMs: number; ms: number }[] {
  const edges = [...new Set(honest.flat().flat())].sort((a, b) => a - b);
  const out: { atMs: number; ms: number }[] = [];
  for (const t of edges) {
    if (t === 0 || upAt(honest, t) < 2 || upAt(honest, t - 1) >= 2) continue;
    // The window closes when the count falls again or any node's next fault starts: what fails then is theirs.
    const drop = edges.find((e) => e > t && upAt(honest, e) < 2) ?? Number.POSITIVE_INFINITY;
    const nextFault = Math.min(...history.episodes.filter((e) => e.startMs > t).map((e) => e.startMs));
    const closes = Math.min(drop, nextFault);
    let lastFailed = t - 1;
    for (const r of history.reads)
      if (!r.ok && r.startMs >= t && r.startMs < t + COVERED_AFTER_MS && r.endMs < closes)
        lastFailed = Math.max(lastFailed, r.startMs);
    const served = history.reads
      .filter((r) => r.ok && r.startMs > lastFailed)
      .reduce<ReadRecord | undefined>((first, r) => (!first || r.endMs < first.endMs ? r : first), undefined);
    out.push({ atMs: t, ms: served ? served.endMs - t : Number.POSITIVE_INFINITY });
  }
  return out;
}

/** Failed reads by how many honest domains were up when they were asked (and, at two or more, for how long). */
function failedByHonestUp(history: History, honest: Honest): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of history.reads) {
    if (r.ok) continue;
    const up = upAt(honest, r.startMs);
    const key = up < 2 ? `${up} up` : isCovered(honest, r) ? "2+ up ≥3 s" : "2+ up <3 s";
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
