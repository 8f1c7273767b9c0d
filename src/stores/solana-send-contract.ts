/**
 * The behaviour every Store implementation promises for Solana sends (`putSolanaSend`, `getSolanaSend`,
 * `listPendingSolanaSends`), as one node:test suite beside `store-contract.ts`. Each implementation's test file calls
 * `describeSolanaSendContract` with the same subject it gives `describeStoreContract`.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import {
  checkSolanaSend,
  SOLANA_SEND_MAX_ENCODED_CHARS,
  SOLANA_SEND_MAX_ERR_CHARS,
  type SolanaSendRecord,
} from "../core/solana/send-record.ts";
import { type Store, StoreError, type StoreLimits } from "../core/store.ts";
import { outboxFixture, type StoreContractSubject } from "./store-contract.ts";

const BASE58_DIGITS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/** `n` in base58 digits, `width` wide: the digits sort in ASCII order, so the text sorts as the numbers do. */
function base58Digits(n: number, width: number): string {
  let text = "";
  for (let rest = n; rest > 0; rest = Math.floor(rest / 58)) text = BASE58_DIGITS[rest % 58] + text;
  return text.padStart(width, "1");
}

const BLOCKHASH = "US517G5965aydkZ46HS38QLi7UQiSojurfbQfKCELFx";

/** The signature of fixture `n`: 87 base58 characters, ordered as `n` is. */
export function solanaSignature(n: number): string {
  return `${base58Digits(n, 8)}${"5".repeat(79)}`;
}

/** A pending record with sensible fields; `over` replaces any of them. `n` makes the signature distinct. */
export function solanaSendFixture(n = 1, over: Partial<SolanaSendRecord> = {}): SolanaSendRecord {
  return {
    cluster: "devnet",
    signature: solanaSignature(n),
    encoded: `AQ${base58Digits(n, 8)}${"A".repeat(200)}`,
    encoding: "base64",
    blockhash: BLOCKHASH,
    status: "pending",
    firstSeenAt: 1_700_000_000_000 + n,
    updatedAt: 1_700_000_000_000 + n,
    broadcasts: 0,
    ...over,
  };
}

const isClosed = (error: unknown) => error instanceof StoreError && error.code === "closed";

type Open = (limits?: Partial<StoreLimits>) => Promise<Store>;
type Settle = (store: Store) => Promise<void>;

export function describeSolanaSendContract(name: string, subject: StoreContractSubject): void {
  describe(`Store contract, Solana sends: ${name}`, () => {
    const opened: Store[] = [];
    const open: Open = async (limits) => {
      const store = await subject.open(limits);
      opened.push(store);
      return store;
    };
    const settle: Settle = async (store) => {
      await subject.settle?.(store);
    };
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((s) => s.close()));
    });
    describeRoundTrip(open, settle);
    describeStatusRules(open, settle);
    describeOrderAndBound(open, settle);
    describeRefusals(open, settle);
    if (subject.peer) describePeers(open, subject.peer, opened);
    if (subject.reopen) describeRestart(open, subject.reopen, opened);
  });
}

