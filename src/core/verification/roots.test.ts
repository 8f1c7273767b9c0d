import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToHex, fromRlp, type Hex, hexToBytes, keccak256, parseGwei, serializeTransaction, toRlp } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { encodeReceipt, encodeTransaction } from "../encodings/encode.ts";
import { MAX_ACCESS_LIST_ITEMS, RootFormatError, UnsupportedTypeError } from "../encodings/fields.ts";
import { orderedTrieRoot } from "../encodings/trie.ts";
import fixture from "../fixtures/bodies.json" with { type: "json" };
import { verifyHeaderHash } from "./header.ts";
import { EMPTY_TRIE_ROOT } from "./proof.ts";
import { checkBlockBody, checkBlockReceipts, checkTransactionHash, type RootCheck } from "./roots.ts";

// Real blocks from anvil 1.7 (scripts/make-root-fixtures.ts): "mixed" (every transaction kind, logs, a revert),
// "empty", and "many" (140 transactions).
// biome-ignore lint/suspicious/noExplicitAny: the tamper cases reach freely into nested answer JSON.
type Json = Record<string, any>;
interface FixtureBlock {
  name: string;
  block: Json;
  receipts: Json[];
}
const BLOCKS = fixture.blocks as FixtureBlock[];

function load(name: string): FixtureBlock {
  const found = BLOCKS.find((b) => b.name === name);
  assert.ok(found, `fixture block ${name}`);
  return structuredClone(found);
}

function headerOf(block: Json) {
  return { hash: block.hash as Hex, number: Number(block.number), receiptsRoot: block.receiptsRoot as Hex };
}

function hashesOf(block: Json): Hex[] {
  return block.transactions.map((tx: Json) => tx.hash);
}

function receiptsCheck(fb: FixtureBlock, withHashes: boolean): RootCheck {
  return checkBlockReceipts(fb.receipts, headerOf(fb.block), withHashes ? hashesOf(fb.block) : undefined);
}

function assertFails(result: RootCheck, what: string, reason?: RegExp): void {
  assert.equal(result.ok, false, `${what}: ${JSON.stringify(result)}`);
  if (result.ok === false && reason) assert.match(result.reason, reason, what);
}

const bump = (quantity: string) => `0x${(BigInt(quantity) + 1n).toString(16)}`;

/** A deterministic byte source, so a failing random case can be replayed. */
function seededBytes(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return (length: number) => Uint8Array.from({ length }, () => Math.floor(next() * 256));
}

// --- A deliberately naive reference trie: keys inserted one at a time into mutable nodes, encoded at the end. ---

type RefNode =
  | { kind: "leaf"; path: number[]; value: Uint8Array }
  | { kind: "extension"; path: number[]; child: RefNode }
  | { kind: "branch"; children: (RefNode | undefined)[]; value: Uint8Array | undefined };

function refInsert(node: RefNode | undefined, path: number[], value: Uint8Array): RefNode {
  if (node === undefined) return { kind: "leaf", path, value };
  if (node.kind === "branch") {
    if (path.length === 0) node.value = value;
    else node.children[path[0]!] = refInsert(node.children[path[0]!], path.slice(1), value);
    return node;
  }
  let common = 0;
  while (common < node.path.length && common < path.length && node.path[common] === path[common]) common++;
  if (node.kind === "leaf" && common === node.path.length && common === path.length) {
    node.value = value;
    return node;
  }
  if (node.kind === "extension" && common === node.path.length) {
    node.child = refInsert(node.child, path.slice(common), value);
    return node;
  }
  const branch: RefNode = { kind: "branch", children: new Array(16).fill(undefined), value: undefined };
  const rest = node.path.slice(common);
  if (node.kind === "leaf") {
    if (rest.length === 0) branch.value = node.value;
    else branch.children[rest[0]!] = { kind: "leaf", path: rest.slice(1), value: node.value };
  } else {
    branch.children[rest[0]!] =
      rest.length === 1 ? node.child : { kind: "extension", path: rest.slice(1), child: node.child };
  }
  const mine = path.slice(common);
  if (mine.length === 0) branch.value = value;
  else branch.children[mine[0]!] = { kind: "leaf", path: mine.slice(1), value };
  return common === 0 ? branch : { kind: "extension", path: path.slice(0, common), child: branch };
}

function refCompact(path: number[], leaf: boolean): Hex {
  const flag = (leaf ? 2 : 0) + (path.length % 2);
  const nibbles = path.length % 2 === 1 ? [flag, ...path] : [flag, 0, ...path];
  return `0x${nibbles.map((n) => n.toString(16)).join("")}`;
}

