import assert from "node:assert/strict";
import { test } from "node:test";
import { freshAddress } from "./bodies.ts";
import { SOAK_MIX, soakRoundBodies } from "./soak-bodies.ts";
import { type MemoryPhase, type ReadPhase, soakVerdict } from "./soak-verdict.ts";

const fixture = { block: "0x1", logsFrom: "0x1", logsTo: "0x2", transactions: ["0xAA", "0xbb"] };

test("a soak round's bodies are distinct, within and across rounds, in the stated mix", () => {
  const a = soakRoundBodies(fixture, 0, 1_000);
  const b = soakRoundBodies(fixture, 1, 1_000);
  const bodies = (cases: typeof a) => cases.map((c) => c.body.replace(/"id":\d+,/, ""));
  // Receipts come from a fixed block: the only bodies that repeat.
  const distinct = (cases: typeof a) => bodies(cases).filter((body) => !body.includes("eth_getTransactionReceipt"));
  assert.equal(new Set([...distinct(a), ...distinct(b)]).size, distinct(a).length + distinct(b).length);
  assert.deepEqual(
    a.map((c) => c.id),
    a.map((_, i) => i + 1),
  );
  const count = (method: string) => a.filter((c) => c.body.includes(`"method":"${method}"`)).length;
  const per = 1_000 / (SOAK_MIX.call + SOAK_MIX.balance + SOAK_MIX.logs + SOAK_MIX.receipt);
  assert.equal(count("eth_call"), SOAK_MIX.call * per);
  assert.equal(count("eth_getBalance"), SOAK_MIX.balance * per);
  assert.equal(count("eth_getLogs"), SOAK_MIX.logs * per);
  assert.equal(count("eth_getTransactionReceipt"), SOAK_MIX.receipt * per);
  // Round 1 starts where round 0's numbering ended.
  assert.ok(b[0]!.body.includes(freshAddress(1_000)));
  assert.ok(a.find((c) => c.body.includes("eth_getTransactionReceipt"))!.expect.includes('"transactionHash":"0x'));
});

const read = (phase: string, rps: number): ReadPhase => ({ phase, rps, p50Us: 0, p99Us: 0, wrong: 0, errors: 0 });
const mem = (phase: string, rss: number, heapUsed: number, cacheBytes: number, gc = true): MemoryPhase => ({
  phase,
  gc,
  rss,
  heapUsed,
  heapTotal: heapUsed,
  external: 0,
  arrayBuffers: 0,
  cache: { bytes: cacheBytes, entries: 1 },
});

test("the soak's verdict sets the cache's own growth aside and compares the last reads with the first", () => {
  const reads = [
    read("before", 10_000),
    read("after round 0", 9_500),
    read("after round 1", 9_200),
    read("after idle", 9_100),
  ];
  const memory = [
    mem("before", 100e6, 20e6, 1e6),
    mem("round 0", 400e6, 300e6, 30e6, false),
    mem("end", 135e6, 50e6, 31e6),
  ];
  const v = soakVerdict(reads, memory);
  assert.equal(v.afterTrafficRatio, 0.92);
  assert.equal(v.afterIdleRatio, 0.91);
  assert.ok(Math.abs(v.rssExcessShare - 0.05) < 1e-9);
  assert.ok(Math.abs(v.heapExcessShare) < 1e-9);
  assert.equal(v.readMet, true);
  assert.equal(v.memoryMet, true);
  const slow = soakVerdict([...reads.slice(0, 3), read("after idle", 8_000)], memory);
  assert.equal(slow.readMet, false);
  // RSS is shown, not judged: V8 keeps the pages it grew to. The retained heap is judged.
  const reserved = soakVerdict(reads, [...memory.slice(0, 2), mem("end", 200e6, 50e6, 31e6)]);
  assert.ok(reserved.rssExcessShare > 0.6);
  assert.equal(reserved.memoryMet, true);
  const grown = soakVerdict(reads, [...memory.slice(0, 2), mem("end", 135e6, 53e6, 31e6)]);
  assert.ok(Math.abs(grown.heapExcessShare - 0.15) < 1e-9);
  assert.equal(grown.memoryMet, false);
});

test("a soak missing a phase has no verdict", () => {
  assert.throws(() => soakVerdict([read("before", 1)], [mem("before", 1, 1, 0)]), /missing a phase/);
});
