import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startFaultProxy } from "../../test/harness/fault-proxy.ts";
import { freePort } from "../../test/harness/transport-kit.ts";
import { waitFor } from "../../test/harness/wait.ts";
import { type Devnet, startDevnet } from "../devnet/devnet.ts";
import {
  createEip1193Provider,
  EIP1193_CONNECT_WAIT_MS,
  EIP1193_UNAUTHORIZED,
  EIP1193_UNSUPPORTED_METHOD,
  ProviderRpcError,
} from "./eip1193.ts";
import { createMultihome, type Multihome, MultihomeRpcError } from "./multihome.ts";

const NODES = [
  { id: "a", domain: { operator: "vendor-a", hosting: "aws", region: "us-east-1" } },
  { id: "b", domain: { operator: "vendor-b", hosting: "gcp", region: "europe-west1" } },
];
const READY_TIMEOUT_MS = 10_000;

let devnet: Devnet;
const engines: Multihome[] = [];

function engine(): Multihome {
  const mh = createMultihome({
    chainId: devnet.chainId,
    upstreams: devnet.nodes.map((n) => ({ id: n.id, url: n.url, domain: n.domain })),
    settings: { health: { headPollIntervalMs: 250 } },
  });
  engines.push(mh);
  return mh;
}

before(async () => {
  devnet = await startDevnet({ nodes: NODES });
});
after(async () => {
  for (const mh of engines) await mh.close();
  await devnet?.stop();
});

test("holds no accounts: eth_accounts is [], eth_requestAccounts is 4100, and no upstream is asked", async () => {
  const mh = engine();
  const asked: string[] = [];
  mh.onAnswer((event) => asked.push(event.method));
  const provider = createEip1193Provider(mh);
  assert.equal(provider.multihome, mh);
  assert.deepEqual(await provider.request({ method: "eth_accounts" }), []);
  await assert.rejects(provider.request({ method: "eth_requestAccounts" }), (error: unknown) => {
    assert.ok(error instanceof ProviderRpcError);
    assert.equal(error.code, EIP1193_UNAUTHORIZED);
    assert.equal(error.code, 4100);
    return true;
  });
  assert.deepEqual(asked, []);
});

test("asking it to sign or act as a wallet is 4200 (unsupported), never forwarded", async () => {
  const mh = engine();
  const asked: string[] = [];
  mh.onAnswer((event) => asked.push(event.method));
  const provider = createEip1193Provider(mh);
  const from = devnet.accounts[0]!.address;
  const calls = [
    { method: "eth_sendTransaction", params: [{ from, to: from, value: "0x1" }] },
    { method: "eth_sign", params: [from, "0x00"] },
    { method: "eth_signTypedData_v4", params: [from, "{}"] },
    { method: "personal_sign", params: ["0x00", from] },
    { method: "wallet_switchEthereumChain", params: [{ chainId: "0x1" }] },
    { method: "wallet_addEthereumChain", params: [{ chainId: "0x1" }] },
    { method: "wallet_requestPermissions", params: [{ eth_accounts: {} }] },
  ];
  for (const call of calls) {
    await assert.rejects(
      provider.request(call),
      (error: unknown) =>
        error instanceof ProviderRpcError && error.code === EIP1193_UNSUPPORTED_METHOD && error.code === 4200,
      call.method,
    );
  }
  assert.deepEqual(asked, []);
  // Nothing was sent on the sender's behalf.
  assert.ok((await mh.ready(READY_TIMEOUT_MS)).ready);
  const nonce = await provider.request({ method: "eth_getTransactionCount", params: [from, "latest"] });
  assert.equal(nonce, "0x0");
});

