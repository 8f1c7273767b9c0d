import assert from "node:assert/strict";
import { test } from "node:test";
import london from "../fixtures/blocks-london.json" with { type: "json" };
import opHeader from "../fixtures/l2/op-header-151534212.json" with { type: "json" };
import { baseFeeRuleOf, ETHEREUM_BASE_FEE_RULE, holoceneRule, nextBaseFee } from "./base-fee.ts";

const gasOf = (b: { baseFeePerGas?: string; gasUsed: string; gasLimit: string }) => ({
  baseFee: BigInt(b.baseFeePerGas!),
  gasUsed: BigInt(b.gasUsed),
  gasLimit: BigInt(b.gasLimit),
});

test("each base fee of a node's consecutive London blocks follows from its parent's (fixtures/blocks-london.json)", () => {
  const blocks = london.blocks;
  // Block 1 keeps the genesis base fee on anvil, whatever genesis used: from block 1 on, the rule holds.
  for (let i = 1; i + 1 < blocks.length; i++) {
    const parent = blocks[i]!;
    assert.equal(nextBaseFee(gasOf(parent), ETHEREUM_BASE_FEE_RULE), BigInt(blocks[i + 1]!.baseFeePerGas!));
  }
  // 1 gwei, 21,000 of a 15M target: −1/8 × (15M − 21,000)/15M.
  assert.equal(
    nextBaseFee({ baseFee: 10n ** 9n, gasUsed: 21_000n, gasLimit: 30_000_000n }, ETHEREUM_BASE_FEE_RULE),
    875_175_000n,
  );
});

test("above the target the base fee rises (at least 1 wei), at the target it stays, it never goes below zero", () => {
  const rule = ETHEREUM_BASE_FEE_RULE;
  assert.equal(nextBaseFee({ baseFee: 10n ** 9n, gasUsed: 30_000_000n, gasLimit: 30_000_000n }, rule), 1_125_000_000n);
  assert.equal(nextBaseFee({ baseFee: 7n, gasUsed: 15_000_001n, gasLimit: 30_000_000n }, rule), 8n);
  assert.equal(nextBaseFee({ baseFee: 7n, gasUsed: 15_000_000n, gasLimit: 30_000_000n }, rule), 7n);
  assert.equal(nextBaseFee({ baseFee: 0n, gasUsed: 0n, gasLimit: 30_000_000n }, rule), 0n);
});

test("the OP stack's rule comes from the parent's Holocene extraData; Jovian's and unknown stacks' are not known here", () => {
  assert.deepEqual(holoceneRule("0x00000000fa00000006"), { denominator: 250n, elasticity: 6n });
  assert.equal(holoceneRule("0x"), undefined, "before Holocene: the chain config decides");
  assert.equal(holoceneRule("0x000000000000000000"), undefined);
  // OP Mainnet block 151534212 (fixtures/l2): Jovian's version 1, with a minimum base fee.
  assert.equal(opHeader.result.extraData, "0x01000000fa000000020000000000000000");
  assert.equal(baseFeeRuleOf("op-stack", opHeader.result.extraData), undefined);
  assert.deepEqual(baseFeeRuleOf("op-stack", "0x00000000fa00000006"), { denominator: 250n, elasticity: 6n });
  assert.equal(baseFeeRuleOf("ethereum", "0x1234"), ETHEREUM_BASE_FEE_RULE);
  assert.equal(baseFeeRuleOf("arbitrum", "0x"), undefined);
  assert.equal(baseFeeRuleOf("polygon", "0x"), undefined);
  // Holocene with OP Mainnet's parameters: a full 60M block at 1 gwei rises by (60M − 10M)/10M/250.
  const op = holoceneRule("0x00000000fa00000006")!;
  assert.equal(nextBaseFee({ baseFee: 10n ** 9n, gasUsed: 60_000_000n, gasLimit: 60_000_000n }, op), 1_020_000_000n);
});
