/**
 * The behaviour every Store implementation promises, as one node:test suite. Each implementation's test file calls
 * `describeStoreContract` with a way to open it; nothing here knows which implementation runs.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import {
  ANSWER_MAX_BYTES,
  ANSWER_MAX_KEY_CHARS,
  answerCost,
  COUNTER_MAX_NAME_CHARS,
  type LastKnownGood,
  LKG_MAX_KEY_CHARS,
  LKG_MAX_VALUE_BYTES,
  OUTBOX_MAX_ERROR_CHARS,
  OUTBOX_MAX_RAW_HEX_CHARS,
  type OutboxEntry,
  type Store,
  StoreError,
  type StoreLimits,
} from "../core/store.ts";

export interface StoreContractSubject {
  /** Opens a new, empty store. The suite closes every store it opens. */
  open(limits?: Partial<StoreLimits>): Promise<Store>;
  /**
   * For stores that write in the background: makes every accepted put take effect in the backing storage (and the
   * bounds with it), as the background writer would. Stores that write at once leave it out.
   */
  settle?(store: Store): Promise<void>;
  /** For durable stores: opens the storage `closed` used, after the suite closed it (a restart). */
  reopen?(closed: Store): Promise<Store>;
  /** For shared stores: opens the storage `store` uses from another process (another replica), while it is open. */
  peer?(store: Store): Promise<Store>;
}

const HASH_A = `0x${"a1".repeat(32)}` as const;
const HASH_B = `0x${"b2".repeat(32)}` as const;

/** An entry with sensible fields; `over` replaces any of them. */
export function lastKnownGoodFixture(over: Partial<LastKnownGood> = {}): LastKnownGood {
  return {
    chainId: 31337,
    key: "eth_getBalance:0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    value: "0xde0b6b3a7640000",
    blockNumber: 10,
    blockHash: HASH_A,
    blockTimestamp: 1_699_999_988,
    evidence: { method: "proof", domains: ["aws/us-east-1", "hetzner/eu-central"] },
    recordedAt: 1_700_000_000_000,
    ...over,
  };
}

/** A pending transaction with sensible fields; `over` replaces any of them. `n` makes hash and nonce distinct. */
export function outboxFixture(n = 1, over: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    chainId: 31337,
    hash: `0x${n.toString(16).padStart(64, "0")}`,
    raw: `0x02f8${n.toString(16).padStart(8, "0")}${"ab".repeat(100)}`,
    from: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    nonce: n,
    status: "pending",
    firstSeenAt: 1_700_000_000_000 + n,
    updatedAt: 1_700_000_000_000 + n,
    broadcasts: 0,
    ...over,
  };
}

