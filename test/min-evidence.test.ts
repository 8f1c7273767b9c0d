/**
 * A caller's minimum evidence: `multihome-min-evidence` on a gateway request (or a WebSocket upgrade) and the embedded
 * client's `minEvidence` make Multihome refuse an answer checked less well than asked (-32002,
 * `insufficient_evidence`) instead of returning it to an app that, behind viem or ethers, would never see how it was
 * checked. Real anvil nodes in three domains, the gateway in front, real clients (fetch, viem, ws).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPublicClient, defineChain, type Hex, http } from "viem";
import WebSocket from "ws";
import { createMultihome, type Multihome } from "../src/client/multihome.ts";
import { multihome } from "../src/client/viem.ts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

type Json = Record<string, unknown>;
interface RpcError {
  code: number;
  message: string;
  data?: { multihomeCode?: string; minEvidence?: string; evidence?: { verified: string; blockNumber?: number } };
}

const QUORUM = { "multihome-min-evidence": "quorum" };
const SYNC_TIMEOUT_MS = 10_000;

let net: TestNetwork;
/** A funded account nothing sends from: its balance is the same at every block. */
let account: Hex;
let balance: Hex;
const engines: Multihome[] = [];

function assertRefused(
  received: { code: number; message: string; data?: unknown } | undefined,
  verified: string,
  floor = "quorum",
): void {
  assert.ok(received, "an error, not a result");
  const error = received as RpcError;
  assert.equal(error.code, -32002, error.message);
  assert.equal(error.data?.multihomeCode, "insufficient_evidence");
  assert.equal(error.data?.minEvidence, floor);
  assert.equal(error.data?.evidence?.verified, verified);
  assert.equal(typeof error.data?.evidence?.blockNumber, "number");
}

/** The first error on viem's `cause` chain that carries a JSON-RPC code and data. */
function rpcErrorIn(error: unknown): RpcError | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    const candidate = e as { code?: unknown; data?: unknown; message?: string; cause?: unknown };
    if (typeof candidate.code === "number" && candidate.data !== undefined) return candidate as RpcError;
    e = candidate.cause;
  }
  return undefined;
}

const SINGLE_GAS_PRICE = { eth_gasPrice: "single" } as const;

async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(net.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  // eth_gasPrice is the example of a method answered on one upstream's word here (by default it is asked of three
  // independent domains).
  net = await startTestNetwork({ config: { verification: { methods: SINGLE_GAS_PRICE } } });
  await net.devnet.mine();
  await net.synced();
  account = net.devnet.accounts[7]!.address;
  balance = (await net.direct("eth_getBalance", [account, "latest"])) as Hex;
});
after(async () => {
  for (const mh of engines) await mh.close();
  await net?.stop();
});

