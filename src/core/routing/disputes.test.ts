import assert from "node:assert/strict";
import { test } from "node:test";
import { createDisputes } from "./disputes.ts";

test("three disputes within the window cordon the upstream for cordonMs", () => {
  const d = createDisputes({ threshold: 3, windowMs: 1_000, cordonMs: 5_000 });
  assert.equal(d.record("u", 0), undefined);
  assert.equal(d.record("u", 100), undefined);
  assert.equal(d.record("u", 200), 5_200);
  assert.equal(d.count("u", 200), 0, "the slate is clean once cordoned");
});

test("disputes older than the window do not count; upstreams are counted apart", () => {
  const d = createDisputes({ threshold: 2, windowMs: 1_000, cordonMs: 10 });
  d.record("u", 0);
  assert.equal(d.record("u", 1_500), undefined);
  assert.equal(d.record("v", 1_500), undefined);
  assert.equal(d.count("u", 1_600), 1);
});
