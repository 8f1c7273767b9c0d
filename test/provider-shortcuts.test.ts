/**
 * Provider shortcuts end to end: a config of three lines per vendor (provider, key, domain) and, as a staging setup
 * would, each vendor's template pointed at a local front door serving its nodes of two chains (two anvil devnets),
 * makes a working multi-chain gateway: both chains answer verified reads, every vendor is asked with its key in the
 * path, and no key reaches an answer, an error, a log line, /metrics or the admin API.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import { type App, startApp } from "../src/app/app.ts";
import { validateConfig } from "../src/config/load.ts";
import type { ConfigInput } from "../src/config/schema.ts";
import { type Devnet, startDevnet } from "../src/devnet/devnet.ts";
import { createLogger } from "../src/telemetry/logger.ts";
import { CANARY } from "./harness/canary-guard.ts";
import { settled } from "./harness/network.ts";
import { startVendorDoor, type VendorDoor } from "./harness/vendor-door.ts";
import { waitFor } from "./harness/wait.ts";

const CHAINS = [
  { chainId: 31337, network: "devnet-a" },
  { chainId: 31338, network: "devnet-b" },
] as const;
const KEYS = { alchemy: `${CANARY}-alchemy`, infura: `${CANARY}-infura` } as const;
const ADMIN_TOKEN = `admin-${CANARY}`;
/** One node per vendor on each chain, in that vendor's failure domain. */
const VENDORS = [
  { provider: "alchemy", key: KEYS.alchemy, where: { hosting: "gcp", region: "us-east1" } },
  { provider: "infura", key: KEYS.infura, where: { hosting: "aws", region: "us-east-1" } },
  { provider: "publicnode", key: undefined, where: { hosting: "hetzner", region: "fsn1" } },
] as const;
const RECIPIENT = "0x00000000000000000000000000000000000c0ffe";

interface Reply {
  headers: Headers;
  body: { result?: unknown; error?: { code: number; message: string; data?: unknown } };
}

