import assert from "node:assert/strict";
import { test } from "node:test";
import { checkStated, nonceBefore } from "./stated.ts";

const DEPOSITOR = "0xdeaddeaddeaddeaddeaddeaddeaddeaddead0001";
const USER = "0x00000000000000000000000000000000000000aa";
const ZEROS = { fixed: { gasPrice: "0x0", v: "0x0", r: "0x0", s: "0x0" }, mismatch: false } as const;

test("fixed fields: what the type fixes (or nothing) agrees, anything else is named with the rules' verdict", () => {
  assert.deepEqual(checkStated({ gasPrice: "0x0", v: "0x0", r: `0x${"0".repeat(64)}`, s: "0x0" }, ZEROS), { ok: true });
  assert.deepEqual(checkStated({}, ZEROS), { ok: true });
  const lie = checkStated({ type: "0x7e", gasPrice: "0x1" }, ZEROS);
  assert.equal(lie.ok, false);
  assert.match((lie as { reason: string }).reason, /gasPrice 0x1/);
  assert.equal(checkStated({ r: "0x" }, ZEROS).ok, false, "not a quantity");
  assert.equal(checkStated({ s: 0 }, ZEROS).ok, false, "not a string");
  const soft = checkStated({ gasPrice: "0x1" }, { ...ZEROS, mismatch: "unverifiable" });
  assert.equal(soft.ok, "unverifiable");
});

test("addresses compare without case, empty data only with empty data; same-as and unchecked fields", () => {
  const to = "0x000000000000000000000000000000000000006E";
  assert.deepEqual(checkStated({ to: to.toLowerCase() }, { fixed: { to }, mismatch: false }), { ok: true });
  assert.equal(checkStated({ input: "0x00" }, { fixed: { input: "0x" }, mismatch: false }).ok, false);
  const sameAs = { sameAs: { gasPrice: "maxFeePerGas" }, mismatch: false } as const;
  assert.deepEqual(checkStated({ gasPrice: "0x10", maxFeePerGas: "0x010" }, sameAs), { ok: true });
  assert.equal(checkStated({ gasPrice: "0x11", maxFeePerGas: "0x10" }, sameAs).ok, false);
  assert.equal(checkStated({ input: "0xc9f95d32" }, { unchecked: ["input"], mismatch: false }).ok, "unverifiable");
  assert.deepEqual(checkStated({}, { unchecked: ["input"], mismatch: false }), { ok: true });
});

test("a transaction's nonce is its sender's nonce after the block less its transactions from this one on", () => {
  const txs = [
    { from: DEPOSITOR },
    { from: USER },
    { from: USER.toUpperCase().replace("0X", "0x") },
    { from: DEPOSITOR },
  ];
  assert.equal(nonceBefore(txs, 0, 10n), 8n);
  assert.equal(nonceBefore(txs, 3, 10n), 9n);
  assert.equal(nonceBefore(txs, 1, 5n), 3n, "addresses compare without case");
  assert.equal(nonceBefore(txs, 2, 5n), 4n);
});
