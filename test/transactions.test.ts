/**
 * Sending transactions through Multihome on real anvil nodes: the hash is computed locally, the transaction is in the
 * outbox before any upstream sees it, it goes out through several domains at once, identical sends share one
 * broadcast, and cut connections after an upstream took it lose nothing (FAULTS A18).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Hex, keccak256, parseEther, parseGwei } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { exemptFromCanaryGuard } from "./harness/canary-guard.ts";
import { CANARY, startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

let net: TestNetwork;

before(async () => {
  net = await startTestNetwork({
    config: {
      transactions: { rebroadcastIntervalMs: 200 },
      routing: { attemptTimeoutMs: 500 },
    },
  });
});
after(() => net?.stop());

/** Calls of these methods the upstreams have seen since the last resetStats. */
const upstreamCalls = (methods: string[]) =>
  [...net.proxies.values()].reduce(
    (n, p) => n + methods.reduce((m, method) => m + (p.stats().byMethod[method] ?? 0), 0),
    0,
  );
const sends = () => upstreamCalls(["eth_sendRawTransaction"]);

/** Whether every node holds the transaction (so whichever mines, mines it). */
async function everyNodeHolds(hash: Hex): Promise<boolean> {
  const found = await Promise.all(net.devnet.nodes.map((_, i) => net.direct("eth_getTransactionByHash", [hash], i)));
  return found.every((tx) => tx !== null);
}

async function nonceOf(address: string): Promise<number> {
  return Number(BigInt((await net.direct("eth_getTransactionCount", [address, "latest"])) as string));
}

/** A signed transfer of 1 wei from dev account `from` with `nonce`. */
async function transfer(from: number, nonce: number, chainId = net.chainId): Promise<Hex> {
  const account = privateKeyToAccount(net.devnet.accounts[from]!.privateKey);
  return account.signTransaction({
    chainId,
    nonce,
    to: net.devnet.accounts[9]!.address,
    value: 1n,
    gas: 21_000n,
    maxFeePerGas: parseGwei("20"),
    maxPriorityFeePerGas: parseGwei("1"),
  });
}