describe("the gateway: multihome-min-evidence", () => {
  test("at quorum, a single-policy eth_gasPrice is refused and a proven eth_getBalance is served", async () => {
    const unchecked = await net.rpc("eth_gasPrice");
    assert.equal(unchecked.headers.get("multihome-verified"), "single");
    assert.match(String(unchecked.body.result), /^0x[0-9a-f]+$/);

    const refused = await net.rpc("eth_gasPrice", [], QUORUM);
    assert.equal(refused.status, 200);
    assert.equal(refused.body.result, undefined);
    assertRefused(refused.body.error, "single");
    // The headers still say how the refused answer was checked.
    assert.equal(refused.headers.get("multihome-verified"), "single");

    const proven = await net.rpc("eth_getBalance", [account, "latest"], QUORUM);
    assert.equal(proven.body.result, balance, JSON.stringify(proven.body));
    assert.equal(proven.headers.get("multihome-verified"), "proof");
    assert.equal(
      (await net.rpc("eth_getBalance", [account, "latest"], { "multihome-min-evidence": "proof" })).body.result,
      balance,
    );
    assertRefused(
      (await net.rpc("eth_gasPrice", [], { "multihome-min-evidence": "proof" })).body.error,
      "single",
      "proof",
    );
    assert.ok((await net.rpc("eth_gasPrice", [], { "multihome-min-evidence": "single" })).body.result);
    assert.ok((await net.rpc("eth_gasPrice", [], { "multihome-min-evidence": "none" })).body.result);
  });

  test("what Multihome answers itself is below nothing: chain id, net_version, block number at proof", async () => {
    const proof = { "multihome-min-evidence": "proof" };
    assert.equal((await net.rpc("eth_chainId", [], proof)).body.result, `0x${net.chainId.toString(16)}`);
    assert.equal((await net.rpc("net_version", [], proof)).body.result, String(net.chainId));
    const head = await net.rpc("eth_blockNumber", [], proof);
    assert.equal(head.body.result, `0x${net.devnet.head().toString(16)}`);
    assert.equal(head.headers.get("multihome-verified"), "none");
  });

  test("in a batch each item is held to the header on its own", async () => {
    const { status, body } = await post(
      [
        { jsonrpc: "2.0", id: 1, method: "eth_gasPrice", params: [] },
        { jsonrpc: "2.0", id: 2, method: "eth_getBalance", params: [account, "latest"] },
        { jsonrpc: "2.0", id: 3, method: "eth_chainId", params: [] },
      ],
      QUORUM,
    );
    assert.equal(status, 200);
    const items = body as { id: number; result?: unknown; error?: RpcError }[];
    assertRefused(items.find((i) => i.id === 1)?.error, "single");
    assert.equal(items.find((i) => i.id === 2)?.result, balance);
    assert.equal(items.find((i) => i.id === 3)?.result, `0x${net.chainId.toString(16)}`);
  });

  test("an invalid value is refused as a whole, 400 / -32600, before any upstream is asked", async () => {
    net.resetStats();
    for (const value of ["strong", "", "proof, quorum"]) {
      const { status, body } = await post(
        { jsonrpc: "2.0", id: 1, method: "eth_getBalance", params: [account, "latest"] },
        { "multihome-min-evidence": value },
      );
      assert.equal(status, 400, value);
      const error = (body as { error: RpcError }).error;
      assert.equal(error.code, -32600);
      assert.match(error.message, /multihome-min-evidence must be one of proof, quorum, single, none/);
    }
    assert.equal(net.upstreamRequests("eth_getProof") + net.upstreamRequests("eth_getBalance"), 0);
  });

  test("viem over http() with the header: getGasPrice rejects with -32002, getBalance resolves", async () => {
    const client = createPublicClient({
      transport: http(net.rpcUrl, { retryCount: 0, fetchOptions: { headers: QUORUM } }),
    });
    assert.equal(await client.getBalance({ address: account }), BigInt(balance));
    const outcome = await client.getGasPrice().then(
      (value) => ({ resolved: value }),
      (error: unknown) => ({ rejected: error }),
    );
    assert.ok("rejected" in outcome, `getGasPrice resolved ${String((outcome as { resolved: bigint }).resolved)}`);
    assertRefused(rpcErrorIn(outcome.rejected), "single");
  });

  test("WebSocket: the upgrade's header holds every call of the connection; an invalid one is a 400", async () => {
    const wsUrl = net.rpcUrl.replace(/^http/, "ws");
    const ws = new WebSocket(wsUrl, { headers: QUORUM });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    try {
      const replies = new Map<unknown, Json>();
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data)) as Json;
        replies.set(msg.id, msg);
      });
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_gasPrice", params: [] }));
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "eth_getBalance", params: [account, "latest"] }));
      await waitFor(() => replies.size === 2, { timeoutMs: SYNC_TIMEOUT_MS, what: "both WebSocket answers" });
      assertRefused(replies.get(1)?.error as RpcError, "single");
      assert.equal(replies.get(2)?.result, balance);
    } finally {
      ws.close();
    }

    const invalid = new WebSocket(wsUrl, { headers: { "multihome-min-evidence": "best" } });
    invalid.on("error", () => {});
    const refusal = await new Promise<{ status: number; body: string }>((resolve) => {
      invalid.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      invalid.once("open", () => resolve({ status: 101, body: "" }));
    });
    invalid.terminate();
    assert.equal(refusal.status, 400);
    assert.equal((JSON.parse(refusal.body) as { error: { code: string } }).error.code, "invalid_request");
  });
});

