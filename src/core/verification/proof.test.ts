import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { test } from "node:test";
import { bytesToHex, hexToBytes, keccak256, toRlp } from "viem";
import fixtures from "../fixtures/proofs.json" with { type: "json" };
import type { Hex } from "../hex.ts";
import {
  EMPTY_CODE_HASH,
  EMPTY_TRIE_ROOT,
  MAX_PROOF_NODE_BYTES,
  MAX_PROOF_NODES,
  verifyAccountProof,
  verifyCode,
  verifyMerkleProof,
  verifyProofAnswer,
  verifyStorageProof,
} from "./proof.ts";

// Fixtures come from a real anvil (scripts/make-proof-fixtures.ts): eth_getProof at block `fixtures.block`.
const STATE_ROOT = fixtures.block.stateRoot as Hex;
interface ProofJson {
  address: string;
  balance: string;
  codeHash: string;
  nonce: string;
  storageHash: string;
  accountProof: string[];
  storageProof: StorageEntryJson[];
}
type StorageEntryJson = { key: string; value: string; proof: string[] };

/** A fresh deep copy, so each test can tamper with its own. */
function proofOf(name: "funded" | "recipient" | "neverUsed" | "contract"): ProofJson {
  return structuredClone(fixtures[name].proof as ProofJson);
}
function addressOf(name: "funded" | "recipient" | "neverUsed" | "contract"): Hex {
  return fixtures[name].address as Hex;
}

/** Flips the bits of one byte of a hex node, `at` bytes from its start. */
function flipByte(node: string, at: number): string {
  const bytes = hexToBytes(node as Hex);
  bytes[at % bytes.length]! ^= 0xff;
  return bytesToHex(bytes);
}

function assertRejected(result: { ok: boolean; reason?: string }, pattern?: RegExp): void {
  assert.equal(result.ok, false, "a tampered or malformed proof was accepted");
  if (pattern && "reason" in result) assert.match(result.reason ?? "", pattern);
}

test("a funded account's proof gives the proven nonce and balance", () => {
  const proof = proofOf("funded");
  const result = verifyAccountProof(STATE_ROOT, addressOf("funded"), proof);
  assert.ok(result.ok, !result.ok ? result.reason : "");
  assert.equal(result.exists, true);
  assert.deepEqual(result.account, {
    nonce: 3n,
    balance: BigInt(proof.balance),
    storageRoot: EMPTY_TRIE_ROOT,
    codeHash: EMPTY_CODE_HASH,
  });
  assert.ok(result.account.balance > 9_999n * 10n ** 18n);
});

test("an account that only received value: nonce 0, proven balance", () => {
  const result = verifyAccountProof(STATE_ROOT, addressOf("recipient"), proofOf("recipient"));
  assert.ok(result.ok, !result.ok ? result.reason : "");
  assert.equal(result.exists, true);
  assert.equal(result.account.nonce, 0n);
  assert.equal(result.account.balance, 1_234_567_890_124n);
});

test("the address may be given in any letter case", () => {
  const lower = addressOf("funded").toLowerCase() as Hex;
  const upper = `0x${addressOf("funded").slice(2).toUpperCase()}` as Hex;
  assert.ok(verifyAccountProof(STATE_ROOT, lower, proofOf("funded")).ok);
  assert.ok(verifyAccountProof(STATE_ROOT, upper, proofOf("funded")).ok);
});

test("a never-used account is proven absent: proven zero, empty storage, empty code", () => {
  const proof = proofOf("neverUsed");
  const result = verifyAccountProof(STATE_ROOT, addressOf("neverUsed"), proof);
  assert.ok(result.ok, !result.ok ? result.reason : "");
  assert.equal(result.exists, false);
  assert.deepEqual(result.account, { nonce: 0n, balance: 0n, storageRoot: EMPTY_TRIE_ROOT, codeHash: EMPTY_CODE_HASH });
  // Its storage is the empty trie: any slot is proven zero (anvil proves it with the single node 0x80).
  const entry = proof.storageProof[0]!;
  assert.deepEqual(verifyStorageProof(result.account.storageRoot, entry.key as Hex, entry), { ok: true, value: 0n });
  // An empty trie proven with no nodes at all, as other clients send it.
  assert.deepEqual(verifyStorageProof(EMPTY_TRIE_ROOT, entry.key as Hex, { ...entry, proof: [] }), {
    ok: true,
    value: 0n,
  });
});

