/**
 * The gateway end to end on real anvil nodes: the contract of DESIGN.md (endpoints, headers, errors), real clients
 * (viem, plain fetch), batches and id fidelity, and how body limits (FAULTS.md B13, B16) cut a connection; the whole
 * B table is security.test.ts.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { createPublicClient, createWalletClient, defineChain, http, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { exemptFromCanaryGuard } from "./harness/canary-guard.ts";
import { CANARY, startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

/** Methods the gateway itself sends in the background (head polls, chain checks). */
const BACKGROUND = new Set(["eth_getBlockByNumber", "eth_chainId"]);

let net: TestNetwork;

function clientCalls(): number {
  let total = 0;
  for (const p of net.proxies.values()) {
    for (const [method, n] of Object.entries(p.stats().byMethod)) if (!BACKGROUND.has(method)) total += n;
  }
  return total;
}

async function post(body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(net.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}

before(async () => {
  net = await startTestNetwork();
  await net.devnet.mine(2);
  await waitFor(() => net.app.engine.readiness().chains[0]!.head?.number === net.devnet.head(), {
    timeoutMs: 5_000,
    what: "the agreed head to catch up with the devnet",
  });
});
after(async () => {
  await net?.stop();
});

describe("contract", () => {
  test("healthz and readyz", async () => {
    const health = await fetch(`${net.baseUrl}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${net.baseUrl}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { ready: boolean; chains: { upstreams: { admission: string }[] }[] };
    assert.equal(body.ready, true);
    assert.deepEqual(
      body.chains[0]!.upstreams.map((u) => u.admission),
      ["admitted", "admitted", "admitted"],
    );
  });

  test("viem reads through the gateway: chain id, block number, balance with evidence headers", async () => {
    const client = createPublicClient({ transport: http(net.rpcUrl) });
    assert.equal(await client.getChainId(), net.chainId);
    const head = await client.getBlockNumber({ cacheTime: 0 });
    assert.equal(Number(head), net.devnet.head());
    const account = net.devnet.accounts[0]!;
    const balance = await client.getBalance({ address: account.address });
    assert.ok(balance > 0n);
    const reply = await net.rpc("eth_getBalance", [account.address, "latest"]);
    assert.equal(reply.headers.get("multihome-block"), String(net.devnet.head()));
    assert.equal(reply.headers.get("multihome-verified"), "proof");
  });

  test("POST / serves the only chain; unknown chain is 404", async () => {
    const res = await fetch(`${net.baseUrl}/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "eth_chainId", params: [] }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { jsonrpc: "2.0", id: 7, result: `0x${net.chainId.toString(16)}` });
    const other = await fetch(`${net.baseUrl}/rpc/999`, {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId" }),
    });
    assert.equal(other.status, 404);
  });

  test("a signed transaction goes out through several domains at once and is mined once, on every node identically", async () => {
    const account = privateKeyToAccount(net.devnet.accounts[1]!.privateKey);
    const chain = defineChain({
      id: net.chainId,
      name: "devnet",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [net.rpcUrl] } },
    });
    const wallet = createWalletClient({ account, chain, transport: http(net.rpcUrl) });
    const to = net.devnet.accounts[2]!.address;
    const before = clientCalls();
    const hash = await wallet.sendTransaction({ to, value: parseEther("1") });
    const sends = () =>
      [...net.proxies.values()].reduce((n, p) => n + (p.stats().byMethod.eth_sendRawTransaction ?? 0), 0);
    await waitFor(() => sends() >= 2, { timeoutMs: 5_000, what: "the broadcast to reach a second domain" });
    assert.ok(clientCalls() > before);
    await net.devnet.mine();
    const client = createPublicClient({ chain, transport: http(net.rpcUrl) });
    const receipt = await client.getTransactionReceipt({ hash });
    assert.equal(receipt.status, "success");
  });

  test("a failed call is an answer: run here over proven state, agreed by one upstream, passed through, not retried elsewhere", async () => {
    net.resetStats();
    // Calling a contract-less address with data returns 0x; a call with value beyond the balance fails in execution.
    const reply = await net.rpc("eth_call", [
      {
        from: net.devnet.accounts[3]!.address,
        to: net.devnet.accounts[4]!.address,
        value: "0xffffffffffffffffffffffffffffffff",
      },
      "latest",
    ]);
    assert.equal(reply.status, 200);
    assert.ok(reply.body.error, JSON.stringify(reply.body));
    assert.equal(reply.headers.get("multihome-verified"), "proof");
    // Every byte of the answer is the local run's, not the words of the upstream it was compared with.
    assert.deepEqual(reply.body.error, { code: -32000, message: "insufficient balance" });
    // One upstream's call (a hedge may ask a second when it is slow), which the local run bears out: a failure both
    // give is the answer, not a reason to retry elsewhere or to ask a quorum.
    assert.ok(net.upstreamRequests("eth_call") <= 2, `${net.upstreamRequests("eth_call")} eth_call requests`);
  });
});

