import assert from "node:assert/strict";
import { test } from "node:test";
import bodies from "../src/core/fixtures/bodies.json" with { type: "json" };
import fixtures from "../src/core/fixtures/proofs.json" with { type: "json" };
import { largestFixtureBlock, timeAccountProof, timeBlockChecks } from "./proof-timing.ts";

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

test("timeBlockChecks times the largest fixture block's body, receipts and one sender recovery", async () => {
  const most = Math.max(...bodies.blocks.map((b) => b.block.transactions.length));
  assert.ok(most > 128, `largest fixture block has ${most} transactions`);
  assert.equal(largestFixtureBlock().block.transactions.length, most);
  const timing = await timeBlockChecks(5);
  assert.equal(timing.runs, 5);
  assert.equal(timing.transactions, most);
  for (const [p50, p99, what] of [
    [timing.bodyP50Us, timing.bodyP99Us, "body"],
    [timing.receiptsP50Us, timing.receiptsP99Us, "receipts"],
  ] as const) {
    assert.ok(p50 > 0, `${what} p50 ${p50} µs`);
    assert.ok(p99 >= p50, `${what} p99 ${p99} µs below p50 ${p50} µs`);
  }
  assert.ok(timing.senderP50Us > 0, `sender p50 ${timing.senderP50Us} µs`);
});

test("timeBlockChecks throws when a check does not pass, so a broken check cannot look fast", async () => {
  const value = structuredClone(largestFixtureBlock()) as unknown as {
    block: { transactions: { value: string }[] };
  };
  value.block.transactions[3]!.value = "0x1234";
  await assert.rejects(timeBlockChecks(1, value as never), /checkBlockBody did not pass/);

  const receipts = structuredClone(largestFixtureBlock());
  const receipt = receipts.receipts[7] as { status: string };
  receipt.status = receipt.status === "0x1" ? "0x0" : "0x1";
  await assert.rejects(timeBlockChecks(1, receipts), /checkBlockReceipts did not pass/);

  const sender = structuredClone(largestFixtureBlock());
  const middle = sender.block.transactions[Math.floor(sender.block.transactions.length / 2)]!;
  middle.from = "0x000000000000000000000000000000000000dEaD";
  await assert.rejects(timeBlockChecks(1, sender), /recoverSender gave 0x[0-9a-fA-F]{40}, the block states 0x0+dEaD/);

  await assert.rejects(timeBlockChecks(0), /positive integer/);
});