type RefRlp = Hex | RefRlp[];

function refStructure(node: RefNode): RefRlp {
  switch (node.kind) {
    case "leaf":
      return [refCompact(node.path, true), bytesToHex(node.value)];
    case "extension":
      return [refCompact(node.path, false), refReference(node.child)];
    case "branch":
      return [
        ...node.children.map((child) => (child === undefined ? ("0x" as Hex) : refReference(child))),
        node.value === undefined ? "0x" : bytesToHex(node.value),
      ];
  }
}

function refReference(node: RefNode): RefRlp {
  const structure = refStructure(node);
  const encoded = toRlp(structure);
  return (encoded.length - 2) / 2 < 32 ? structure : keccak256(encoded);
}

function referenceRoot(items: readonly Uint8Array[]): Hex {
  if (items.length === 0) return EMPTY_TRIE_ROOT;
  // Inserted in a shuffled order: the trie must not depend on it.
  const order = items.map((_, i) => i).sort((a, b) => ((a * 7919) % 613) - ((b * 7919) % 613));
  let root: RefNode | undefined;
  for (const i of order) {
    const key = hexToBytes(toRlp(i === 0 ? "0x" : evenHex(`0x${i.toString(16)}`)));
    const path = [...key].flatMap((byte) => [byte >> 4, byte & 0x0f]);
    root = refInsert(root, path, items[i]!);
  }
  return keccak256(toRlp(refStructure(root!)));
}

// --- Ordered trie ---

test("orderedTrieRoot of no items is the empty trie root", () => {
  assert.equal(orderedTrieRoot([]), EMPTY_TRIE_ROOT);
  assert.equal(referenceRoot([]), EMPTY_TRIE_ROOT);
});

test("orderedTrieRoot matches the naive reference for random items, embedded and hashed nodes alike", () => {
  const random = seededBytes(0x5eed);
  for (const count of [1, 2, 3, 15, 16, 17, 127, 128, 129, 130, 255, 256, 257, 300]) {
    // Short values make nodes under 32 bytes, which are embedded in their parents; long ones are hashed.
    for (const maxLength of [3, 40, 200]) {
      const items = Array.from({ length: count }, () => random(1 + Math.floor(random(1)[0]! / (256 / maxLength))));
      assert.equal(orderedTrieRoot(items), referenceRoot(items), `${count} items of up to ${maxLength} bytes`);
    }
  }
});

test("a 300-item root matches the reference and changes when any one item does", () => {
  const random = seededBytes(300);
  const items = Array.from({ length: 300 }, (_, i) => random(1 + (i % 97)));
  const root = orderedTrieRoot(items);
  assert.equal(root, referenceRoot(items));
  for (const i of [0, 1, 127, 128, 255, 256, 299]) {
    const changed = items.map((item) => item.slice());
    const item = changed[i]!;
    item[0] = item[0]! ^ 1;
    assert.notEqual(orderedTrieRoot(changed), root, `item ${i}`);
  }
  assert.notEqual(orderedTrieRoot(items.slice(0, 299)), root);
});

test("orderedTrieRoot rejects an empty item (a trie cannot hold one)", () => {
  assert.throws(() => orderedTrieRoot([Uint8Array.of(1), new Uint8Array(0)]), RootFormatError);
});

test("a withdrawal root other clients compute is reproduced", () => {
  // The one-withdrawal example used across client test suites (index 0, validator 0, 1 Gwei).
  const block = withdrawalBlock([
    { index: "0x0", validatorIndex: "0x0", address: "0x6295ee1b4f6dd65047762f924ecd367c17eabf8f", amount: "0x1" },
  ]);
  block.withdrawalsRoot = "0x82cc6fbe74c41496b382fcdf25216c5af7bdbb5a3929e8f2e61bd6445ab66436";
  assert.deepEqual(checkBlockBody(block), { ok: true });
});

function withdrawalBlock(withdrawals: Json[]): Json {
  const block = load("empty").block;
  block.withdrawals = withdrawals;
  const items = withdrawals.map((w) =>
    hexToBytes(
      toRlp(
        [
          w.index === "0x0" ? "0x" : w.index,
          w.validatorIndex === "0x0" ? "0x" : w.validatorIndex,
          w.address,
          w.amount,
        ].map(evenHex),
      ),
    ),
  );
  block.withdrawalsRoot = referenceRoot(items);
  return block;
}

