import assert from "node:assert/strict";
import { test } from "node:test";
import berlin from "./fixtures/blocks-berlin.json" with { type: "json" };
import cancun from "./fixtures/blocks-cancun.json" with { type: "json" };
import prague from "./fixtures/blocks-default.json" with { type: "json" };
import london from "./fixtures/blocks-london.json" with { type: "json" };
import shanghai from "./fixtures/blocks-shanghai.json" with { type: "json" };
import { computeHeaderHash, HeaderFormatError, verifyHeaderHash } from "./header.ts";

// Real blocks from anvil 1.7 (scripts/make-proof-fixtures.ts): genesis, three blocks with transactions, one empty.
type BlockJson = Record<string, unknown> & { hash: string };
const FORKS: { name: string; blocks: BlockJson[]; has: string[]; lacks: string[] }[] = [
  { name: "berlin (legacy, 15 fields)", blocks: berlin.blocks, has: ["mixHash", "nonce"], lacks: ["baseFeePerGas"] },
  { name: "london", blocks: london.blocks, has: ["baseFeePerGas"], lacks: ["withdrawalsRoot"] },
  { name: "shanghai", blocks: shanghai.blocks, has: ["withdrawalsRoot"], lacks: ["blobGasUsed"] },
  {
    name: "cancun",
    blocks: cancun.blocks,
    has: ["blobGasUsed", "excessBlobGas", "parentBeaconBlockRoot"],
    lacks: ["requestsHash"],
  },
  { name: "anvil default (prague)", blocks: prague.blocks, has: ["requestsHash"], lacks: [] },
];

function copy(block: BlockJson): BlockJson {
  return structuredClone(block);
}

/** The last block of the newest fork: it has every field. */
const latest = (): BlockJson => copy(prague.blocks.at(-1)!);

test("real blocks of every fork hash to their hash", () => {
  for (const fork of FORKS) {
    assert.ok(fork.blocks.length >= 5, fork.name);
    for (const block of fork.blocks) {
      // Genesis is checked too but not here: anvil gives it the blob-gas fields whatever the fork (see below).
      if (block.number !== "0x0") {
        for (const field of fork.has) assert.ok(field in block, `${fork.name} block lacks ${field}`);
        for (const field of fork.lacks) assert.ok(!(field in block), `${fork.name} block has ${field}`);
      }
      assert.equal(computeHeaderHash(block), block.hash, `${fork.name} block ${String(block.number)}`);
      assert.deepEqual(verifyHeaderHash(block), { ok: true, hash: block.hash });
    }
  }
});

test("blocks with transactions are among the fixtures (non-empty roots, gas used)", () => {
  for (const fork of FORKS) {
    assert.ok(
      fork.blocks.some((b) => b.gasUsed !== "0x0"),
      fork.name,
    );
  }
});

test("a tampered header field changes the hash and fails", () => {
  const tamper: [string, (b: BlockJson) => void][] = [
    ["stateRoot", (b) => (b.stateRoot = `0x${"11".repeat(32)}`)],
    ["number", (b) => (b.number = `0x${(BigInt(b.number as string) + 1n).toString(16)}`)],
    ["timestamp", (b) => (b.timestamp = `0x${(BigInt(b.timestamp as string) - 1n).toString(16)}`)],
    ["parentHash", (b) => (b.parentHash = b.hash)],
    ["receiptsRoot", (b) => (b.receiptsRoot = b.stateRoot)],
    ["miner", (b) => (b.miner = "0x000000000000000000000000000000000000dead")],
    ["extraData", (b) => (b.extraData = "0x01")],
    ["gasUsed", (b) => (b.gasUsed = "0x1")],
    ["baseFeePerGas", (b) => (b.baseFeePerGas = "0x0")],
    ["withdrawalsRoot", (b) => (b.withdrawalsRoot = b.stateRoot)],
    ["parentBeaconBlockRoot", (b) => (b.parentBeaconBlockRoot = `0x${"22".repeat(32)}`)],
    ["requestsHash", (b) => (b.requestsHash = `0x${"33".repeat(32)}`)],
    ["requestsHash removed", (b) => delete b.requestsHash],
  ];
  for (const [field, change] of tamper) {
    const block = latest();
    change(block);
    assert.notEqual(computeHeaderHash(block), block.hash, field);
    const result = verifyHeaderHash(block);
    assert.equal(result.ok, false, field);
    if (!result.ok) assert.match(result.reason, /hash to/);
  }
  // A field added to an older fork's block changes the hash too.
  const legacy = copy(berlin.blocks.at(-1)!);
  legacy.baseFeePerGas = "0x7";
  assert.equal(verifyHeaderHash(legacy).ok, false);
});

