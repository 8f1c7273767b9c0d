import assert from "node:assert/strict";
import { test } from "node:test";
import { createPublicClient } from "viem";
import { mainnet, sepolia } from "viem/chains";
import { ConfigError } from "../config/validate.ts";
import type { Transport } from "../core/ports.ts";
import { type ClientUpstream, createMultihome } from "./multihome.ts";
import { multihome } from "./viem.ts";

const domain = (operator: string) => ({ operator, hosting: `h-${operator}`, region: "r" });

/** A transport that never gets an answer: these tests are about what happens before or without the network. */
const silent: Transport = {
  send: (_body, { signal }) =>
    new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true })),
  close: async () => {},
};

function refusal(upstreams: ClientUpstream[]): string[] {
  try {
    createMultihome({ chainId: 1, upstreams, transport: () => silent }).close();
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues;
  }
  return [];
}

test("options are checked by the gateway's schema, with problems named by the options' own paths", () => {
  assert.deepEqual(refusal([{ url: "ws://127.0.0.1:1", domain: domain("a") }]), [
    "upstreams.0.url: must be http(s)://; the embedded client has no WebSocket upstreams",
  ]);
  assert.match(
    refusal([{ url: "http://169.254.169.254/", domain: domain("a") }])[0]!,
    /^upstreams\.0\.url: .*metadata/,
  );
  // The app names its upstreams: a wallet's node on the home network is one; a metadata address never is.
  assert.deepEqual(refusal([{ url: "http://192.168.1.10:8545", domain: domain("home") }]), []);
  assert.match(refusal([{ url: "http://127.0.0.1:1" } as ClientUpstream])[0]!, /^upstreams\.0\.domain: required/);
  assert.match(
    refusal([
      { id: "x", url: "http://127.0.0.1:1", domain: domain("a") },
      { id: "x", url: "http://127.0.0.1:2", domain: domain("b") },
    ])[0]!,
    /^upstreams\.1\.id: duplicate upstream id "x"/,
  );
});

test("upstreams without an id are named by their operator, numbered when two share one", async () => {
  const mh = createMultihome({
    chainId: 1,
    transport: () => silent,
    upstreams: [
      { url: "http://127.0.0.1:1", domain: domain("gw") },
      { url: "http://127.0.0.1:2", domain: domain("gw") },
      { id: "gw-2", url: "http://127.0.0.1:3", domain: domain("other") },
    ],
  });
  try {
    assert.deepEqual(
      mh.status().upstreams.map((u) => u.id),
      ["gw", "gw-3", "gw-2"],
    );
  } finally {
    await mh.close();
  }
});

test("a malformed call is refused before any upstream is asked; the engine's answers reach onAnswer", async () => {
  let asked = 0;
  const mh = createMultihome({
    chainId: 1,
    upstreams: [{ url: "http://127.0.0.1:1", domain: domain("a") }],
    transport: () => ({
      ...silent,
      send: (body, options) => {
        // Head polls run in the background; only the client's own method counts.
        if (body.includes("eth_getBalance")) asked++;
        return silent.send(body, options);
      },
    }),
  });
  const seen: string[] = [];
  const stop = mh.onAnswer((e) => seen.push(e.method));
  try {
    const badName = await mh.call({ method: "eth getBalance" });
    assert.equal(badName.ok, false);
    assert.equal(!badName.ok && badName.error.code, -32600);
    const badParams = await mh.call({ method: "eth_getBalance", params: 5 as never });
    // As the gateway answers it: params that are neither an array nor an object make an invalid request.
    assert.equal(!badParams.ok && badParams.error.code, -32600);
    assert.match(!badParams.ok ? badParams.error.message : "", /params must be an array or an object/);
    await assert.rejects(mh.request({ method: "eth getBalance" }), (e: { code: number; evidence: unknown }) => {
      assert.equal(e.code, -32600);
      assert.deepEqual(e.evidence, { blockNumber: undefined, verified: "none" });
      return true;
    });
    const subscribe = await mh.call({ method: "eth_subscribe", params: ["newHeads"] });
    assert.equal(!subscribe.ok && subscribe.error.code, -32601);
    assert.match(!subscribe.ok ? subscribe.error.message : "", /poll instead/);
    // The chain id is the engine's own answer: it is told to onAnswer like any other.
    assert.equal(await mh.request({ method: "eth_chainId" }), "0x1");
    assert.deepEqual(seen, ["eth_chainId"]);
    assert.equal(asked, 0);
  } finally {
    stop();
    await mh.close();
  }
  const closed = await mh.call({ method: "eth_chainId" });
  assert.equal(!closed.ok && (closed.error.data as { multihomeCode: string }).multihomeCode, "unavailable");
});

test("the viem transport serves only its engine's chain, from the first client on", async () => {
  const upstreams = [{ url: "http://127.0.0.1:1", domain: domain("a") }];
  const transport = multihome({ chainId: 1, upstreams, transport: () => silent });
  assert.throws(
    () => createPublicClient({ chain: sepolia, transport }).request,
    /chain 11155111 is not this Multihome's 1/,
  );
  const client = createPublicClient({ chain: mainnet, transport });
  try {
    assert.equal(client.transport.multihome.chainId, 1);
  } finally {
    await client.transport.multihome.close();
  }
});