describe("the embedded client: minEvidence", () => {
  let viemClient: ReturnType<typeof createPublicClient>;
  let mh: Multihome;

  before(async () => {
    const upstreams = net.devnet.nodes.map((n) => ({ id: n.id, url: net.proxies.get(n.id)!.url, domain: n.domain }));
    const chain = defineChain({
      id: net.chainId,
      name: "devnet",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [net.rpcUrl] } },
    });
    viemClient = createPublicClient({
      chain,
      transport: multihome({
        upstreams,
        minEvidence: "quorum",
        settings: { health: { headPollIntervalMs: 250 }, verification: { methods: SINGLE_GAS_PRICE } },
      }),
    });
    mh = (viemClient.transport as unknown as { multihome: Multihome }).multihome;
    engines.push(mh);
    assert.ok((await mh.ready(SYNC_TIMEOUT_MS)).ready);
  });

  test("viem: getGasPrice rejects with -32002 and the evidence it would have had; getBalance resolves", async () => {
    assert.equal(await viemClient.getBalance({ address: account }), BigInt(balance));
    const outcome = await viemClient.getGasPrice().then(
      (value) => ({ resolved: value }),
      (error: unknown) => ({ rejected: error }),
    );
    assert.ok("rejected" in outcome, `getGasPrice resolved ${String((outcome as { resolved: bigint }).resolved)}`);
    assertRefused(rpcErrorIn(outcome.rejected), "single");
    assert.equal(await viemClient.getChainId(), net.chainId);
    // A second viem client over the same engine, with its own minimum.
    const lenient = createPublicClient({ transport: multihome(mh, { minEvidence: "single" }) });
    assert.ok((await lenient.getGasPrice()) > 0n);
  });

  test("call: the refusal carries the evidence; a call may set its own minimum", async () => {
    const refused = await mh.call({ method: "eth_gasPrice" });
    assert.ok(!refused.ok);
    assertRefused(refused.error as RpcError, "single");
    assert.equal(refused.evidence.verified, "single");
    const lowered = await mh.call({ method: "eth_gasPrice" }, { minEvidence: "single" });
    assert.ok(lowered.ok, JSON.stringify(lowered));
    const raised = await mh.call({ method: "eth_getBalance", params: [account, "latest"] }, { minEvidence: "proof" });
    assert.ok(raised.ok && raised.result === balance, JSON.stringify(raised));
    const invalid = await mh.call({ method: "eth_gasPrice" }, { minEvidence: "best" as never });
    assert.equal(!invalid.ok && invalid.error.code, -32600);
  });

  test("an invalid minEvidence option is refused when the engine is created", () => {
    assert.throws(
      () => createMultihome({ chainId: net.chainId, upstreams: [], minEvidence: "strong" as never }),
      (error: Error & { issues?: string[] }) =>
        (error.issues ?? []).includes("minEvidence: must be one of proof, quorum, single, none"),
    );
  });
});

describe("stale answers and the minimum (every upstream down; runs last)", () => {
  test("a stale proven value meets proof when staleness is opted into; without it, unavailable as before", async () => {
    // The gateway proved this balance above: it is its last verified value.
    try {
      for (const p of net.proxies.values()) await p.setFault({ kind: "down" });
      await waitFor(() => !net.app.engine.readiness().ready, {
        timeoutMs: SYNC_TIMEOUT_MS,
        what: "the gateway to notice the outage",
      });
      const proof = { "multihome-min-evidence": "proof" };
      const stale = await net.rpc("eth_getBalance", [account, "latest"], {
        ...proof,
        "multihome-max-staleness": "3600",
      });
      assert.equal(stale.body.result, balance, JSON.stringify(stale.body));
      assert.equal(stale.headers.get("multihome-verified"), "proof");
      assert.ok(stale.headers.get("multihome-stale") !== null);
      const unavailable = await net.rpc("eth_getBalance", [account, "latest"], proof);
      const error = unavailable.body.error as RpcError & { data?: { lastKnownGood?: { value: unknown } } };
      assert.equal(error.code, -32002);
      assert.equal(error.data?.multihomeCode, "unavailable");
      assert.equal(error.data?.lastKnownGood?.value, balance);
    } finally {
      for (const p of net.proxies.values()) await p.clearFault();
    }
  });
});
