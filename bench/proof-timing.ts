/**
 * How long `verifyAccountProof` takes in the bench process itself, on the proof fixture taken from a real anvil: the
 * CPU a proven read adds to the gateway before any network cost. The same account and run count as the unit test in
 * `src/core/proof.test.ts`, so the two figures can be compared.
 */
import { performance } from "node:perf_hooks";
import fixtures from "../src/core/fixtures/proofs.json" with { type: "json" };
import type { Hex } from "../src/core/hex.ts";
import { verifyAccountProof } from "../src/core/proof.ts";

export interface ProofTiming {
  /** Calls timed; the first ones are included, as in the unit test (no warm-up). */
  runs: number;
  /** Trie nodes in the account proof timed. */
  nodes: number;
  p50Us: number;
  p99Us: number;
}

/** The account with code and storage: the deepest path in the fixture. */
const FIXTURE = fixtures.contract;

/** Nearest-rank quantile of ascending `sorted`. */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Times `runs` calls one by one; throws if any of them does not verify, so a broken verifier cannot look fast. */
export function timeAccountProof(runs = 1_000): ProofTiming {
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, got ${runs}`);
  const stateRoot = fixtures.block.stateRoot as Hex;
  const address = FIXTURE.address as Hex;
  const proof = FIXTURE.proof;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const result = verifyAccountProof(stateRoot, address, proof);
    samples.push(performance.now() - start);
    if (!result.ok) throw new Error(`the fixture proof did not verify: ${result.reason}`);
  }
  samples.sort((a, b) => a - b);
  return {
    runs,
    nodes: proof.accountProof.length,
    p50Us: quantile(samples, 0.5) * 1000,
    p99Us: quantile(samples, 0.99) * 1000,
  };
}
