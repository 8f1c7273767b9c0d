import assert from "node:assert/strict";
import { test } from "node:test";
import { base58, base64 } from "@scure/base";
import {
  checkSolanaSend,
  checkSolanaSendAddress,
  checkSolanaSendList,
  comparePendingSolanaSends,
  isFinalSolanaSend,
  SOLANA_SEND_MAX_ENCODED_CHARS,
  SOLANA_SEND_MAX_ERR_CHARS,
  type SolanaSendRecord,
  type SolanaSendStatus,
  solanaSendId,
} from "./send-record.ts";
import { SOLANA_MAX_TRANSACTION_BYTES } from "./transaction.ts";

const SIGNATURE = base58.encode(new Uint8Array(64).fill(0xab));
const BLOCKHASH = base58.encode(new Uint8Array(32).fill(7));

const record = (over: Partial<SolanaSendRecord> = {}): SolanaSendRecord => ({
  cluster: "devnet",
  signature: SIGNATURE,
  encoded: base64.encode(new Uint8Array(200).fill(1)),
  encoding: "base64",
  blockhash: BLOCKHASH,
  status: "pending",
  firstSeenAt: 1_000,
  updatedAt: 2_000,
  broadcasts: 0,
  ...over,
});

test("the encoded bound holds the largest transaction in either encoding, and no more than one character over", () => {
  const largest = new Uint8Array(SOLANA_MAX_TRANSACTION_BYTES).fill(0xff);
  const b58 = base58.encode(largest);
  const b64 = base64.encode(largest);
  assert.ok(b58.length <= SOLANA_SEND_MAX_ENCODED_CHARS, `${b58.length} base58 characters`);
  assert.ok(b64.length <= SOLANA_SEND_MAX_ENCODED_CHARS, `${b64.length} base64 characters`);
  assert.ok(SOLANA_SEND_MAX_ENCODED_CHARS - Math.max(b58.length, b64.length) <= 1);
  assert.deepEqual(checkSolanaSend(record({ encoding: "base58", encoded: b58 })).encoded, b58);
  assert.deepEqual(checkSolanaSend(record({ encoded: b64 })).encoded, b64);
});

test("checkSolanaSend keeps the record's fields only, in a fresh object; absent optional fields stay absent", () => {
  const input = { ...record(), extra: "dropped" } as SolanaSendRecord;
  const kept = checkSolanaSend(input);
  assert.notEqual(kept, input);
  assert.deepEqual(kept, record());
  assert.deepEqual(Object.keys(kept).sort(), Object.keys(record()).sort());
  const full = record({
    status: "finalized",
    slot: 0,
    err: { InstructionError: [0, { Custom: 6001 }] },
    lastBroadcastAt: 1_500,
  });
  const keptFull = checkSolanaSend(full);
  assert.deepEqual(keptFull, full);
  assert.notEqual(keptFull.err, full.err, "err is copied, not shared");
  // err: null is an error value a client may read (JSON null), not an absent one.
  assert.equal(checkSolanaSend(record({ err: null })).err, null);
  assert.equal("err" in checkSolanaSend(record({ err: undefined })), false);
});

test("checkSolanaSend: err is JSON data within its bound, never a reason to refuse", () => {
  const long = "x".repeat(SOLANA_SEND_MAX_ERR_CHARS * 2);
  const cut = checkSolanaSend(record({ err: long })).err;
  assert.equal(cut, JSON.stringify(long).slice(0, SOLANA_SEND_MAX_ERR_CHARS));
  const bigObject = { logs: Array.from({ length: 200 }, (_, i) => `log line ${i}`) };
  const cutObject = checkSolanaSend(record({ err: bigObject })).err as string;
  assert.equal(typeof cutObject, "string");
  assert.equal(cutObject.length, SOLANA_SEND_MAX_ERR_CHARS);
  assert.ok(cutObject.startsWith('{"logs":["log line 0"'));
  // Not JSON at all: its text, cut.
  assert.equal(checkSolanaSend(record({ err: 10n })).err, "10");
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assert.equal(checkSolanaSend(record({ err: cyclic })).err, "[object Object]");
  assert.equal(checkSolanaSend(record({ err: () => 1 })).err, "() => 1");
  const exact = "y".repeat(SOLANA_SEND_MAX_ERR_CHARS - 2);
  assert.equal(checkSolanaSend(record({ err: exact })).err, exact, "at the bound it stays JSON");
});

