import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToHex, keccak256 } from "viem";
import type { Hex } from "../hex.ts";
import { checkBlockBody, checkBlockReceipts, checkTransactionHash } from "../verification/roots.ts";
import { recoverSender } from "../verification/sender.ts";
import { encodeReceipt, encodeTransaction } from "./encode.ts";
import { DEPOSIT_TX_TYPE, isDepositType } from "./op-stack.ts";
import { orderedTrieRoot } from "./trie.ts";

/**
 * L1-attributes deposits of OP mainnet, as nodes serve them (`eth_getBlockByNumber(…, true)` / `eth_getTransactionByHash`):
 * the first transaction of block 105,849,734 and that of block 105,847,831, both as recorded in viem's OP-stack tests
 * (src/chains/optimism, inline snapshots of mainnet answers). Their hashes are the chain's, so matching them checks the
 * deposit encoding byte for byte.
 */
const L1_INFO_INPUT_PREFIX = "0x015d8eb9";
const DEPOSITS = [
  {
    hash: "0xf169b1021e555a1088b69e693938efd32a98231417eda1fb024de83aad98663a",
    sourceHash: "0x0456be3615ad9f8bb63410c832db98c02d4fdeda0139f4f98186970aef5111df",
    input: `${L1_INFO_INPUT_PREFIX}00000000000000000000000000000000000000000000000000000000010b6402000000000000000000000000000000000000000000000000000000006492207b000000000000000000000000000000000000000000000000000000033601dfdd1eca1cc72d59c84864665457586b5e8910fb78a19fbffd1a23190862dc7f9dd900000000000000000000000000000000000000000000000000000000000000000000000000000000000000006887246668a3b87f54deb3b94ba47a6f63f3298500000000000000000000000000000000000000000000000000000000000000bc00000000000000000000000000000000000000000000000000000000000a6fe0`,
    nonce: "0x9610e",
  },
  {
    hash: "0x97f8e79b683df44ae2cc2e9f6eeebd2febdd6f0aeda71f184e6b297cbe7f620b",
    sourceHash: "0x3fd7eb0bfa68ab126d745d17de615819430e1a6e922f65e5c06418569eb8dee1",
    input: `${L1_INFO_INPUT_PREFIX}00000000000000000000000000000000000000000000000000000000010b62c6000000000000000000000000000000000000000000000000000000006492119f000000000000000000000000000000000000000000000000000000078e016aff6b099ac98f4d1e69a45ad7bccba81386deddee0569412aafb388d8c1510f9e0800000000000000000000000000000000000000000000000000000000000000020000000000000000000000006887246668a3b87f54deb3b94ba47a6f63f3298500000000000000000000000000000000000000000000000000000000000000bc00000000000000000000000000000000000000000000000000000000000a6fe0`,
    nonce: "0x9599f",
  },
].map((d) => ({
  ...d,
  type: "0x7e",
  from: "0xdeaddeaddeaddeaddeaddeaddeaddeaddead0001",
  to: "0x4200000000000000000000000000000000000015",
  mint: "0x0",
  value: "0x0",
  gas: "0xf4240",
  gasPrice: "0x0",
  v: "0x0",
  r: "0x0",
  s: "0x0",
}));

test("OP mainnet deposit transactions hash to their stated hashes on the op-stack encoding", () => {
  for (const tx of DEPOSITS) {
    assert.equal(bytesToHex(keccak256(encodeTransaction(tx, "op-stack"), "bytes")), tx.hash);
    assert.deepEqual(checkTransactionHash(tx, "op-stack"), { ok: true });
  }
});

test("a deposit's from is committed by its hash: another sender, mint or system flag is a contradiction", () => {
  const [tx] = DEPOSITS;
  for (const lie of [
    { from: "0x00000000000000000000000000000000000000aa" },
    { mint: "0xde0b6b3a7640000" },
    { isSystemTx: true },
  ]) {
    const check = checkTransactionHash({ ...tx, ...lie }, "op-stack");
    assert.equal(check.ok, false, JSON.stringify(lie));
  }
});

test("a system flag stated as a quantity (op-alloy's nodes: anvil, op-reth) is read as the boolean it stands for", () => {
  // A deposit with isSystemTx as anvil 1.7 (--network optimism) serves it.
  const system = {
    hash: "0x1fc064eefb4416b1f1c98db1a80811d14707a91b63cb00973a668ebf71f1ca35",
    type: "0x7e",
    from: "0x1111111111111111111111111111111111111111",
    to: "0x2222222222222222222222222222222222222222",
    gas: "0x186a0",
    input: "0x",
    isSystemTx: "0x1",
    mint: "0x10",
    value: "0x1",
    sourceHash: "0xc2575a0e9e593c00f959f8c92f12db2869c3395a3b0502d05e2516446f71f85b",
  };
  assert.deepEqual(checkTransactionHash(system, "op-stack"), { ok: true });
  assert.deepEqual(checkTransactionHash({ ...system, isSystemTx: true }, "op-stack"), { ok: true });
  assert.equal(checkTransactionHash({ ...system, isSystemTx: "0x0" }, "op-stack").ok, false, "another flag");
  assert.equal(checkTransactionHash({ ...system, isSystemTx: "0x2" }, "op-stack").ok, false, "no flag");
});

