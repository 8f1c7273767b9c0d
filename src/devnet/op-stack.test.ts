import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Hex, hexToBigInt, keccak256, slice } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type Devnet, type DevnetError, type DevnetNode, startDevnet } from "./devnet.ts";
import {
  depositSourceHash,
  devnetL1Attributes,
  L1_ATTRIBUTES_DEPOSITOR,
  L1_BLOCK_PREDEPLOY,
  type L1Attributes,
  l1AttributesCalldata,
  l1AttributesDeposit,
  userDeposit,
} from "./op-stack.ts";
import { createRpcClient } from "./rpc.ts";

/**
 * OP mainnet transaction 0xbc9329af… (block 0x798ad0b), the L1-attributes deposit as `eth_getTransactionByHash` serves
 * it, recorded in op-alloy's tests: its hash checks the whole encoding byte for byte.
 */
const MAINNET_L1_INFO = {
  hash: "0xbc9329afac05556497441e2b3ee4c5d4da7ca0b2a4c212c212d0739e94a24df9",
  sourceHash: "0x04e9a69416471ead93b02f0c279ab11ca0b635db5c1726a56faf22623bafde52",
  input:
    "0x440a5e200000146b000f79c50000000000000003000000006725333f000000000141e287000000000000000000000000000000000000000000000000000000012439ee7e0000000000000000000000000000000000000000000000000000000063f363e973e96e7145ff001c81b9562cba7b6104eeb12a2bc4ab9f07c27d45cd81a986620000000000000000000000006887246668a3b87f54deb3b94ba47a6f63f32985",
} as const;

/** The Ecotone calldata read back into its values (4-byte selector, then packed fields). */
function decodeL1Attributes(input: Hex): L1Attributes {
  const at = (start: number, size: number) => slice(input, start, start + size);
  return {
    baseFeeScalar: hexToBigInt(at(4, 4)),
    blobBaseFeeScalar: hexToBigInt(at(8, 4)),
    sequenceNumber: hexToBigInt(at(12, 8)),
    timestamp: hexToBigInt(at(20, 8)),
    number: hexToBigInt(at(28, 8)),
    baseFee: hexToBigInt(at(36, 32)),
    blobBaseFee: hexToBigInt(at(68, 32)),
    hash: at(100, 32),
    batcherHash: at(132, 32),
  };
}

test("an OP mainnet L1-attributes deposit is reproduced byte for byte: calldata, source hash, transaction hash", () => {
  const attributes = decodeL1Attributes(MAINNET_L1_INFO.input);
  assert.equal(attributes.sequenceNumber, 3n);
  assert.equal(l1AttributesCalldata(attributes), MAINNET_L1_INFO.input);
  assert.equal(depositSourceHash("l1-info", attributes.hash, 3n), MAINNET_L1_INFO.sourceHash);
  assert.equal(keccak256(l1AttributesDeposit(attributes)), MAINNET_L1_INFO.hash);
});

test("the devnet's L1 origin depends on the L2 block's number and timestamp; user deposits differ by index", () => {
  const a = devnetL1Attributes(7, 1_767_225_607);
  assert.equal((l1AttributesCalldata(a).length - 2) / 2, 164);
  assert.deepEqual(decodeL1Attributes(l1AttributesCalldata(a)), a);
  assert.notEqual(devnetL1Attributes(7, 1_767_225_608).hash, a.hash, "a replacement block has another L1 origin");
  assert.notEqual(devnetL1Attributes(8, 1_767_225_607).hash, a.hash);
  const from = "0x1111111111111111111111111111111111111111";
  assert.notEqual(userDeposit({ from, mint: 1n, index: 1n }), userDeposit({ from, mint: 1n, index: 2n }));
  assert.ok(userDeposit({ from, mint: 1n, index: 1n }).startsWith("0x7e"));
});

