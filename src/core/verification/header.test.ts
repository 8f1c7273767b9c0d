import assert from "node:assert/strict";
import { test } from "node:test";
import { chainPreset, type ForkSchedule } from "../chain-presets.ts";
import berlin from "../fixtures/blocks-berlin.json" with { type: "json" };
import cancun from "../fixtures/blocks-cancun.json" with { type: "json" };
import prague from "../fixtures/blocks-default.json" with { type: "json" };
import london from "../fixtures/blocks-london.json" with { type: "json" };
import shanghai from "../fixtures/blocks-shanghai.json" with { type: "json" };
import {
  checkHeader,
  computeHeaderHash,
  forkFieldsAt,
  HeaderFormatError,
  headerDigest,
  NOT_HEADER_FIELDS,
  verifyHeaderHash,
} from "./header.ts";

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

// --- Fork schedule ---

/** Each fixture fork from genesis on, as anvil ran it. */
const FROM_GENESIS: Record<string, ForkSchedule> = {
  berlin: {},
  london: { london: 0 },
  shanghai: { london: 0, shanghai: 0 },
  cancun: { london: 0, shanghai: 0, cancun: 0 },
  prague: { london: 0, shanghai: 0, cancun: 0, prague: 0 },
};

test("a header carrying the fields its fork schedule requires passes; the devnet's preset is anvil's default", () => {
  const fixtures: [ForkSchedule, BlockJson[]][] = [
    [FROM_GENESIS.berlin!, berlin.blocks],
    [FROM_GENESIS.london!, london.blocks],
    [FROM_GENESIS.shanghai!, shanghai.blocks],
    [FROM_GENESIS.cancun!, cancun.blocks],
    [chainPreset(31337).forks!, prague.blocks],
  ];
  for (const [forks, blocks] of fixtures) {
    // Genesis of anvil's older forks has the blob-gas fields whatever the fork: it fits no schedule (see above).
    for (const block of blocks.slice(forks === chainPreset(31337).forks ? 0 : 1)) {
      assert.deepEqual(checkHeader(block, forks), { ok: true, hash: block.hash }, String(block.number));
    }
  }
});

test("a Shanghai header whose withdrawalsRoot is relabelled parentBeaconBlockRoot hashes alike but breaks the schedule", () => {
  const block = copy(shanghai.blocks.at(-1)!);
  const relabelled = copy(block);
  relabelled.parentBeaconBlockRoot = relabelled.withdrawalsRoot;
  delete relabelled.withdrawalsRoot;
  relabelled.withdrawals = [];
  // The hash binds the sequence of fork values, not their names: without a schedule the relabelling goes through.
  assert.equal(computeHeaderHash(relabelled), block.hash);
  assert.deepEqual(checkHeader(relabelled), { ok: true, hash: block.hash });
  const result = checkHeader(relabelled, FROM_GENESIS.shanghai);
  assert.equal(result.ok, false);
  if (result.ok === false)
    assert.match(
      result.reason,
      /carries fork fields baseFeePerGas, parentBeaconBlockRoot; .* requires baseFeePerGas, withdrawalsRoot/,
    );
  assert.deepEqual(checkHeader(block, FROM_GENESIS.shanghai), { ok: true, hash: block.hash });
  // A field left out, or one added before its fork, breaks it too (and the hash).
  const missing = copy(block);
  delete missing.withdrawalsRoot;
  assert.equal(checkHeader(missing, FROM_GENESIS.shanghai).ok, false);
  assert.equal(checkHeader(block, FROM_GENESIS.london).ok, false);
  // A chain's older blocks keep their fields: a schedule whose Shanghai comes later requires none of it yet.
  const later = { london: 0, shanghai: Number(BigInt(block.timestamp as string)) + 1 };
  const result2 = checkHeader(block, later);
  assert.equal(result2.ok, false);
  if (result2.ok === false) assert.match(result2.reason, /requires baseFeePerGas$/);
});