test("on an Ethereum chain a 0x7e transaction has no known encoding: unverifiable, never a dispute", () => {
  const check = checkTransactionHash(DEPOSITS[0], "ethereum");
  assert.equal(check.ok, "unverifiable");
});

/** op-alloy's deposit receipt vectors (crates/consensus/src/receipts/deposit.rs): 46,913 gas, no logs, nonce 4,012,991. */
const ZERO_BLOOM = `0x${"00".repeat(256)}`;
const DEPOSIT_RECEIPT = {
  type: "0x7e",
  status: "0x1",
  cumulativeGasUsed: "0xb741",
  logsBloom: ZERO_BLOOM,
  logs: [],
  depositNonce: "0x3d3bbf",
};

test("a deposit receipt commits to its nonce and version since Canyon, to neither before", () => {
  const canyon = encodeReceipt({ ...DEPOSIT_RECEIPT, depositReceiptVersion: "0x1" }, "op-stack");
  assert.equal(
    bytesToHex(canyon),
    `0x7ef9010d0182b741b90100${"00".repeat(256)}c0833d3bbf01`,
    "post-Canyon: op-alloy's vector behind the type byte",
  );
  // Regolith: the nonce is stated but the trie commits to the plain receipt fields, as for an EIP-1559 receipt.
  const regolith = encodeReceipt(DEPOSIT_RECEIPT, "op-stack");
  const plain = encodeReceipt({ ...DEPOSIT_RECEIPT, type: "0x2", depositNonce: undefined });
  assert.equal(regolith[0], DEPOSIT_TX_TYPE);
  assert.deepEqual(regolith.subarray(1), plain.subarray(1));
});

test("a block's receipts with a deposit receipt are checked against the receipts root on the op-stack, unverifiable elsewhere", () => {
  const blockHash = `0x${"ab".repeat(32)}` as const;
  const receipt = {
    ...DEPOSIT_RECEIPT,
    depositReceiptVersion: "0x1",
    transactionHash: DEPOSITS[0]!.hash,
    transactionIndex: "0x0",
    blockHash,
    blockNumber: "0x64f2a86",
    gasUsed: "0xb741",
  };
  const header = {
    hash: blockHash,
    number: 0x64f2a86,
    receiptsRoot: orderedTrieRoot([encodeReceipt(receipt, "op-stack")]),
  };
  assert.deepEqual(checkBlockReceipts([receipt], header, [DEPOSITS[0]!.hash as Hex], "op-stack"), { ok: true });
  assert.equal(checkBlockReceipts([receipt], header, undefined, "ethereum").ok, "unverifiable");
  // The version is committed: a receipt list that drops it no longer makes up the root.
  const { depositReceiptVersion: _dropped, ...older } = receipt;
  assert.equal(checkBlockReceipts([older], header, undefined, "op-stack").ok, false);
});

test("a deposit's sender is the from its hash commits to: nothing to recover", async () => {
  assert.equal(await recoverSender(DEPOSITS[0], "op-stack"), DEPOSITS[0]!.from);
});

test("since Isthmus an OP-stack withdrawalsRoot is the message passer's storage root: the empty withdrawals list stands", () => {
  // A body with no transactions: only the withdrawals are at stake.
  const body = {
    hash: `0x${"cd".repeat(32)}`,
    number: "0x1",
    transactionsRoot: "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
    transactions: [],
    uncles: [],
    sha3Uncles: "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
    withdrawalsRoot: `0x${"5a".repeat(32)}`,
    withdrawals: [] as unknown[],
  };
  assert.deepEqual(checkBlockBody(body, { stack: "op-stack" }), { ok: true });
  assert.equal(checkBlockBody(body, { stack: "ethereum" }).ok, false, "on Ethereum the root is the list's");
  const withWithdrawal = {
    ...body,
    withdrawals: [{ index: "0x0", validatorIndex: "0x0", address: `0x${"00".repeat(20)}`, amount: "0x1" }],
  };
  assert.equal(checkBlockBody(withWithdrawal, { stack: "op-stack" }).ok, false, "the OP stack has no withdrawals");
});

test("a deposit's type is read in any case and with leading zeros, and nothing else is a deposit", () => {
  for (const type of ["0x7e", "0x7E", "0x07e"]) assert.equal(isDepositType(type), true, type);
  for (const type of ["0x2", "0x17e", "7e", 126, undefined]) assert.equal(isDepositType(type), false, String(type));
});
