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
import type { AccountView } from "../src/engine/engine.ts";
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
  await waitFor(() => net.app.engine.readiness().chains[0]!.head?.number === net.devnet.head(), {
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
  // A value's age is its block's: from the timestamp in the block's header to the gateway's clock, never below 0.
  const { timestamp } = (await net.direct("eth_getBlockByNumber", [`0x${provenAt.toString(16)}`, false])) as {
    timestamp: string;
  };
  const blockAt = Number(BigInt(timestamp)) * 1000;
  /** The age the proven value may have for an answer taken between `from` and `to`, in whole seconds: [least, most]. */
  const ageRange = (from: number, to: number) => [
    Math.max(0, Math.floor((from - blockAt) / 1000)),
    Math.max(0, Math.floor((to - blockAt) / 1000)),
  ];
  const assertAge = (age: number, [least, most]: number[], what: string) =>
    assert.ok(age >= least! && age <= most!, `${what}: age ${age} s, not within [${least}, ${most}]`);
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

  // The age is counted, not frozen: wait until the value's block is at least a second old (devnet blocks may be
  // stamped a little ahead of the clock).
  await waitFor(() => Date.now() - blockAt >= 1_000, { timeoutMs: 10_000, what: "the proven value to age 1 s" });
  const beforeFailed = Date.now();
  const failed = await post(net.rpcUrl, "eth_getBalance", [address, "latest"]);
  const failedAge = ageRange(beforeFailed, Date.now());
  assert.equal(failed.body.result, undefined, "no fabricated value");
  assert.equal(failed.body.error?.code, -32002);
  const lkg = failed.body.error?.data?.lastKnownGood;
  assert.ok(lkg, JSON.stringify(failed.body));
  assert.equal(lkg.value, truth);
  assert.equal(lkg.blockNumber, provenAt);
  const provenBlock = (await net.direct("eth_getBlockByNumber", [`0x${provenAt.toString(16)}`, false])) as {
    hash: string;
  };
  assert.equal(lkg.blockHash, provenBlock.hash, "the hash of the block it was proven at");
  assertAge(lkg.ageSeconds as number, failedAge, "lastKnownGood.ageSeconds");
  assert.equal((lkg.evidence as { method: string }).method, "proof");

  const beforeStale = Date.now();
  const stale = await post(net.rpcUrl, "eth_getBalance", [address, "latest"], { "multihome-max-staleness": "3600" });
  const staleAge = ageRange(beforeStale, Date.now());
  assert.equal(stale.body.result, truth);
  assert.ok(stale.headers.get("multihome-stale") !== null, "stale answers are labelled");
  assertAge(Number(stale.headers.get("multihome-stale")), staleAge, "multihome-stale");
  assert.equal(stale.headers.get("multihome-block"), String(provenAt));
  // At least a second old: a client that accepts nothing older than 0 s gets the error, not the value.
  const tooOld = await post(net.rpcUrl, "eth_getBalance", [address, "latest"], { "multihome-max-staleness": "0" });
  assert.equal(tooOld.body.result, undefined, JSON.stringify(tooOld.body));
  assert.equal(tooOld.headers.get("multihome-stale"), null);
  assert.equal(tooOld.body.error?.code, -32002);
  assert.equal(tooOld.body.error?.data?.lastKnownGood?.value, truth);

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
