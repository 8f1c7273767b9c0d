import assert from "node:assert/strict";
import { test } from "node:test";
import { createTurnWriter } from "./turn-writes.ts";

test("writes wait for the end of the turn, then go out in the order given; flushed() resolves after them", async () => {
  const errors: unknown[] = [];
  const writer = createTurnWriter((e) => errors.push(e));
  const done: string[] = [];
  writer.write(() => done.push("a"));
  writer.write(() => {
    throw new Error("bad header");
  });
  writer.write(() => done.push("c"));
  assert.equal(done.length, 0, "nothing is written within the turn");
  await writer.flushed();
  assert.deepEqual(done, ["a", "c"], "a write that throws does not stop the others");
  assert.equal((errors[0] as Error).message, "bad header");
  writer.write(() => done.push("d"));
  await writer.flushed();
  assert.deepEqual(done, ["a", "c", "d"], "a later turn flushes again");
});