function describeRoundTrip(open: Open, settle: Settle): void {
  test("a put is returned by get as checkSolanaSend keeps it, unshared; unknown is undefined", async () => {
    const store = await open();
    const tx = solanaSendFixture(1);
    await store.putSolanaSend(tx);
    assert.deepEqual(await store.getSolanaSend(tx.cluster, tx.signature), checkSolanaSend(tx));
    assert.deepEqual(await store.getSolanaSend(tx.cluster, tx.signature), tx);
    assert.equal(await store.getSolanaSend(tx.cluster, solanaSignature(2)), undefined);
    assert.equal(await store.getSolanaSend("mainnet", tx.signature), undefined, "clusters are separate");
    const lower = solanaSendFixture(2, { signature: "abc".repeat(29) });
    await store.putSolanaSend(lower);
    assert.deepEqual(await store.getSolanaSend(lower.cluster, lower.signature), lower);
    assert.equal(await store.getSolanaSend(lower.cluster, "ABC".repeat(29)), undefined, "base58 is case-sensitive");

    // Every field, and an err that is an object: neither the put's nor a get's object is the store's.
    const err = { InstructionError: [0, { Custom: 1 }] };
    const full: SolanaSendRecord = {
      cluster: "solana-test-1",
      signature: solanaSignature(3),
      encoded: "2".repeat(SOLANA_SEND_MAX_ENCODED_CHARS),
      encoding: "base58",
      blockhash: BLOCKHASH,
      status: "confirmed",
      slot: Number.MAX_SAFE_INTEGER,
      err,
      firstSeenAt: 1_700_000_000_123.5,
      updatedAt: 1_700_000_000_456,
      broadcasts: 4,
      lastBroadcastAt: 1_700_000_000_400,
    };
    const expected = checkSolanaSend(full);
    await store.putSolanaSend(full);
    (err.InstructionError[1] as { Custom: number }).Custom = 99;
    const got = (await store.getSolanaSend(full.cluster, full.signature))!;
    assert.deepEqual(got, expected);
    (got.err as { InstructionError: unknown[] }).InstructionError.length = 0;
    got.broadcasts = 99;
    await settle(store);
    assert.deepEqual(await store.getSolanaSend(full.cluster, full.signature), expected, "the store's own object");

    // Only the record's fields are kept; an err too large is kept as its first characters.
    await store.putSolanaSend({ ...solanaSendFixture(4), extra: "x" } as SolanaSendRecord);
    assert.deepEqual(await store.getSolanaSend("devnet", solanaSignature(4)), solanaSendFixture(4));
    const chatty = solanaSendFixture(5, {
      status: "finalized",
      slot: 9,
      err: "e".repeat(SOLANA_SEND_MAX_ERR_CHARS * 2),
    });
    await store.putSolanaSend(chatty);
    const kept = await store.getSolanaSend("devnet", chatty.signature);
    assert.deepEqual(kept, checkSolanaSend(chatty));
    assert.equal(String(kept?.err).length, SOLANA_SEND_MAX_ERR_CHARS);
  });
}

function describeStatusRules(open: Open, settle: Settle): void {
  test("a non-final record is updated but keeps its first firstSeenAt; a final one is frozen", async () => {
    const store = await open();
    const tx = solanaSendFixture(1, { firstSeenAt: 1_000, updatedAt: 1_000 });
    await store.putSolanaSend(tx);
    const round = { ...tx, firstSeenAt: 5_000, updatedAt: 2_000, broadcasts: 1, lastBroadcastAt: 2_000 };
    await store.putSolanaSend(round);
    assert.deepEqual(await store.getSolanaSend(tx.cluster, tx.signature), { ...round, firstSeenAt: 1_000 });
    const processed = { ...round, status: "processed" as const, slot: 10, updatedAt: 3_000 };
    await store.putSolanaSend(processed);
    assert.deepEqual(await store.getSolanaSend(tx.cluster, tx.signature), { ...processed, firstSeenAt: 1_000 });
    const confirmed = { ...tx, status: "confirmed" as const, slot: 10, updatedAt: 4_000 };
    await store.putSolanaSend(confirmed);
    assert.deepEqual(await store.getSolanaSend(tx.cluster, tx.signature), confirmed, "lastBroadcastAt was cleared");

    const finalized = { ...confirmed, status: "finalized" as const, updatedAt: 5_000, err: { Custom: 1 } };
    await store.putSolanaSend(finalized);
    for (const later of [
      { ...confirmed, updatedAt: 6_000, broadcasts: 3 },
      { ...tx, updatedAt: 7_000 },
      { ...finalized, status: "expired" as const, updatedAt: 8_000 },
      { ...finalized, slot: 11, err: undefined, updatedAt: 9_000 },
    ]) {
      await store.putSolanaSend(later);
    }
    await settle(store);
    assert.deepEqual(await store.getSolanaSend(tx.cluster, tx.signature), finalized, "a final record changed");
    assert.deepEqual(await store.listPendingSolanaSends(tx.cluster, 10), []);

    // A record first kept with a final status stays so.
    for (const [n, status] of [
      [2, "expired"],
      [3, "rejected"],
      [4, "finalized"],
    ] as const) {
      const final = solanaSendFixture(n, { status, ...(status === "rejected" ? { err: "BlockhashNotFound" } : {}) });
      await store.putSolanaSend(final);
      await store.putSolanaSend({ ...final, status: "pending" });
      await store.putSolanaSend({ ...final, status: "confirmed" });
      assert.deepEqual(await store.getSolanaSend(final.cluster, final.signature), final);
    }
    assert.deepEqual(await store.listPendingSolanaSends("devnet", 10), []);
  });
}