async function status(hash: string) {
  const res = await fetch(`${net.baseUrl}/v1/chains/${net.chainId}/transactions/${hash}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test("a send answers the locally computed hash, goes out through several domains, and is tracked until included", async () => {
  const from = net.devnet.accounts[1]!.address;
  const raw = await transfer(1, await nonceOf(from));
  net.resetStats();
  const reply = await net.rpc("eth_sendRawTransaction", [raw]);
  assert.equal(reply.body.result, keccak256(raw));
  await waitFor(() => sends() >= 2, { timeoutMs: 5_000, what: "the broadcast to reach a second domain" });
  const reached = [...net.proxies.entries()].filter(([, p]) => (p.stats().byMethod.eth_sendRawTransaction ?? 0) > 0);
  assert.ok(reached.length >= 2, `broadcast reached ${reached.map(([id]) => id).join(", ")}`);

  const pending = await status(keccak256(raw));
  assert.equal(pending.status, 200);
  assert.equal(pending.body.status, "pending");
  assert.equal(pending.body.from, from.toLowerCase());
  // The pending nonce counts it; the mined one does not yet.
  const next = await net.rpc("eth_getTransactionCount", [from, "pending"]);
  assert.equal(BigInt(next.body.result as string), BigInt(await nonceOf(from)) + 1n);

  await net.devnet.mine();
  await waitFor(async () => (await status(keccak256(raw))).body.status === "included", {
    timeoutMs: 10_000,
    what: "the outbox to see the transaction included",
  });
  const included = await status(keccak256(raw));
  const receipt = (await net.direct("eth_getTransactionReceipt", [keccak256(raw)])) as {
    blockNumber: string;
    blockHash: string;
  };
  assert.deepEqual(included.body.block, { number: Number(BigInt(receipt.blockNumber)), hash: receipt.blockHash });
});

test("a mined transaction whose receipt cannot be read for a while is not called replaced, and is included once it can", async () => {
  const from = net.devnet.accounts[0]!.address;
  const raw = await transfer(0, await nonceOf(from));
  const hash = keccak256(raw);
  assert.equal((await net.rpc("eth_sendRawTransaction", [raw])).body.result, hash);
  await waitFor(() => everyNodeHolds(hash), { timeoutMs: 10_000, what: "every node to hold the transaction" });
  // Receipts go unanswered while the nonce reads still work: the nonce is used, and whether by this transaction
  // cannot be known.
  const receiptMethods = ["eth_getTransactionReceipt", "eth_getBlockReceipts"];
  for (const p of net.proxies.values()) await p.setFault({ fault: { kind: "blackhole" }, methods: receiptMethods });
  try {
    await net.devnet.mine();
    net.resetStats();
    // A round of the outbox that asked for the receipt in vain and went on to rebroadcast (as a pending transaction
    // is): it did not call the transaction replaced. Twice, so that the second round began after the block was mined.
    for (let round = 0; round < 2; round++) {
      const asked = upstreamCalls(receiptMethods);
      await waitFor(() => upstreamCalls(receiptMethods) > asked, {
        timeoutMs: 10_000,
        what: "the outbox to ask for the receipt",
      });
      const sent = sends();
      await waitFor(() => sends() > sent, {
        timeoutMs: 20_000,
        what: "the outbox to rebroadcast after a receipt it could not read (none comes once it is not pending)",
      });
    }
    assert.equal((await status(hash)).body.status, "pending", "a receipt it could not read is no proof of replacement");
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
  }
  await waitFor(async () => (await status(hash)).body.status === "included", {
    timeoutMs: 10_000,
    what: "the outbox to see it included once receipts can be read",
  });
});

test("refused before any upstream sees it: another chain, no replay protection, not a transaction", async () => {
  const account = privateKeyToAccount(net.devnet.accounts[2]!.privateKey);
  const unprotected = await account.signTransaction({
    nonce: 0,
    to: account.address,
    gas: 21_000n,
    gasPrice: 1n,
    type: "legacy",
  });
  net.resetStats();
  const cases: [string, string, number][] = [
    ["another chain", await transfer(2, 0, 1), -32003],
    ["no replay protection", unprotected, -32003],
    ["not a transaction", "0x02f86c827a6980843b9aca00847735940082520894", -32602],
    ["not hex", "0xzz", -32602],
  ];
  for (const [what, raw, code] of cases) {
    const reply = await net.rpc("eth_sendRawTransaction", [raw]);
    assert.equal(reply.status, 200, what);
    assert.equal(reply.body.error?.code, code, `${what}: ${JSON.stringify(reply.body)}`);
  }
  assert.equal(sends(), 0, "no upstream was asked");
});

test("a transaction the chain refuses gets the chain's error, and the outbox says why", async () => {
  // A fresh key with no funds.
  const poor = privateKeyToAccount(`0x${"42".repeat(32)}`);
  const raw = await poor.signTransaction({
    chainId: net.chainId,
    nonce: 0,
    to: poor.address,
    value: parseEther("1"),
    gas: 21_000n,
    maxFeePerGas: parseGwei("20"),
    maxPriorityFeePerGas: parseGwei("1"),
  });
  const reply = await net.rpc("eth_sendRawTransaction", [raw]);
  assert.ok(reply.body.error, JSON.stringify(reply.body));
  const data = reply.body.error.data as { multihomeCode?: string } | undefined;
  assert.equal(data?.multihomeCode, undefined, "the chain's own error, passed through");
  const after = await status(keccak256(raw));
  assert.equal(after.body.status, "expired");
  assert.match(String(after.body.lastError), /insufficient funds|funds/i);
});

test("a refusal that echoes an upstream's key reaches neither the client nor the outbox with the key", async () => {
  const from = net.devnet.accounts[1]!.address;
  const raw = await transfer(1, await nonceOf(from));
  // The proxies play upstreams that echo their key on purpose: only what the gateway serves must be free of it.
  const releases = [...net.proxies.values()].map((p) => exemptFromCanaryGuard(p));
  for (const p of net.proxies.values())
    await p.setFault({
      fault: { kind: "rpcError", code: -32000, message: `insufficient funds (node /v3/${CANARY})` },
      methods: ["eth_sendRawTransaction"],
    });
  try {
    const reply = await net.rpc("eth_sendRawTransaction", [raw]);
    assert.ok(reply.body.error, JSON.stringify(reply.body));
    assert.equal(JSON.stringify(reply.body).includes(CANARY), false, JSON.stringify(reply.body));
    const after = await status(keccak256(raw));
    assert.equal(after.body.status, "expired");
    assert.equal(JSON.stringify(after.body).includes(CANARY), false, JSON.stringify(after.body));
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
    for (const release of releases) release();
  }
});

test("100 identical concurrent sends: one broadcast round, one hash, no errors", async () => {
  const from = net.devnet.accounts[3]!.address;
  const raw = await transfer(3, await nonceOf(from));
  net.resetStats();
  const startedAt = Date.now();
  const replies = await Promise.all(Array.from({ length: 100 }, () => net.rpc("eth_sendRawTransaction", [raw])));
  assert.deepEqual(new Set(replies.map((r) => r.body.result)), new Set([keccak256(raw)]));
  // One broadcast round for the 100; the outbox's own rounds (every 200 ms here) add one per interval that passed
  // until the status is read, however slow the machine — never one per client send.
  const rounds = (await status(keccak256(raw))).body.broadcasts as number;
  const ownRounds = Math.ceil((Date.now() - startedAt) / 200) + 1;
  assert.ok(rounds >= 1 && rounds <= 1 + ownRounds, `${rounds} broadcast rounds (${ownRounds} of the outbox's own)`);
  assert.ok(sends() <= 3 * rounds, `${sends()} upstream sends in ${rounds} rounds for 100 identical client sends`);
  await net.devnet.mine();
});

test("unknown transaction: 404; a malformed hash: 400; an unknown chain: 404", async () => {
  assert.equal((await status(`0x${"00".repeat(32)}`)).status, 404);
  assert.equal((await status("0x1234")).status, 400);
  const res = await fetch(`${net.baseUrl}/v1/chains/999/transactions/0x${"00".repeat(32)}`);
  assert.equal(res.status, 404);
});

test("A18: 1,000 sends with 30% of upstream answers cut after the upstream took the transaction: 0 lost, 0 mined twice, 0 errors", async (t) => {
  const senders = [4, 5, 6, 7, 8];
  const perSender = 200;
  const start = new Map<number, number>();
  for (const s of senders) start.set(s, await nonceOf(net.devnet.accounts[s]!.address));
  for (const p of net.proxies.values())
    await p.setFault({ fault: { kind: "postAcceptTimeout" }, ratio: 0.3, methods: ["eth_sendRawTransaction"] });
  net.resetStats();
  const hashes: Hex[] = [];
  const errors: string[] = [];
  const begun = Date.now();
  try {
    await Promise.all(
      senders.map(async (s) => {
        for (let i = 0; i < perSender; i++) {
          const raw = await transfer(s, start.get(s)! + i);
          const reply = await net.rpc("eth_sendRawTransaction", [raw]);
          if (reply.body.result !== keccak256(raw)) errors.push(JSON.stringify(reply.body.error?.data).slice(0, 300));
          hashes.push(keccak256(raw));
        }
      }),
    );
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
  }
  // Cut answers that never happened prove nothing: the proxies count the sends they took and did not answer.
  const cut = [...net.proxies.values()].reduce((n, p) => n + p.stats().faulted, 0);
  t.diagnostic(`A18: ${hashes.length} sends in ${Date.now() - begun} ms, ${errors.length} errors, ${cut} answers cut`);
  assert.ok(cut > 0, "no upstream answer to a send was cut");
  assert.deepEqual(errors.slice(0, 5), [], `${errors.length} errors`);
  await net.devnet.mine();
  // Every sender's nonce moved by exactly what it sent: each transaction mined once, none lost.
  for (const s of senders) {
    assert.equal(await nonceOf(net.devnet.accounts[s]!.address), start.get(s)! + perSender, `sender ${s}`);
  }
  let mined = 0;
  for (const hash of hashes) if (await net.direct("eth_getTransactionReceipt", [hash])) mined++;
  t.diagnostic(`A18: ${mined} of ${hashes.length} mined, 0 lost`);
  assert.equal(mined, hashes.length);
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A gateway in its own process, so it can be killed like a crashed VM. */
async function startChild(configPath: string, url: string): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, "../src/cli/main.ts"), "start", "--config", configPath],
    {
      stdio: "ignore",
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, {
    timeoutMs: 15_000,
    what: "the gateway process to be ready",
  });
  return { child, exited };
}