export function describeStoreContract(name: string, subject: StoreContractSubject): void {
  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = [];
    const open = async (limits?: Partial<StoreLimits>) => {
      const store = await subject.open(limits);
      opened.push(store);
      return store;
    };
    const settle = async (store: Store) => {
      await subject.settle?.(store);
    };
    afterEach(async () => {
      // A store whose close rejects on purpose was already checked by its test.
      await Promise.allSettled(opened.splice(0).map((s) => s.close()));
    });

    test("cordons: shared until they expire, the later one wins, chains are separate", async () => {
      const store = await open();
      const cordon = { chainId: 1, upstreamId: "vendor-a", until: 2_000, reason: "failed verification 3 times" };
      await store.putCordon(cordon);
      assert.deepEqual(await store.getCordons(1, 1_000), [cordon]);
      assert.deepEqual(await store.getCordons(2, 1_000), []);
      assert.deepEqual(await store.getCordons(1, 2_000), [], "expired at `until`");
      await store.putCordon({ ...cordon, until: 5_000, reason: "later" });
      await store.putCordon({ ...cordon, until: 3_000, reason: "earlier" });
      assert.deepEqual(await store.getCordons(1, 1_000), [{ ...cordon, until: 5_000, reason: "later" }]);
      const long = await store.getCordons(1, 0);
      assert.equal(long.length, 1);
      await assert.rejects(store.putCordon({ ...cordon, upstreamId: "" }), TypeError);
      // A Solana cluster's cordons, by its chain key: apart from every EVM chain's.
      const solana = { ...cordon, chainId: "solana/localnet" as const, reason: "failed agreement 3 times" };
      await store.putCordon(solana);
      assert.deepEqual(await store.getCordons("solana/localnet", 1_000), [solana]);
      assert.deepEqual(await store.getCordons("solana/devnet", 1_000), []);
      assert.equal((await store.getCordons(1, 1_000)).length, 1);
      await assert.rejects(store.putCordon({ ...cordon, chainId: "solana/../x" as never }), TypeError);
      await assert.rejects(store.getCordons("solana/*" as never, 0), TypeError);
      await store.close();
      await assert.rejects(store.getCordons(1, 0), (e: unknown) => e instanceof StoreError && e.code === "closed");
    });

    test("a put is returned by get, deep-equal; an unknown key is undefined", async () => {
      const store = await open();
      const entry = lastKnownGoodFixture();
      await store.putLastKnownGood(entry);
      assert.deepEqual(await store.getLastKnownGood(entry.chainId, entry.key), entry);
      await settle(store);
      assert.deepEqual(await store.getLastKnownGood(entry.chainId, entry.key), entry);
      assert.equal(await store.getLastKnownGood(entry.chainId, "eth_getBalance:0xunknown"), undefined);
      assert.equal(await store.getLastKnownGood(1, entry.key), undefined);
    });

    test("a newer block replaces, an older block never does, the same block takes the later put", async () => {
      const store = await open();
      const at = (blockNumber: number, value: string, blockHash: `0x${string}` = HASH_A) =>
        lastKnownGoodFixture({ blockNumber, value, blockHash, recordedAt: 1_700_000_000_000 + blockNumber });
      const get = () => store.getLastKnownGood(31337, at(0, "").key);

      await store.putLastKnownGood(at(10, "0x10"));
      await store.putLastKnownGood(at(12, "0x12"));
      assert.deepEqual(await get(), at(12, "0x12"));
      await store.putLastKnownGood(at(11, "0x11"));
      assert.deepEqual(await get(), at(12, "0x12"), "older block overwrote a buffered newer one");

      await settle(store);
      await store.putLastKnownGood(at(9, "0x9"));
      assert.deepEqual(await get(), at(12, "0x12"), "older block shadowed a stored newer one");
      await settle(store);
      assert.deepEqual(await get(), at(12, "0x12"), "older block overwrote a stored newer one");

      // Same height, another hash: the chain reorganised and the later verified read is the one to keep.
      await store.putLastKnownGood(at(12, "0x12b", HASH_B));
      assert.deepEqual(await get(), at(12, "0x12b", HASH_B));
      await settle(store);
      assert.deepEqual(await get(), at(12, "0x12b", HASH_B));

      await store.putLastKnownGood(at(13, "0x13"));
      await settle(store);
      assert.deepEqual(await get(), at(13, "0x13"));
    });

    test("chains and keys are separate", async () => {
      const store = await open();
      const entries = [
        lastKnownGoodFixture({ chainId: 1, key: "eth_getBalance:0xaa", value: "0x1" }),
        lastKnownGoodFixture({ chainId: 10, key: "eth_getBalance:0xaa", value: "0x2" }),
        lastKnownGoodFixture({ chainId: 1, key: "eth_getTransactionCount:0xaa", value: "0x3" }),
        lastKnownGoodFixture({ chainId: 1, key: "eth_getBalance:0xaab", value: "0x4" }),
        // Keys that would collide if chain and key were naively joined with ":".
        lastKnownGoodFixture({ chainId: 1, key: "2:k", value: "0x5" }),
        lastKnownGoodFixture({ chainId: 12, key: "k", value: "0x6" }),
        lastKnownGoodFixture({ chainId: 0, key: "k", value: "0x7" }),
      ];
      for (const e of entries) await store.putLastKnownGood(e);
      for (const e of entries) assert.deepEqual(await store.getLastKnownGood(e.chainId, e.key), e);
      await settle(store);
      for (const e of entries) assert.deepEqual(await store.getLastKnownGood(e.chainId, e.key), e);
      assert.equal(await store.getLastKnownGood(12, "2:k"), undefined);
      assert.equal(await store.getLastKnownGood(1, "eth_getBalance:0xAA"), undefined, "keys are case-sensitive");
    });

    test("beyond maxEntries the least recently recorded entries are evicted; puts never fail for a full store", async () => {
      const store = await open({ maxEntries: 3 });
      const put = (key: string, blockNumber: number, recordedAt: number) =>
        store.putLastKnownGood(lastKnownGoodFixture({ key, blockNumber, recordedAt, value: `${key}@${blockNumber}` }));
      const held = async (keys: string[]) => {
        const found: string[] = [];
        for (const k of keys) if (await store.getLastKnownGood(31337, k)) found.push(k);
        return found;
      };

      for (const [i, k] of ["a", "b", "c", "d", "e"].entries()) await put(k, 10, 1_000 + i);
      await settle(store);
      assert.deepEqual(await held(["a", "b", "c", "d", "e"]), ["c", "d", "e"]);

      // Recording "c" again (a newer block) makes it the newest; "d" is now the oldest.
      await put("c", 11, 2_000);
      await put("f", 10, 2_001);
      await settle(store);
      assert.deepEqual(await held(["c", "d", "e", "f"]), ["c", "e", "f"]);

      // A put that was not kept (older block) records nothing, so "e" stays the oldest.
      await put("e", 1, 3_000);
      await put("g", 10, 3_001);
      await settle(store);
      assert.deepEqual(await held(["c", "e", "f", "g"]), ["c", "f", "g"]);
      assert.equal((await store.getLastKnownGood(31337, "c"))?.value, "c@11");

      // Many more than the bound at once, without settling in between: only the newest three remain.
      for (let i = 0; i < 50; i++) await put(`k${i}`, 10, 4_000 + i);
      await settle(store);
      assert.deepEqual(await held(["c", "f", "g", "k0", "k46", "k47", "k48", "k49"]), ["k47", "k48", "k49"]);

      // Re-recording with nothing settled in between: a store that buffers keeps the order in its buffer too.
      for (const [i, k] of ["x1", "x2", "x3"].entries()) await put(k, 10, 5_000 + i);
      await put("x1", 11, 5_010);
      await put("x4", 10, 5_011);
      await settle(store);
      assert.deepEqual(await held(["k49", "x1", "x2", "x3", "x4"]), ["x1", "x3", "x4"]);
    });

    test("an invalid bound is refused when the store is opened", async () => {
      await assert.rejects(open({ maxEntries: 0 }), RangeError);
      await assert.rejects(open({ maxEntries: 1.5 }), RangeError);
      await assert.rejects(open({ maxAnswerBytes: 0 }), RangeError);
    });

    test("values and evidence come back deep-equal and unshared with the caller", async () => {
      const store = await open();
      const value = {
        balance: "0x1bc16d674ec80000",
        nonce: "0x7",
        nested: { list: [1, 2.5, -3, true, false, null, "ü€😀"], empty: {}, none: [] },
        big: "0x" + "f".repeat(128),
      };
      const entry = lastKnownGoodFixture({
        key: "account:0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        value,
        evidence: { method: "quorum", domains: ["aws/us-east-1", "gcp/europe-west1", "self/home"] },
      });
      await store.putLastKnownGood(entry);
      const expected = structuredClone(entry);
      value.nested.list.push(99);
      entry.evidence.domains.push("mutated");

      const first = await store.getLastKnownGood(entry.chainId, entry.key);
      assert.ok(first);
      assert.deepEqual(first, expected);
      (first.value as typeof value).nested.list.length = 0;
      first.evidence.domains.splice(0);
      await settle(store);
      assert.deepEqual(await store.getLastKnownGood(entry.chainId, entry.key), expected);

      for (const v of [null, 0, "", "0x0", [], { a: [] }]) {
        const e = lastKnownGoodFixture({ key: `scalar:${JSON.stringify(v)}`, value: v });
        await store.putLastKnownGood(e);
        await settle(store);
        assert.deepEqual(await store.getLastKnownGood(e.chainId, e.key), e);
      }
      const single = lastKnownGoodFixture({ key: "single", evidence: { method: "single", domains: [] } });
      await store.putLastKnownGood(single);
      await settle(store);
      assert.deepEqual(await store.getLastKnownGood(single.chainId, single.key), single);
    });

    test("close is idempotent; afterwards get and put reject with StoreError 'closed'", async () => {
      const store = await open();
      await store.putLastKnownGood(lastKnownGoodFixture());
      await store.close();
      await store.close();
      const closed = (error: unknown) =>
        error instanceof StoreError && error.code === "closed" && /closed/.test(error.message);
      await assert.rejects(store.getLastKnownGood(31337, lastKnownGoodFixture().key), closed);
      await assert.rejects(store.putLastKnownGood(lastKnownGoodFixture()), closed);
      await store.close();
    });

    test("an oversize key or value is a RangeError and leaves nothing behind; malformed entries are a TypeError", async () => {
      const store = await open();
      const longest = "k".repeat(LKG_MAX_KEY_CHARS);
      await store.putLastKnownGood(lastKnownGoodFixture({ key: longest }));
      assert.ok(await store.getLastKnownGood(31337, longest));
      const tooLong = "k".repeat(LKG_MAX_KEY_CHARS + 1);
      await assert.rejects(store.putLastKnownGood(lastKnownGoodFixture({ key: tooLong })), {
        name: "RangeError",
        message: /key must be 1 to 512 characters, got 513/,
      });
      await assert.rejects(store.getLastKnownGood(31337, tooLong), RangeError);
      await assert.rejects(store.putLastKnownGood(lastKnownGoodFixture({ key: "" })), RangeError);

      // The bound is on UTF-8 bytes of the JSON text: two quotes plus the characters.
      const fits = lastKnownGoodFixture({ key: "fits", value: "a".repeat(LKG_MAX_VALUE_BYTES - 2) });
      await store.putLastKnownGood(fits);
      const fitsWide = lastKnownGoodFixture({ key: "fits-wide", value: "é".repeat((LKG_MAX_VALUE_BYTES - 2) / 2) });
      await store.putLastKnownGood(fitsWide);
      const fitsAstral = lastKnownGoodFixture({ key: "fits-astral", value: "😀".repeat(LKG_MAX_VALUE_BYTES / 4 - 1) });
      await store.putLastKnownGood(fitsAstral);
      for (const [key, value] of [
        ["too-big", "a".repeat(LKG_MAX_VALUE_BYTES - 1)],
        ["too-big-wide", "é".repeat((LKG_MAX_VALUE_BYTES - 2) / 2 + 1)],
        ["too-big-astral", "😀".repeat(LKG_MAX_VALUE_BYTES / 4)],
        ["too-big-object", { list: Array.from({ length: 20_000 }, () => "0x00") }],
      ] as const) {
        await assert.rejects(store.putLastKnownGood(lastKnownGoodFixture({ key, value })), {
          name: "RangeError",
          message: /value is larger than 65536 bytes as JSON/,
        });
        assert.equal(await store.getLastKnownGood(31337, key), undefined);
      }
      // An oversize update of a known key keeps the value that was there.
      await assert.rejects(
        store.putLastKnownGood({ ...fits, blockNumber: 99, value: "a".repeat(LKG_MAX_VALUE_BYTES) }),
        RangeError,
      );
      await settle(store);
      assert.deepEqual(await store.getLastKnownGood(31337, "fits"), fits);
      assert.deepEqual(await store.getLastKnownGood(31337, "fits-wide"), fitsWide);
      assert.deepEqual(await store.getLastKnownGood(31337, "fits-astral"), fitsAstral);

      const malformed: Partial<LastKnownGood>[] = [
        { value: undefined },
        { value: 1n },
        { blockHash: "0x1234" as `0x${string}` },
        { blockNumber: -1 },
        { blockNumber: 1.5 },
        { chainId: Number.NaN },
        { recordedAt: Number.POSITIVE_INFINITY },
        { blockTimestamp: undefined as unknown as number },
        { blockTimestamp: -1 },
        { blockTimestamp: 1.5 },
        { evidence: { method: "trust-me" as "proof", domains: [] } },
      ];
      for (const over of malformed) {
        await assert.rejects(store.putLastKnownGood(lastKnownGoodFixture({ key: "malformed", ...over })), TypeError);
      }
      await assert.rejects(
        store.putLastKnownGood(lastKnownGoodFixture({ evidence: { method: "proof", domains: Array(65).fill("x") } })),
        RangeError,
      );
      await settle(store);
      assert.equal(await store.getLastKnownGood(31337, "malformed"), undefined);
    });

    test("answers: returned as put; chains and keys are separate; unknown is undefined", async () => {
      const store = await open();
      const block = JSON.stringify({ result: { number: "0x1", hash: HASH_A }, evidence: { verified: "proof" } });
      await store.putAnswer(1, 'eth_getBlockByNumber|["0x1",false]', block);
      assert.equal(await store.getAnswer(1, 'eth_getBlockByNumber|["0x1",false]'), block);
      assert.equal(await store.getAnswer(10, 'eth_getBlockByNumber|["0x1",false]'), undefined);
      assert.equal(await store.getAnswer(1, 'eth_getBlockByNumber|["0x2",false]'), undefined);
      await settle(store);
      assert.equal(await store.getAnswer(1, 'eth_getBlockByNumber|["0x1",false]'), block);
      // Keys that would collide if chain and key were naively joined with ":".
      await store.putAnswer(1, "2:k", "1");
      await store.putAnswer(12, "k", "2");
      await settle(store);
      assert.equal(await store.getAnswer(1, "2:k"), "1");
      assert.equal(await store.getAnswer(12, "k"), "2");
      const wide = JSON.stringify({ result: "ü€😀" });
      await store.putAnswer(1, "wide", wide);
      await settle(store);
      assert.equal(await store.getAnswer(1, "wide"), wide);
    });

    test("answers: a later put replaces the kept one, buffered or stored, and counts only its own bytes", async () => {
      const store = await open({ maxAnswerBytes: 1_000 });
      const key = 'eth_call|[{"data":"0x","to":"0x00000000000000000000000000000000000000aa"},"0x1"]';
      // What an older Multihome kept: one upstream's word. A verified answer replaces it, whether the first is still
      // buffered or already stored.
      const unverified = JSON.stringify({ result: `0x${"de".repeat(32)}`, evidence: { verified: "single" } });
      const verified = JSON.stringify({ result: "0x", evidence: { verified: "quorum", domains: ["a/x", "b/y"] } });
      await store.putAnswer(1, key, unverified);
      await store.putAnswer(1, key, verified);
      assert.equal(await store.getAnswer(1, key), verified);
      await settle(store);
      assert.equal(await store.getAnswer(1, key), verified);
      await store.putAnswer(1, key, unverified);
      await settle(store);
      await store.putAnswer(1, key, verified);
      assert.equal(await store.getAnswer(1, key), verified);
      await settle(store);
      assert.equal(await store.getAnswer(1, key), verified);
      // Replacing many times over counts the key once: with room for it and one more, both stay.
      const other = JSON.stringify({ result: "0x01", evidence: { verified: "proof" } });
      assert.ok(answerCost(key, verified) + answerCost("other", other) <= 1_000);
      await store.putAnswer(1, "other", other);
      for (let i = 0; i < 20; i++) {
        await store.putAnswer(1, key, verified);
        await settle(store);
      }
      assert.equal(await store.getAnswer(1, "other"), other, "replacements were counted as new answers");
      assert.equal(await store.getAnswer(1, key), verified);
    });

    test("answers: beyond maxAnswerBytes the least recently kept go; a put never fails for a full store", async () => {
      const store = await open({ maxAnswerBytes: 20_000 });
      const answer = (i: number) =>
        JSON.stringify({ result: `0x${i.toString(16).padStart(4, "0")}${"00".repeat(450)}` });
      for (let i = 0; i < 100; i++) await store.putAnswer(1, `a${i}`, answer(i));
      await settle(store);
      const held: number[] = [];
      for (let i = 0; i < 100; i++) if ((await store.getAnswer(1, `a${i}`)) !== undefined) held.push(i);
      // Every store counts the same cost (answerCost): exactly the newest that fit in the bound are kept.
      let fit = 0;
      for (let i = 99, total = 0; i >= 0; i--) {
        total += answerCost(`a${i}`, answer(i));
        if (total > 20_000) break;
        fit++;
      }
      assert.equal(held.length, fit, `kept ${held.length}, ${fit} fit`);
      assert.deepEqual(
        held,
        Array.from({ length: held.length }, (_, k) => 100 - held.length + k),
      );
      assert.equal(await store.getAnswer(1, "a99"), answer(99));
    });

    test("answers: an oversize key or answer is a RangeError and leaves nothing behind", async () => {
      const store = await open();
      const longest = "k".repeat(ANSWER_MAX_KEY_CHARS);
      await store.putAnswer(1, longest, "1");
      await settle(store);
      assert.equal(await store.getAnswer(1, longest), "1");
      await assert.rejects(store.putAnswer(1, `${longest}k`, "1"), RangeError);
      await assert.rejects(store.getAnswer(1, `${longest}k`), RangeError);
      await assert.rejects(store.putAnswer(1, "", "1"), RangeError);
      await assert.rejects(store.putAnswer(1, "big", `"${"a".repeat(ANSWER_MAX_BYTES)}"`), RangeError);
      await assert.rejects(store.putAnswer(1, "wide", `"${"é".repeat(ANSWER_MAX_BYTES / 2)}"`), RangeError);
      await assert.rejects(store.putAnswer(-1, "k", "1"), TypeError);
      await assert.rejects(store.putAnswer(1, "k", 1 as unknown as string), TypeError);
      await settle(store);
      assert.equal(await store.getAnswer(1, "big"), undefined);
      assert.equal(await store.getAnswer(1, "wide"), undefined);
    });

    test("counters: totals per name and window; a new window starts at zero; bad input is refused", async () => {
      const store = await open();
      const t0 = 1_700_000_040_000; // a multiple of 10 s: windows of 10 s start here
      assert.equal(await store.addToCounter("disputes:1:a", 1, 10_000, t0), 1);
      assert.equal(await store.addToCounter("disputes:1:a", 2, 10_000, t0 + 9_999), 3);
      assert.equal(await store.addToCounter("disputes:1:b", 5, 10_000, t0 + 1), 5);
      assert.equal(await store.addToCounter("disputes:1:a", 0, 10_000, t0 + 2), 3, "adding 0 reads the total");
      assert.equal(await store.addToCounter("disputes:1:a", 1, 10_000, t0 + 10_000), 1, "the next window");
      assert.equal(await store.addToCounter("disputes:1:a", 1, 60_000, t0 + 10_000), 1, "another window length");
      await assert.rejects(store.addToCounter("", 1, 1_000, t0), RangeError);
      await assert.rejects(store.addToCounter("x".repeat(COUNTER_MAX_NAME_CHARS + 1), 1, 1_000, t0), RangeError);
      await assert.rejects(store.addToCounter("n", -1, 1_000, t0), RangeError);
      await assert.rejects(store.addToCounter("n", 1.5, 1_000, t0), RangeError);
      await assert.rejects(store.addToCounter("n", 1, 0, t0), RangeError);
      await assert.rejects(store.addToCounter("n", 1, 1_000, Number.NaN), TypeError);
    });

    test("answers and counters reject with StoreError 'closed' once closed", async () => {
      const store = await open();
      await store.close();
      const closed = (error: unknown) => error instanceof StoreError && error.code === "closed";
      await assert.rejects(store.putAnswer(1, "k", "1"), closed);
      await assert.rejects(store.getAnswer(1, "k"), closed);
      await assert.rejects(store.addToCounter("n", 1, 1_000, 0), closed);
    });

    describeOutboxContract(open, settle);

    const peer = subject.peer;
    if (peer) {
      test("outbox: what one replica records another sees, and its final status holds for both", async () => {
        const store = await open();
        const other = await peer(store);
        opened.push(other);
        const tx = outboxFixture(1);
        await store.putOutbox(tx);
        assert.deepEqual(await other.getOutbox(tx.chainId, tx.hash), tx);
        assert.deepEqual(await other.listPendingOutbox(tx.chainId, 10), [tx]);
        const included = {
          ...tx,
          status: "included" as const,
          blockNumber: 5,
          blockHash: HASH_A,
          updatedAt: tx.updatedAt + 1,
        };
        await other.putOutbox(included);
        // The first replica, not yet knowing, records another broadcast round: the final status stays.
        await store.putOutbox({ ...tx, broadcasts: 3, updatedAt: tx.updatedAt + 2 });
        assert.deepEqual(await store.getOutbox(tx.chainId, tx.hash), included);
        assert.deepEqual(await store.listPendingOutbox(tx.chainId, 10), []);
      });

      test("shared: what one replica keeps and counts, another sees", async () => {
        const store = await open();
        const other = await peer(store);
        opened.push(other);
        await store.putAnswer(1, "final", "42");
        assert.equal(await other.getAnswer(1, "final"), "42");
        await other.putAnswer(1, "final", "43");
        assert.equal(await store.getAnswer(1, "final"), "43", "one replica's put replaces what another kept");
        const now = 1_700_000_040_000;
        assert.equal(await store.addToCounter("disputes:1:liar", 2, 300_000, now), 2);
        assert.equal(await other.addToCounter("disputes:1:liar", 1, 300_000, now + 1), 3);
        await store.putCordon({ chainId: 1, upstreamId: "liar", until: now + 1_000, reason: "lies" });
        assert.deepEqual(await other.getCordons(1, now), [
          { chainId: 1, upstreamId: "liar", until: now + 1_000, reason: "lies" },
        ]);
      });
    }

    const reopen = subject.reopen;
    if (reopen) {
      test("answers survive a restart, and a put after it replaces the stored one", async () => {
        const store = await open();
        await store.putAnswer(1, "final", "42");
        await store.close();
        const again = await reopen(store);
        opened.push(again);
        assert.equal(await again.getAnswer(1, "final"), "42");
        await again.putAnswer(1, "final", "43");
        await again.close();
        const third = await reopen(again);
        opened.push(third);
        assert.equal(await third.getAnswer(1, "final"), "43");
      });

      test("outbox: transactions survive a restart, with their status rule, order and bound", async () => {
        const store = await open({ maxOutboxEntries: 4 });
        const a = outboxFixture(1, { firstSeenAt: 300 });
        const b = outboxFixture(2, { firstSeenAt: 100, chainId: 8453 });
        const c = outboxFixture(3, { firstSeenAt: 200 });
        const d = outboxFixture(4, { firstSeenAt: 50 });
        for (const e of [a, b, c, d]) await store.putOutbox(e);
        const cIncluded = { ...c, status: "included" as const, blockNumber: 7, blockHash: HASH_B };
        await store.putOutbox(cIncluded);
        await store.close();

        const again = await reopen(store);
        opened.push(again);
        assert.deepEqual(await again.getOutbox(a.chainId, a.hash), a);
        assert.deepEqual(await again.getOutbox(c.chainId, c.hash), cIncluded);
        assert.deepEqual(await again.listPendingOutbox(31337, 10), [d, a]);
        assert.deepEqual(await again.listPendingOutbox(8453, 10), [b]);
        await again.putOutbox({ ...c, broadcasts: 9 });
        assert.deepEqual(await again.getOutbox(c.chainId, c.hash), cIncluded, "a final entry went back to pending");
        // A fourth transaction: the final one goes, every pending one stays.
        const e = outboxFixture(5, { firstSeenAt: 400 });
        await again.putOutbox(e);
        assert.equal(await again.getOutbox(c.chainId, c.hash), undefined);
        await again.close();

        const third = await reopen(again);
        opened.push(third);
        assert.deepEqual(await third.listPendingOutbox(31337, 10), [d, a, e]);
        assert.deepEqual(await third.listPendingOutbox(8453, 10), [b]);
      });

      test("entries survive a restart (put, close, reopen, get), and the block rule still holds", async () => {
        const store = await open({ maxEntries: 2 });
        const a = lastKnownGoodFixture({ key: "a", blockNumber: 20, value: { balance: "0x5" }, recordedAt: 1 });
        const b = lastKnownGoodFixture({ chainId: 8453, key: "b", value: "0x6", recordedAt: 2 });
        await store.putLastKnownGood(a);
        await store.putLastKnownGood(b);
        await store.close();

        const again = await reopen(store);
        opened.push(again);
        assert.deepEqual(await again.getLastKnownGood(a.chainId, a.key), a);
        assert.deepEqual(await again.getLastKnownGood(b.chainId, b.key), b);
        await again.putLastKnownGood({ ...a, blockNumber: 19, value: "older" });
        assert.deepEqual(await again.getLastKnownGood(a.chainId, a.key), a);
        // The recording order survives too: "a" is the oldest and goes first.
        const c = lastKnownGoodFixture({ key: "c", recordedAt: 3 });
        await again.putLastKnownGood(c);
        await again.close();

        const third = await reopen(again);
        opened.push(third);
        assert.equal(await third.getLastKnownGood(a.chainId, a.key), undefined);
        assert.deepEqual(await third.getLastKnownGood(b.chainId, b.key), b);
        assert.deepEqual(await third.getLastKnownGood(c.chainId, c.key), c);
      });
    }
  });
}

