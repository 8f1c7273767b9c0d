import assert from "node:assert/strict";
import { test } from "node:test";
import { entryPerItem } from "./batch.ts";

test("a batch answer counts only with one entry per item asked", () => {
  assert.deepEqual(entryPerItem([null, { slot: 1 }], 2), [null, { slot: 1 }]);
  assert.equal(entryPerItem([{ slot: 1 }], 2), undefined, "one left out");
  assert.equal(entryPerItem([null, null, null], 2), undefined, "one too many");
  assert.equal(entryPerItem(null, 2), undefined);
  assert.equal(entryPerItem({ 0: null, 1: null, length: 2 }, 2), undefined, "not an array");
});