test("three lines per vendor make a verified two-chain gateway, and no key leaves it", async (t) => {
  const devnets: Devnet[] = [];
  const doors = new Map<string, VendorDoor>();
  let app: App | undefined;
  t.after(async () => {
    await app?.stop();
    await Promise.all([...doors.values()].map((d) => d.close()));
    await Promise.all(devnets.map((d) => d.stop()));
  });
  const now = Math.floor(Date.now() / 1000);
  for (const { chainId } of CHAINS) {
    const nodes = VENDORS.map((v) => ({ id: v.provider, domain: { operator: v.provider, ...v.where } }));
    devnets.push(await startDevnet({ nodes, chainId, startTimestamp: now }));
  }
  const nodeUrl = (chain: number, vendor: string) => devnets[chain]!.nodes.find((n) => n.id === vendor)!.url;
  for (const { provider, key } of VENDORS) {
    const networks = Object.fromEntries(CHAINS.map((c, i) => [c.network, nodeUrl(i, provider)]));
    doors.set(provider, await startVendorDoor({ networks, ...(key ? { key } : {}) }));
  }

  // A transfer on the second chain only: the two chains' balances differ, so an answer from the wrong chain shows.
  const signer = privateKeyToAccount(devnets[1]!.accounts[0]!.privateKey);
  const raw = await signer.signTransaction({
    chainId: CHAINS[1].chainId,
    type: "eip1559",
    nonce: 0,
    to: RECIPIENT,
    value: 12_345n,
    gas: 21_000n,
    maxFeePerGas: 10n ** 11n,
    maxPriorityFeePerGas: 1n,
  });
  await devnets[1]!.sendRawTransaction(raw);
  for (const devnet of devnets) await devnet.mine(1);

  const input: ConfigInput = {
    server: { host: "127.0.0.1", port: 0 },
    admin: { host: "127.0.0.1", port: 0, token: ADMIN_TOKEN },
    store: { kind: "memory" },
    log: { level: "debug" },
    health: { headPollIntervalMs: 250 },
    // The staging part: each vendor's template points at its local door, with the two chains' network names.
    providers: Object.fromEntries(
      VENDORS.map((v) => [
        v.provider,
        {
          url: `${doors.get(v.provider)!.url}/{network}${v.key ? "/{key}" : ""}`,
          networks: Object.fromEntries(CHAINS.map((c) => [c.chainId, c.network])),
        },
      ]),
    ),
    // The production part: three lines per vendor.
    chains: CHAINS.map(({ chainId }) => ({
      chainId,
      ...(chainId === 31338 ? { staleAfterMs: 600_000 } : {}),
      upstreams: VENDORS.map((v) => ({ provider: v.provider, ...(v.key ? { key: v.key } : {}), domain: v.where })),
    })),
  };
  const config = validateConfig(input, {});
  assert.deepEqual(
    config.chains.map((c) => c.upstreams.map((u) => `${u.id} ${u.domain.operator}/${u.domain.hosting}`)),
    CHAINS.map(() => ["alchemy alchemy/gcp", "infura infura/aws", "publicnode publicnode/hetzner"]),
  );
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  app = await startApp(config, { logger: createLogger({ level: "debug", destination: sink }), readyTimeoutMs: 10_000 });
  await settled(app, 10_000);
  const started = app;
  await waitFor(() => started.engine.readiness().chains.every((c, i) => c.head?.number === devnets[i]!.head()), {
    timeoutMs: 5_000,
    what: "both chains' agreed heads to reach their devnets' heads",
  });

  let id = 1;
  const rpc = async (chainId: number, method: string, params: unknown[]): Promise<Reply> => {
    const res = await fetch(`${started.server.url}/rpc/${chainId}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: id++, method, params }),
    });
    assert.equal(res.status, 200);
    return { headers: res.headers, body: (await res.json()) as Reply["body"] };
  };
  const direct = async (chain: number, method: string, params: unknown[]) => {
    const res = await fetch(devnets[chain]!.nodes[0]!.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    return ((await res.json()) as { result: unknown }).result;
  };

  for (const [i, { chainId }] of CHAINS.entries()) {
    const balance = await rpc(chainId, "eth_getBalance", [RECIPIENT, "latest"]);
    assert.equal(balance.headers.get("multihome-verified"), "proof", JSON.stringify(balance.body));
    assert.equal(balance.body.result, await direct(i, "eth_getBalance", [RECIPIENT, "latest"]));
    assert.equal(BigInt(balance.body.result as string), chainId === 31338 ? 12_345n : 0n);
    const block = await rpc(chainId, "eth_getBlockByNumber", ["latest", false]);
    assert.equal(block.headers.get("multihome-verified"), "proof");
    assert.equal(Number(block.headers.get("multihome-block")), devnets[i]!.head());
    const expected = (await direct(i, "eth_getBlockByNumber", ["latest", false])) as { hash: string };
    assert.equal((block.body.result as { hash: string }).hash, expected.hash);
  }
  // Every vendor was asked on both chains, each at its own network name with its key where its template has it.
  for (const { provider } of VENDORS) {
    for (const { network } of CHAINS) assert.ok(doors.get(provider)!.served(network) > 0, `${provider} ${network}`);
    assert.equal(doors.get(provider)!.refused(), 0, `${provider} refused nothing: the key was right`);
  }

  // The admin API and /metrics name upstreams by their ids and vendors as operators, never by URL or key.
  const admin = started.admin!.url;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const metrics = await (await fetch(`${admin}/metrics`, { headers: auth })).text();
  assert.match(metrics, /upstream="alchemy"/);
  assert.match(metrics, /operator="infura"/);
  const overview = await (await fetch(`${admin}/admin/api/overview`, { headers: auth })).text();
  assert.match(overview, /"publicnode"/);

  // Every vendor now refuses (a revoked key): a read that needs an upstream fails, and its error holds no key.
  for (const door of doors.values()) door.refuseAll(true);
  const failed = await rpc(31338, "eth_getBalance", ["0x00000000000000000000000000000000000bad00", "latest"]);
  assert.ok(failed.body.error, JSON.stringify(failed.body));
  assert.ok(
    [...doors.values()].some((d) => d.refused() > 0),
    "the vendors were asked and refused",
  );

  for (const text of [metrics, overview, JSON.stringify(failed.body), logs.join("")]) {
    for (const key of Object.values(KEYS)) assert.ok(!text.includes(key), "a key leaked");
    assert.ok(!text.includes(CANARY), "the canary leaked");
    assert.ok(!/127\.0\.0\.1:\d+\/devnet-/.test(text), "a vendor URL leaked");
  }
  assert.ok(
    logs.some((l) => l.includes('"alchemy"')),
    "the logs name upstreams by id",
  );
});