test("a proven-absent account with zero hashes (older clients) still verifies; a non-zero claim does not", () => {
  const zero = `0x${"00".repeat(32)}`;
  const proof = { ...proofOf("neverUsed"), codeHash: zero, storageHash: zero };
  assert.ok(verifyAccountProof(STATE_ROOT, addressOf("neverUsed"), proof).ok);
  // For an account that exists, a zero hash is a false claim.
  assertRejected(
    verifyAccountProof(STATE_ROOT, addressOf("funded"), { ...proofOf("funded"), codeHash: zero }),
    /codeHash/,
  );
  assertRejected(verifyAccountProof(STATE_ROOT, addressOf("neverUsed"), { ...proofOf("neverUsed"), balance: "0x1" }));
  assertRejected(verifyAccountProof(STATE_ROOT, addressOf("neverUsed"), { ...proofOf("neverUsed"), nonce: "0x1" }));
});

test("a contract: code matches the proven code hash, set slots give their values, an empty slot is proven zero", () => {
  const proof = proofOf("contract");
  const result = verifyAccountProof(STATE_ROOT, addressOf("contract"), proof);
  assert.ok(result.ok, !result.ok ? result.reason : "");
  assert.equal(result.account.nonce, 1n);
  assert.notEqual(result.account.storageRoot, EMPTY_TRIE_ROOT);
  assert.equal(verifyCode(result.account.codeHash, fixtures.contract.code), true);

  const { storageRoot } = result.account;
  for (const expected of fixtures.contract.slots) {
    const entry = proof.storageProof.find((e) => e.key === expected.key)!;
    assert.deepEqual(verifyStorageProof(storageRoot, expected.key as Hex, entry), {
      ok: true,
      value: BigInt(expected.value),
    });
  }
  const empty = proof.storageProof.find((e) => e.key === fixtures.contract.emptySlot)!;
  assert.equal(empty.value, "0x0");
  assert.deepEqual(verifyStorageProof(storageRoot, fixtures.contract.emptySlot as Hex, empty), { ok: true, value: 0n });
});

test("storage values and keys with leading zeros mean the same number", () => {
  const proof = proofOf("contract");
  const storageRoot = proof.storageHash as Hex;
  const slot1 = proof.storageProof[1]!;
  const padded = { ...slot1, value: `0x${"deadbeef".padStart(64, "0")}` };
  assert.deepEqual(verifyStorageProof(storageRoot, slot1.key as Hex, padded), { ok: true, value: 0xdeadbeefn });
  // Some nodes echo the key as a quantity.
  assert.deepEqual(verifyStorageProof(storageRoot, slot1.key as Hex, { ...slot1, key: "0x1" }), {
    ok: true,
    value: 0xdeadbeefn,
  });
  const empty = proof.storageProof[3]!;
  assert.deepEqual(verifyStorageProof(storageRoot, empty.key as Hex, { ...empty, value: `0x${"0".repeat(64)}` }), {
    ok: true,
    value: 0n,
  });
});

test("a flipped byte anywhere in any account-proof node is rejected", () => {
  for (const name of ["funded", "recipient", "neverUsed", "contract"] as const) {
    const nodes = fixtures[name].proof.accountProof;
    for (let i = 0; i < nodes.length; i++) {
      const length = (nodes[i]!.length - 2) / 2;
      for (let at = 0; at < length; at += 7) {
        const proof = proofOf(name);
        proof.accountProof[i] = flipByte(proof.accountProof[i]!, at);
        assertRejected(verifyAccountProof(STATE_ROOT, addressOf(name), proof));
      }
    }
  }
});

