import assert from "node:assert/strict";
import { test } from "node:test";
import { type Hex, hexToBytes, keccak256 } from "viem";
import { bloomMayMatch } from "./bloom.ts";
import { extractLogs } from "./extract.ts";
import { logFilterOf } from "./filter.ts";

const A = `0x${"aa".repeat(20)}`;
const B = `0x${"bb".repeat(20)}`;
const t = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

/** The yellow paper's M3:2048, written as a 2048-bit number: bit k of the bloom is 2^k. */
function bloomOf(values: string[]): Hex {
  let bits = 0n;
  for (const v of values) {
    const h = hexToBytes(keccak256(v as Hex));
    for (let i = 0; i < 6; i += 2) bits |= 1n << BigInt(((h[i]! << 8) | h[i + 1]!) % 2048);
  }
  return `0x${bits.toString(16).padStart(512, "0")}`;
}

const filter = (f: Record<string, unknown>) => logFilterOf(f)!;

test("a bloom excludes a block only when it lacks the address or every alternative of a topic position", () => {
  const bloom = bloomOf([A, t(1), t(2)]);
  assert.ok(bloomMayMatch(bloom, filter({ address: A })));
  assert.ok(bloomMayMatch(bloom, filter({ address: [B, A], topics: [t(1), null, []] })));
  assert.ok(bloomMayMatch(bloom, filter({ topics: [[t(7), t(2)]] })), "an alternative is there");
  assert.ok(!bloomMayMatch(bloom, filter({ address: B })));
  assert.ok(!bloomMayMatch(bloom, filter({ address: A, topics: [null, t(3)] })));
  assert.ok(!bloomMayMatch(`0x${"00".repeat(256)}`, filter({})), "a block without logs");
  assert.ok(bloomMayMatch(bloomOf([B]), filter({})), "no address nor topic: any block with logs");
});

test("filters: null and empty positions match anything, malformed filters are left to the nodes", () => {
  assert.deepEqual(filter({ address: A.toUpperCase().replace("0X", "0x"), topics: [null, [], t(1)] }), {
    addresses: [A],
    topics: [null, null, [t(1)]],
  });
  assert.equal(logFilterOf({ address: "0x12" }), undefined);
  assert.equal(logFilterOf({ topics: ["nope"] }), undefined);
  assert.equal(logFilterOf({ topics: [null, null, null, null, null] }), undefined);
});

test("logs are extracted in order with the block's and the body's fields, counted across receipts", () => {
  const receipts = [
    { logs: [{ address: A, topics: [t(1)], data: "0x01", logIndex: "0x63", blockHash: "0xliar" }] },
    { logs: [] },
    {
      logs: [
        { address: B, topics: [t(1), t(2)], data: "0x", blockTimestamp: "0x1" },
        { address: A, topics: [t(2)], data: "0xAB", blockTimestamp: "0x1" },
      ],
    },
  ];
  const block = {
    hash: `0x${"cd".repeat(32)}`,
    number: 300,
    timestamp: 1_700_000_000,
    transactionHashes: ["0x01", "0x02", "0x03"],
  };
  const all = extractLogs(receipts, block, filter({}));
  assert.deepEqual(
    all.map((l) => [l.logIndex, l.transactionIndex, l.transactionHash]),
    [
      ["0x0", "0x0", "0x01"],
      ["0x1", "0x2", "0x03"],
      ["0x2", "0x2", "0x03"],
    ],
  );
  assert.deepEqual(all[2], {
    address: A,
    topics: [t(2)],
    data: "0xab",
    blockHash: block.hash,
    blockNumber: "0x12c",
    blockTimestamp: "0x6553f100",
    transactionHash: "0x03",
    transactionIndex: "0x2",
    logIndex: "0x2",
    removed: false,
  });
  assert.equal("blockTimestamp" in all[0]!, false, "shown only where the node's logs carry it");
  assert.equal(all[0]!.blockHash, block.hash, "the proven block's hash, not the receipt's");
  const onlyA = extractLogs(receipts, block, filter({ address: A, topics: [null] }));
  assert.deepEqual(
    onlyA.map((l) => l.logIndex),
    ["0x0", "0x2"],
    "indexes count every log of the block",
  );
});