function evenHex(value: string): Hex {
  const digits = value.slice(2);
  return `0x${digits.length % 2 ? `0${digits}` : digits}`;
}

test("withdrawals must make up withdrawalsRoot", () => {
  const withdrawals = Array.from({ length: 20 }, (_, i) => ({
    index: `0x${(1000 + i).toString(16)}`,
    validatorIndex: `0x${(77 * i + 1).toString(16)}`,
    address: `0x${(i + 1).toString(16).padStart(40, "0")}`,
    amount: `0x${(123456789 + i).toString(16)}`,
  }));
  assert.deepEqual(checkBlockBody(withdrawalBlock(withdrawals)), { ok: true });
  const tampered = withdrawalBlock(withdrawals);
  tampered.withdrawals[7].amount = bump(tampered.withdrawals[7].amount);
  assertFails(checkBlockBody(tampered), "withdrawal amount", /withdrawals make up root/);
  const dropped = withdrawalBlock(withdrawals);
  dropped.withdrawals.pop();
  assertFails(checkBlockBody(dropped), "dropped withdrawal", /withdrawals make up root/);
  const uncommitted = withdrawalBlock(withdrawals);
  delete uncommitted.withdrawalsRoot;
  assertFails(checkBlockBody(uncommitted), "withdrawals without a root", /no withdrawalsRoot/);
});

// --- Real blocks ---

test("the fixture covers every transaction kind, a revert, logs and multi-byte trie keys", () => {
  for (const { name, block } of BLOCKS) assert.deepEqual(verifyHeaderHash(block), { ok: true, hash: block.hash }, name);
  const { block, receipts } = load("mixed");
  const txs = block.transactions as Json[];
  assert.ok(
    txs.some((tx) => tx.type === "0x0" && (tx.v === "0x1b" || tx.v === "0x1c")),
    "pre-EIP-155 legacy",
  );
  assert.ok(
    txs.some((tx) => tx.type === "0x0" && BigInt(tx.v) >= 35n),
    "EIP-155 legacy",
  );
  for (const type of ["0x1", "0x2", "0x4"])
    assert.ok(
      txs.some((tx) => tx.type === type),
      `type ${type}`,
    );
  assert.ok(
    txs.some((tx) => tx.to === null),
    "contract creation",
  );
  assert.ok(
    receipts.some((r) => r.status === "0x0"),
    "reverted",
  );
  assert.ok(
    receipts.some((r) => r.contractAddress !== null && r.logs.length > 0),
    "constructor logs",
  );
  assert.ok(
    receipts.some((r) => r.logs.some((log: Json) => log.topics.length === 4)),
    "four topics",
  );
  assert.equal(load("empty").block.transactions.length, 0);
  const many = load("many");
  assert.ok(many.block.transactions.length > 128);
  assert.ok(many.receipts.some((r) => r.logs.length > 0));
});

test("every fixture block passes checkBlockBody and checkBlockReceipts (with and without transaction hashes)", () => {
  for (const fb of BLOCKS) {
    assert.deepEqual(checkBlockBody(fb.block), { ok: true }, fb.name);
    assert.deepEqual(receiptsCheck(fb, false), { ok: true }, fb.name);
    assert.deepEqual(receiptsCheck(fb, true), { ok: true }, fb.name);
    for (const tx of fb.block.transactions) assert.deepEqual(checkTransactionHash(tx), { ok: true }, tx.hash);
  }
});

test("time to check the >128-transaction block", (t) => {
  const fb = load("many");
  const startBody = performance.now();
  assert.deepEqual(checkBlockBody(fb.block), { ok: true });
  const body = performance.now() - startBody;
  const startReceipts = performance.now();
  assert.deepEqual(receiptsCheck(fb, true), { ok: true });
  const receipts = performance.now() - startReceipts;
  t.diagnostic(
    `${fb.block.transactions.length} transactions: body ${body.toFixed(1)} ms, receipts ${receipts.toFixed(1)} ms`,
  );
});

test("a block listing transaction hashes is checked for form only, and against an empty root", () => {
  const fb = load("mixed");
  const block = { ...fb.block, transactions: hashesOf(fb.block) };
  assert.deepEqual(checkBlockBody(block), { ok: true });
  assertFails(checkBlockBody({ ...block, transactionsRoot: EMPTY_TRIE_ROOT }), "hashes with an empty root");
  assertFails(checkBlockBody({ ...block, transactions: [...block.transactions, "0x1234"] }), "short hash");
  const mixedKinds = { ...fb.block, transactions: [fb.block.transactions[0], fb.block.transactions[1].hash] };
  assertFails(checkBlockBody(mixedKinds), "objects and hashes together", /not an object/);
  const stripped = { ...fb.block, transactions: [] };
  assertFails(checkBlockBody(stripped), "transactions withheld", /transactions make up root/);
});

