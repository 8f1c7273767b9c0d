import assert from "node:assert/strict";
import { test } from "node:test";
import { statusAfter } from "./send-record.ts";

test("statusAfter: a named commitment is the status; an old status without one is finalized", () => {
  assert.equal(statusAfter("pending", { slot: 5, err: null, confirmationStatus: "confirmed" }), "confirmed");
  assert.equal(
    statusAfter("pending", { slot: 5, err: null, confirmationStatus: null, confirmations: null }),
    "finalized",
  );
  assert.equal(statusAfter("pending", { slot: 5, err: null, confirmationStatus: null, confirmations: 3 }), "processed");
});

test("statusAfter: none seen keeps what was known, but a processed one gone from view is pending again", () => {
  assert.equal(statusAfter("pending", null), "pending");
  assert.equal(statusAfter("processed", null), "pending", "it was on a fork that lost: send it again");
  assert.equal(statusAfter("confirmed", null), "confirmed");
});

test("statusAfter: an agreed status never takes a record below the commitment it had reached", () => {
  assert.equal(statusAfter("confirmed", { slot: 5, err: null, confirmationStatus: "processed" }), "confirmed");
  assert.equal(statusAfter("processed", { slot: 5, err: null, confirmationStatus: "finalized" }), "finalized");
});