function describeOutboxContract(
  open: (limits?: Partial<StoreLimits>) => Promise<Store>,
  settle: (store: Store) => Promise<void>,
): void {
  test("outbox: a put is returned by get, deep-equal and unshared; unknown is undefined; hashes in any case", async () => {
    const store = await open();
    const tx = outboxFixture(1);
    await store.putOutbox(tx);
    assert.deepEqual(await store.getOutbox(tx.chainId, tx.hash), tx);
    const got = (await store.getOutbox(tx.chainId, tx.hash))!;
    got.broadcasts = 99;
    assert.deepEqual(await store.getOutbox(tx.chainId, tx.hash), tx, "a returned entry is the store's own object");
    assert.equal(await store.getOutbox(tx.chainId, outboxFixture(2).hash), undefined);
    assert.equal(await store.getOutbox(1, tx.hash), undefined, "chains are separate");

    // Every field, at the edges of what it may hold; hex in upper case is kept lower-case.
    const full: OutboxEntry = {
      chainId: 0,
      hash: `0x${"AB".repeat(32)}`,
      raw: `0x${"CD".repeat(64)}`,
      from: "0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266",
      nonce: Number.MAX_SAFE_INTEGER,
      status: "pending",
      firstSeenAt: 1_700_000_000_123.5,
      updatedAt: 1_700_000_000_456,
      broadcasts: 4,
      lastBroadcastAt: 1_700_000_000_400,
      blockNumber: 0,
      blockHash: `0x${"EF".repeat(32)}`,
      replacedBy: `0x${"0A".repeat(32)}`,
      lastError: "upstream said: ü€😀",
    };
    await store.putOutbox(full);
    const lower = {
      ...full,
      hash: full.hash.toLowerCase() as `0x${string}`,
      raw: full.raw.toLowerCase() as `0x${string}`,
      from: full.from.toLowerCase() as `0x${string}`,
      blockHash: full.blockHash!.toLowerCase() as `0x${string}`,
      replacedBy: full.replacedBy!.toLowerCase() as `0x${string}`,
    };
    assert.deepEqual(await store.getOutbox(0, full.hash), lower);
    assert.deepEqual(await store.getOutbox(0, lower.hash), lower);
    await settle(store);
    assert.deepEqual(await store.getOutbox(0, full.hash), lower);
    // Fields outside the entry's shape are not kept.
    await store.putOutbox({ ...outboxFixture(3), extra: "x" } as OutboxEntry);
    assert.deepEqual(await store.getOutbox(31337, outboxFixture(3).hash), outboxFixture(3));
  });

  test("outbox: pending updates; a final status is frozen and never goes back to pending", async () => {
    const store = await open();
    const tx = outboxFixture(1, { firstSeenAt: 1_000, updatedAt: 1_000 });
    await store.putOutbox(tx);
    // A broadcast round: counters and error change; the first firstSeenAt stays.
    const round = {
      ...tx,
      firstSeenAt: 5_000,
      updatedAt: 2_000,
      broadcasts: 1,
      lastBroadcastAt: 2_000,
      lastError: "timeout",
    };
    await store.putOutbox(round);
    assert.deepEqual(await store.getOutbox(tx.chainId, tx.hash), { ...round, firstSeenAt: 1_000 });
    // A later round that succeeded carries no lastError: it is gone.
    const ok = { ...tx, updatedAt: 3_000, broadcasts: 2, lastBroadcastAt: 3_000 };
    await store.putOutbox(ok);
    assert.deepEqual(await store.getOutbox(tx.chainId, tx.hash), ok);

    const included = { ...ok, status: "included" as const, updatedAt: 4_000, blockNumber: 12, blockHash: HASH_A };
    await store.putOutbox(included);
    assert.deepEqual(await store.getOutbox(tx.chainId, tx.hash), included);
    await store.putOutbox({ ...ok, updatedAt: 5_000, broadcasts: 3 });
    await store.putOutbox({ ...included, status: "replaced", replacedBy: HASH_B, updatedAt: 6_000 });
    await store.putOutbox({ ...included, status: "expired", updatedAt: 7_000 });
    await store.putOutbox({ ...included, blockNumber: 13, updatedAt: 8_000 });
    await settle(store);
    assert.deepEqual(await store.getOutbox(tx.chainId, tx.hash), included, "a final entry changed");
    assert.deepEqual(await store.listPendingOutbox(tx.chainId, 10), []);

    // A transaction first recorded as final (learned from a block) is kept as such.
    for (const [n, status] of [
      [2, "replaced"],
      [3, "expired"],
    ] as const) {
      const final = outboxFixture(n, { status, ...(status === "replaced" ? { replacedBy: HASH_B } : {}) });
      await store.putOutbox(final);
      await store.putOutbox({ ...final, status: "pending" });
      assert.deepEqual(await store.getOutbox(final.chainId, final.hash), final);
    }
    assert.deepEqual(await store.listPendingOutbox(31337, 10), []);
  });

  test("outbox: pending listed oldest first (ties by hash), at most limit, finals left out, chains separate", async () => {
    const store = await open();
    const at = (n: number, firstSeenAt: number, chainId = 31337) => outboxFixture(n, { firstSeenAt, chainId });
    const entries = [at(1, 500), at(2, 100), at(3, 300), at(5, 200), at(4, 200), at(6, 50, 1), at(7, 400)];
    for (const e of entries) await store.putOutbox(e);
    await store.putOutbox({ ...at(7, 400), status: "expired" });
    await settle(store);
    const hashes = (list: OutboxEntry[]) => list.map((e) => Number(BigInt(e.hash)));
    assert.deepEqual(hashes(await store.listPendingOutbox(31337, 100)), [2, 4, 5, 3, 1]);
    assert.deepEqual(await store.listPendingOutbox(31337, 100), [
      at(2, 100),
      at(4, 200),
      at(5, 200),
      at(3, 300),
      at(1, 500),
    ]);
    assert.deepEqual(hashes(await store.listPendingOutbox(31337, 2)), [2, 4]);
    assert.deepEqual(await store.listPendingOutbox(31337, 0), []);
    assert.deepEqual(await store.listPendingOutbox(1, 100), [at(6, 50, 1)]);
    assert.deepEqual(await store.listPendingOutbox(10, 100), []);
    // An update of a pending entry keeps its place.
    await store.putOutbox({ ...at(2, 100), firstSeenAt: 900, broadcasts: 5 });
    assert.deepEqual(hashes(await store.listPendingOutbox(31337, 2)), [2, 4]);
    await store.putOutbox({ ...at(2, 100), status: "included", blockNumber: 1, blockHash: HASH_A });
    assert.deepEqual(hashes(await store.listPendingOutbox(31337, 2)), [4, 5]);
  });

  test("outbox: beyond maxOutboxEntries the entries that became final longest ago go, pending only when all are", async () => {
    await assert.rejects(open({ maxOutboxEntries: 0 }), RangeError);
    await assert.rejects(open({ maxOutboxEntries: 2.5 }), RangeError);
    const store = await open({ maxOutboxEntries: 4 });
    const has = async (ns: number[]) => {
      const found: number[] = [];
      for (const n of ns) if (await store.getOutbox(31337, outboxFixture(n).hash)) found.push(n);
      return found;
    };
    const finalize = (n: number) =>
      store.putOutbox(outboxFixture(n, { status: "included", blockNumber: n, blockHash: HASH_A }));
    for (const n of [1, 2, 3, 4]) await store.putOutbox(outboxFixture(n));
    // Final in the order 3, 1.
    await finalize(3);
    await finalize(1);
    await store.putOutbox(outboxFixture(5));
    assert.deepEqual(await has([1, 2, 3, 4, 5]), [1, 2, 4, 5], "the first to become final goes first");
    await store.putOutbox(outboxFixture(6));
    assert.deepEqual(await has([1, 2, 4, 5, 6]), [2, 4, 5, 6]);
    // Every entry pending: the oldest firstSeenAt goes (2 was first seen before 4, 5, 6).
    await store.putOutbox(outboxFixture(7));
    assert.deepEqual(await has([2, 4, 5, 6, 7]), [4, 5, 6, 7]);
    // A new final entry in a store full of pending ones is the one that goes.
    await finalize(8);
    assert.deepEqual(await has([4, 5, 6, 7, 8]), [4, 5, 6, 7]);
    // The bound counts every chain.
    await store.putOutbox(outboxFixture(9, { chainId: 1 }));
    assert.deepEqual(await has([4, 5, 6, 7]), [5, 6, 7]);
    assert.equal((await store.listPendingOutbox(1, 10)).length, 1);
    assert.equal((await store.listPendingOutbox(31337, 10)).length, 3);
    // Many at once never fail; the newest stay.
    for (let n = 10; n < 40; n++) await store.putOutbox(outboxFixture(n));
    await settle(store);
    assert.deepEqual(
      (await store.listPendingOutbox(31337, 10)).map((e) => e.nonce),
      [36, 37, 38, 39],
    );
    assert.deepEqual(await store.listPendingOutbox(1, 10), []);
  });

  test("outbox: malformed entries are a TypeError, an oversize raw a RangeError; nothing is left behind", async () => {
    const store = await open();
    const longest = outboxFixture(1, { raw: `0x${"ab".repeat((OUTBOX_MAX_RAW_HEX_CHARS - 2) / 2)}` });
    await store.putOutbox(longest);
    assert.equal((await store.getOutbox(31337, longest.hash))?.raw.length, OUTBOX_MAX_RAW_HEX_CHARS);
    const tooLong = outboxFixture(2, { raw: `0x${"ab".repeat((OUTBOX_MAX_RAW_HEX_CHARS - 2) / 2 + 1)}` });
    await assert.rejects(store.putOutbox(tooLong), {
      name: "RangeError",
      message: /raw is 262148 characters, at most 262146/,
    });
    // An oversize update of a known entry keeps what was there.
    await assert.rejects(store.putOutbox({ ...tooLong, hash: longest.hash }), RangeError);

    const malformed: Partial<OutboxEntry>[] = [
      { chainId: -1 },
      { chainId: 1.5 },
      { hash: "0x1234" as `0x${string}` },
      { hash: `0x${"zz".repeat(32)}` as `0x${string}` },
      { raw: "0x" as `0x${string}` },
      { raw: "0xabc" as `0x${string}` },
      { raw: "abcd" as `0x${string}` },
      { raw: 1 as unknown as `0x${string}` },
      { from: "0x1234" as `0x${string}` },
      { nonce: -1 },
      { nonce: 1.5 },
      { nonce: 2 ** 53 },
      { status: "mined" as "pending" },
      { firstSeenAt: Number.NaN },
      { updatedAt: -1 },
      { broadcasts: -1 },
      { lastBroadcastAt: Number.POSITIVE_INFINITY },
      { blockNumber: -1 },
      { blockHash: "0x12" as `0x${string}` },
      { replacedBy: "0x12" as `0x${string}` },
    ];
    const target = outboxFixture(3);
    for (const over of malformed) {
      await assert.rejects(store.putOutbox({ ...target, ...over }), TypeError, JSON.stringify(over));
    }
    await assert.rejects(store.putOutbox(null as unknown as OutboxEntry), TypeError);
    await settle(store);
    assert.equal(await store.getOutbox(31337, target.hash), undefined);
    assert.deepEqual(await store.getOutbox(31337, longest.hash), longest);

    // A reason is cut, never a reason to refuse the transaction.
    const chatty = outboxFixture(4, { lastError: "e".repeat(OUTBOX_MAX_ERROR_CHARS + 100) });
    await store.putOutbox(chatty);
    assert.equal((await store.getOutbox(31337, chatty.hash))?.lastError, "e".repeat(OUTBOX_MAX_ERROR_CHARS));

    await assert.rejects(store.getOutbox(31337, "0x1234"), TypeError);
    await assert.rejects(store.getOutbox(-1, target.hash), TypeError);
    await assert.rejects(store.listPendingOutbox(31337, -1), RangeError);
    await assert.rejects(store.listPendingOutbox(31337, 1.5), RangeError);
    await assert.rejects(store.listPendingOutbox(Number.NaN, 1), TypeError);
  });

  test("outbox: rejects with StoreError 'closed' once closed", async () => {
    const store = await open();
    await store.putOutbox(outboxFixture(1));
    await store.close();
    const closed = (error: unknown) => error instanceof StoreError && error.code === "closed";
    await assert.rejects(store.putOutbox(outboxFixture(2)), closed);
    await assert.rejects(store.getOutbox(31337, outboxFixture(1).hash), closed);
    await assert.rejects(store.listPendingOutbox(31337, 10), closed);
  });
}