test("every other method is forwarded to the engine: results as the chain gives them, errors with their code", async () => {
  const mh = engine();
  const asked: string[] = [];
  mh.onAnswer((event) => asked.push(event.method));
  const provider = createEip1193Provider(mh);
  assert.ok((await mh.ready(READY_TIMEOUT_MS)).ready);
  assert.equal(await provider.request({ method: "eth_chainId" }), "0x7a69");
  const head = await provider.request({ method: "eth_blockNumber" });
  assert.equal(head, `0x${devnet.head().toString(16)}`);
  const balance = await provider.request({
    method: "eth_getBalance",
    params: [devnet.accounts[1]!.address, "latest"],
  });
  assert.equal(BigInt(balance as string), 10_000n * 10n ** 18n);
  await assert.rejects(provider.request({ method: "eth_noSuchMethod", params: [] }), (error: unknown) => {
    assert.ok(error instanceof MultihomeRpcError, String(error));
    assert.equal(error.code, -32601);
    return true;
  });
  assert.deepEqual(asked, ["eth_chainId", "eth_blockNumber", "eth_getBalance", "eth_noSuchMethod"]);
});

test("`connect` fires once, with the chain id, when the engine has an agreed head; a removed listener is not told", async () => {
  const mh = engine();
  const provider = createEip1193Provider(mh);
  const events: unknown[] = [];
  const removed: unknown[] = [];
  const removedListener = (info: unknown) => removed.push(info);
  provider.on("connect", (info) => events.push(info));
  provider.on("connect", removedListener).removeListener("connect", removedListener);
  assert.ok((await mh.ready(READY_TIMEOUT_MS)).ready);
  await waitFor(() => events.length > 0, { timeoutMs: READY_TIMEOUT_MS, what: "the connect event" });
  assert.deepEqual(events, [{ chainId: "0x7a69" }]);
  assert.deepEqual(removed, []);
  await devnet.mine();
  await waitFor(() => mh.status().head?.number === devnet.head(), {
    timeoutMs: READY_TIMEOUT_MS,
    what: "the new head",
  });
  assert.equal(await provider.request({ method: "eth_blockNumber" }), `0x${devnet.head().toString(16)}`);
  assert.equal(events.length, 1, "connect is told once, not per block");
});

test("no `connect` while no head can be agreed (one reachable domain, the other refusing)", async () => {
  const mh = createMultihome({
    chainId: devnet.chainId,
    upstreams: [
      { id: "a", url: devnet.nodes[0]!.url, domain: NODES[0]!.domain },
      { id: "gone", url: `http://127.0.0.1:${await freePort()}/`, domain: NODES[1]!.domain },
    ],
    settings: { health: { headPollIntervalMs: 250 } },
  });
  engines.push(mh);
  const provider = createEip1193Provider(mh);
  const events: unknown[] = [];
  provider.on("connect", (info) => events.push(info));
  // Longer than two of the provider's waits for a head: one that emitted after a wait regardless of its outcome would
  // have been seen by now.
  const { ready, status } = await mh.ready(EIP1193_CONNECT_WAIT_MS * 2.5);
  assert.equal(ready, false, JSON.stringify(status));
  assert.deepEqual(events, []);
});

test("a provider made once every upstream has gone silent waits for a head without starving the event loop", async (t) => {
  const proxies = await Promise.all(devnet.nodes.map((n, i) => startFaultProxy({ target: n.url, seed: i + 1 })));
  t.after(async () => {
    for (const p of proxies) await p.close();
  });
  const mh = createMultihome({
    chainId: devnet.chainId,
    upstreams: devnet.nodes.map((n, i) => ({ id: n.id, url: proxies[i]!.url, domain: n.domain })),
    settings: { health: { headPollIntervalMs: 250 } },
  });
  engines.push(mh);
  assert.equal((await mh.ready(READY_TIMEOUT_MS)).ready, true);
  for (const p of proxies) await p.setFault({ fault: { kind: "down" } });
  await waitFor(() => !mh.status().ready && mh.status().head !== undefined, {
    timeoutMs: READY_TIMEOUT_MS,
    what: "a known head with no upstream heard from",
  });
  // Here ready() used to return at once (a head is known), so the provider's wait for `connect` spun on promises
  // and no timer or socket ever ran again: this turn of the event loop would never come.
  createEip1193Provider(mh);
  await new Promise((resolve) => setImmediate(resolve));
  const started = mh.ready(EIP1193_CONNECT_WAIT_MS);
  assert.equal((await started).ready, false);
});
