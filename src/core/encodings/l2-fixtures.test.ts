/**
 * The stacks' encodings against real L2 data (src/core/fixtures/l2/SOURCES.md says where each file comes from): a whole
 * post-Isthmus OP-stack block with every receipt, OP Mainnet and Arbitrum One headers and transactions, and the six
 * Arbitrum Nitro transaction types and their receipts as Arbitrum's own node code encodes them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToHex, fromRlp, type Hex, hexToBytes, keccak256 } from "viem";
import { chainPreset } from "../chain-presets.ts";
import arbHeaderA from "../fixtures/l2/arbitrum-header-86011219.json" with { type: "json" };
import arbHeaderB from "../fixtures/l2/arbitrum-header-408874813.json" with { type: "json" };
import arbReceiptVectors from "../fixtures/l2/arbitrum-synthetic-receipt-vectors.json" with { type: "json" };
import arbTxVectors from "../fixtures/l2/arbitrum-synthetic-tx-vectors.json" with { type: "json" };
import arbInternalA from "../fixtures/l2/arbitrum-tx6a-86011219.json" with { type: "json" };
import arbInternalB from "../fixtures/l2/arbitrum-tx6a-408889830.json" with { type: "json" };
import arbLegacy from "../fixtures/l2/arbitrum-txlegacy-93393683.json" with { type: "json" };
import opHeaderA from "../fixtures/l2/op-header-151534212.json" with { type: "json" };
import opHeaderB from "../fixtures/l2/op-header-151534589.json" with { type: "json" };
import opDepositEcotone from "../fixtures/l2/op-tx7e-127446283.json" with { type: "json" };
import opDeposit from "../fixtures/l2/op-tx7e-151539208.json" with { type: "json" };
import unichainBlock from "../fixtures/l2/unichainsepolia-block-35535698.json" with { type: "json" };
import unichainReceipts from "../fixtures/l2/unichainsepolia-receipts-35535698.json" with { type: "json" };
import { checkHeader, verifyHeaderHash } from "../verification/header.ts";
import { checkBlockBody, checkTransactionHash } from "../verification/roots.ts";
import { ARBOS_ADDRESS } from "./arbitrum.ts";
import { committedSender, encodeReceipt, encodeTransaction, ownTypeOf } from "./encode.ts";
import { orderedTrieRoot } from "./trie.ts";

type Json = Record<string, unknown>;

/** The 2048-bit bloom of a receipt's logs (Yellow Paper: three 11-bit indices from each address and topic hash). */
function logsBloom(logs: { address: string; topics: string[] }[]): Hex {
  const bloom = new Uint8Array(256);
  for (const item of logs.flatMap((l) => [l.address, ...l.topics])) {
    const hash = keccak256(hexToBytes(item as Hex), "bytes");
    for (let i = 0; i < 6; i += 2) {
      const bit = ((hash[i]! << 8) | hash[i + 1]!) & 2047;
      bloom[255 - (bit >> 3)]! |= 1 << (bit & 7);
    }
  }
  return bytesToHex(bloom);
}

const TYPE_OF_KIND: Record<string, string> = {
  Legacy: "0x0",
  Eip2930: "0x1",
  Eip1559: "0x2",
  Eip7702: "0x4",
  Deposit: "0x7e",
};

/** The block's receipts as nodes state them (the fields the trie holds), in block order, by flashblock. */
function unichainReceiptLists(): { receipts: Json[]; root: string }[] {
  const all: Json[] = [];
  return unichainReceipts.receipts_by_flashblock.map((flashblock) => {
    for (const [hash, wrapped] of Object.entries(flashblock.receipts)) {
      const [kind, receipt] = Object.entries(wrapped as Record<string, Json>)[0]!;
      const logs = receipt.logs as { address: string; topics: string[] }[];
      all.push({ ...receipt, transactionHash: hash, type: TYPE_OF_KIND[kind], logsBloom: logsBloom(logs) });
    }
    return { receipts: [...all], root: flashblock.receipts_root };
  });
}