test("a dropped node, a truncated path or an extra trailing node is rejected", () => {
  for (const name of ["funded", "recipient", "neverUsed", "contract"] as const) {
    const count = fixtures[name].proof.accountProof.length;
    for (let i = 0; i < count; i++) {
      const proof = proofOf(name);
      proof.accountProof.splice(i, 1);
      assertRejected(verifyAccountProof(STATE_ROOT, addressOf(name), proof));
    }
    const empty = proofOf(name);
    empty.accountProof = [];
    assertRejected(verifyAccountProof(STATE_ROOT, addressOf(name), empty), /proof ends/);

    const extra = proofOf(name);
    extra.accountProof.push(fixtures.contract.proof.accountProof.at(-1)!);
    assertRejected(verifyAccountProof(STATE_ROOT, addressOf(name), extra), /extra node/);
  }
});

test("an existing account cannot be passed off as absent, nor an absent one as existing", () => {
  // The never-used account's nodes (an exclusion proof) presented for the funded address.
  const exclusion = { ...proofOf("neverUsed"), address: addressOf("funded") };
  assertRejected(verifyAccountProof(STATE_ROOT, addressOf("funded"), exclusion));
  // The funded account's nodes presented for the never-used address.
  const inclusion = { ...proofOf("funded"), address: addressOf("neverUsed") };
  assertRejected(verifyAccountProof(STATE_ROOT, addressOf("neverUsed"), inclusion));
});

test("proofs swapped between accounts are rejected", () => {
  const names = ["funded", "recipient", "neverUsed", "contract"] as const;
  for (const target of names) {
    for (const source of names) {
      if (target === source) continue;
      // As sent: the proof names another address.
      assertRejected(verifyAccountProof(STATE_ROOT, addressOf(target), proofOf(source)), /proof is for/);
      // Relabelled: the nodes of one account under the address (and claims) of another.
      const relabelled = { ...proofOf(target), accountProof: proofOf(source).accountProof };
      assertRejected(verifyAccountProof(STATE_ROOT, addressOf(target), relabelled));
    }
  }
});

test("a lie in the balance, nonce, codeHash or storageHash field is a dispute: the proof wins", () => {
  const address = addressOf("contract");
  const lies: [string, Record<string, unknown>, RegExp][] = [
    ["balance", { balance: "0x1" }, /balance claimed 0x1, proven 0x0/],
    ["nonce", { nonce: "0x2" }, /nonce claimed 0x2, proven 0x1/],
    ["codeHash", { codeHash: EMPTY_CODE_HASH }, /codeHash/],
    ["storageHash", { storageHash: EMPTY_TRIE_ROOT }, /storageHash/],
  ];
  for (const [what, lie, reason] of lies) {
    const result = verifyAccountProof(STATE_ROOT, address, { ...proofOf("contract"), ...lie });
    assert.equal(result.ok, false, `a lie in ${what} was accepted`);
    if (!result.ok) assert.match(result.reason, reason);
  }
  // The outage symptom: a node says 0x0 for a funded account.
  const funded = proofOf("funded");
  assertRejected(
    verifyAccountProof(STATE_ROOT, addressOf("funded"), { ...funded, balance: "0x0" }),
    new RegExp(`balance claimed 0x0, proven ${funded.balance}`),
  );
});

test("a proof checked against another root is rejected", () => {
  const roots = [
    fixtures.block.hash,
    EMPTY_TRIE_ROOT,
    keccak256("0x01"),
    fixtures.contract.proof.storageHash,
    `0x${"00".repeat(32)}`,
  ] as Hex[];
  for (const root of roots) {
    for (const name of ["funded", "neverUsed", "contract"] as const) {
      assertRejected(verifyAccountProof(root, addressOf(name), proofOf(name)), /hash to the root|proof ends/);
    }
  }
});