test("a full block answered with transaction hashes, or a mix, is a lie when full transactions were asked for", () => {
  const fb = load("mixed");
  const full = { fullTransactions: true };
  assert.deepEqual(checkBlockBody(fb.block, full), { ok: true });
  const hashes = { ...fb.block, transactions: hashesOf(fb.block) };
  assertFails(checkBlockBody(hashes, full), "hashes for a full block", /transaction 0 is a hash/);
  const mixed = { ...fb.block, transactions: [fb.block.transactions[0], fb.block.transactions[1].hash] };
  assertFails(checkBlockBody(mixed, full), "objects and hashes together", /transaction 1 is a hash/);
  // An empty block reads the same either way.
  assert.deepEqual(checkBlockBody(load("empty").block, full), { ok: true });
});

test("every list the header commits to must be there: withdrawals under a withdrawalsRoot, uncles always", () => {
  const fb = load("mixed");
  assert.ok(fb.block.withdrawalsRoot && Array.isArray(fb.block.withdrawals), "the fixture is post-Shanghai");
  for (const absent of [undefined, null]) {
    assertFails(
      checkBlockBody({ ...fb.block, withdrawals: absent }),
      `withdrawals ${absent}`,
      /withdrawalsRoot but the block lists no withdrawals/,
    );
    assertFails(checkBlockBody({ ...fb.block, uncles: absent }), `uncles ${absent}`, /no uncles list/);
  }
  // No withdrawalsRoot: no withdrawals list is needed (a pre-Shanghai block).
  const { withdrawalsRoot: _r, withdrawals: _w, ...preShanghai } = load("empty").block;
  assert.deepEqual(checkBlockBody(preShanghai), { ok: true });
});

test("tampering with a transaction's consensus field fails, even when its hash is recomputed to match", () => {
  const tamper: [string, (tx: Json) => void][] = [
    ["value", (tx) => (tx.value = bump(tx.value))],
    ["input", (tx) => (tx.input = `${tx.input}00`)],
    ["nonce", (tx) => (tx.nonce = bump(tx.nonce))],
    ["to", (tx) => (tx.to = "0x000000000000000000000000000000000000dead")],
    ["accessList", (tx) => (tx.accessList = [])],
    ["r", (tx) => (tx.r = bump(tx.r))],
  ];
  for (const [field, change] of tamper) {
    const fb = load("mixed");
    const tx = fb.block.transactions[2]; // EIP-2930: has every field above
    change(tx);
    assertFails(checkTransactionHash(tx), field, /hash to/);
    assertFails(checkBlockBody(fb.block), field, /hash to/);
    // A node that lies consistently restates the hash: the transactions root still gives it away.
    tx.hash = keccak256(encodeTransaction(tx));
    assert.deepEqual(checkTransactionHash(tx), { ok: true }, field);
    assertFails(checkBlockBody(fb.block), `${field} with its hash restated`, /transactions make up root/);
  }
});

test("transactions reordered, dropped or misplaced fail", () => {
  const swapped = load("mixed");
  const [a, b] = [swapped.block.transactions[1], swapped.block.transactions[2]];
  [a.transactionIndex, b.transactionIndex] = [b.transactionIndex, a.transactionIndex];
  swapped.block.transactions[1] = b;
  swapped.block.transactions[2] = a;
  assertFails(checkBlockBody(swapped.block), "swapped", /transactions make up root/);
  const dropped = load("many");
  dropped.block.transactions.pop();
  assertFails(checkBlockBody(dropped.block), "dropped", /transactions make up root/);
  const misplaced: [string, (tx: Json, block: Json) => void][] = [
    ["blockHash", (tx, block) => (tx.blockHash = block.parentHash)],
    ["blockNumber", (tx) => (tx.blockNumber = bump(tx.blockNumber))],
    ["transactionIndex", (tx) => (tx.transactionIndex = bump(tx.transactionIndex))],
  ];
  for (const [field, change] of misplaced) {
    const fb = load("mixed");
    change(fb.block.transactions[3], fb.block);
    assertFails(checkBlockBody(fb.block), field, new RegExp(`transaction 3: ${field}`));
  }
});

