/**
 * How long verification takes in the bench process itself, on fixtures taken from a real anvil: the CPU a proven
 * read adds to the gateway before any network cost. `verifyAccountProof` is timed on the same account and run count
 * as the unit test in `src/core/verification/proof.test.ts`; the block checks on the largest block of `src/core/fixtures/bodies.json`,
 * the one `src/core/verification/roots.test.ts` times once.
 */
import { performance } from "node:perf_hooks";
import bodies from "../src/core/fixtures/bodies.json" with { type: "json" };
import fixtures from "../src/core/fixtures/proofs.json" with { type: "json" };
import type { Hex } from "../src/core/hex.ts";
import { verifyAccountProof } from "../src/core/verification/proof.ts";
import { checkBlockBody, checkBlockReceipts } from "../src/core/verification/roots.ts";
import { recoverSender, sameAddress } from "../src/core/verification/sender.ts";

export interface ProofTiming {
  /** Calls timed; the first ones are included, as in the unit test (no warm-up). */
  runs: number;
  /** Trie nodes in the account proof timed. */
  nodes: number;
  p50Us: number;
  p99Us: number;
}

/** What a proven block, transaction or receipt read costs in CPU, once per block (the checks) or per transaction (the sender). */
export interface BlockCheckTiming {
  /** Calls of each check timed, one by one; the first ones are included (no warm-up). */
  runs: number;
  /** Transactions (and receipts) in the block checked. */
  transactions: number;
  /** `checkBlockBody` on the block with full transaction objects. */
  bodyP50Us: number;
  bodyP99Us: number;
  /** `checkBlockReceipts` on its receipts, given the block's transaction hashes. */
  receiptsP50Us: number;
  receiptsP99Us: number;
  /** One `recoverSender` (secp256k1) of the block's middle transaction. */
  senderP50Us: number;
}

/** The account with code and storage: the deepest path in the fixture. */
const FIXTURE = fixtures.contract;

/** One block of `bodies.json`: the block with full transactions, and its receipts. */
export interface FixtureBlock {
  name: string;
  block: { hash: string; number: string; receiptsRoot: string; transactions: { hash: string; from: string }[] };
  receipts: unknown[];
}

/** Nearest-rank quantile of ascending `sorted`. */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function checkRuns(runs: number): void {
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, got ${runs}`);
}

/** What every verifier returns: passed, or why not (`"unverifiable"` included: it must not count as timed). */
type Checked = { ok: true } | { ok: false | "unverifiable"; reason: string };

/** Times `runs` calls one by one; throws if any of them does not pass, so a broken check cannot look fast. */
function timeCheck(runs: number, what: string, check: () => Checked): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const result = check();
    samples.push(performance.now() - start);
    if (result.ok !== true) throw new Error(`${what} did not pass: ${result.reason}`);
  }
  return samples.sort((a, b) => a - b);
}

/** Times `runs` calls one by one; throws if any of them does not verify, so a broken verifier cannot look fast. */
export function timeAccountProof(runs = 1_000): ProofTiming {
  checkRuns(runs);
  const stateRoot = fixtures.block.stateRoot as Hex;
  const address = FIXTURE.address as Hex;
  const proof = FIXTURE.proof;
  const samples = timeCheck(runs, "the fixture proof", () => verifyAccountProof(stateRoot, address, proof));
  return {
    runs,
    nodes: proof.accountProof.length,
    p50Us: quantile(samples, 0.5) * 1000,
    p99Us: quantile(samples, 0.99) * 1000,
  };
}

/** The fixture block with the most transactions. */
export function largestFixtureBlock(): FixtureBlock {
  const blocks = bodies.blocks as unknown as FixtureBlock[];
  const largest = blocks.reduce<FixtureBlock | undefined>(
    (best, b) => (best && best.block.transactions.length >= b.block.transactions.length ? best : b),
    undefined,
  );
  if (!largest || largest.block.transactions.length === 0)
    throw new Error("bodies.json holds no block with transactions");
  return largest;
}

/**
 * Times `checkBlockBody` and `checkBlockReceipts` (with the transaction hashes) `runs` times each on `fixture` (the
 * largest fixture block unless given), and `recoverSender` of its middle transaction `runs` times; throws if a check
 * does not pass or the sender recovered is not the one the block states.
 */
export async function timeBlockChecks(runs = 100, fixture = largestFixtureBlock()): Promise<BlockCheckTiming> {
  checkRuns(runs);
  const { block, receipts } = fixture;
  const hashes = block.transactions.map((tx) => tx.hash as Hex);
  const header = { hash: block.hash as Hex, number: Number(block.number), receiptsRoot: block.receiptsRoot as Hex };
  const body = timeCheck(runs, "checkBlockBody", () => checkBlockBody(block));
  const receiptChecks = timeCheck(runs, "checkBlockReceipts", () => checkBlockReceipts(receipts, header, hashes));
  const tx = block.transactions[Math.floor(block.transactions.length / 2)]!;
  const senders: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const sender = await recoverSender(tx);
    senders.push(performance.now() - start);
    if (!sameAddress(sender, tx.from)) throw new Error(`recoverSender gave ${sender}, the block states ${tx.from}`);
  }
  senders.sort((a, b) => a - b);
  return {
    runs,
    transactions: block.transactions.length,
    bodyP50Us: quantile(body, 0.5) * 1000,
    bodyP99Us: quantile(body, 0.99) * 1000,
    receiptsP50Us: quantile(receiptChecks, 0.5) * 1000,
    receiptsP99Us: quantile(receiptChecks, 0.99) * 1000,
    senderP50Us: quantile(senders, 0.5) * 1000,
  };
}