describe("batches and ids", () => {
  test("batch items are answered in order with their own ids, including ids beyond 2^53", async () => {
    const body = `[{"jsonrpc":"2.0","id":9007199254740993,"method":"eth_chainId"},{"jsonrpc":"2.0","id":"abc","method":"eth_blockNumber"},{"jsonrpc":"2.0","id":1755648000000000123,"method":"net_version"}]`;
    const r = await post(body);
    assert.equal(r.status, 200);
    assert.match(
      r.text,
      /^\[\{"jsonrpc":"2.0","id":9007199254740993,"result":"0x7a69"\},\{"jsonrpc":"2.0","id":"abc","result":"0x[0-9a-f]+"\},\{"jsonrpc":"2.0","id":1755648000000000123,"result":"31337"\}\]$/,
    );
  });

  test("B7: fractional and negative-zero ids are rejected", async () => {
    for (const id of ["1.5", "-0"]) {
      const r = await post(`{"jsonrpc":"2.0","id":${id},"method":"eth_chainId"}`);
      assert.equal(r.status, 400);
      assert.equal(r.json.error.code, -32600);
      assert.equal(r.json.id, null);
    }
  });

  test("B18: a mixed batch forwards only the valid item", async () => {
    net.resetStats();
    const address = net.devnet.accounts[0]!.address;
    const r = await post(
      JSON.stringify([
        { jsonrpc: "2.0", method: "subtract", params: [42, 23], id: 1 },
        { jsonrpc: "2.0", method: "eth_getBalance", params: [address, "latest"], id: 2 },
        123,
      ]),
    );
    assert.equal(r.status, 200);
    assert.equal(r.json.length, 3);
    assert.equal(r.json[0].id, 1);
    assert.equal(r.json[0].error.code, -32601);
    assert.equal(r.json[1].id, 2);
    assert.match(r.json[1].result, /^0x[0-9a-f]+$/);
    assert.equal(r.json[2].id, null);
    assert.equal(r.json[2].error.code, -32600);
    assert.equal(clientCalls(), 1);
  });
});

// Every FAULTS.md B case as a table is in security.test.ts; these check how the body limits cut the connection.
describe("bad input: body limits", () => {
  test("B16: batch over the limit says why", async () => {
    const r = await post(
      JSON.stringify(Array.from({ length: 101 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "eth_chainId" }))),
    );
    assert.equal(r.status, 413);
    assert.equal(r.json.error.data.reason, "too many calls in batch");
  });

  test("B13: a body over the limit with Content-Length is refused before it is read, and the connection closed", async () => {
    const url = new URL(net.rpcUrl);
    const socket = connect(Number(url.port), url.hostname);
    const declared = 100 * 1024 * 1024;
    socket.write(
      `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
    );
    socket.write("[".repeat(1024));
    let response = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      response += d;
    });
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    assert.match(response, /^HTTP\/1.1 413 /);
    assert.match(response, /request body too large/);
    assert.match(response, /-32005/);
  });

  test("B13: a chunked body that grows past the limit is cut off with 413", async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(big);
        controller.close();
      },
    });
    const res = await fetch(net.rpcUrl, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    assert.equal(res.status, 413);
  });

  test("GET on the RPC path is 405; an unknown path is 404", async () => {
    assert.equal((await fetch(net.rpcUrl)).status, 405);
    assert.equal((await fetch(`${net.baseUrl}/nope`)).status, 404);
  });
});

test("an upstream error that echoes the upstream's key is passed through with the key redacted", async () => {
  // The proxies play upstreams that echo their key on purpose: only what the gateway serves must be free of it.
  const releases = [...net.proxies.values()].map((p) => exemptFromCanaryGuard(p));
  for (const p of net.proxies.values()) {
    await p.setFault({
      fault: {
        kind: "rpcError",
        code: -32000,
        message: `execution reverted: bad key /v3/${CANARY}`,
        data: { key: CANARY },
      },
      methods: ["eth_call"],
    });
  }
  try {
    const reply = await net.rpc("eth_call", [{ to: net.devnet.accounts[1]!.address, data: "0x" }, "latest"]);
    assert.equal(reply.body.error?.code, -32000);
    const text = JSON.stringify(reply.body);
    assert.equal(text.includes(CANARY), false, text);
    assert.match(text, /\[redacted\]/);
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
    for (const release of releases) release();
  }
});

test("the canary secret in every upstream URL appears in no log line", () => {
  const all = net.logs.join("");
  assert.ok(net.logs.length > 0);
  assert.equal(all.includes(CANARY), false);
});
