/**
 * FAULTS A16 with last-known-good: when every upstream is down, a wallet gets the last verified value with its block
 * and age — on request as a stale answer, otherwise inside the -32002 error — and never a fabricated zero. The values
 * survive a restart (SQLite store).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startApp } from "../src/app/app.ts";
import { validateConfig } from "../src/config/load.ts";
import { silentLogger } from "../src/core/ports.ts";
import type { AccountView } from "../src/engine/gateway.ts";
import { startTestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

const NEVER_READ = "0x000000000000000000000000000000000000bEEF";

async function post(url: string, method: string, params: unknown[], headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as {
      result?: string;
      error?: { code: number; message: string; data?: { lastKnownGood?: Record<string, unknown> } };
    },
  };
}

test("A16: total outage — last verified values with block and age, never a fake zero; they survive a restart", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "multihome-lkg-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const storePath = join(dir, "state.db");
  const net = await startTestNetwork({ config: { store: { kind: "sqlite", path: storePath } } });
  t.after(() => net.stop());
  await net.devnet.mine(2);
  await waitFor(() => net.app.gateway.readiness().chains[0]!.head?.number === net.devnet.head(), {
    timeoutMs: 5_000,
    what: "the agreed head",
  });
  const address = net.devnet.accounts[0]!.address;
  const live = await net.rpc("eth_getBalance", [address, "latest"]);
  assert.equal(live.headers.get("multihome-verified"), "proof");
  const truth = live.body.result as string;
  const provenAt = Number(live.headers.get("multihome-block"));
  const view = (await (
    await fetch(`${net.baseUrl}/v1/chains/${net.chainId}/accounts/${address}`)
  ).json()) as AccountView;
  assert.equal(view.freshness, "live");
  assert.equal(view.balance, BigInt(truth).toString(10));
  assert.equal(view.block.number, provenAt);
  assert.equal(view.evidence.method, "proof");
  assert.ok(view.evidence.domains.length >= 2, JSON.stringify(view.evidence));

  for (const p of net.proxies.values()) await p.setFault({ kind: "down" });
  await waitFor(async () => (await fetch(`${net.baseUrl}/readyz`)).status === 503, {
    timeoutMs: 5_000,
    what: "not ready",
  });

  const failed = await post(net.rpcUrl, "eth_getBalance", [address, "latest"]);
  assert.equal(failed.body.result, undefined, "no fabricated value");
  assert.equal(failed.body.error?.code, -32002);
  const lkg = failed.body.error?.data?.lastKnownGood;
  assert.ok(lkg, JSON.stringify(failed.body));
  assert.equal(lkg.value, truth);
  assert.equal(lkg.blockNumber, provenAt);
  assert.match(String(lkg.blockHash), /^0x[0-9a-f]{64}$/);
  assert.equal(typeof lkg.ageSeconds, "number");
  assert.equal((lkg.evidence as { method: string }).method, "proof");

  const stale = await post(net.rpcUrl, "eth_getBalance", [address, "latest"], { "multihome-max-staleness": "3600" });
  assert.equal(stale.body.result, truth);
  assert.ok(stale.headers.get("multihome-stale") !== null, "stale answers are labelled");
  assert.equal(stale.headers.get("multihome-block"), String(provenAt));
  const tooOld = await post(net.rpcUrl, "eth_getBalance", [address, "latest"], { "multihome-max-staleness": "0" });
  assert.ok(tooOld.body.result === undefined || tooOld.headers.get("multihome-stale") === "0");

  const staleView = (await (
    await fetch(`${net.baseUrl}/v1/chains/${net.chainId}/accounts/${address}`)
  ).json()) as AccountView;
  assert.equal(staleView.freshness, "stale");
  assert.equal(staleView.balance, BigInt(truth).toString(10));

  const unknown = await post(net.rpcUrl, "eth_getBalance", [NEVER_READ, "latest"]);
  assert.equal(unknown.body.result, undefined);
  assert.equal(unknown.body.error?.code, -32002);
  assert.equal(unknown.body.error?.data?.lastKnownGood, undefined);
  const unknownView = await fetch(`${net.baseUrl}/v1/chains/${net.chainId}/accounts/${NEVER_READ}`);
  assert.equal(unknownView.status, 503);
  assert.equal(((await unknownView.json()) as { error: { code: string } }).error.code, "unavailable");

  // Restart during the outage: a new gateway on the same store still knows what was proven.
  await net.app.stop();
  const config = validateConfig({
    server: { port: 0 },
    store: { kind: "sqlite", path: storePath },
    chains: [
      {
        chainId: net.chainId,
        upstreams: net.devnet.nodes.map((n) => ({ id: n.id, url: net.proxies.get(n.id)!.url, domain: n.domain })),
      },
    ],
  });
  const restarted = await startApp(config, { logger: silentLogger });
  t.after(() => restarted.stop());
  const afterRestart = await post(`${restarted.server.url}/rpc/${net.chainId}`, "eth_getBalance", [address, "latest"]);
  assert.equal(afterRestart.body.error?.code, -32002);
  assert.equal(afterRestart.body.error?.data?.lastKnownGood?.value, truth);
  assert.equal(afterRestart.body.error?.data?.lastKnownGood?.blockNumber, provenAt);
});

test("a never-used account is proven zero, not assumed zero", async (t) => {
  const net = await startTestNetwork();
  t.after(() => net.stop());
  const r = await net.rpc("eth_getBalance", [NEVER_READ, "latest"]);
  assert.equal(r.body.result, "0x0");
  assert.equal(r.headers.get("multihome-verified"), "proof");
  const view = (await (
    await fetch(`${net.baseUrl}/v1/chains/${net.chainId}/accounts/${NEVER_READ}`)
  ).json()) as AccountView;
  assert.equal(view.balance, "0");
  assert.equal(view.nonce, 0);
  assert.equal(view.freshness, "live");
});
