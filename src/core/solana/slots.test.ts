import assert from "node:assert/strict";
import { test } from "node:test";
import type { FailureDomain } from "../domains/domain.ts";
import { commitmentOf, createSlotBook, MAX_SLOT_JUMP } from "./slots.ts";

const domain = (operator: string, hosting: string, region: string): FailureDomain => ({ operator, hosting, region });
const all = () => true;
const independent = [
  { id: "a", domain: domain("a-rpc", "aws", "us-east-1") },
  { id: "b", domain: domain("b-nodes", "gcp", "europe-west1") },
  { id: "c", domain: domain("c", "hetzner", "fsn1") },
];

test("the agreed slot is the highest two independent domains have both reached; one racing ahead moves nothing", () => {
  const book = createSlotBook(independent);
  book.observe("a", "processed", 100);
  assert.equal(book.agree(all).processed, undefined, "one upstream alone agrees nothing");
  book.observe("b", "processed", 98);
  book.observe("c", "processed", 500);
  assert.equal(book.agree(all).processed, 100, "c is far ahead: a and c both reached 100");
  book.observe("c", "processed", 99);
  assert.equal(book.agree(all).processed, 100, "never backwards");
});

test("two upstreams of one operator are no independent pair, even in two clouds", () => {
  const book = createSlotBook([
    { id: "a", domain: domain("same", "aws", "us-east-1") },
    { id: "b", domain: domain("same", "gcp", "europe-west1") },
    { id: "c", domain: domain("other", "hetzner", "fsn1") },
  ]);
  for (const id of ["a", "b"]) book.observe(id, "finalized", 10);
  assert.equal(book.agree(all).finalized, undefined);
  book.observe("c", "finalized", 9);
  assert.equal(book.agree(all).finalized, 9);
});

test("a single-domain cluster needs every usable upstream", () => {
  const book = createSlotBook([
    { id: "a", domain: domain("me", "home", "lab") },
    { id: "b", domain: domain("me", "home", "lab") },
  ]);
  book.observe("a", "confirmed", 7);
  assert.equal(book.agree(all).confirmed, undefined);
  book.observe("b", "confirmed", 5);
  assert.equal(book.agree(all).confirmed, 5);
});

test("commitments are separate; unusable upstreams are no witnesses; a jump past the agreed slot is not recorded", () => {
  const book = createSlotBook(independent);
  for (const id of ["a", "b"]) {
    book.observe(id, "processed", 50);
    book.observe(id, "finalized", 18);
  }
  assert.deepEqual(book.agree(all), { processed: 50, finalized: 18 });
  assert.equal(book.observe("a", "processed", 50 + MAX_SLOT_JUMP + 1), false);
  assert.equal(book.slotOf("a", "processed"), 50);
  book.observe("a", "processed", 60);
  book.observe("b", "processed", 60);
  assert.equal(book.agree((id) => id !== "b").processed, 50, "b may not witness");
});

test("commitmentOf: the default is finalized; old names map to new ones; unknown ones are invalid", () => {
  assert.equal(commitmentOf(undefined), "finalized");
  assert.equal(commitmentOf({ commitment: "confirmed" }), "confirmed");
  assert.equal(commitmentOf({ commitment: "recent" }), "processed");
  assert.equal(commitmentOf({ commitment: "max" }), "finalized");
  assert.equal(commitmentOf({ commitment: "soon" }), undefined);
});

test("raise: another worker's agreed slots lift this one's, never lower them; its own agreement goes on above", () => {
  const book = createSlotBook(independent);
  for (const id of ["a", "b"]) book.observe(id, "processed", 40);
  book.agree(all);
  assert.equal(book.raise({ processed: 45, finalized: 10 }), true);
  assert.equal(book.agreed("processed"), 45);
  assert.equal(book.agreed("finalized"), 10);
  assert.equal(book.raise({ processed: 44, confirmed: -1 }), false, "lower or nonsense: nothing moves");
  assert.equal(book.agree(all).processed, 45, "its own pair at 40 does not take it back");
  for (const id of ["a", "b"]) book.observe(id, "processed", 50);
  assert.equal(book.agree(all).processed, 50);
});