function describeOrderAndBound(open: Open, settle: Settle): void {
  test("non-final records listed oldest first (ties by signature), at most limit, one cluster only", async () => {
    const store = await open();
    const at = (n: number, firstSeenAt: number, over: Partial<SolanaSendRecord> = {}) =>
      solanaSendFixture(n, { firstSeenAt, ...over });
    const records = [
      at(1, 500),
      at(2, 100, { status: "processed", slot: 5 }),
      at(3, 300, { status: "confirmed", slot: 6 }),
      at(5, 200),
      at(4, 200),
      at(6, 50, { cluster: "mainnet" }),
      at(7, 400),
      at(8, 40, { status: "finalized", slot: 7 }),
      at(9, 30, { status: "rejected" }),
    ];
    for (const r of records) await store.putSolanaSend(r);
    await store.putSolanaSend({ ...at(7, 400), status: "expired" });
    await settle(store);
    const numbers = (list: SolanaSendRecord[]) => list.map((r) => solanaNumber(r.signature));
    assert.deepEqual(await store.listPendingSolanaSends("devnet", 100), [
      at(2, 100, { status: "processed", slot: 5 }),
      at(4, 200),
      at(5, 200),
      at(3, 300, { status: "confirmed", slot: 6 }),
      at(1, 500),
    ]);
    assert.deepEqual(numbers(await store.listPendingSolanaSends("devnet", 2)), [2, 4]);
    assert.deepEqual(await store.listPendingSolanaSends("devnet", 0), []);
    assert.deepEqual(await store.listPendingSolanaSends("mainnet", 100), [at(6, 50, { cluster: "mainnet" })]);
    assert.deepEqual(await store.listPendingSolanaSends("testnet", 100), []);
    // The same signature in two clusters is two records.
    await store.putSolanaSend(at(1, 10, { cluster: "mainnet" }));
    assert.deepEqual(numbers(await store.listPendingSolanaSends("mainnet", 100)), [1, 6]);
    assert.deepEqual(numbers(await store.listPendingSolanaSends("devnet", 1)), [2]);
    // An update keeps a record's place; a final status takes it out.
    await store.putSolanaSend({ ...at(2, 100), firstSeenAt: 900, status: "confirmed", slot: 5 });
    assert.deepEqual(numbers(await store.listPendingSolanaSends("devnet", 2)), [2, 4]);
    await store.putSolanaSend({ ...at(2, 100), status: "finalized", slot: 5 });
    assert.deepEqual(numbers(await store.listPendingSolanaSends("devnet", 2)), [4, 5]);
  });

  test("beyond maxOutboxEntries the records final longest ago go, pending only when all are; apart from the EVM outbox", async () => {
    const store = await open({ maxOutboxEntries: 4 });
    const has = async (ns: number[], cluster = "devnet") => {
      const found: number[] = [];
      for (const n of ns) if (await store.getSolanaSend(cluster, solanaSignature(n))) found.push(n);
      return found;
    };
    // The EVM outbox is full too: neither evicts the other's records.
    for (const n of [1, 2, 3, 4]) await store.putOutbox(outboxFixture(n));
    const finalize = (n: number) => store.putSolanaSend(solanaSendFixture(n, { status: "finalized", slot: n }));
    for (const n of [1, 2, 3, 4]) await store.putSolanaSend(solanaSendFixture(n));
    await finalize(3);
    await store.putSolanaSend(solanaSendFixture(1, { status: "expired" }));
    await store.putSolanaSend(solanaSendFixture(5));
    assert.deepEqual(await has([1, 2, 3, 4, 5]), [1, 2, 4, 5], "the first to become final goes first");
    await store.putSolanaSend(solanaSendFixture(6));
    assert.deepEqual(await has([1, 2, 4, 5, 6]), [2, 4, 5, 6]);
    // Every record non-final (2 is only processed): the oldest firstSeenAt goes.
    await store.putSolanaSend(solanaSendFixture(2, { status: "processed", slot: 1 }));
    await store.putSolanaSend(solanaSendFixture(7));
    assert.deepEqual(await has([2, 4, 5, 6, 7]), [4, 5, 6, 7]);
    // A new final record in a store full of pending ones is the one that goes.
    await finalize(8);
    assert.deepEqual(await has([4, 5, 6, 7, 8]), [4, 5, 6, 7]);
    // The bound counts every cluster.
    await store.putSolanaSend(solanaSendFixture(9, { cluster: "mainnet" }));
    assert.deepEqual(await has([4, 5, 6, 7]), [5, 6, 7]);
    assert.equal((await store.listPendingSolanaSends("mainnet", 10)).length, 1);
    for (let n = 10; n < 40; n++) await store.putSolanaSend(solanaSendFixture(n));
    await settle(store);
    const listed = await store.listPendingSolanaSends("devnet", 10);
    assert.deepEqual(
      listed.map((r) => solanaNumber(r.signature)),
      [36, 37, 38, 39],
    );
    assert.deepEqual(await store.listPendingSolanaSends("mainnet", 10), []);
    assert.equal((await store.listPendingOutbox(31337, 10)).length, 4, "Solana sends evicted EVM transactions");
  });
}