test("tampering with a receipt's consensus field fails on the receipts root", () => {
  const tamper: [string, (receipts: Json[]) => void][] = [
    ["log data", (r) => (r[4]!.logs[0].data = `0x${"ff".repeat(32)}`)],
    ["topic", (r) => (r[5]!.logs[1].topics[0] = `0x${"00".repeat(31)}ab`)],
    ["log address", (r) => (r[5]!.logs[0].address = "0x000000000000000000000000000000000000dead")],
    ["status", (r) => (r[6]!.status = "0x1")],
    ["logsBloom", (r) => (r[0]!.logsBloom = `0x${"00".repeat(255)}01`)],
    ["a log dropped", (r) => r[7]!.logs.pop()],
    [
      "last cumulativeGasUsed (gasUsed restated)",
      (r) => {
        const last = r.at(-1)!;
        last.cumulativeGasUsed = bump(last.cumulativeGasUsed);
        last.gasUsed = bump(last.gasUsed);
      },
    ],
  ];
  for (const [field, change] of tamper) {
    const fb = load("mixed");
    change(fb.receipts);
    assertFails(receiptsCheck(fb, true), field, /receipts make up root/);
    assertFails(receiptsCheck(fb, false), field, /receipts make up root/);
  }
  const cumulative = load("mixed");
  cumulative.receipts[2]!.cumulativeGasUsed = bump(cumulative.receipts[2]!.cumulativeGasUsed);
  assertFails(receiptsCheck(cumulative, false), "cumulativeGasUsed", /gasUsed/);
});

test("receipts reordered, dropped or added fail", () => {
  const swapped = load("mixed");
  [swapped.receipts[1], swapped.receipts[2]] = [swapped.receipts[2]!, swapped.receipts[1]!];
  assertFails(receiptsCheck(swapped, false), "swapped", /transactionIndex/);
  // Even with positions and gas restated to fit the new order, the root disagrees.
  const restated = load("mixed");
  [restated.receipts[3], restated.receipts[4]] = [restated.receipts[4]!, restated.receipts[3]!];
  let cumulative = BigInt(restated.receipts[2]!.cumulativeGasUsed);
  restated.receipts.forEach((r, i) => {
    r.transactionIndex = `0x${i.toString(16)}`;
    for (const log of r.logs) log.transactionIndex = r.transactionIndex;
    if (i >= 3) {
      cumulative += BigInt(r.gasUsed);
      r.cumulativeGasUsed = `0x${cumulative.toString(16)}`;
    }
  });
  let logIndex = 0;
  for (const r of restated.receipts) for (const log of r.logs) log.logIndex = `0x${(logIndex++).toString(16)}`;
  assertFails(receiptsCheck(restated, false), "swapped and restated", /receipts make up root/);

  const droppedLast = load("mixed");
  droppedLast.receipts.pop();
  assertFails(receiptsCheck(droppedLast, false), "last dropped", /receipts make up root/);
  assertFails(receiptsCheck(droppedLast, true), "last dropped, hashes given", /7 receipts for a block of 8/);
  const droppedMiddle = load("many");
  droppedMiddle.receipts.splice(60, 1);
  assertFails(receiptsCheck(droppedMiddle, false), "middle dropped");

  const extra = load("mixed");
  const copy = structuredClone(extra.receipts.at(-1)!);
  copy.transactionIndex = `0x${extra.receipts.length.toString(16)}`;
  copy.gasUsed = "0x0";
  copy.logs = [];
  extra.receipts.push(copy);
  assertFails(receiptsCheck(extra, false), "extra", /receipts make up root/);
  assertFails(receiptsCheck(extra, true), "extra, hashes given", /9 receipts for a block of 8/);
  const none = load("mixed");
  none.receipts = [];
  assertFails(receiptsCheck(none, false), "all withheld", /receipts make up root/);
});

