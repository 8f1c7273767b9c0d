import assert from "node:assert/strict";
import { test } from "node:test";
import { depositCreationMismatch, effectiveGasPrice, receiptFieldsMismatch } from "./receipt-fields.ts";
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

/** A deposit creation as an OP node serves it; its encoding has no nonce and no gas price. */
const depositCreation = { type: "0x7e", from: FROM, to: null, nonce: "0x5", gasPrice: "0x0" };
const depositReceipt = {
  from: FROM,
  to: null,
  contractAddress: createdAddress(FROM, 5n),
  effectiveGasPrice: "0x0",
  depositNonce: "0x5",
  depositReceiptVersion: "0x1",
};

test("a deposit creation deploys with the nonce its receipt records, whatever nonce the body states for it", () => {
  assert.equal(receiptFieldsMismatch(depositReceipt, depositCreation, 10n, "op-stack"), undefined);
  // The body's `nonce` of a deposit is bound by no root: a supplier may state any (anvil states 0). An honest receipt
  // must not be found false against it.
  for (const nonce of ["0x0", "0x9", undefined]) {
    assert.equal(receiptFieldsMismatch(depositReceipt, { ...depositCreation, nonce }, 10n, "op-stack"), undefined);
  }
  // A receipt whose contract address is not the one its own depositNonce deploys to is not proven (anvil 1.7 records
  // the nonce after the deposit), and not a lie either: checked apart.
  const shifted = { ...depositReceipt, depositNonce: "0x6" };
  assert.equal(receiptFieldsMismatch(shifted, depositCreation, 10n, "op-stack"), undefined);
  assert.match(String(depositCreationMismatch(shifted, depositCreation, "op-stack")), /depositNonce deploys to/);
  assert.equal(depositCreationMismatch(depositReceipt, depositCreation, "op-stack"), undefined);
  assert.equal(depositCreationMismatch(shifted, depositCreation, "ethereum"), undefined);
  assert.match(
    String(receiptFieldsMismatch({ ...depositReceipt, depositNonce: "five" }, depositCreation, 10n, "op-stack")),
    /depositNonce is malformed/,
  );
});

test("before Regolith a deposit receipt records no nonce: its contract address is checked against nothing", () => {
  const bedrock = { ...depositReceipt, depositNonce: undefined, depositReceiptVersion: undefined };
  assert.equal(receiptFieldsMismatch({ ...bedrock, contractAddress: TO }, depositCreation, 10n, "op-stack"), undefined);
  assert.match(String(receiptFieldsMismatch({ ...bedrock, to: TO }, depositCreation, 10n, "op-stack")), /recipient/);
});

test("a deposit pays no gas price: its receipt's effective price is 0, whatever price the body states", () => {
  const deposit = { type: "0x7e", from: FROM, to: TO, nonce: "0x0", gasPrice: "0x5" };
  const paid = { from: FROM, to: TO, contractAddress: null, effectiveGasPrice: "0x0" };
  assert.equal(receiptFieldsMismatch(paid, deposit, 10n, "op-stack"), undefined);
  assert.match(
    String(receiptFieldsMismatch({ ...paid, effectiveGasPrice: "0x5" }, deposit, 10n, "op-stack")),
    /gas price/,
  );
});

test("on an Ethereum chain a 0x7e transaction is no deposit: its creation deploys with the nonce it states", () => {
  const creation = { ...depositCreation, nonce: "0x3" };
  assert.match(String(receiptFieldsMismatch(depositReceipt, creation, 10n)), /creation deploys to/);
  assert.equal(
    receiptFieldsMismatch({ ...depositReceipt, contractAddress: createdAddress(FROM, 3n) }, creation, 10n),
    undefined,
  );
});
