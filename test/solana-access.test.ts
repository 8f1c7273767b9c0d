/**
 * The Solana endpoint behind the same front gate as every other: keys, their chain scope (chain ids and
 * `solana/{name}` clusters), rate limits.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { hashApiKey } from "../src/server/access.ts";
import { SOLANA_CLUSTER_NAME, type SolanaTestNetwork, startSolanaTestNetwork } from "./harness/solana-network.ts";

const OPEN = "solana-open-key";
const EVM_ONLY = "evm-only-key";
const LIMITED = "limited-key";
const CLUSTER = "this-cluster-key";
const OTHER_CLUSTER = "other-cluster-key";
const THIS = `solana/${SOLANA_CLUSTER_NAME}` as const;
let net: SolanaTestNetwork;

before(async () => {
  net = await startSolanaTestNetwork({
    config: {
      auth: {
        anonymous: false,
        keys: [
          { id: "open", hash: hashApiKey(OPEN) },
          { id: "evm", hash: hashApiKey(EVM_ONLY), chains: [1] },
          { id: "limited", hash: hashApiKey(LIMITED), rateLimit: { units: 3, windowSeconds: 60 } },
          { id: "cluster", hash: hashApiKey(CLUSTER), chains: [THIS] },
          { id: "other", hash: hashApiKey(OTHER_CLUSTER), chains: [1, "solana/devnet"] },
        ],
      },
    },
  });
});
after(() => net?.stop());

const post = (key: string | undefined, url = net.rpcUrl) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getSlot", params: [] }),
  });

/** The message of a refusal, JSON-RPC (`error.message`) or REST (`error.message`) alike. */
const refusal = async (res: Response) => ((await res.json()) as { error: { message: string } }).error.message;

const refusedHere = `forbidden: this API key is not allowed on ${THIS}`;

test("no key: 401; a key scoped to EVM chains: 403 naming the cluster; an open key is served; a rate limit holds", async () => {
  assert.equal((await post(undefined)).status, 401);
  const scoped = await post(EVM_ONLY);
  assert.equal(scoped.status, 403);
  assert.equal(await refusal(scoped), refusedHere);
  const open = await post(OPEN);
  assert.equal(open.status, 200);
  assert.equal(typeof ((await open.json()) as { result: unknown }).result, "number");
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await post(LIMITED)).status);
  assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
  assert.equal(statuses[4], 429);
});

test("a key scoped to solana/{name} is served on that cluster only; another cluster's key is refused naming this one", async () => {
  const served = await post(CLUSTER);
  assert.equal(served.status, 200);
  assert.equal(typeof ((await served.json()) as { result: unknown }).result, "number");
  // The same key on an Ethereum-like chain: refused at the gate, before the chain is looked up.
  const evm = await post(CLUSTER, `${net.app.server.url}/rpc/1`);
  assert.equal(evm.status, 403);
  assert.equal(await refusal(evm), "forbidden: this API key is not allowed on chain 1");
  const other = await post(OTHER_CLUSTER);
  assert.equal(other.status, 403);
  assert.equal(await refusal(other), refusedHere);

  // The transaction view of the cluster is behind the same scope.
  const view = (key: string) =>
    fetch(`${net.app.server.url}/v1/solana/${SOLANA_CLUSTER_NAME}/transactions/${"1".repeat(64)}`, {
      headers: { authorization: `Bearer ${key}` },
    });
  const viewRefused = await view(OTHER_CLUSTER);
  assert.equal(viewRefused.status, 403);
  assert.equal(await refusal(viewRefused), refusedHere);
  assert.equal((await view(CLUSTER)).status, 404, "admitted: the outbox does not hold it");
});

test("WebSocket upgrades at /rpc/solana/{name} are scoped alike", async () => {
  const wsUrl = net.rpcUrl.replace(/^http/, "ws");
  const upgrade = (key: string) =>
    new Promise<{ status: number; body: string; ws: WebSocket }>((resolve) => {
      const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${key}` } });
      ws.on("error", () => {});
      ws.once("open", () => resolve({ status: 101, body: "", ws }));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, ws }));
      });
    });
  for (const key of [EVM_ONLY, OTHER_CLUSTER]) {
    const refused = await upgrade(key);
    refused.ws.terminate();
    assert.equal(refused.status, 403);
    assert.equal((JSON.parse(refused.body) as { error: { message: string } }).error.message, refusedHere);
  }
  const opened = await upgrade(CLUSTER);
  try {
    assert.equal(opened.status, 101);
    const reply = new Promise<{ result?: unknown }>((resolve) =>
      opened.ws.once("message", (data) => resolve(JSON.parse(String(data)) as { result?: unknown })),
    );
    opened.ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getSlot", params: [] }));
    assert.equal(typeof (await reply).result, "number");
  } finally {
    opened.ws.close();
  }
});