const NODES = [
  { id: "alpha", domain: { operator: "alpha-rpc", hosting: "aws", region: "us-east-1" } },
  { id: "beta", domain: { operator: "beta-nodes", hosting: "gcp", region: "europe-west1" } },
  { id: "gamma", domain: { operator: "home", hosting: "self", region: "eu-home" } },
];

interface Tx {
  hash: Hex;
  type: string;
  from: string;
  to: string | null;
  input: Hex;
}
interface Block {
  number: Hex;
  hash: Hex;
  stateRoot: Hex;
  timestamp: Hex;
  transactions: Tx[];
}

const call = <T>(node: DevnetNode, method: string, params: unknown[] = []) =>
  createRpcClient(node.url).call<T>(method, params);
const hex = (n: number | bigint) => `0x${n.toString(16)}`;

describe("an OP-stack devnet of three anvil nodes", () => {
  let devnet: Devnet;
  const errors: DevnetError[] = [];
  let index = 0n;
  /** A fresh L1 sender for each deposit: anvil holds at most one deposit per sender in a pool. */
  const freshSender = () => privateKeyToAccount(keccak256(`0x${(++index).toString(16).padStart(64, "0")}`)).address;

  /** Every node has the same block `number`; it starts with its L1-attributes deposit. Returns it. */
  async function sameBlock(number: number): Promise<Block> {
    const blocks = await Promise.all(
      devnet.nodes.map((n) => call<Block>(n, "eth_getBlockByNumber", [hex(number), true])),
    );
    const first = blocks[0]!;
    for (const [i, b] of blocks.entries()) {
      assert.equal(b.hash, first.hash, `block ${number} on ${devnet.nodes[i]!.id}`);
      assert.equal(b.stateRoot, first.stateRoot, `block ${number} state root on ${devnet.nodes[i]!.id}`);
    }
    const info = first.transactions[0];
    assert.ok(info, `block ${number} is empty`);
    assert.deepEqual([info.type, info.from, info.to], ["0x7e", L1_ATTRIBUTES_DEPOSITOR, L1_BLOCK_PREDEPLOY]);
    const expected = devnetL1Attributes(number, Number(first.timestamp));
    assert.equal(info.hash, keccak256(l1AttributesDeposit(expected)), `block ${number}'s L1-attributes deposit`);
    assert.deepEqual(decodeL1Attributes(info.input), expected);
    return first;
  }

  before(async () => {
    devnet = await startDevnet({ nodes: NODES, network: "optimism", onError: (e) => errors.push(e) });
  });
  after(async () => {
    await devnet?.stop();
  });

  test("every block, from block 1, starts with its L1-attributes deposit, identically on every node", async () => {
    await sameBlock(1);
    const head = await devnet.mine(3);
    for (let n = 1; n <= head; n++) assert.equal((await sameBlock(n)).transactions.length, 1);
    const receipt = await call<{ status: string; type: string; depositReceiptVersion?: string }>(
      devnet.nodes[0]!,
      "eth_getTransactionReceipt",
      [(await sameBlock(head)).transactions[0]!.hash],
    );
    assert.equal(receipt.status, "0x1");
    assert.equal(receipt.depositReceiptVersion, "0x1");
    assert.deepEqual(errors, []);
  });

  test("user deposits mint on every node: one sent to all nodes, one to a single node, after the L1 deposit", async () => {
    const gamma = devnet.nodes[2]!;
    const recipient = freshSender();
    const everywhere = await devnet.sendRawTransaction(
      userDeposit({ from: freshSender(), to: recipient, mint: 10n ** 18n, value: 10n ** 17n, index }),
    );
    const lone = freshSender();
    const single = await call<Hex>(gamma, "eth_sendTransaction", [
      {
        type: "0x7e",
        from: lone,
        to: lone,
        mint: hex(5n),
        value: "0x0",
        sourceHash: keccak256("0x01"),
        gas: hex(50_000),
        isSystemTx: false,
      },
    ]);
    const number = await devnet.mine();
    const block = await sameBlock(number);
    assert.deepEqual(new Set(block.transactions.slice(1).map((t) => t.hash)), new Set([everywhere, single]));
    for (const n of devnet.nodes) {
      assert.equal(BigInt(await call<Hex>(n, "eth_getBalance", [recipient, hex(number)])), 10n ** 17n, n.id);
      assert.equal(BigInt(await call<Hex>(n, "eth_getBalance", [lone, hex(number)])), 5n, n.id);
    }
    assert.equal(block.transactions.length, 3);
    await sameBlock(await devnet.mine());
    assert.deepEqual(errors, []);
  });

  test("a node that mined a deposit on its own is rolled back without losing it (its raw bytes are encoded, not asked)", async () => {
    const beta = devnet.nodes[1]!;
    const head = devnet.head();
    const hash = await call<Hex>(beta, "eth_sendRawTransaction", [
      userDeposit({ from: freshSender(), mint: 3n, index: ++index }),
    ]);
    await call(beta, "evm_mine", [{ timestamp: Number((await sameBlock(head)).timestamp) + 100 }]);
    const number = await devnet.mine();
    assert.equal(number, head + 1);
    const block = await sameBlock(number);
    assert.deepEqual(
      block.transactions.slice(1).map((t) => t.hash),
      [hash],
    );
    assert.deepEqual(devnet.nodeStatus(beta.id), { paused: false, inSync: true, diverged: false, unreachable: false });
    await sameBlock(await devnet.mine());
    assert.deepEqual(errors, []);
  });

  test("a paused node catches up with identical blocks, L1-attributes deposits and all", async () => {
    const gamma = devnet.nodes[2]!;
    const pausedAt = devnet.head();
    devnet.pause(gamma.id);
    await devnet.sendRawTransaction(userDeposit({ from: freshSender(), mint: 1n, index: ++index }));
    const head = await devnet.mine(3);
    assert.equal(Number(await call<Hex>(gamma, "eth_blockNumber")), pausedAt);
    await devnet.resume(gamma.id);
    for (let n = pausedAt + 1; n <= head; n++) await sameBlock(n);
    assert.deepEqual(errors, []);
  });

  test("a reorg of depth 2: each replacement starts with a new L1-attributes deposit; the rest is re-included, deposits first", async () => {
    const signer = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
    const transfer = await devnet.sendRawTransaction(
      await signer.signTransaction({
        chainId: devnet.chainId,
        type: "eip1559",
        nonce: 0,
        to: L1_ATTRIBUTES_DEPOSITOR,
        value: 1n,
        gas: 21_000n,
        maxFeePerGas: 10n ** 11n,
        maxPriorityFeePerGas: 1n,
      }),
    );
    await devnet.mine();
    const deposit = await devnet.sendRawTransaction(userDeposit({ from: freshSender(), mint: 2n, index: ++index }));
    const head = await devnet.mine();
    const oldInfo = [(await sameBlock(head - 1)).transactions[0]!.hash, (await sameBlock(head)).transactions[0]!.hash];

    const result = await devnet.reorg(2);
    assert.equal(result.head, head);
    const first = await sameBlock(head - 1);
    const second = await sameBlock(head);
    assert.deepEqual(result.replacements, [first.hash, second.hash]);
    assert.deepEqual(
      first.transactions.slice(1).map((t) => t.hash),
      [deposit, transfer],
      "the orphaned deposit and transfer, deposit first",
    );
    assert.equal(second.transactions.length, 1);
    for (const h of oldInfo) {
      assert.equal(await call(devnet.nodes[0]!, "eth_getTransactionByHash", [h]), null, "old L1 deposit gone");
    }
    await sameBlock(await devnet.mine());
    assert.deepEqual(errors, []);
  });
});

test("l1AttributesDeposits needs the optimism network", async () => {
  await assert.rejects(
    startDevnet({ nodes: NODES.slice(0, 1), l1AttributesDeposits: true }),
    /l1AttributesDeposits.*optimism/,
  );
});
