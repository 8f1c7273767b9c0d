import assert from "node:assert/strict";
import { test } from "node:test";
import { choosePendingNonce, PENDING_NONCE_MAX_AHEAD } from "./pending-nonce.ts";

const r = (domain: string, nonce: number) => ({ domain, nonce: BigInt(nonce) });

test("the highest nonce at least two of three domains reach: a lone inflated report is dropped", () => {
  assert.deepEqual(choosePendingNonce([r("a", 5), r("b", 5), r("c", 9)], 5n)?.nonce, 5n);
  assert.deepEqual(choosePendingNonce([r("a", 6), r("b", 6), r("c", 9)], 5n)?.nonce, 6n);
  // Two pools hold a pending transaction the third has not seen yet: the higher is right.
  assert.deepEqual(choosePendingNonce([r("a", 5), r("b", 6), r("c", 6)], 5n)?.nonce, 6n);
});

test("with one or two domains, the highest report within the bound above the proven nonce", () => {
  assert.deepEqual(choosePendingNonce([r("a", 5), r("b", 7)], 5n), { nonce: 7n, domains: ["b"] });
  assert.equal(choosePendingNonce([r("a", 5), r("b", 5 + PENDING_NONCE_MAX_AHEAD + 1)], 5n)?.nonce, 5n);
  assert.equal(choosePendingNonce([r("a", 0xffffffff)], 5n)?.nonce, 5n);
});

test("a report below the proven mined nonce is a node behind, not an answer", () => {
  assert.deepEqual(choosePendingNonce([r("a", 3), r("b", 3)], 5n), { nonce: 5n, domains: [] });
});

test("without a proven nonce only what two domains agree on is believed", () => {
  assert.equal(choosePendingNonce([r("a", 5), r("b", 900)], undefined)?.nonce, 5n);
  assert.equal(choosePendingNonce([r("a", 5)], undefined), undefined);
});
