import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDuration } from "./drill.ts";

test("durations parse strictly", () => {
  assert.equal(parseDuration("60s"), 60_000);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("1500"), 1_500);
  assert.equal(parseDuration("soon"), undefined);
});
