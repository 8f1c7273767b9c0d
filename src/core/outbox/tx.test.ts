import assert from "node:assert/strict";
import { test } from "node:test";
import { keccak256, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { decodeRawTransaction, sendVerdict } from "./tx.ts";

// anvil's first dev key: public test material.
const account = privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
const to = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const base = { to, value: parseEther("1"), gas: 21_000n, nonce: 7 } as const;

test("a signed transaction decodes to its hash, sender and nonce; the hash is computed locally", async () => {
  for (const raw of [
    await account.signTransaction({ ...base, chainId: 31337, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n }),
    await account.signTransaction({ ...base, chainId: 31337, gasPrice: 1n, type: "legacy" }),
    await account.signTransaction({ ...base, chainId: 31337, gasPrice: 1n, type: "eip2930", accessList: [] }),
  ]) {
    const out = await decodeRawTransaction(raw, 31337, { allowUnprotected: false });
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(out.tx.hash, keccak256(raw));
    assert.equal(out.tx.from, account.address.toLowerCase());
    assert.equal(out.tx.nonce, 7);
    assert.equal(out.tx.chainId, 31337);
  }
});

test("another chain's or an unprotected transaction is rejected (-32003); the latter can be allowed", async () => {
  const other = await account.signTransaction({ ...base, chainId: 1, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n });
  const wrong = await decodeRawTransaction(other, 31337, { allowUnprotected: false });
  assert.deepEqual(wrong.ok ? undefined : wrong.code, "tx_rejected");
  assert.match(wrong.ok ? "" : wrong.message, /signed for chain 1, this endpoint serves chain 31337/);
  const unprotected = await account.signTransaction({ ...base, gasPrice: 1n, type: "legacy" });
  const refused = await decodeRawTransaction(unprotected, 31337, { allowUnprotected: false });
  assert.equal(refused.ok ? undefined : refused.code, "tx_rejected");
  assert.match(refused.ok ? "" : refused.message, /no replay protection/);
  const allowed = await decodeRawTransaction(unprotected, 31337, { allowUnprotected: true });
  assert.ok(allowed.ok);
  assert.equal(allowed.tx.chainId, undefined);
  assert.equal(allowed.tx.from, account.address.toLowerCase());
});

test("malformed input is invalid params, never a throw", async () => {
  const good = await account.signTransaction({ ...base, chainId: 31337, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n });
  for (const raw of ["0x", "0x00", "0x02", "0xf86c", `${good.slice(0, -2)}`, `0x02${"ff".repeat(40)}`, "0x7e00"]) {
    const out = await decodeRawTransaction(raw, 31337, { allowUnprotected: false });
    assert.equal(out.ok ? "decoded" : out.code, "invalid_params", raw);
  }
});

test("an upstream's answer to a send: our hash or 'already known' is accepted; a different hash is flagged", () => {
  const hash = `0x${"ab".repeat(32)}`;
  assert.equal(sendVerdict(hash, { ok: true, result: hash }), "accepted");
  assert.equal(sendVerdict(hash, { ok: true, result: hash.toUpperCase().replace("0X", "0x") }), "accepted");
  assert.equal(sendVerdict(hash, { ok: true, result: `0x${"cd".repeat(32)}` }), "wrong_hash");
  assert.equal(sendVerdict(hash, { ok: true, result: null }), "wrong_hash");
  for (const m of [
    "already known",
    "known transaction: 0xab…",
    "ALREADY_EXISTS: transaction already exists",
    "AlreadyKnown",
  ])
    assert.equal(sendVerdict(hash, { ok: false, message: m }), "accepted", m);
  for (const m of ["nonce too low", "nonce too low: next nonce 8, tx nonce 7", "OldNonce"])
    assert.equal(sendVerdict(hash, { ok: false, message: m }), "nonce_used", m);
  for (const m of [
    "insufficient funds for gas * price + value",
    "replacement transaction underpriced",
    "intrinsic gas too low",
  ])
    assert.equal(sendVerdict(hash, { ok: false, message: m }), "rejected", m);
});