test("tampering with a derived receipt field fails", () => {
  const tamper: [string, (receipts: Json[], block: Json) => void, RegExp][] = [
    ["gasUsed", (r) => (r[3]!.gasUsed = bump(r[3]!.gasUsed)), /receipt 3: gasUsed/],
    ["logIndex", (r) => (r[5]!.logs[1].logIndex = "0x0"), /receipt 5: log 1 logIndex/],
    [
      "logIndex restart",
      (r) => {
        for (const [i, log] of r[7]!.logs.entries()) log.logIndex = `0x${i}`;
      },
      /logIndex/,
    ],
    ["receipt blockHash", (r, b) => (r[0]!.blockHash = b.parentHash), /receipt 0: blockHash/],
    ["receipt blockNumber", (r) => (r[1]!.blockNumber = "0x2"), /receipt 1: blockNumber/],
    ["log blockHash", (r, b) => (r[4]!.logs[1].blockHash = b.parentHash), /receipt 4: log 1 blockHash/],
    ["log blockNumber", (r) => (r[4]!.logs[0].blockNumber = "0x0"), /receipt 4: log 0 blockNumber/],
    ["log transactionIndex", (r) => (r[5]!.logs[2].transactionIndex = "0x4"), /log 2 transactionIndex/],
    ["log transactionHash", (r) => (r[5]!.logs[0].transactionHash = r[4]!.transactionHash), /log 0 transactionHash/],
    ["log removed", (r) => (r[5]!.logs[0].removed = true), /removed/],
  ];
  for (const [field, change, reason] of tamper) {
    const fb = load("mixed");
    change(fb.receipts, fb.block);
    assertFails(receiptsCheck(fb, false), field, reason);
  }
  // transactionHash is outside the receipt's encoding: only the block's hash list can catch it.
  const fb = load("mixed");
  fb.receipts[2]!.transactionHash = fb.receipts[3]!.transactionHash;
  for (const log of fb.receipts[2]!.logs) log.transactionHash = fb.receipts[3]!.transactionHash;
  assert.deepEqual(receiptsCheck(fb, false), { ok: true });
  assertFails(receiptsCheck(fb, true), "transactionHash", /receipt 2: transactionHash/);
});

test("an unknown transaction or receipt type is unverifiable, not a lie", () => {
  const fb = load("mixed");
  const deposit = fb.block.transactions[3];
  deposit.type = "0x7e";
  assert.equal(checkTransactionHash(deposit).ok, "unverifiable");
  assert.throws(() => encodeTransaction(deposit), UnsupportedTypeError);
  const body = checkBlockBody(fb.block);
  assert.equal(body.ok, "unverifiable");
  if (body.ok === "unverifiable") assert.match(body.reason, /transaction 3: .*0x7e/);
  fb.receipts[3]!.type = "0x7e";
  assert.throws(() => encodeReceipt(fb.receipts[3]), UnsupportedTypeError);
  assert.equal(receiptsCheck(fb, true).ok, "unverifiable");
  // A contradiction elsewhere in the same answer is still a lie.
  fb.block.transactions[0].value = "0x5";
  assertFails(checkBlockBody(fb.block), "lie beside an unknown type", /transaction 0/);
  fb.receipts[0]!.gasUsed = "0x1";
  assertFails(receiptsCheck(fb, true), "lie beside an unknown receipt type", /receipt 0/);
  // Outside EIP-2718's range a type is malformed, not unknown.
  assert.throws(() => encodeTransaction({ ...deposit, type: "0x80" }), RootFormatError);
});

