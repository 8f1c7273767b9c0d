import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToHex, concatBytes, type Hex, hexToBytes, keccak256, stringToBytes } from "viem";
import fixture from "../fixtures/bodies.json" with { type: "json" };
import { checkBlockBody, checkBlockReceipts } from "../verification/roots.ts";
import { recoverSender } from "../verification/sender.ts";
import { stateSyncTransactionHash } from "./polygon.ts";

// biome-ignore lint/suspicious/noExplicitAny: the cases reach freely into nested answer JSON.
type Json = Record<string, any>;

/** A real anvil block with receipts (fixtures/bodies.json), and the state sync bor would list after its transactions. */
function withStateSync() {
  const { block, receipts } = structuredClone(fixture.blocks.find((b) => b.name === "mixed")!) as {
    block: Json;
    receipts: Json[];
  };
  const hash = bytesToHex(stateSyncTransactionHash(BigInt(block.number), hexToBytes(block.hash)));
  const place = {
    blockHash: block.hash,
    blockNumber: block.number,
    transactionIndex: `0x${block.transactions.length.toString(16)}`,
  };
  const zero = `0x${"0".repeat(40)}`;
  const sync = {
    ...place,
    hash,
    type: "0x0",
    from: zero,
    to: zero,
    nonce: "0x0",
    gas: "0x0",
    gasPrice: "0x0",
    value: "0x0",
    input: "0x",
    v: "0x0",
    r: "0x0",
    s: "0x0",
  };
  const syncReceipt = {
    ...place,
    transactionHash: hash,
    type: "0x0",
    status: "0x1",
    cumulativeGasUsed: "0x0",
    gasUsed: "0x0",
    logs: [],
    logsBloom: `0x${"0".repeat(512)}`,
    from: zero,
    to: zero,
  };
  block.transactions.push(sync);
  receipts.push(syncReceipt);
  return { block, receipts, hash };
}

const header = (block: Json) => ({
  hash: block.hash as Hex,
  number: Number(block.number),
  receiptsRoot: block.receiptsRoot as Hex,
});

test("bor's state-sync hash: keccak256 of the prefix, the number as 8 bytes and the block hash", () => {
  const blockHash = `0x${"ab".repeat(32)}` as Hex;
  const expected = keccak256(
    concatBytes([stringToBytes("matic-bor-receipt-"), hexToBytes("0x000000000000002a"), hexToBytes(blockHash)]),
  );
  assert.equal(bytesToHex(stateSyncTransactionHash(42n, hexToBytes(blockHash))), expected);
});

test("a block's state sync is left out of its roots: the rest is checked, the block is not proven, nobody is blamed", async () => {
  const { block, receipts } = withStateSync();
  const hashes = block.transactions.map((tx: Json) => tx.hash);
  assert.equal(checkBlockBody(block, { fullTransactions: true, stack: "polygon" }).ok, "unverifiable");
  assert.equal(checkBlockReceipts(receipts, header(block), hashes, "polygon").ok, "unverifiable");
  // On the ethereum stack the same block is a lie: a transaction whose hash is not its fields'.
  assert.equal(checkBlockBody(block, { fullTransactions: true }).ok, false);
  await assert.rejects(recoverSender(block.transactions.at(-1), "polygon"), /no root commits to/);
});

test("a state sync does not cover for a real transaction altered", () => {
  const { block, receipts } = withStateSync();
  block.transactions[0].value = "0x123456789";
  assert.equal(checkBlockBody(block, { fullTransactions: true, stack: "polygon" }).ok, false);
  const hashes = withStateSync().block.transactions.map((tx: Json) => tx.hash);
  const first = receipts[0]!;
  first.status = first.status === "0x1" ? "0x0" : "0x1";
  assert.equal(checkBlockReceipts(receipts, header(block), hashes, "polygon").ok, false);
  const moved = withStateSync();
  moved.block.transactions[moved.block.transactions.length - 1].blockNumber = "0x999";
  assert.equal(checkBlockBody(moved.block, { fullTransactions: true, stack: "polygon" }).ok, false, "placement");
});
