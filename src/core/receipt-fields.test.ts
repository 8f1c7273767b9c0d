import assert from "node:assert/strict";
import { test } from "node:test";
import { effectiveGasPrice, receiptFieldsMismatch } from "./receipt-fields.ts";
import { createdAddress } from "./sender.ts";

const FROM = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const TO = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
const call = { from: FROM, to: TO, nonce: "0x3", maxFeePerGas: "0x64", maxPriorityFeePerGas: "0x2" };
const receipt = { from: FROM, to: TO, contractAddress: null, effectiveGasPrice: "0xc" };

test("a receipt that states its transaction's sender, recipient and price agrees", () => {
  assert.equal(receiptFieldsMismatch(receipt, call, 10n), undefined);
  assert.equal(
    receiptFieldsMismatch({ ...receipt, from: FROM.toUpperCase().replace("0X", "0x") }, call, 10n),
    undefined,
  );
});

test("each uncovered field that disagrees is named", () => {
  assert.match(String(receiptFieldsMismatch({ ...receipt, from: TO }, call, 10n)), /sender/);
  assert.match(String(receiptFieldsMismatch({ ...receipt, to: FROM }, call, 10n)), /recipient/);
  assert.match(String(receiptFieldsMismatch({ ...receipt, contractAddress: TO }, call, 10n)), /created contract/);
  assert.match(String(receiptFieldsMismatch({ ...receipt, effectiveGasPrice: "0x1" }, call, 10n)), /gas price/);
});

test("a creation's receipt names the address its sender and nonce deploy to, and no recipient", () => {
  const creation = { ...call, to: null };
  const deployed = createdAddress(FROM, 3n);
  const ok = { ...receipt, to: null, contractAddress: deployed };
  assert.equal(receiptFieldsMismatch(ok, creation, 10n), undefined);
  assert.match(String(receiptFieldsMismatch({ ...ok, contractAddress: TO }, creation, 10n)), /deploys to/);
  assert.match(String(receiptFieldsMismatch({ ...ok, to: TO }, creation, 10n)), /recipient/);
});

test("effective gas price: the legacy price, or the base fee plus the tip capped by the fee cap", () => {
  assert.equal(effectiveGasPrice({ gasPrice: "0x7" }, 5n), 7n);
  assert.equal(effectiveGasPrice(call, 10n), 12n);
  assert.equal(effectiveGasPrice(call, 99n), 100n);
  assert.equal(effectiveGasPrice(call, undefined), undefined);
});
