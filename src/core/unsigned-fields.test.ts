import assert from "node:assert/strict";
import { test } from "node:test";
import { nonceBefore, unsignedZeroFieldsMismatch } from "./unsigned-fields.ts";

const DEPOSITOR = "0xdeaddeaddeaddeaddeaddeaddeaddeaddead0001";
const USER = "0x00000000000000000000000000000000000000aa";

test("a deposit's zero price and signature fields: zeros (or absent) agree, anything else is named", () => {
  assert.equal(unsignedZeroFieldsMismatch({ gasPrice: "0x0", v: "0x0", r: "0x0", s: "0x0" }), undefined);
  assert.equal(unsignedZeroFieldsMismatch({}), undefined);
  assert.equal(unsignedZeroFieldsMismatch({ gasPrice: "0x00" }), undefined);
  assert.match(unsignedZeroFieldsMismatch({ gasPrice: "0x1" }) ?? "", /gasPrice/);
  assert.match(unsignedZeroFieldsMismatch({ r: "0x" }) ?? "", /\br\b/);
  assert.match(unsignedZeroFieldsMismatch({ s: 0 as unknown as string }) ?? "", /\bs\b/);
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
