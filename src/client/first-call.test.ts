/**
 * The first call: an app creates the client and calls at once, as it would with viem's `http()`. Until the first head
 * is agreed such a call waits for it (event-driven, within the engine's request deadline); once one has been agreed,
 * an outage is answered at once, as before. Real anvil nodes, in two independent domains.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createPublicClient, type Hex } from "viem";
import { startFaultProxy } from "../../test/harness/fault-proxy.ts";
import { waitFor } from "../../test/harness/wait.ts";
import { type Devnet, startDevnet } from "../devnet/devnet.ts";
import { createEip1193Provider } from "./eip1193.ts";
import { type ClientSettings, type ClientUpstream, createMultihome, type Multihome } from "./multihome.ts";
import { multihome } from "./viem.ts";

const NODES = [
  { id: "a", domain: { operator: "vendor-a", hosting: "aws", region: "us-east-1" } },
  { id: "b", domain: { operator: "vendor-b", hosting: "gcp", region: "europe-west1" } },
];
/** Generous for a loaded machine: the first head normally takes one round of head polls. */
const SETTINGS: ClientSettings = { routing: { requestTimeoutMs: 20_000 }, health: { headPollIntervalMs: 250 } };
const READY_TIMEOUT_MS = 10_000;

let devnet: Devnet;
const engines: Multihome[] = [];

const upstreams = (): ClientUpstream[] => devnet.nodes.map((n) => ({ id: n.id, url: n.url, domain: n.domain }));
const balanceOf = async (address: string): Promise<Hex> => {
  const response = await fetch(devnet.nodes[0]!.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBalance", params: [address, "latest"] }),
  });
  return ((await response.json()) as { result: Hex }).result;
};

/** A check for waitFor: the promise's value once it has settled (a call that waits too long fails the wait). */
function settledLater<T>(promise: Promise<T>): () => T | undefined {
  let value: T | undefined;
  void promise.then((v) => {
    value = v;
  });
  return () => value;
}

before(async () => {
  devnet = await startDevnet({ nodes: NODES });
  // Genesis has the empty state root: a balance is proven from block 1 on.
  await devnet.mine();
});
after(async () => {
  for (const mh of engines) await mh.close();
  await devnet?.stop();
});

test("viem over multihome(): getBalance right after the client is created is answered, proven", async () => {
  const client = createPublicClient({
    transport: multihome({ chainId: devnet.chainId, upstreams: upstreams(), settings: SETTINGS }),
  });
  const mh = client.transport.multihome;
  engines.push(mh);
  const evidence: string[] = [];
  mh.onAnswer((event) => evidence.push(event.answer.evidence.verified));
  const address = devnet.accounts[1]!.address;
  assert.equal(mh.status().head, undefined, "no head agreed yet when the call is made");
  const balance = await client.getBalance({ address });
  assert.equal(balance, BigInt(await balanceOf(address)));
  assert.deepEqual(evidence, ["proof"]);
});

test("the EIP-1193 provider: a read right after it is created is answered", async () => {
  const mh = createMultihome({ chainId: devnet.chainId, upstreams: upstreams(), settings: SETTINGS });
  engines.push(mh);
  const provider = createEip1193Provider(mh);
  const address = devnet.accounts[2]!.address;
  assert.equal(mh.status().head, undefined);
  assert.equal(
    await provider.request({ method: "eth_getBalance", params: [address, "latest"] }),
    await balanceOf(address),
  );
});

test("the engine's own API: call, request and account made at once are answered from the first agreed head", async () => {
  const mh = createMultihome({ chainId: devnet.chainId, upstreams: upstreams(), settings: SETTINGS });
  engines.push(mh);
  const address = devnet.accounts[3]!.address;
  assert.equal(mh.status().head, undefined);
  const [called, requested, account] = await Promise.all([
    mh.call({ method: "eth_getBalance", params: [address, "latest"] }),
    mh.request({ method: "eth_getTransactionCount", params: [address, "latest"] }),
    mh.account(address),
  ]);
  const expected = await balanceOf(address);
  assert.ok(called.ok, JSON.stringify(called));
  assert.equal(called.result, expected);
  assert.equal(called.evidence.verified, "proof");
  assert.equal(requested, "0x0");
  assert.ok(account.ok, JSON.stringify(account));
  assert.equal(account.view.balance, BigInt(expected).toString(10));
  assert.equal(account.view.freshness, "live");
});

test("a call cancelled by its signal stops waiting for the first head", async (t) => {
  // Both upstreams refuse every connection: no head can be agreed.
  const proxies = await Promise.all(devnet.nodes.map((n, i) => startFaultProxy({ target: n.url, seed: i + 1 })));
  t.after(async () => {
    for (const p of proxies) await p.close();
  });
  for (const p of proxies) await p.setFault({ kind: "down" });
  const mh = createMultihome({
    chainId: devnet.chainId,
    upstreams: devnet.nodes.map((n, i) => ({ id: n.id, url: proxies[i]!.url, domain: n.domain })),
    // Far longer than the test may take: only the signal can end this wait.
    settings: { ...SETTINGS, routing: { requestTimeoutMs: 3_600_000 } },
  });
  engines.push(mh);
  const controller = new AbortController();
  const answer = settledLater(
    mh.call(
      { method: "eth_getBalance", params: [devnet.accounts[4]!.address, "latest"] },
      { signal: controller.signal },
    ),
  );
  controller.abort();
  const settled = await waitFor(answer, { timeoutMs: READY_TIMEOUT_MS, what: "the cancelled call's answer" });
  assert.equal(settled.ok, false);
  assert.equal(!settled.ok && (settled.error.data as { multihomeCode?: string }).multihomeCode, "unavailable");
  assert.equal(mh.status().head, undefined);
});

test("once a head has been agreed, an outage is answered at once: no call waits for the next head", async (t) => {
  const proxies = await Promise.all(devnet.nodes.map((n, i) => startFaultProxy({ target: n.url, seed: i + 1 })));
  t.after(async () => {
    for (const p of proxies) await p.close();
  });
  const mh = createMultihome({
    chainId: devnet.chainId,
    upstreams: devnet.nodes.map((n, i) => ({ id: n.id, url: proxies[i]!.url, domain: n.domain })),
    // A wait for the next head would last an hour: the bounded waitFor below would fail long before.
    settings: { ...SETTINGS, routing: { requestTimeoutMs: 3_600_000 } },
  });
  engines.push(mh);
  const address = devnet.accounts[5]!.address;
  const proven = await mh.request({ method: "eth_getBalance", params: [address, "latest"] });
  for (const p of proxies) await p.setFault({ kind: "down" });
  await waitFor(() => !mh.status().ready, { timeoutMs: READY_TIMEOUT_MS, what: "the engine to notice the outage" });
  const answer = await waitFor(settledLater(mh.call({ method: "eth_getBalance", params: [address, "latest"] })), {
    timeoutMs: READY_TIMEOUT_MS,
    what: "the answer during the outage",
  });
  assert.ok(!answer.ok, JSON.stringify(answer));
  const data = answer.error.data as { multihomeCode?: string; lastKnownGood?: { value: unknown } };
  assert.equal(data.multihomeCode, "unavailable");
  assert.equal(data.lastKnownGood?.value, proven);
});