function describeRefusals(open: Open, settle: Settle): void {
  test("malformed records are a TypeError, an oversize encoded one a RangeError; nothing is left behind", async () => {
    const store = await open();
    const target = solanaSendFixture(1);
    await assert.rejects(
      store.putSolanaSend(
        solanaSendFixture(1, { encoding: "base58", encoded: "2".repeat(SOLANA_SEND_MAX_ENCODED_CHARS + 1) }),
      ),
      RangeError,
    );
    const malformed: Partial<SolanaSendRecord>[] = [
      { cluster: "" },
      { cluster: "Devnet" },
      { cluster: "dev:net" },
      { cluster: "c".repeat(33) },
      { cluster: 1 as unknown as string },
      { signature: "" },
      { signature: `0${solanaSignature(1).slice(1)}` },
      { signature: "2".repeat(89) },
      { signature: undefined as unknown as string },
      { encoding: "base32" as "base58" },
      { encoded: "" },
      { encoded: "AQ==AB" },
      { encoding: "base58", encoded: "AQ0" },
      { encoded: 7 as unknown as string },
      { blockhash: "2".repeat(31) },
      { blockhash: "2".repeat(45) },
      { status: "landed" as "pending" },
      { firstSeenAt: Number.NaN },
      { updatedAt: -1 },
      { broadcasts: 1.5 },
      { broadcasts: -1 },
      { slot: -1 },
      { slot: 2 ** 53 },
      { lastBroadcastAt: Number.POSITIVE_INFINITY },
    ];
    for (const over of malformed) {
      await assert.rejects(store.putSolanaSend({ ...target, ...over }), TypeError, JSON.stringify(over));
    }
    await assert.rejects(store.putSolanaSend(null as unknown as SolanaSendRecord), TypeError);
    await settle(store);
    assert.equal(await store.getSolanaSend(target.cluster, target.signature), undefined);
    assert.deepEqual(await store.listPendingSolanaSends(target.cluster, 10), []);

    // A bad update of a known record keeps what was there.
    await store.putSolanaSend(target);
    await assert.rejects(
      store.putSolanaSend({ ...target, encoded: "A".repeat(SOLANA_SEND_MAX_ENCODED_CHARS + 4) }),
      RangeError,
    );
    await assert.rejects(store.putSolanaSend({ ...target, status: "gone" as "pending" }), TypeError);
    assert.deepEqual(await store.getSolanaSend(target.cluster, target.signature), target);

    await assert.rejects(store.getSolanaSend(target.cluster, "0OIl"), TypeError);
    await assert.rejects(store.getSolanaSend("Devnet", target.signature), TypeError);
    await assert.rejects(store.listPendingSolanaSends("devnet", -1), RangeError);
    await assert.rejects(store.listPendingSolanaSends("devnet", 1.5), RangeError);
    await assert.rejects(store.listPendingSolanaSends("dev net", 1), TypeError);
  });

  test("rejects with StoreError 'closed' once closed", async () => {
    const store = await open();
    await store.putSolanaSend(solanaSendFixture(1));
    await store.close();
    await assert.rejects(store.putSolanaSend(solanaSendFixture(2)), isClosed);
    await assert.rejects(store.getSolanaSend("devnet", solanaSignature(1)), isClosed);
    await assert.rejects(store.listPendingSolanaSends("devnet", 10), isClosed);
  });
}

/** The number `solanaSignature` made a signature from. */
function solanaNumber(signature: string): number {
  let n = 0;
  for (const c of signature.slice(0, 8)) n = n * 58 + BASE58_DIGITS.indexOf(c);
  return n;
}