test("a gateway killed with -9 while a transaction is pending rebroadcasts it after restart, and it is included", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "multihome-outbox-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configPath = join(dir, "multihome.json");
  writeFileSync(
    configPath,
    JSON.stringify({
      // One process, killed as a crashed VM would be (workers have their own crash tests: test/workers.test.ts).
      server: { host: "127.0.0.1", port, workers: 1 },
      store: { kind: "sqlite", path: join(dir, "state.db") },
      log: { level: "silent" },
      transactions: { rebroadcastIntervalMs: 200 },
      routing: { attemptTimeoutMs: 300 },
      chains: [{ chainId: net.chainId, upstreams: net.config.chains[0]!.upstreams }],
    }),
  );
  let running = await startChild(configPath, url);
  t.after(async () => {
    const { child, exited } = running;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  const from = net.devnet.accounts[2]!.address;
  const raw = await transfer(2, await nonceOf(from));
  const hash = keccak256(raw);
  // Every upstream swallows sends: the transaction is recorded, but nobody has it yet.
  for (const p of net.proxies.values())
    await p.setFault({ fault: { kind: "blackhole" }, methods: ["eth_sendRawTransaction"] });
  try {
    const reply = await fetch(`${url}/rpc/${net.chainId}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_sendRawTransaction", params: [raw] }),
    });
    const body = (await reply.json()) as { error?: { code: number; data?: { transactionHash?: string } } };
    assert.equal(body.error?.code, -32002, "not taken yet: said so, with its hash");
    assert.equal(body.error?.data?.transactionHash, hash);
    running.child.kill("SIGKILL");
    await running.exited;
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
  }
  assert.equal(await net.direct("eth_getTransactionByHash", [hash]), null, "no node has it before the restart");
  running = await startChild(configPath, url);
  // Every node must hold it before the block is mined: a node without it would mine a different block, and the
  // chain would split under the gateway.
  await waitFor(() => everyNodeHolds(hash), {
    timeoutMs: 30_000,
    what: "the restarted gateway to rebroadcast it to every node",
  });
  await net.devnet.mine();
  // What the gateway last said, and each node's head: named in the failure if inclusion is never seen.
  let lastStatus = "";
  try {
    await waitFor(
      async () => {
        lastStatus = await (await fetch(`${url}/v1/chains/${net.chainId}/transactions/${hash}`)).text();
        return (JSON.parse(lastStatus) as { status?: string }).status === "included";
      },
      { timeoutMs: 30_000, what: "the restarted gateway to see it included" },
    );
  } catch (error) {
    const heads = await Promise.all(
      net.devnet.nodes.map((_, i) => net.direct("eth_getBlockByNumber", ["latest", false], i)),
    );
    const ready = await (await fetch(`${url}/readyz`)).text();
    const nodes = heads.map((b) => `${(b as { number: string; hash: string }).number} ${(b as { hash: string }).hash}`);
    throw new Error(
      `${(error as Error).message}; last status ${lastStatus}; nodes at ${nodes.join(", ")}; readyz ${ready}`,
    );
  }
  assert.ok(await net.direct("eth_getTransactionReceipt", [hash]));
});
