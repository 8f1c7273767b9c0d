import assert from "node:assert/strict";
import { test } from "node:test";
import fixtures from "../src/core/fixtures/proofs.json" with { type: "json" };
import { timeAccountProof } from "./proof-timing.ts";

test("timeAccountProof times every run of the fixture proof and orders its quantiles", () => {
  const timing = timeAccountProof(50);
  assert.equal(timing.runs, 50);
  assert.equal(timing.nodes, fixtures.contract.proof.accountProof.length);
  assert.ok(timing.p50Us > 0, `p50 ${timing.p50Us} µs`);
  assert.ok(timing.p99Us >= timing.p50Us, `p99 ${timing.p99Us} µs below p50 ${timing.p50Us} µs`);
});

test("timeAccountProof refuses a run count it cannot take quantiles of", () => {
  assert.throws(() => timeAccountProof(0), /positive integer/);
  assert.throws(() => timeAccountProof(1.5), /positive integer/);
});