test("malformed answers give ok: false with a reason, never a throw", () => {
  const cases: [string, () => RootCheck][] = [
    ["block null", () => checkBlockBody(null)],
    ["block array", () => checkBlockBody([])],
    ["transactions missing", () => checkBlockBody({ ...load("mixed").block, transactions: undefined })],
    ["transaction null", () => checkBlockBody({ ...load("mixed").block, transactions: [null] })],
    ["tx null", () => checkTransactionHash(null)],
    ["receipts not an array", () => checkBlockReceipts({}, headerOf(load("mixed").block))],
    ["receipt a string", () => checkBlockReceipts(["0x"], headerOf(load("mixed").block))],
  ];
  const txEdits: [string, (tx: Json) => void][] = [
    ["odd-length input", (tx) => (tx.input = "0x123")],
    ["input without 0x", (tx) => (tx.input = "1234")],
    ["non-hex value", (tx) => (tx.value = "0xzz")],
    ["number value", (tx) => (tx.value = 5)],
    ["missing gas", (tx) => delete tx.gas],
    ["oversized quantity", (tx) => (tx.nonce = `0x1${"0".repeat(64)}`)],
    ["short to", (tx) => (tx.to = "0x1234")],
    ["short hash", (tx) => (tx.hash = "0x12")],
    ["yParity 2", (tx) => (tx.yParity = "0x2")],
    ["accessList not an array", (tx) => (tx.accessList = {})],
    ["storage key too short", (tx) => (tx.accessList[0].storageKeys[0] = "0x01")],
    ["type not a quantity", (tx) => (tx.type = "2")],
  ];
  for (const [what, edit] of txEdits) {
    const fb = load("mixed");
    edit(fb.block.transactions[2]);
    cases.push([`tx ${what}`, () => checkTransactionHash(fb.block.transactions[2])]);
    cases.push([`block ${what}`, () => checkBlockBody(fb.block)]);
  }
  const receiptEdits: [string, (receipts: Json[]) => void][] = [
    ["odd-length log data", (r) => (r[4]!.logs[0].data = "0xabc")],
    ["five topics", (r) => r[5]!.logs[2].topics.push(`0x${"00".repeat(32)}`)],
    ["short bloom", (r) => (r[0]!.logsBloom = "0x00")],
    ["status 2", (r) => (r[0]!.status = "0x2")],
    ["no status", (r) => delete r[0]!.status],
    ["logs missing", (r) => delete r[1]!.logs],
    ["log null", (r) => (r[4]!.logs[0] = null)],
    ["logIndex not hex", (r) => (r[4]!.logs[0].logIndex = "zero")],
    ["transactionIndex as a number", (r) => (r[0]!.transactionIndex = 0)],
  ];
  for (const [what, edit] of receiptEdits) {
    const fb = load("mixed");
    edit(fb.receipts);
    cases.push([`receipts ${what}`, () => receiptsCheck(fb, true)]);
  }
  const fb = load("mixed");
  cases.push(["header hash malformed", () => checkBlockReceipts(fb.receipts, { ...headerOf(fb.block), hash: "0x1" })]);
  cases.push([
    "header number fractional",
    () => checkBlockReceipts(fb.receipts, { ...headerOf(fb.block), number: 1.5 }),
  ]);
  for (const [what, run] of cases) {
    let result: RootCheck | undefined;
    assert.doesNotThrow(() => {
      result = run();
    }, what);
    assert.equal(result?.ok, false, `${what}: ${JSON.stringify(result)}`);
    if (result?.ok === false) assert.ok(result.reason.length > 0, what);
  }
});

test("the encoders throw RootFormatError on malformed fields", () => {
  const tx = load("mixed").block.transactions[3];
  assert.throws(() => encodeTransaction({ ...tx, value: "0x" }), RootFormatError);
  assert.throws(() => encodeTransaction("0x02"), RootFormatError);
  const receipt = load("mixed").receipts[0]!;
  assert.throws(() => encodeReceipt({ ...receipt, cumulativeGasUsed: null }), RootFormatError);
  const items = Array.from({ length: MAX_ACCESS_LIST_ITEMS + 1 }, () => ({
    address: `0x${"11".repeat(20)}`,
    storageKeys: [],
  }));
  assert.throws(() => encodeTransaction({ ...tx, accessList: items }), /more than 65536 items/);
});

test("typed transactions stating v without yParity encode the same", () => {
  for (const tx of load("mixed").block.transactions.filter((t: Json) => t.type !== "0x0")) {
    delete tx.yParity;
    assert.deepEqual(checkTransactionHash(tx), { ok: true }, tx.type);
  }
});

test("a pre-Byzantium receipt encodes its state root instead of a status", () => {
  const receipt = load("mixed").receipts[0]!;
  const root = `0x${"ab".repeat(32)}`;
  const { status: _, ...withoutStatus } = receipt;
  const decoded = fromRlp(bytesToHex(encodeReceipt({ ...withoutStatus, root })));
  assert.ok(Array.isArray(decoded));
  assert.equal(decoded[0], root);
  assert.equal((fromRlp(bytesToHex(encodeReceipt(receipt))) as Hex[])[0], "0x01");
  // An empty `root` beside the status (as some nodes state it) is no root.
  assert.deepEqual(encodeReceipt({ ...receipt, root: "0x" }), encodeReceipt(receipt));
});

// --- Round trips with viem's own serializer: transaction kinds the fixture cannot hold ---

const SIGNER = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const OTHER = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");

const q = (value: bigint | number) => `0x${value.toString(16)}`;