test("checkSolanaSend: a TypeError for anything malformed, a RangeError for an oversize encoded transaction", () => {
  assert.throws(() => checkSolanaSend(null as unknown as SolanaSendRecord), TypeError);
  assert.throws(() => checkSolanaSend("tx" as unknown as SolanaSendRecord), TypeError);
  assert.throws(() => checkSolanaSend(record({ encoded: "A".repeat(SOLANA_SEND_MAX_ENCODED_CHARS + 1) })), RangeError);
  // Oversize and malformed: the length is checked first.
  assert.throws(
    () => checkSolanaSend(record({ encoding: "base58", encoded: "0".repeat(SOLANA_SEND_MAX_ENCODED_CHARS + 1) })),
    RangeError,
  );
  const malformed: Partial<SolanaSendRecord>[] = [
    { cluster: "" },
    { cluster: "Mainnet" },
    { cluster: "main_net" },
    { cluster: "a".repeat(33) },
    { signature: "" },
    { signature: `${SIGNATURE.slice(0, -1)}0` },
    { signature: `${SIGNATURE.slice(0, -1)}l` },
    { signature: "2".repeat(89) },
    { encoding: "hex" as "base64" },
    { encoded: "" },
    { encoded: "AA=A" },
    { encoding: "base58", encoded: "AA+/" },
    { encoded: undefined as unknown as string },
    { blockhash: "2".repeat(31) },
    { blockhash: "2".repeat(45) },
    { blockhash: "O".repeat(44) },
    { status: "dropped" as SolanaSendStatus },
    { firstSeenAt: -1 },
    { firstSeenAt: Number.NaN },
    { updatedAt: Number.POSITIVE_INFINITY },
    { updatedAt: "1" as unknown as number },
    { broadcasts: -1 },
    { broadcasts: 0.5 },
    { slot: -1 },
    { slot: 1.5 },
    { lastBroadcastAt: -5 },
  ];
  for (const over of malformed) assert.throws(() => checkSolanaSend(record(over)), TypeError, JSON.stringify(over));
  assert.equal(checkSolanaSend(record({ cluster: "a".repeat(32) })).cluster, "a".repeat(32));
  assert.equal(checkSolanaSend(record({ cluster: "solana-test-2" })).cluster, "solana-test-2");
  assert.equal(checkSolanaSend(record({ blockhash: "2".repeat(32) })).blockhash, "2".repeat(32));
});

test("the address and list checks use the same bounds as a put", () => {
  checkSolanaSendAddress("devnet", SIGNATURE);
  checkSolanaSendAddress("devnet", "1");
  assert.throws(() => checkSolanaSendAddress("devnet", "2".repeat(89)), TypeError);
  assert.throws(() => checkSolanaSendAddress("devnet", 1), TypeError);
  assert.throws(() => checkSolanaSendAddress("dev:net", SIGNATURE), TypeError);
  assert.throws(() => checkSolanaSendAddress(undefined, SIGNATURE), TypeError);
  checkSolanaSendList("devnet", 0);
  checkSolanaSendList("devnet", Number.MAX_SAFE_INTEGER);
  assert.throws(() => checkSolanaSendList("devnet", -1), RangeError);
  assert.throws(() => checkSolanaSendList("devnet", 1.5), RangeError);
  assert.throws(() => checkSolanaSendList("devnet", "10"), RangeError);
  assert.throws(() => checkSolanaSendList("Devnet", 10), TypeError);
});

test("finalized, expired and rejected are final; pending, processed and confirmed are not", () => {
  const statuses: SolanaSendStatus[] = ["pending", "processed", "confirmed", "finalized", "expired", "rejected"];
  assert.deepEqual(
    statuses.filter((s) => isFinalSolanaSend(s)),
    ["finalized", "expired", "rejected"],
  );
});

test("ids never collide across clusters; the pending order is firstSeenAt, then signature, then cluster", () => {
  assert.equal(solanaSendId("devnet", SIGNATURE), `devnet:${SIGNATURE}`);
  assert.notEqual(solanaSendId("a", "b2"), solanaSendId("ab", "2"));
  const r = (firstSeenAt: number, signature: string, cluster = "devnet") => record({ firstSeenAt, signature, cluster });
  const sorted = [r(5, "A"), r(1, "B"), r(1, "A", "mainnet"), r(1, "A"), r(1, "Ab"), r(1, "a"), r(0.5, "z")].sort(
    comparePendingSolanaSends,
  );
  assert.deepEqual(
    sorted.map((x) => `${x.firstSeenAt}/${x.signature}/${x.cluster}`),
    ["0.5/z/devnet", "1/A/devnet", "1/A/mainnet", "1/Ab/devnet", "1/B/devnet", "1/a/devnet", "5/A/devnet"],
  );
  assert.equal(comparePendingSolanaSends(r(1, "A"), r(1, "A")), 0);
});
