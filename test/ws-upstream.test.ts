/** Upstreams given as ws:// URLs are served through the same pipeline as HTTP ones. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createPublicClient, http } from "viem";
import { startApp } from "../src/app/app.ts";
import { validateConfig } from "../src/config/load.ts";
import { silentLogger } from "../src/core/ports.ts";
import { startDevnet } from "../src/devnet/devnet.ts";
import { THREE_DOMAINS } from "./harness/network.ts";

test("a chain whose upstreams are WebSocket URLs agrees on a head and answers reads", async (t) => {
  const devnet = await startDevnet({ nodes: THREE_DOMAINS });
  t.after(() => devnet.stop());
  await devnet.mine(2);
  const config = validateConfig({
    server: { port: 0 },
    store: { kind: "memory" },
    health: { headPollIntervalMs: 250 },
    chains: [
      { chainId: devnet.chainId, upstreams: devnet.nodes.map((n) => ({ id: n.id, url: n.wsUrl, domain: n.domain })) },
    ],
  });
  const app = await startApp(config, { logger: silentLogger, readyTimeoutMs: 10_000 });
  t.after(() => app.stop());
  const ready = app.engine.readiness();
  assert.equal(ready.ready, true, JSON.stringify(ready));
  assert.equal(ready.chains[0]!.head?.number, devnet.head());
  const client = createPublicClient({ transport: http(`${app.server.url}/rpc/${devnet.chainId}`) });
  const balance = await client.getBalance({ address: devnet.accounts[0]!.address });
  assert.ok(balance > 0n);
  const block = await client.getBlock({ blockNumber: 1n });
  assert.equal(block.number, 1n);
});
