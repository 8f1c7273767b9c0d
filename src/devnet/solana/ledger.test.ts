import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { KeyPairSigner } from "@solana/kit";
import {
  createSolanaLedger,
  genesisHashOf,
  MAX_PROCESSING_AGE_SLOTS,
  SlotSequenceError,
  type SolanaLedger,
} from "./ledger.ts";
import { devnetSigner, LAMPORTS_PER_SOL, signedTransfer } from "./testing.ts";
import { decodeWireTransaction } from "./transaction.ts";

let alice: KeyPairSigner;
let bob: KeyPairSigner;
let carol: KeyPairSigner;
let stranger: KeyPairSigner;

before(async () => {
  [alice, bob, carol, stranger] = (await Promise.all(["alice", "bob", "carol", "stranger"].map(devnetSigner))) as [
    KeyPairSigner,
    KeyPairSigner,
    KeyPairSigner,
    KeyPairSigner,
  ];
});

function ledger(finalizedDepth = 4): SolanaLedger {
  return createSolanaLedger({
    name: "ledger-test",
    accounts: [
      { address: alice.address, lamports: 100n * LAMPORTS_PER_SOL },
      { address: bob.address, lamports: 10n * LAMPORTS_PER_SOL },
    ],
    finalizedDepth,
  });
}

async function transfer(l: SolanaLedger, from: KeyPairSigner, to: string, lamports: bigint): Promise<Uint8Array> {
  const base64 = await signedTransfer({ from, to, lamports, blockhash: l.blockhash(l.slot()) as string });
  return Uint8Array.from(Buffer.from(base64, "base64"));
}

const signatureOf = (raw: Uint8Array) => decodeWireTransaction(raw).signature;

