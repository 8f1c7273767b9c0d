import assert from "node:assert/strict";
import { test } from "node:test";
import { balanceBodies, bodiesFileText, freshAddress, sampleCases, wrongCases } from "./bodies.ts";

test("fresh addresses are distinct, well formed and start with the set's prefix", () => {
  assert.equal(freshAddress(0), "0x6d756c7469686f6d650000000000000000000000");
  assert.equal(freshAddress(0x1234abcd), "0x6d756c7469686f6d65000000000000001234abcd");
  assert.equal(new Set(Array.from({ length: 1000 }, (_, i) => freshAddress(i))).size, 1000);
  for (const i of [0, 255, 0xffffffff]) assert.match(freshAddress(i), /^0x[0-9a-f]{40}$/);
  assert.throws(() => freshAddress(-1), RangeError);
  assert.throws(() => freshAddress(2 ** 32), RangeError);
  assert.throws(() => freshAddress(1.5), RangeError);
});

test("balance bodies: ids in order, every address distinct, funded accounts spread and expected with their balance", () => {
  const funded = [
    { address: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", balance: "0x21e19e0c9bab2400000" },
    { address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", balance: "0x1" },
  ];
  const cases = balanceBodies({ count: 300, block: "0x1", funded });
  assert.equal(cases.length, 300);
  const parsed = cases.map((c) => JSON.parse(c.body) as { id: number; method: string; params: [string, string] });
  assert.deepEqual(
    parsed.map((p) => p.id),
    cases.map((_, i) => i + 1),
  );
  assert.deepEqual(
    cases.map((c) => c.id),
    cases.map((_, i) => i + 1),
  );
  assert.ok(parsed.every((p) => p.method === "eth_getBalance" && p.params[1] === "0x1"));
  assert.equal(new Set(parsed.map((p) => p.params[0].toLowerCase())).size, 300);
  assert.equal(cases[75]!.expect, '"result":"0x21e19e0c9bab2400000"');
  assert.equal(parsed[75]!.params[0], funded[0]!.address);
  assert.equal(cases[225]!.expect, '"result":"0x1"');
  assert.equal(parsed[225]!.params[0], funded[1]!.address);
  assert.equal(cases.filter((c) => c.expect === '"result":"0x0"').length, 298);
  assert.equal(
    cases[0]!.body,
    `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["${freshAddress(0)}","0x1"]}`,
  );
  assert.throws(() => balanceBodies({ count: 1, block: "0x1", funded }), RangeError);
  assert.throws(() => balanceBodies({ count: 0, block: "0x1" }), RangeError);
});

test("the bodies file holds one case a line, expect then tab then body, and refuses ids out of order", () => {
  const cases = balanceBodies({ count: 3, block: "0x2" });
  const text = bodiesFileText(cases);
  const lines = text.split("\n");
  assert.equal(lines.length, 4);
  assert.equal(lines[3], "");
  assert.deepEqual(
    lines.slice(0, 3).map((l) => l.split("\t")),
    cases.map((c) => [c.expect, c.body]),
  );
  assert.throws(() => bodiesFileText([cases[1]!, cases[0]!]), /ids must be 1, 2, 3/);
  assert.throws(() => bodiesFileText([{ ...cases[0]!, expect: "a\tb" }]), /tab or newline/);
});

test("a sample takes every step-th case and the last", () => {
  const cases = balanceBodies({ count: 10, block: "0x1" });
  assert.deepEqual(
    sampleCases(cases, 4).map((c) => c.id),
    [1, 5, 9, 10],
  );
  assert.deepEqual(
    sampleCases(cases, 3).map((c) => c.id),
    [1, 4, 7, 10],
  );
  assert.throws(() => sampleCases(cases, 0), RangeError);
});

test("wrongCases asks in batches and names each case whose answer is not the expected one", async () => {
  const cases = balanceBodies({ count: 1_100, block: "0x1" });
  const batches: number[] = [];
  const wrong = await wrongCases(cases, async (body) => {
    const items = JSON.parse(body) as { id: number }[];
    batches.push(items.length);
    // Answered out of order, id 7 with a balance and id 1_050 not at all.
    return JSON.stringify(
      items
        .filter((i) => i.id !== 1_050)
        .map((i) => ({ jsonrpc: "2.0", id: i.id, result: i.id === 7 ? "0x5" : "0x0" }))
        .reverse(),
    );
  });
  assert.deepEqual(batches, [500, 500, 100]);
  assert.deepEqual(wrong, [
    'id 7: expected "result":"0x0", got {"jsonrpc":"2.0","id":7,"result":"0x5"}',
    'id 1050: expected "result":"0x0", got no answer',
  ]);
  assert.deepEqual(await wrongCases(cases.slice(0, 2), async () => '{"error":1}'), [
    'the batch answer is not an array: {"error":1}',
  ]);
});