test("a block claiming another hash fails", () => {
  const block = latest();
  block.hash = prague.blocks[1]!.hash;
  assert.equal(verifyHeaderHash(block).ok, false);
});

test("fields outside the header do not take part (the hash does not bind them)", () => {
  const block = latest();
  block.size = "0x1";
  block.totalDifficulty = "0x99";
  block.transactions = [];
  assert.deepEqual(verifyHeaderHash(block), { ok: true, hash: block.hash });
});

test("a null fork field counts as absent; quantities with leading zeros mean the same number", () => {
  const legacy = copy(berlin.blocks.at(-1)!);
  legacy.baseFeePerGas = null;
  assert.deepEqual(verifyHeaderHash(legacy), { ok: true, hash: legacy.hash });
  const padded = latest();
  padded.number = `0x000${(padded.number as string).slice(2)}`;
  assert.deepEqual(verifyHeaderHash(padded), { ok: true, hash: padded.hash });
});

test("fork fields are hashed exactly as present, even with a gap (anvil's genesis of older forks)", () => {
  for (const blocks of [berlin.blocks, london.blocks, shanghai.blocks]) {
    const genesis = copy(blocks[0]!);
    assert.ok("blobGasUsed" in genesis && !("parentBeaconBlockRoot" in genesis));
    assert.deepEqual(verifyHeaderHash(genesis), { ok: true, hash: genesis.hash });
  }
  assert.ok(!("baseFeePerGas" in berlin.blocks[0]!));
  // Dropping a field in the middle changes what is hashed.
  const block = latest();
  delete block.withdrawalsRoot;
  assert.equal(verifyHeaderHash(block).ok, false);
});

test("malformed blocks give ok: false from verifyHeaderHash and throw from computeHeaderHash", () => {
  const bad: [string, unknown][] = [
    ["undefined", undefined],
    ["null", null],
    ["number", 7],
    ["string", "0x1234"],
    ["array", [latest()]],
    ["empty object", {}],
  ];
  const fieldCases: [string, (b: BlockJson) => void][] = [
    ["missing stateRoot", (b) => delete b.stateRoot],
    ["missing nonce", (b) => delete b.nonce],
    ["null number", (b) => (b.number = null)],
    ["number as a JSON number", (b) => (b.number = 4)],
    ["odd-length stateRoot", (b) => (b.stateRoot = (b.stateRoot as string).slice(0, -1))],
    ["31-byte stateRoot", (b) => (b.stateRoot = (b.stateRoot as string).slice(0, -2))],
    ["stateRoot without 0x", (b) => (b.stateRoot = (b.stateRoot as string).slice(2))],
    ["non-hex stateRoot", (b) => (b.stateRoot = `0x${"zz".repeat(32)}`)],
    ["short logsBloom", (b) => (b.logsBloom = "0x00")],
    ["nonce as a quantity", (b) => (b.nonce = "0x0")],
    ["19-byte miner", (b) => (b.miner = `0x${"00".repeat(19)}`)],
    ["quantity without digits", (b) => (b.gasLimit = "0x")],
    ["quantity over 256 bits", (b) => (b.difficulty = `0x1${"0".repeat(64)}`)],
    ["negative quantity", (b) => (b.timestamp = "-0x1")],
    ["odd-length extraData", (b) => (b.extraData = "0x123")],
    ["huge extraData", (b) => (b.extraData = `0x${"00".repeat(100_000)}`)],
    ["mistyped fork field", (b) => (b.requestsHash = 5)],
  ];
  for (const [name, change] of fieldCases) {
    const block = latest();
    change(block);
    bad.push([name, block]);
  }
  for (const [name, block] of bad) {
    let result: ReturnType<typeof verifyHeaderHash> | undefined;
    assert.doesNotThrow(() => {
      result = verifyHeaderHash(block);
    }, name);
    assert.equal(result?.ok, false, `${name} was accepted`);
    assert.throws(() => computeHeaderHash(block), HeaderFormatError, name);
  }
  // A missing or malformed claimed hash fails verification, though the fields themselves can be hashed.
  for (const hash of [undefined, null, "0x12", 42]) {
    const block = latest();
    const computed = computeHeaderHash(block);
    block.hash = hash as string;
    assert.equal(computeHeaderHash(block), computed);
    assert.equal(verifyHeaderHash(block).ok, false, String(hash));
  }
});