test("fork fields follow each network's schedule: London by number, the others by timestamp", () => {
  const mainnet = chainPreset(1).forks!;
  const at = (forks: ForkSchedule, number: number, timestamp: number) =>
    forkFieldsAt(forks, BigInt(number), BigInt(timestamp)).join(",");
  assert.equal(at(mainnet, 12_964_999, 1_628_166_812), "");
  assert.equal(at(mainnet, 12_965_000, 1_628_166_822), "baseFeePerGas");
  // Mainnet's first Shanghai block (17,034,870) and last (19,426,586) carry the base fee and withdrawals root only.
  assert.equal(at(mainnet, 17_034_870, 1_681_338_455), "baseFeePerGas,withdrawalsRoot");
  assert.equal(at(mainnet, 19_426_586, 1_710_338_123), "baseFeePerGas,withdrawalsRoot");
  assert.equal(
    at(mainnet, 19_426_587, 1_710_338_135),
    "baseFeePerGas,withdrawalsRoot,blobGasUsed,excessBlobGas,parentBeaconBlockRoot",
  );
  assert.equal(at(mainnet, 22_431_084, 1_746_612_311).split(",").at(-1), "requestsHash");
  // Every preset's schedule is in fork order.
  for (const chainId of [1, 11155111, 17000, 560048, 31337]) {
    const f = chainPreset(chainId).forks!;
    assert.ok(f.london !== undefined && f.shanghai! <= f.cancun! && f.cancun! <= f.prague!, String(chainId));
  }
  assert.equal(chainPreset(424242).forks, undefined);
});

test("a header with a field Multihome does not know is unverifiable when it breaks the hash, never a lie", () => {
  // As after a fork this code predates: the known fields no longer hash to the block's hash.
  const block = latest();
  block.blockAccessListHash = block.requestsHash;
  delete block.requestsHash;
  const result = checkHeader(block, chainPreset(31337).forks);
  assert.equal(result.ok, "unverifiable");
  if (result.ok === "unverifiable") {
    assert.equal(result.hash, block.hash);
    assert.match(result.reason, /does not know \(blockAccessListHash\)/);
  }
  // Where only a recomputed hash will do, it fails.
  assert.equal(verifyHeaderHash(block).ok, false);
  // An unknown key that the hash does not need is just not covered, like `size`.
  const extra = latest();
  extra.somethingNew = "0x01";
  assert.deepEqual(checkHeader(extra, chainPreset(31337).forks), { ok: true, hash: extra.hash });
  // null means absent; keys that are not header fields are no excuse for a wrong hash.
  const tampered = latest();
  tampered.stateRoot = `0x${"11".repeat(32)}`;
  tampered.signature = null;
  tampered.author = tampered.miner;
  assert.equal(checkHeader(tampered).ok, false);
  // Names of unknown fields are bounded in the reason.
  const many = latest();
  delete many.requestsHash;
  for (let i = 0; i < 10; i++) many[`${"f".repeat(100)}${i}`] = "0x00";
  const bounded = checkHeader(many);
  assert.equal(bounded.ok, "unverifiable");
  if (bounded.ok === "unverifiable") assert.ok(bounded.reason.length < 400, bounded.reason);
});

test("headerDigest covers the header fields, unknown ones included, and nothing else", () => {
  const block = latest();
  const digest = headerDigest(block);
  const withoutBody = Object.fromEntries(Object.entries(block).filter(([k]) => !NOT_HEADER_FIELDS.has(k)));
  assert.equal(headerDigest(withoutBody), digest);
  assert.equal(headerDigest({ ...block, transactions: ["0x01"], size: "0x1", hash: "0x00" }), digest);
  // Key order does not matter; every header field does.
  assert.equal(headerDigest(Object.fromEntries(Object.entries(block).reverse())), digest);
  assert.notEqual(headerDigest({ ...block, gasUsed: "0x1" }), digest);
  assert.notEqual(headerDigest({ ...block, blockAccessListHash: block.stateRoot }), digest);
});