function describePeers(open: Open, peer: (store: Store) => Promise<Store>, opened: Store[]): void {
  test("what one replica records another sees, and its final status holds for both", async () => {
    const store = await open();
    const other = await peer(store);
    opened.push(other);
    const tx = solanaSendFixture(1);
    await store.putSolanaSend(tx);
    assert.deepEqual(await other.getSolanaSend(tx.cluster, tx.signature), tx);
    assert.deepEqual(await other.listPendingSolanaSends(tx.cluster, 10), [tx]);
    const finalized = { ...tx, status: "finalized" as const, slot: 5, updatedAt: tx.updatedAt + 1 };
    await other.putSolanaSend(finalized);
    // The first replica, not yet knowing, records another broadcast round: the final status stays.
    await store.putSolanaSend({ ...tx, broadcasts: 3, updatedAt: tx.updatedAt + 2 });
    assert.deepEqual(await store.getSolanaSend(tx.cluster, tx.signature), finalized);
    assert.deepEqual(await store.listPendingSolanaSends(tx.cluster, 10), []);
  });

  test("replicas putting at once: the bound and the frozen final hold, the indexes stay in step", async () => {
    const store = await open({ maxOutboxEntries: 5 });
    const other = await peer(store);
    opened.push(other);
    // Forty records from two replicas, interleaved: whatever the order, the five seen last by firstSeenAt stay.
    const puts = Array.from({ length: 40 }, (_, i) =>
      (i % 2 === 0 ? store : other).putSolanaSend(solanaSendFixture(i + 1, { firstSeenAt: ((i * 7) % 40) + 1 })),
    );
    await Promise.all(puts);
    const kept = await store.listPendingSolanaSends("devnet", 100);
    assert.deepEqual(
      kept.map((r) => r.firstSeenAt),
      [36, 37, 38, 39, 40],
    );
    assert.deepEqual(await other.listPendingSolanaSends("devnet", 100), kept);
    let found = 0;
    for (let n = 1; n <= 40; n++) if (await other.getSolanaSend("devnet", solanaSignature(n))) found++;
    assert.equal(found, 5, "a record outlived its index entry");

    // A pending round and the final status racing: the final one wins whichever lands first.
    const race = kept[0]!;
    const final = { ...race, status: "finalized" as const, slot: 3, updatedAt: race.updatedAt + 1 };
    await Promise.all([
      store.putSolanaSend({ ...race, broadcasts: 1 }),
      other.putSolanaSend(final),
      store.putSolanaSend({ ...race, broadcasts: 2 }),
    ]);
    assert.deepEqual(await store.getSolanaSend(race.cluster, race.signature), final);
    assert.equal((await other.listPendingSolanaSends("devnet", 100)).length, 4);
  });
}

function describeRestart(open: Open, reopen: (closed: Store) => Promise<Store>, opened: Store[]): void {
  test("records survive a restart, with their status rule, order and bound", async () => {
    const store = await open({ maxOutboxEntries: 4 });
    const a = solanaSendFixture(1, { firstSeenAt: 300 });
    const b = solanaSendFixture(2, { firstSeenAt: 100, cluster: "mainnet" });
    const c = solanaSendFixture(3, { firstSeenAt: 200, status: "processed", slot: 4 });
    const d = solanaSendFixture(4, { firstSeenAt: 50.5, err: { InstructionError: [1, "InvalidArgument"] } });
    for (const r of [a, b, c, d]) await store.putSolanaSend(r);
    await store.putSolanaSend({ ...d, firstSeenAt: 60 });
    const cFinal = { ...c, status: "finalized" as const, err: { Custom: 7 } };
    await store.putSolanaSend(cFinal);
    await store.close();

    const again = await reopen(store);
    opened.push(again);
    assert.deepEqual(await again.getSolanaSend(a.cluster, a.signature), a);
    assert.deepEqual(await again.getSolanaSend(c.cluster, c.signature), cFinal);
    assert.deepEqual(await again.listPendingSolanaSends("devnet", 10), [d, a]);
    assert.deepEqual(await again.listPendingSolanaSends("mainnet", 10), [b]);
    await again.putSolanaSend({ ...c, broadcasts: 9 });
    assert.deepEqual(await again.getSolanaSend(c.cluster, c.signature), cFinal, "a final record went back");
    // A fourth record: the final one goes, every pending one stays.
    const e = solanaSendFixture(5, { firstSeenAt: 400 });
    await again.putSolanaSend(e);
    assert.equal(await again.getSolanaSend(c.cluster, c.signature), undefined);
    await again.close();

    const third = await reopen(again);
    opened.push(third);
    assert.deepEqual(await third.listPendingSolanaSends("devnet", 10), [d, a, e]);
    assert.deepEqual(await third.listPendingSolanaSends("mainnet", 10), [b]);
  });
}