test("storage proofs: tampered nodes, wrong root, wrong key and false values are rejected", () => {
  const proof = proofOf("contract");
  const root = proof.storageHash as Hex;
  const [slot0, slot1, , empty] = proof.storageProof as [StorageEntryJson, StorageEntryJson, unknown, StorageEntryJson];
  for (let i = 0; i < slot0.proof.length; i++) {
    for (let at = 0; at < (slot0.proof[i]!.length - 2) / 2; at += 5) {
      const nodes = [...slot0.proof];
      nodes[i] = flipByte(nodes[i]!, at);
      assertRejected(verifyStorageProof(root, slot0.key as Hex, { ...slot0, proof: nodes }));
    }
    assertRejected(verifyStorageProof(root, slot0.key as Hex, { ...slot0, proof: slot0.proof.toSpliced(i, 1) }));
  }
  assertRejected(
    verifyStorageProof(root, slot0.key as Hex, { ...slot0, proof: [...slot0.proof, slot1.proof[1]!] }),
    /extra/,
  );
  assertRejected(verifyStorageProof(EMPTY_TRIE_ROOT, slot0.key as Hex, slot0));
  assertRejected(verifyStorageProof(STATE_ROOT, slot0.key as Hex, slot0));
  // The node says zero where the proof shows 0x2a, or a value where the slot is proven empty.
  assertRejected(verifyStorageProof(root, slot0.key as Hex, { ...slot0, value: "0x0" }), /claimed 0x0, proven 0x2a/);
  assertRejected(verifyStorageProof(root, empty.key as Hex, { ...empty, value: "0x1" }), /claimed 0x1, proven 0x0/);
  // The entry for slot 0 offered for slot 1, as sent and relabelled.
  assertRejected(verifyStorageProof(root, slot1.key as Hex, slot0), /not for/);
  assertRejected(verifyStorageProof(root, slot1.key as Hex, { ...slot0, key: slot1.key }));
  // A set slot's proof cut short to look like the empty slot's (the branch alone).
  assertRejected(verifyStorageProof(root, slot0.key as Hex, { ...slot0, value: "0x0", proof: [slot0.proof[0]!] }));
});

test("malformed inputs give ok: false, never a throw", () => {
  const good = proofOf("funded");
  const address = addressOf("funded");
  const bigNode = `0x${"ab".repeat(MAX_PROOF_NODE_BYTES + 1)}`;
  const badProofs: unknown[] = [
    undefined,
    null,
    42,
    "0x",
    [],
    [good],
    {},
    { ...good, address: undefined },
    { ...good, address: "0x1234" },
    { ...good, accountProof: undefined },
    { ...good, accountProof: "0xf9" },
    { ...good, accountProof: [42] },
    { ...good, accountProof: [null] },
    { ...good, accountProof: [good.accountProof[0]!.slice(0, -1), ...good.accountProof.slice(1)] },
    { ...good, accountProof: [`${good.accountProof[0]!.slice(0, -2)}zz`, ...good.accountProof.slice(1)] },
    { ...good, accountProof: [good.accountProof[0]!.slice(2), ...good.accountProof.slice(1)] },
    { ...good, accountProof: [bigNode] },
    { ...good, accountProof: Array.from({ length: MAX_PROOF_NODES + 1 }, () => good.accountProof[0]) },
    { ...good, balance: undefined },
    { ...good, balance: 12 },
    { ...good, balance: "0x" },
    { ...good, balance: "12" },
    { ...good, balance: `0x1${"0".repeat(64)}` },
    { ...good, nonce: "0xg" },
    { ...good, nonce: null },
    { ...good, codeHash: EMPTY_CODE_HASH.slice(0, -1) },
    { ...good, storageHash: `${EMPTY_TRIE_ROOT}00` },
    { ...good, storageHash: undefined },
  ];
  for (const [i, proof] of badProofs.entries()) {
    let result: ReturnType<typeof verifyAccountProof> | undefined;
    assert.doesNotThrow(() => {
      result = verifyAccountProof(STATE_ROOT, address, proof);
    }, `case ${i}`);
    assert.equal(result?.ok, false, `case ${i} was accepted`);
  }
  // Bad caller arguments are reported the same way.
  assertRejected(verifyAccountProof("0x1234" as Hex, address, good), /state root/);
  assertRejected(verifyAccountProof(STATE_ROOT, "0xabc" as Hex, good), /address/);
  assertRejected(verifyAccountProof(42 as unknown as Hex, address, good));

  const entry = proofOf("contract").storageProof[0]!;
  const root = fixtures.contract.proof.storageHash as Hex;
  const badEntries: unknown[] = [
    null,
    "x",
    [],
    { ...entry, key: undefined },
    { ...entry, key: "slot" },
    { ...entry, value: undefined },
    { ...entry, value: "0x" },
    { ...entry, value: -1 },
    { ...entry, proof: undefined },
    { ...entry, proof: [entry.proof[0], 7] },
    { ...entry, proof: ["0x0"] },
  ];
  for (const [i, bad] of badEntries.entries()) {
    let result: ReturnType<typeof verifyStorageProof> | undefined;
    assert.doesNotThrow(() => {
      result = verifyStorageProof(root, entry.key as Hex, bad);
    }, `storage case ${i}`);
    assert.equal(result?.ok, false, `storage case ${i} was accepted`);
  }
  assertRejected(verifyStorageProof(root, "0x00" as Hex, entry), /slot/);
  assertRejected(verifyStorageProof("0x" as Hex, entry.key as Hex, entry), /storage root/);
});