test("encodeTransaction reproduces viem's signed serialization of every supported type", async () => {
  const to = "0x000000000000000000000000000000000000bEEF" as const;
  const accessList = [{ address: to, storageKeys: [`0x${"0".repeat(63)}1`, `0x${"f".repeat(64)}`] as Hex[] }];
  const fees = { maxFeePerGas: parseGwei("30"), maxPriorityFeePerGas: 7n };
  const base = { nonce: 300, gas: 1_000_000n, value: 10n ** 18n, data: "0x00ff00" as Hex };
  const authorization = await OTHER.signAuthorization({ chainId: 1, address: to, nonce: 5 });
  const cases = [
    { name: "legacy pre-EIP-155", tx: { ...base, type: "legacy", to, gasPrice: parseGwei("20") } },
    { name: "legacy EIP-155, large chain id", tx: { ...base, type: "legacy", chainId: 11155111, to, gasPrice: 1n } },
    { name: "legacy creation", tx: { ...base, type: "legacy", chainId: 1, gasPrice: 1n } },
    { name: "EIP-2930", tx: { ...base, type: "eip2930", chainId: 1, to, gasPrice: 3n, accessList } },
    { name: "EIP-1559 creation", tx: { ...base, type: "eip1559", chainId: 10, ...fees } },
    {
      name: "EIP-4844 (no sidecars)",
      tx: {
        ...base,
        type: "eip4844",
        chainId: 1,
        to,
        ...fees,
        accessList,
        maxFeePerBlobGas: 12345n,
        blobVersionedHashes: [`0x01${"aa".repeat(31)}`, `0x01${"bb".repeat(31)}`] as Hex[],
      },
    },
    {
      name: "EIP-7702, two authorizations",
      tx: {
        ...base,
        type: "eip7702",
        chainId: 1,
        to,
        ...fees,
        authorizationList: [authorization, { ...authorization, nonce: 6, chainId: 0 }],
      },
    },
  ] as const;
  for (const { name, tx } of cases) {
    const signed = await SIGNER.signTransaction(tx as never);
    const json = toJson(tx as Json, signed);
    assert.equal(bytesToHex(encodeTransaction(json)), signed, name);
    assert.deepEqual(checkTransactionHash({ ...json, hash: keccak256(signed) }), { ok: true }, name);
  }
});

/** The JSON a node would answer for `tx`, with the signature read back from its serialization. */
function toJson(tx: Json, signed: Hex): Json {
  const bytes = hexToBytes(signed);
  const typed = bytes[0]! < 0x80;
  const fields = fromRlp(typed ? bytesToHex(bytes.subarray(1)) : signed) as Hex[];
  const [r, s] = fields.slice(-2).map((f) => q(BigInt(f === "0x" ? 0 : f)));
  const v = q(BigInt(fields.at(-3) === "0x" ? 0 : fields.at(-3)!));
  const type = { legacy: 0, eip2930: 1, eip1559: 2, eip4844: 3, eip7702: 4 }[tx.type as string]!;
  const json: Json = {
    type: q(type),
    nonce: q(tx.nonce),
    gas: q(tx.gas),
    to: tx.to ? tx.to.toLowerCase() : null,
    value: q(tx.value),
    input: tx.data,
    r,
    s,
  };
  if (tx.chainId !== undefined) json.chainId = q(tx.chainId);
  if (tx.gasPrice !== undefined) json.gasPrice = q(tx.gasPrice);
  if (tx.maxFeePerGas !== undefined) {
    json.maxFeePerGas = q(tx.maxFeePerGas);
    json.maxPriorityFeePerGas = q(tx.maxPriorityFeePerGas);
  }
  if (type === 0) json.v = v;
  else {
    json.yParity = v;
    json.v = v;
    json.accessList = tx.accessList ?? [];
  }
  if (type === 3) {
    json.maxFeePerBlobGas = q(tx.maxFeePerBlobGas);
    json.blobVersionedHashes = tx.blobVersionedHashes;
  }
  if (type === 4) {
    json.authorizationList = tx.authorizationList.map((a: Json) => ({
      chainId: q(a.chainId),
      address: a.address,
      nonce: q(a.nonce),
      yParity: q(a.yParity),
      r: q(BigInt(a.r)),
      s: q(BigInt(a.s)),
    }));
  }
  return json;
}

test("serializeTransaction and encodeTransaction agree on an unsigned-looking zero signature", () => {
  // r = s = 0 encode as empty strings: quantities are stripped of leading zeros, down to nothing.
  const tx = {
    type: "eip1559",
    chainId: 1,
    nonce: 0,
    gas: 21000n,
    to: OTHER.address,
    value: 0n,
    maxFeePerGas: 1n,
    maxPriorityFeePerGas: 0n,
  } as const;
  const serialized = serializeTransaction(tx, { r: "0x0", s: "0x0", yParity: 0 } as never);
  const json = { ...toJson(tx as Json, serialized), input: "0x" };
  assert.equal(bytesToHex(encodeTransaction(json)), serialized);
});