describe("solana ledger", () => {
  test("same genesis and same transactions in the same order: same blockhashes and state on two ledgers", async () => {
    const a = ledger();
    const b = ledger();
    assert.equal(a.genesisHash, b.genesisHash);
    assert.equal(a.stateHash(), b.stateHash());
    const t1 = await transfer(a, alice, carol.address, 2n * LAMPORTS_PER_SOL);
    const t2 = await transfer(a, bob, carol.address, LAMPORTS_PER_SOL);
    for (const l of [a, b]) l.produceSlot(1, [t1, t2]);
    for (const l of [a, b]) l.produceSlot(2, []);
    assert.equal(a.blockhash(2), b.blockhash(2));
    assert.notEqual(a.blockhash(1), a.blockhash(2));
    assert.equal(a.stateHash(), b.stateHash());
    assert.equal(a.account(carol.address, 2)?.lamports, 3n * LAMPORTS_PER_SOL);

    // litesvm's blockhashes do not depend on the transactions: the state hash is what tells two histories apart.
    const c = ledger();
    c.produceSlot(1, [t1]);
    c.produceSlot(2, []);
    assert.equal(c.blockhash(2), a.blockhash(2));
    assert.notEqual(c.stateHash(), a.stateHash());
  });

  test("the genesis hash is fixed per cluster name and accounts", () => {
    const accounts = [{ address: alice.address, lamports: 1 }];
    assert.equal(genesisHashOf("x", accounts), genesisHashOf("x", [{ address: alice.address, lamports: 1n }]));
    assert.notEqual(genesisHashOf("x", accounts), genesisHashOf("y", accounts));
    assert.notEqual(genesisHashOf("x", accounts), genesisHashOf("x", [{ address: alice.address, lamports: 2 }]));
  });

  test("reads at a commitment see the state as of its slot", async () => {
    const l = ledger(3);
    l.produceSlot(1, [await transfer(l, alice, carol.address, LAMPORTS_PER_SOL)]);
    assert.equal(l.commitmentSlot("processed"), 1);
    assert.equal(l.commitmentSlot("confirmed"), 0);
    assert.equal(l.commitmentSlot("finalized"), 0);
    assert.equal(l.account(carol.address, l.commitmentSlot("processed"))?.lamports, LAMPORTS_PER_SOL);
    assert.equal(l.account(carol.address, l.commitmentSlot("confirmed")), null);
    assert.equal(l.account(alice.address, 0)?.lamports, 100n * LAMPORTS_PER_SOL);
    for (let s = 2; s <= 3; s++) l.produceSlot(s, []);
    assert.equal(l.account(carol.address, l.commitmentSlot("finalized")), null, "finalized is slot 0 at slot 3");
    l.produceSlot(4, []);
    assert.equal(l.account(carol.address, l.commitmentSlot("finalized"))?.lamports, LAMPORTS_PER_SOL);
  });

  test("dropped transactions are recorded nowhere; a failed one that paid its fee is recorded with its error", async () => {
    const l = ledger();
    const good = await transfer(l, alice, carol.address, LAMPORTS_PER_SOL);
    const unfunded = await transfer(l, stranger, carol.address, LAMPORTS_PER_SOL);
    const tooMuch = await transfer(l, bob, carol.address, 1_000n * LAMPORTS_PER_SOL);
    l.produceSlot(1, [good, unfunded, tooMuch, good]);
    assert.equal(l.transaction(signatureOf(good))?.err, null);
    assert.equal(l.transaction(signatureOf(unfunded)), undefined, "AccountNotFound: never in a block");
    const failed = l.transaction(signatureOf(tooMuch));
    assert.deepEqual(failed?.err, { InstructionError: [0, { Custom: 1 }] });
    assert.equal(failed?.fee, 5_000n);
    assert.equal(l.account(bob.address, 1)?.lamports, 10n * LAMPORTS_PER_SOL - 5_000n);
    assert.equal(l.account(carol.address, 1)?.lamports, LAMPORTS_PER_SOL, "the duplicate ran once");
  });

  test("a transaction whose blockhash is older than 150 slots is dropped", async () => {
    const l = ledger();
    const stale = await transfer(l, alice, carol.address, LAMPORTS_PER_SOL);
    const fresh = await transfer(l, alice, bob.address, LAMPORTS_PER_SOL);
    for (let s = 1; s <= MAX_PROCESSING_AGE_SLOTS; s++) l.produceSlot(s, s === MAX_PROCESSING_AGE_SLOTS ? [fresh] : []);
    assert.ok(l.transaction(signatureOf(fresh)), "slot 0's blockhash still lands in slot 150");
    l.produceSlot(MAX_PROCESSING_AGE_SLOTS + 1, [stale]);
    assert.equal(l.transaction(signatureOf(stale)), undefined);
    assert.equal(l.account(carol.address, l.slot()), null);
  });

  test("the pool: produced transactions leave it, expired ones are pruned", async () => {
    const l = ledger();
    const t1 = decodeWireTransaction(await transfer(l, alice, carol.address, LAMPORTS_PER_SOL));
    const t2 = decodeWireTransaction(await transfer(l, bob, carol.address, LAMPORTS_PER_SOL));
    assert.ok(l.addToPool(t1));
    assert.ok(l.addToPool(t2));
    assert.equal(l.addToPool(t1), false, "already there");
    l.produceSlot(1, [t1.raw]);
    assert.deepEqual(
      l.pool().map((t) => t.signature),
      [t2.signature],
    );
    for (let s = 2; s <= MAX_PROCESSING_AGE_SLOTS; s++) l.produceSlot(s, []);
    assert.deepEqual(l.pool(), [], "slot 0's blockhash cannot land in slot 151");
  });

  test("only the next slot can be produced", () => {
    const l = ledger();
    assert.throws(
      () => l.produceSlot(2, []),
      (e: unknown) => e instanceof SlotSequenceError && e.slot === 0,
    );
    l.produceSlot(1, []);
    assert.throws(() => l.produceSlot(1, []), SlotSequenceError);
  });

  test("block time follows the slot", () => {
    const l = ledger();
    for (let s = 1; s <= 5; s++) l.produceSlot(s, []);
    assert.equal(l.blockTime(5) - l.blockTime(0), 2, "5 slots of 400 ms");
  });
});