test("random corruption of a valid proof never yields a different accepted answer", (t) => {
  // A seeded generator: the corruptions are the same on every run.
  let seed = 0x2545f491;
  const next = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const name = "contract";
  const honest = verifyAccountProof(STATE_ROOT, addressOf(name), proofOf(name));
  assert.ok(honest.ok);
  let accepted = 0;
  for (let round = 0; round < 2_000; round++) {
    const proof = proofOf(name);
    const i = next(proof.accountProof.length);
    const bytes = hexToBytes(proof.accountProof[i] as Hex);
    const kind = next(3);
    let mutated: Uint8Array;
    if (kind === 0) {
      mutated = bytes.slice();
      mutated[next(bytes.length)] = next(256);
    } else if (kind === 1) {
      mutated = bytes.slice(0, next(bytes.length));
    } else {
      mutated = new Uint8Array([...bytes, next(256)]);
    }
    proof.accountProof[i] = bytesToHex(mutated);
    const result = verifyAccountProof(STATE_ROOT, addressOf(name), proof);
    if (result.ok) {
      // Only a no-op mutation (the same byte written back) may pass, and then it must say exactly the same.
      assert.deepEqual(result, honest);
      accepted++;
    }
  }
  assert.ok(accepted < 20, `${accepted} corrupted proofs accepted`);
  t.diagnostic(`${accepted} of 2,000 random corruptions were no-ops and passed; all others were rejected`);
});

test("Merkle walk through inline nodes, extensions and empty branch slots (hand-built trie)", () => {
  // Keys 0x00…01 and 0x00…02 share 63 nibbles: an extension over them to a branch whose two leaves are so small
  // that they are inlined in the branch rather than referenced by hash.
  const leaf = (value: Hex) => ["0x20", value] as const; // even-length leaf path with no nibbles left
  const value1: Hex = `0x${"11".repeat(10)}`;
  const value2: Hex = `0x${"22".repeat(10)}`;
  const branch = toRlp([
    "0x",
    leaf(value1),
    leaf(value2),
    ...Array.from({ length: 13 }, () => "0x" as const),
    "0x",
  ] as Parameters<typeof toRlp>[0]);
  assert.ok(hexToBytes(branch).length >= 32, "the branch must be referenced by hash");
  const extension = toRlp([`0x1${"0".repeat(63)}`, keccak256(branch)] as Hex[]);
  const root = hexToBytes(keccak256(extension));
  const key = (last: number) => {
    const k = new Uint8Array(32);
    k[31] = last;
    return k;
  };
  const nodes = [hexToBytes(extension), hexToBytes(branch)];

  assert.deepEqual(verifyMerkleProof(root, key(1), nodes), { ok: true, value: hexToBytes(value1) });
  assert.deepEqual(verifyMerkleProof(root, key(2), nodes), { ok: true, value: hexToBytes(value2) });
  // Empty branch slot: proven absent.
  assert.deepEqual(verifyMerkleProof(root, key(3), nodes), { ok: true, value: null });
  // The key leaves the extension's path: proven absent by the extension alone, and extra nodes are refused.
  const other = key(1);
  other[0] = 0x10;
  assert.deepEqual(verifyMerkleProof(root, other, nodes.slice(0, 1)), { ok: true, value: null });
  assertRejected(verifyMerkleProof(root, other, nodes), /extra node/);
  assertRejected(verifyMerkleProof(root, key(1), nodes.slice(0, 1)), /proof ends/);
  assertRejected(verifyMerkleProof(root, key(1), [nodes[1]!, nodes[0]!]), /hash to the root/);
  // The empty trie.
  const emptyRoot = hexToBytes(EMPTY_TRIE_ROOT);
  assert.deepEqual(verifyMerkleProof(emptyRoot, key(1), []), { ok: true, value: null });
  assert.deepEqual(verifyMerkleProof(emptyRoot, key(1), [hexToBytes("0x80")]), { ok: true, value: null });
  assertRejected(verifyMerkleProof(emptyRoot, key(1), [hexToBytes("0x80"), hexToBytes("0x80")]), /extra node/);
});