test("a whole post-Isthmus OP-stack block: header hash, every transaction, the transactions root", () => {
  assert.equal(verifyHeaderHash(unichainBlock).ok, true);
  assert.deepEqual(checkBlockBody(unichainBlock, { fullTransactions: true, stack: "op-stack" }), { ok: true });
  assert.notEqual(unichainBlock.withdrawalsRoot, orderedTrieRoot([]), "Isthmus: not the empty list's root");
  // On the ethereum stack the deposit has no encoding and the withdrawals root is not the empty list's: not proven.
  assert.notEqual(checkBlockBody(unichainBlock, { fullTransactions: true }).ok, true);
});

test("its receipts make up the header's receipts root (and every flashblock's), deposit nonce and version included", () => {
  const lists = unichainReceiptLists();
  for (const { receipts, root } of lists) {
    assert.equal(orderedTrieRoot(receipts.map((r) => encodeReceipt(r, "op-stack"))), root);
  }
  const whole = lists.at(-1)!.receipts;
  assert.equal(orderedTrieRoot(whole.map((r) => encodeReceipt(r, "op-stack"))), unichainBlock.receiptsRoot);
  const withoutVersion = whole.map(({ depositReceiptVersion: _, ...r }) => encodeReceipt(r, "op-stack"));
  assert.notEqual(orderedTrieRoot(withoutVersion), unichainBlock.receiptsRoot, "the trie commits to them");
  // op-geth's meaning of a deposit's stated nonce: the nonce it ran with, which its receipt commits to.
  const deposit = unichainBlock.transactions[0]! as Json;
  assert.equal(deposit.nonce, whole[0]!.depositNonce);
});

test("OP Mainnet: Isthmus and later headers hash under the preset fork schedule; deposits hash, state zero price and signature", () => {
  const { forks } = chainPreset(10);
  for (const header of [opHeaderA.result, opHeaderB.result]) {
    assert.equal(verifyHeaderHash(header, forks).ok, true);
    const { requestsHash: _, ...beforeIsthmus } = header;
    assert.equal(checkHeader(beforeIsthmus, forks).ok, false, "a header that leaves out a field of its forks");
  }
  for (const tx of [opDeposit.result, opDepositEcotone] as Json[]) {
    assert.deepEqual(checkTransactionHash(tx, "op-stack"), { ok: true });
    assert.deepEqual(ownTypeOf(tx, "op-stack")?.stated(tx), { ok: true });
    assert.equal(committedSender(tx, "op-stack"), String(tx.from).toLowerCase());
  }
});

test("Arbitrum One: headers hash; internal transactions hash on the arbitrum stack, sent by ArbOS", () => {
  for (const header of [arbHeaderA.result, arbHeaderB.result])
    assert.equal(verifyHeaderHash(header, chainPreset(42161).forks).ok, true);
  for (const tx of [arbInternalA.result, arbInternalB.result] as Json[]) {
    assert.deepEqual(checkTransactionHash(tx, "arbitrum"), { ok: true });
    assert.equal(checkTransactionHash(tx, "ethereum").ok, "unverifiable");
    assert.equal(committedSender(tx, "arbitrum"), ARBOS_ADDRESS);
    assert.deepEqual(ownTypeOf(tx, "arbitrum")?.stated(tx), { ok: true });
    assert.equal(
      ownTypeOf({ ...tx, gasPrice: "0x1" }, "arbitrum")?.stated({ ...tx, gasPrice: "0x1" }).ok,
      "unverifiable",
    );
  }
  assert.deepEqual(checkTransactionHash(arbLegacy.result, "arbitrum"), { ok: true });
});

