import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import { DEVNET_MAX_RESYNC_DEPTH, type Devnet, type DevnetError, type DevnetNode, startDevnet } from "./devnet.ts";
import { createRpcClient } from "./rpc.ts";

const DOMAINS = [
  { id: "alpha", domain: { operator: "alpha-rpc", hosting: "aws", region: "us-east-1" } },
  { id: "beta", domain: { operator: "beta-nodes", hosting: "gcp", region: "europe-west1" } },
  { id: "gamma", domain: { operator: "home", hosting: "self", region: "eu-home" } },
];

interface Block {
  number: `0x${string}`;
  hash: `0x${string}`;
  stateRoot: `0x${string}`;
  timestamp: `0x${string}`;
  transactions: `0x${string}`[];
}

function rpc(node: DevnetNode) {
  return createRpcClient(node.url);
}

async function blockOf(node: DevnetNode, number: number): Promise<Block> {
  const block = await rpc(node).call<Block | null>("eth_getBlockByNumber", [`0x${number.toString(16)}`, false]);
  assert.ok(block, `${node.id} has no block ${number}`);
  return block;
}

async function heightOf(node: DevnetNode): Promise<number> {
  return Number(await rpc(node).call<string>("eth_blockNumber"));
}

/** Every node has the same block `number` (hash and state root); returns it. */
async function assertSameBlock(nodes: DevnetNode[], number: number): Promise<Block> {
  const blocks = await Promise.all(nodes.map((n) => blockOf(n, number)));
  const first = blocks[0]!;
  for (const [i, b] of blocks.entries()) {
    assert.equal(b.hash, first.hash, `block ${number} hash on ${nodes[i]!.id}`);
    assert.equal(b.stateRoot, first.stateRoot, `block ${number} stateRoot on ${nodes[i]!.id}`);
  }
  return first;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sender = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const otherSender = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
const recipient = "0x000000000000000000000000000000000000dEaD";

async function signTransfer(account: typeof sender, nonce: number, value: bigint): Promise<`0x${string}`> {
  return account.signTransaction({
    chainId: 31337,
    type: "eip1559",
    nonce,
    to: recipient,
    value,
    gas: 21_000n,
    maxFeePerGas: 10_000_000_000n,
    maxPriorityFeePerGas: 1_000_000n,
  });
}

/** The next nonce of each sender, counted locally (every test sends from fresh accounts). */
function nonceCounter(): (address: string) => number {
  const nonces = new Map<string, number>();
  return (address) => {
    const n = nonces.get(address) ?? 0;
    nonces.set(address, n + 1);
    return n;
  };
}

describe("devnet of three anvil nodes", () => {
  let devnet: Devnet;
  const errors: DevnetError[] = [];
  const nextNonce = nonceCounter();

  before(async () => {
    devnet = await startDevnet({ nodes: DOMAINS, onError: (e) => errors.push(e) });
  });
  after(async () => {
    await devnet?.stop();
  });

  test("starts every node in its own domain, on one chain, with block 1 mined", async () => {
    assert.equal(devnet.chainId, 31337);
    assert.deepEqual(
      devnet.nodes.map((n) => [n.id, n.domain]),
      DOMAINS.map((d) => [d.id, d.domain]),
    );
    assert.equal(new Set(devnet.nodes.map((n) => n.pid)).size, 3);
    assert.equal(new Set(devnet.nodes.map((n) => n.port)).size, 3);
    for (const n of devnet.nodes) {
      assert.match(n.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(n.wsUrl, n.url.replace("http:", "ws:"));
    }
    assert.equal(devnet.head(), 1);
    for (const n of devnet.nodes) assert.equal(await heightOf(n), 1);
    const block1 = await assertSameBlock(devnet.nodes, 1);
    const genesis = await blockOf(devnet.nodes[0]!, 0);
    assert.notEqual(block1.stateRoot, genesis.stateRoot, "block 1 must not carry the empty-trie root");
    assert.equal(Number(block1.timestamp) - Number(genesis.timestamp), 1);
  });

  test("exposes anvil's funded dev accounts with matching keys", async () => {
    assert.ok(devnet.accounts.length >= 10);
    const onNode = await rpc(devnet.nodes[0]!).call<string[]>("eth_accounts");
    for (const [i, a] of devnet.accounts.entries()) {
      assert.equal(privateKeyToAccount(a.privateKey).address, a.address);
      assert.equal(a.address.toLowerCase(), onNode[i]?.toLowerCase());
    }
  });

  test("mine() gives identical hashes and state roots on every node", async () => {
    const before = devnet.head();
    assert.equal(await devnet.mine(3), before + 3);
    for (let n = before + 1; n <= before + 3; n++) await assertSameBlock(devnet.nodes, n);
  });

  test("transactions that reached only one node each are mined identically on all", async () => {
    const [alpha, , gamma] = devnet.nodes as [DevnetNode, DevnetNode, DevnetNode];
    // Two senders, each known to a different node; submitted in the reverse of the canonical order.
    const a = await signTransfer(otherSender, nextNonce(otherSender.address), 7n);
    const b = await signTransfer(sender, nextNonce(sender.address), 5n);
    const hashA = await rpc(gamma).call<string>("eth_sendRawTransaction", [a]);
    const hashB = await rpc(alpha).call<string>("eth_sendRawTransaction", [b]);
    const number = await devnet.mine();
    const block = await assertSameBlock(devnet.nodes, number);
    assert.deepEqual(new Set(block.transactions), new Set([hashA, hashB]));
    const balances = await Promise.all(devnet.nodes.map((n) => rpc(n).call("eth_getBalance", [recipient, "latest"])));
    assert.deepEqual(balances, ["0xc", "0xc", "0xc"]);
    assert.deepEqual(errors, []);
  });

  test("sendRawTransaction reaches every node and returns the hash", async () => {
    const raw = await signTransfer(sender, nextNonce(sender.address), 1n);
    const hash = await devnet.sendRawTransaction(raw);
    for (const n of devnet.nodes) {
      const tx = await rpc(n).call<{ hash: string } | null>("eth_getTransactionByHash", [hash]);
      assert.equal(tx?.hash, hash, `pending on ${n.id}`);
    }
    const block = await assertSameBlock(devnet.nodes, await devnet.mine());
    assert.deepEqual(block.transactions, [hash]);
    await assert.rejects(devnet.sendRawTransaction(raw), /nonce too low|already/i);
  });

  test("a paused node lags behind; resume replays what it missed with identical hashes", async () => {
    const [alpha, beta, gamma] = devnet.nodes as [DevnetNode, DevnetNode, DevnetNode];
    const pausedAt = devnet.head();
    devnet.pause(gamma.id);
    const hash = await rpc(beta).call<string>("eth_sendRawTransaction", [
      await signTransfer(sender, nextNonce(sender.address), 2n),
    ]);
    const head = await devnet.mine(3);
    assert.equal(head, pausedAt + 3);
    assert.equal(await heightOf(gamma), pausedAt);
    assert.equal(await heightOf(alpha), head);
    assert.equal(devnet.nodeStatus(gamma.id).paused, true);

    await devnet.resume(gamma.id);
    assert.equal(await heightOf(gamma), head);
    for (let n = pausedAt + 1; n <= head; n++) await assertSameBlock(devnet.nodes, n);
    const receipt = await rpc(gamma).call<{ status: string } | null>("eth_getTransactionReceipt", [hash]);
    assert.equal(receipt?.status, "0x1");
    // And it keeps up afterwards.
    await assertSameBlock(devnet.nodes, await devnet.mine());
    assert.deepEqual(devnet.nodeStatus(gamma.id), { paused: false, inSync: true, diverged: false, unreachable: false });
  });

  test("a transaction sent to a paused node is mined by the others and kept for it", async () => {
    const gamma = devnet.nodes[2]!;
    devnet.pause(gamma.id);
    const hash = await rpc(gamma).call<string>("eth_sendRawTransaction", [
      await signTransfer(otherSender, nextNonce(otherSender.address), 3n),
    ]);
    const number = await devnet.mine();
    const onAlpha = await blockOf(devnet.nodes[0]!, number);
    assert.deepEqual(onAlpha.transactions, [hash]);
    await devnet.resume(gamma.id);
    await assertSameBlock(devnet.nodes, number);
  });

  test("a node that mined a block on its own is rolled back and its transaction is not lost", async () => {
    const beta = devnet.nodes[1]!;
    const head = devnet.head();
    const hash = await rpc(beta).call<string>("eth_sendRawTransaction", [
      await signTransfer(sender, nextNonce(sender.address), 4n),
    ]);
    await rpc(beta).call("evm_mine", [{ timestamp: 1_767_225_600 + head + 100 }]);
    assert.equal(await heightOf(beta), head + 1);

    const number = await devnet.mine();
    assert.equal(number, head + 1);
    const block = await assertSameBlock(devnet.nodes, number);
    assert.deepEqual(block.transactions, [hash]);
    assert.equal(Number(block.timestamp), 1_767_225_600 + number);
    await assertSameBlock(devnet.nodes, await devnet.mine());
    assert.deepEqual(errors, []);
  });

  test("a node whose state was changed (anvil_setBalance) is reported as diverged; the others agree", async () => {
    const [alpha, beta, gamma] = devnet.nodes as [DevnetNode, DevnetNode, DevnetNode];
    await rpc(gamma).call("anvil_setBalance", [recipient, "0x0"]);
    const number = await devnet.mine();
    await assertSameBlock([alpha, beta], number);
    assert.notEqual((await blockOf(gamma, number)).stateRoot, (await blockOf(alpha, number)).stateRoot);
    assert.equal(devnet.nodeStatus(gamma.id).diverged, true);
    assert.deepEqual(
      errors.map((e) => [e.code, e.nodeId]),
      [["diverged", gamma.id]],
    );
    // It keeps its lie but also keeps pace.
    const next = await devnet.mine();
    assert.equal(await heightOf(gamma), next);
    errors.length = 0;
  });

  test("a killed node is skipped and reported; the others keep mining", async () => {
    const [alpha, beta] = devnet.nodes as [DevnetNode, DevnetNode, DevnetNode];
    process.kill(beta.pid, "SIGKILL");
    // The signal is asynchronous: wait until its port refuses connections.
    const deadline = Date.now() + 2_000;
    while (
      await rpc(beta)
        .call("eth_blockNumber")
        .then(
          () => true,
          () => false,
        )
    ) {
      assert.ok(Date.now() < deadline, "killed node still answers");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const number = await devnet.mine();
    await assertSameBlock([alpha], number);
    assert.equal(devnet.nodeStatus(beta.id).unreachable, true);
    assert.deepEqual(
      errors.map((e) => [e.code, e.nodeId]),
      [["unreachable", beta.id]],
    );
    // Reported once, not on every block.
    await devnet.mine();
    assert.equal(errors.length, 1);
  });

  test("stop() ends every anvil process and is idempotent", async () => {
    const pids = devnet.nodes.map((n) => n.pid);
    await Promise.all([devnet.stop(), devnet.stop()]);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
    await assert.rejects(devnet.mine(), /stopped/);
  });
});

test("with blockTimeMs the driver mines on its own, identically, until stopped", async () => {
  const errors: DevnetError[] = [];
  const devnet = await startDevnet({
    nodes: DOMAINS.slice(0, 2),
    blockTimeMs: 100,
    startTimestamp: 1_700_000_000,
    onError: (e) => errors.push(e),
  });
  try {
    const deadline = Date.now() + 5_000;
    while (devnet.head() < 4) {
      assert.ok(Date.now() < deadline, `head stuck at ${devnet.head()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const block = await assertSameBlock(devnet.nodes, 4);
    assert.equal(Number(block.timestamp), 1_700_000_000 + 4);
  } finally {
    await devnet.stop();
  }
  const head = devnet.head();
  for (const n of devnet.nodes) assert.equal(isAlive(n.pid), false);
  assert.equal(devnet.head(), head);
  assert.deepEqual(errors, []);
});

test("startDevnet rejects bad options before starting anything", async () => {
  await assert.rejects(startDevnet({ nodes: [] }), /nodes/);
  await assert.rejects(startDevnet({ nodes: [DOMAINS[0]!, DOMAINS[0]!] }), /duplicate/);
  await assert.rejects(startDevnet({ nodes: DOMAINS, blockTimeMs: -1 }), /blockTimeMs/);
});

test("under concurrent sends to single nodes while blocks are mined, every node ends on the same chain", async () => {
  const errors: DevnetError[] = [];
  const devnet = await startDevnet({ nodes: DOMAINS, onError: (e) => errors.push(e) });
  try {
    const perSender = 20;
    const hashes = new Set<string>();
    let sending = true;
    const miner = (async () => {
      while (sending) await devnet.mine();
    })();
    // Each sender sends its nonces in order, each to another node, while blocks keep being mined.
    await Promise.all(
      [sender, otherSender].map(async (account, k) => {
        for (let nonce = 0; nonce < perSender; nonce++) {
          const node = devnet.nodes[(nonce + k) % devnet.nodes.length]!;
          const raw = await signTransfer(account, nonce, 1n);
          hashes.add(await rpc(node).call<string>("eth_sendRawTransaction", [raw]));
        }
      }),
    );
    sending = false;
    await miner;
    // Whatever was still pending goes into the next block or two.
    await devnet.mine(2);
    const head = devnet.head();
    assert.ok(head > 2);
    const mined: string[] = [];
    for (let n = 1; n <= head; n++) mined.push(...(await assertSameBlock(devnet.nodes, n)).transactions);
    assert.equal(mined.length, hashes.size, "every transaction mined exactly once");
    assert.deepEqual(new Set(mined), hashes);
    for (const n of devnet.nodes) assert.equal(await heightOf(n), head);
  } finally {
    await devnet.stop();
  }
  // A repair spoiled by yet another arrival is retried on the next block; nothing else may go wrong.
  assert.deepEqual(
    errors.filter((e) => e.code !== "resync"),
    [],
  );
});

describe("reorgs on a devnet of three anvil nodes", () => {
  let devnet: Devnet;
  const errors: DevnetError[] = [];
  const nextNonce = nonceCounter();
  const transfer = async (account: typeof sender) =>
    devnet.sendRawTransaction(await signTransfer(account, nextNonce(account.address), 1n));

  async function hashesOf(node: DevnetNode, from: number, to: number): Promise<string[]> {
    const hashes: string[] = [];
    for (let n = from; n <= to; n++) hashes.push((await blockOf(node, n)).hash);
    return hashes;
  }

  async function blockByHash(node: DevnetNode, hash: string): Promise<Block | null> {
    return rpc(node).call<Block | null>("eth_getBlockByHash", [hash, false]);
  }

  async function receiptOf(node: DevnetNode, hash: string) {
    const receipt = await rpc(node).call<{ blockHash: string; blockNumber: string; status: string } | null>(
      "eth_getTransactionReceipt",
      [hash],
    );
    assert.ok(receipt, `no receipt for ${hash} on ${node.id}`);
    return receipt;
  }

  /** The new branch is on `nodes` (now at `height`) and the old one is gone from them. */
  async function assertReplaced(
    nodes: DevnetNode[],
    result: { orphaned: string[]; replacements: string[]; head: number },
    height = result.head,
  ): Promise<void> {
    const from = result.head - result.replacements.length + 1;
    for (const n of nodes) {
      assert.equal(await heightOf(n), height, `height of ${n.id}`);
      assert.deepEqual(await hashesOf(n, from, result.head), result.replacements, `branch on ${n.id}`);
      for (const h of result.orphaned) assert.equal(await blockByHash(n, h), null, `orphaned ${h} still on ${n.id}`);
    }
    for (let n = from; n <= result.head; n++) await assertSameBlock(nodes, n);
  }

  before(async () => {
    devnet = await startDevnet({ nodes: DOMAINS, onError: (e) => errors.push(e) });
  });
  after(async () => {
    await devnet?.stop();
  });

  for (const depth of [1, 3, 7]) {
    test(`a reorg of depth ${depth} replaces the last ${depth} blocks identically on every node`, async () => {
      // One transaction in the first block to be orphaned, one in the last: both move into the first replacement.
      const first = await transfer(sender);
      await devnet.mine();
      if (depth > 2) await devnet.mine(depth - 2);
      const last = depth > 1 ? await transfer(otherSender) : undefined;
      if (depth > 1) await devnet.mine();
      const head = devnet.head();
      const fork = head - depth;
      const orphaned = await hashesOf(devnet.nodes[0]!, fork + 1, head);
      const oldTimestamps = await Promise.all(
        Array.from({ length: depth }, async (_, i) =>
          Number((await blockOf(devnet.nodes[0]!, fork + 1 + i)).timestamp),
        ),
      );
      // A transaction only one node holds, not yet mined: it waits out the reorg in that node's pool.
      const pending = await rpc(devnet.nodes[1]!).call<string>("eth_sendRawTransaction", [
        await signTransfer(sender, nextNonce(sender.address), 1n),
      ]);

      const result = await devnet.reorg(depth);
      assert.equal(result.head, head);
      assert.equal(devnet.head(), head);
      assert.deepEqual(result.orphaned, orphaned);
      assert.equal(result.replacements.length, depth);
      for (const [i, h] of result.replacements.entries()) assert.notEqual(h, orphaned[i], `height ${fork + 1 + i}`);
      await assertReplaced(devnet.nodes, result);

      const replacement = await blockOf(devnet.nodes[0]!, fork + 1);
      assert.deepEqual(replacement.transactions, last ? [first, last] : [first]);
      for (const n of devnet.nodes) {
        for (const tx of last ? [first, last] : [first]) {
          const receipt = await receiptOf(n, tx);
          assert.equal(receipt.blockHash, result.replacements[0], `receipt of ${tx} on ${n.id}`);
          assert.equal(Number(receipt.blockNumber), fork + 1);
          assert.equal(receipt.status, "0x1");
        }
      }
      for (let i = 0; i < depth; i++) {
        assert.equal(Number((await blockOf(devnet.nodes[2]!, fork + 1 + i)).timestamp), oldTimestamps[i]! + 1);
      }

      // Mining goes on identically, from the new branch, and the pending transaction is not lost.
      const next = await devnet.mine();
      const block = await assertSameBlock(devnet.nodes, next);
      assert.deepEqual(block.transactions, [pending]);
      const parent = await blockOf(devnet.nodes[0]!, next - 1);
      assert.equal(parent.hash, result.replacements.at(-1));
      assert.equal(Number(block.timestamp), Number(parent.timestamp) + 1);
      await assertSameBlock(devnet.nodes, await devnet.mine());
      assert.deepEqual(errors, []);
    });
  }

  test("a node paused before a reorg keeps the old branch, then catches up onto the new one on resume", async () => {
    const [alpha, beta, gamma] = devnet.nodes as [DevnetNode, DevnetNode, DevnetNode];
    const tx = await transfer(sender);
    await devnet.mine(3);
    devnet.pause(gamma.id);
    const pausedAt = devnet.head();
    await devnet.mine(2);
    // Three of the orphaned blocks (the first holding `tx`) are on the paused node as well.
    const result = await devnet.reorg(5);
    assert.equal(await heightOf(gamma), pausedAt);
    assert.deepEqual(await hashesOf(gamma, pausedAt - 2, pausedAt), result.orphaned.slice(0, 3));
    await assertReplaced([alpha, beta], result);
    assert.equal((await receiptOf(alpha, tx)).blockHash, result.replacements[0]);

    // Blocks mined after the reorg carry the new timestamps: the replay must reproduce them too.
    const late = await transfer(otherSender);
    const head = await devnet.mine(2);
    await devnet.resume(gamma.id);
    assert.equal(await heightOf(gamma), head);
    await assertReplaced([alpha, beta, gamma], result, head);
    for (let n = result.head + 1; n <= head; n++) await assertSameBlock(devnet.nodes, n);
    assert.equal((await receiptOf(gamma, tx)).blockHash, result.replacements[0]);
    assert.equal((await receiptOf(gamma, late)).blockHash, (await blockOf(alpha, result.head + 1)).hash);
    assert.deepEqual(devnet.nodeStatus(gamma.id), { paused: false, inSync: true, diverged: false, unreachable: false });
    await assertSameBlock(devnet.nodes, await devnet.mine());
    assert.deepEqual(errors, []);
  });

  test("reorgs one after the other each give new hashes, and a later replay still matches", async () => {
    const gamma = devnet.nodes[2]!;
    devnet.pause(gamma.id);
    const first = await devnet.reorg(2);
    const second = await devnet.reorg(2);
    assert.equal(new Set([...first.orphaned, ...first.replacements, ...second.replacements]).size, 6);
    assert.deepEqual(second.orphaned, first.replacements);
    await devnet.resume(gamma.id);
    await assertReplaced(devnet.nodes, second);
    assert.deepEqual(errors, []);
  });

  test("reorg rejects a depth that is not an integer from 1 to the head", async () => {
    const head = devnet.head();
    for (const depth of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(devnet.reorg(depth), { name: "TypeError", message: /depth must be an integer >= 1/ });
    }
    await assert.rejects(devnet.reorg(head + 1), {
      name: "RangeError",
      message: new RegExp(`depth must be at most the head \\(${head}\\) and at most 256, got ${head + 1}`),
    });
    assert.equal(devnet.head(), head);
    await assertSameBlock(devnet.nodes, head);
  });
});

test("reorg rejects a depth beyond DEVNET_MAX_RESYNC_DEPTH even when the chain is longer", async () => {
  const devnet = await startDevnet({ nodes: DOMAINS.slice(0, 1) });
  try {
    await devnet.mine(DEVNET_MAX_RESYNC_DEPTH);
    assert.ok(devnet.head() > DEVNET_MAX_RESYNC_DEPTH);
    await assert.rejects(devnet.reorg(DEVNET_MAX_RESYNC_DEPTH + 1), {
      name: "RangeError",
      message: /at most 256, got 257/,
    });
    const result = await devnet.reorg(DEVNET_MAX_RESYNC_DEPTH);
    assert.equal(result.replacements.length, DEVNET_MAX_RESYNC_DEPTH);
  } finally {
    await devnet.stop();
  }
});