test("verifyCode: only code hashing to the code hash is accepted", () => {
  const code = fixtures.contract.code;
  const codeHash = fixtures.contract.proof.codeHash as Hex;
  assert.equal(verifyCode(codeHash, code), true);
  assert.equal(verifyCode(codeHash, code.toUpperCase().replace("0X", "0x")), true);
  assert.equal(verifyCode(codeHash, `${code}00`), false);
  assert.equal(verifyCode(codeHash, "0x"), false);
  assert.equal(verifyCode(EMPTY_CODE_HASH, "0x"), true);
  assert.equal(verifyCode(EMPTY_CODE_HASH, code), false);
  for (const bad of [undefined, null, 42, "", "0x0", code.slice(2), `${code}0`, `${code.slice(0, -2)}zz`, [code]]) {
    assert.equal(verifyCode(codeHash, bad), false, String(bad));
  }
  assert.equal(verifyCode("0x1234" as Hex, code), false);
});

test("the empty-trie root and empty-code hash are what their names say", () => {
  assert.equal(EMPTY_TRIE_ROOT, keccak256(toRlp("0x")));
  assert.equal(EMPTY_CODE_HASH, keccak256("0x"));
});

test("verifyAccountProof p50 over 1,000 runs is within 1 ms", (t) => {
  const proof = proofOf("contract");
  const address = addressOf("contract");
  const samples: number[] = [];
  for (let i = 0; i < 1_000; i++) {
    const start = performance.now();
    const result = verifyAccountProof(STATE_ROOT, address, proof);
    samples.push(performance.now() - start);
    if (!result.ok) assert.fail(result.reason);
  }
  samples.sort((a, b) => a - b);
  const p50 = samples[500]!;
  const p99 = samples[990]!;
  t.diagnostic(
    `verifyAccountProof (${proof.accountProof.length} nodes): p50 ${(p50 * 1000).toFixed(1)} µs, p99 ${(p99 * 1000).toFixed(1)} µs over 1,000 runs`,
  );
  assert.ok(p50 <= 1, `p50 ${p50.toFixed(3)} ms exceeds the 1 ms target`);
});

test("a whole eth_getProof answer: proven with the fields a proof has; a tampered value, a missing or extra storage proof, another slot fail", () => {
  const proof = { ...proofOf("contract"), extra: "not a proof field" };
  const slots = proof.storageProof.map((e) => `0x${BigInt(e.key).toString(16).padStart(64, "0")}` as Hex);
  const checked = verifyProofAnswer(STATE_ROOT, addressOf("contract"), slots, proof);
  assert.ok(checked.ok, !checked.ok ? checked.reason : "");
  const { extra: _, ...fields } = proof;
  assert.deepEqual(checked.value, fields, "every proof field, nothing else");

  const tampered = proofOf("contract");
  tampered.storageProof[0]!.value = "0x1234";
  assert.equal(verifyProofAnswer(STATE_ROOT, addressOf("contract"), slots, tampered).ok, false);
  const missing = proofOf("contract");
  missing.storageProof.pop();
  assert.equal(verifyProofAnswer(STATE_ROOT, addressOf("contract"), slots, missing).ok, false);
  assert.equal(verifyProofAnswer(STATE_ROOT, addressOf("contract"), slots.slice(1), proofOf("contract")).ok, false);
  const otherSlot = [...slots.slice(0, -1), `0x${"ab".repeat(32)}` as Hex];
  assert.equal(verifyProofAnswer(STATE_ROOT, addressOf("contract"), otherSlot, proofOf("contract")).ok, false);
  const balance = { ...proofOf("contract"), balance: "0x1" };
  assert.equal(verifyProofAnswer(STATE_ROOT, addressOf("contract"), slots, balance).ok, false);
});