/** The six Nitro types as a node states them (go-ethereum's `newRPCTransaction` field names and extra fields). */
const A = (digit: string) => `0x${digit.repeat(40)}`;
const H = (digit: string) => `0x${digit.repeat(64)}`;
const UNSIGNED = { v: "0x0", r: "0x0", s: "0x0", chainId: "0xa4b1" };
const NITRO_JSON: Record<string, Json> = {
  unsigned_call: {
    ...UNSIGNED,
    type: "0x65",
    from: A("1"),
    nonce: "0x7",
    gasPrice: "0x3039",
    gas: "0x5208",
    to: A("2"),
    value: "0x64",
    input: "0xdeadbeef",
  },
  contract_call: {
    ...UNSIGNED,
    type: "0x66",
    requestId: H("a"),
    from: A("1"),
    nonce: "0x0",
    gasPrice: "0x3039",
    maxFeePerGas: "0x3039",
    gas: "0xc350",
    to: A("2"),
    value: "0x1",
    input: "0xabcdef",
  },
  retry_call: {
    ...UNSIGNED,
    type: "0x68",
    nonce: "0x3",
    from: A("1"),
    gasPrice: "0x22b",
    maxFeePerGas: "0x22b",
    gas: "0x13880",
    to: A("2"),
    value: "0x5",
    input: "0x0102",
    ticketId: H("b"),
    refundTo: A("3"),
    maxRefund: "0x3e8",
    submissionFeeRefund: "0x7d0",
  },
  submit_retryable: {
    ...UNSIGNED,
    type: "0x69",
    requestId: H("a"),
    from: A("1"),
    nonce: "0x0",
    value: "0x0",
    to: "0x000000000000000000000000000000000000006e",
    l1BaseFee: "0x64",
    depositValue: "0xc8",
    gasPrice: "0x12c",
    maxFeePerGas: "0x12c",
    gas: "0x61a80",
    retryTo: A("2"),
    retryValue: "0x32",
    beneficiary: A("4"),
    maxSubmissionFee: "0x258",
    refundTo: A("5"),
    retryData: "0x01020304",
    input: "0xc9f95d32",
  },
  deposit: {
    ...UNSIGNED,
    type: "0x64",
    requestId: H("c"),
    from: A("1"),
    to: A("2"),
    value: "0x7b",
    nonce: "0x0",
    gas: "0x0",
    gasPrice: "0x0",
    input: "0x",
  },
  internal: {
    ...UNSIGNED,
    type: "0x6a",
    from: ARBOS_ADDRESS,
    to: ARBOS_ADDRESS,
    nonce: "0x0",
    gas: "0x0",
    gasPrice: "0x0",
    value: "0x0",
    input: "0x1122334455",
  },
};

test("Arbitrum's six own types encode byte for byte as Arbitrum's node does, and their stated fields pass", () => {
  assert.equal(arbTxVectors.vectors.length, 6);
  for (const vector of arbTxVectors.vectors) {
    const json: Json = { ...NITRO_JSON[vector.name]!, hash: vector.hash };
    assert.equal(bytesToHex(encodeTransaction(json, "arbitrum")), vector.raw, vector.name);
    assert.deepEqual(checkTransactionHash(json, "arbitrum"), { ok: true }, vector.name);
    const stated = ownTypeOf(json, "arbitrum")!.stated(json);
    // A retryable submission's `input` is made from its other fields; it is not rebuilt, so it is not proven.
    assert.equal(stated.ok, vector.name === "submit_retryable" ? "unverifiable" : true, vector.name);
    assert.equal(committedSender(json, "arbitrum"), String(json.from).toLowerCase());
  }
});

test("Arbitrum receipts of every type are Ethereum's typed receipts: nothing more in the trie", () => {
  for (const vector of arbReceiptVectors.vectors) {
    const raw = hexToBytes(vector.raw as Hex);
    const typed = raw[0]! < 0x7f;
    const [status, cumulativeGasUsed, bloom, logs] = fromRlp(typed ? raw.subarray(1) : raw, "hex") as [
      Hex,
      Hex,
      Hex,
      [Hex, Hex[], Hex][],
    ];
    const json = {
      type: typed ? `0x${raw[0]!.toString(16)}` : "0x0",
      status: status === "0x" ? "0x0" : status,
      cumulativeGasUsed,
      logsBloom: bloom,
      logs: logs.map(([address, topics, data]) => ({ address, topics, data })),
      gasUsedForL1: "0x0",
    };
    assert.equal(bytesToHex(encodeReceipt(json, "arbitrum")), bytesToHex(raw), vector.name);
  }
});
