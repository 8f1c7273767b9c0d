/**
 * The embedded client library in a real browser. A page in Debian's Chromium loads the library's browser bundle (built
 * from the sources) and multi-homes a wallet's balance screen over three upstreams in three failure domains: two
 * Multihome gateways (one "on aws/us-east-1", one "on gcp/europe-west1", each in front of the whole devnet) and one
 * anvil node reached directly ("on hetzner/eu-central", through a fault proxy so it can be cut). The page verifies
 * every answer itself. The gateway on aws goes away and the page stays verified and live; then everything goes away
 * and the page shows the last verified balance as stale with its block — never a 0, never a blank.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { ConsoleMessage, Page } from "playwright-core";
import { parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type App, startApp } from "../src/app/app.ts";
import { validateConfig } from "../src/config/load.ts";
import { type Devnet, startDevnet } from "../src/devnet/devnet.ts";
import { type RunningChromium, startChromium } from "./harness/chromium.ts";
import {
  type ClientPageServer,
  type ClientPageUpstream,
  type PageRefresh,
  readPageHistory,
  readPageState,
  readPageText,
  startClientPageServer,
  waitForAccount,
} from "./harness/client-page.ts";
import { type FaultProxy, startFaultProxy } from "./harness/fault-proxy.ts";
import { CANARY, settled, THREE_DOMAINS } from "./harness/network.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts", "client-page");
/** The account the page shows: not a dev account, so its balance is exactly what the test sent it. */
const ACCOUNT = "0x7e57000000000000000000000000000000c0ffee";
const FIRST_TRANSFER_WEI = parseEther("1.234567");
const SECOND_TRANSFER_WEI = parseEther("0.5");
/** How long the page may take to show a change: it refreshes every 500 ms and its head polls run every 250 ms. */
const PAGE_MS = 10_000;
/** A gateway waits this long for an agreed head before the page is opened. */
const READY_MS = 10_000;
/** Refreshes checked after a kill: enough to cross head polls, breaker trips and the 2 s answer cache. */
const REFRESHES_AFTER_KILL = 6;
const GATEWAY_A = { id: "gateway-a", domain: { operator: "multihome-a", hosting: "aws", region: "us-east-1" } };
const GATEWAY_B = { id: "gateway-b", domain: { operator: "multihome-b", hosting: "gcp", region: "europe-west1" } };
/** The devnet node the page reaches directly (hetzner/eu-central). */
const DIRECT_NODE = 2;

/** A gateway in front of every devnet node, answering the page's origin, ready (agreed head, all admitted). */
async function startGateway(devnet: Devnet, pageOrigin: string): Promise<App> {
  const config = validateConfig({
    server: { host: "127.0.0.1", port: 0, corsOrigins: [pageOrigin] },
    store: { kind: "memory" },
    log: { level: "warn" },
    health: { headPollIntervalMs: 250 },
    chains: [
      {
        chainId: devnet.chainId,
        upstreams: devnet.nodes.map((n) => ({ id: n.id, url: n.url, domain: n.domain })),
      },
    ],
  });
  const app = await startApp(config, { readyTimeoutMs: READY_MS });
  try {
    await settled(app, READY_MS);
  } catch (error) {
    await app.stop();
    throw error;
  }
  return app;
}

async function balanceOnNode(devnet: Devnet, node: number): Promise<bigint> {
  const res = await fetch(devnet.nodes[node]!.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBalance", params: [ACCOUNT, "latest"] }),
  });
  return BigInt(((await res.json()) as { result: string }).result);
}

/** The page's refreshes that began after `refresh` completed: the first one after it may have started before. */
async function refreshesAfter(page: Page, refresh: number): Promise<PageRefresh[]> {
  return (await readPageHistory(page)).filter((r) => r.refresh > refresh + 1);
}

/** Upstream id → the head the page's engine last saw from it, as its table shows. */
async function upstreamHeads(page: Page): Promise<Record<string, string>> {
  return (await page.evaluate(
    `Object.fromEntries([...document.querySelectorAll("tr[data-upstream]")].map((tr) => [tr.dataset.upstream, tr.cells[2].textContent]))`,
  )) as Record<string, string>;
}

interface ConsoleEntry {
  at: number;
  type: string;
  text: string;
  url: string;
}

test("client library in Chromium: verified balance, survives a gateway's loss, stale (never 0) when all are gone", async (t) => {
  const started = performance.now();
  const stops: (() => Promise<void>)[] = [];
  t.after(async () => {
    const errors: unknown[] = [];
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  });
  await mkdir(ARTIFACTS, { recursive: true });

  const devnet = await startDevnet({ nodes: THREE_DOMAINS, blockTimeMs: 0 });
  stops.push(() => devnet.stop());
  const signer = privateKeyToAccount(devnet.accounts[0]!.privateKey);
  const transfer = async (nonce: number, value: bigint) =>
    devnet.sendRawTransaction(
      await signer.signTransaction({
        chainId: devnet.chainId,
        type: "eip1559",
        nonce,
        to: ACCOUNT,
        value,
        gas: 21_000n,
        maxFeePerGas: 10n ** 11n,
        maxPriorityFeePerGas: 1n,
      }),
    );
  await transfer(0, FIRST_TRANSFER_WEI);
  const firstHead = await devnet.mine(2);

  const direct: FaultProxy = await startFaultProxy({ target: devnet.nodes[DIRECT_NODE]!.url });
  stops.push(() => direct.close());
  const pageServer: ClientPageServer = await startClientPageServer();
  stops.push(() => pageServer.close());
  // Both start at once (each waits for its agreed head); one that started is stopped even if the other failed.
  const gateways = await Promise.allSettled([
    startGateway(devnet, pageServer.origin),
    startGateway(devnet, pageServer.origin),
  ]);
  for (const g of gateways) if (g.status === "fulfilled") stops.push(() => g.value.stop());
  const [gatewayA, gatewayB] = gateways.map((g) => {
    if (g.status === "rejected") throw g.reason;
    return g.value;
  }) as [App, App];

  const upstreams: ClientPageUpstream[] = [
    { ...GATEWAY_A, url: `${gatewayA.server.url}/rpc/${devnet.chainId}` },
    { ...GATEWAY_B, url: `${gatewayB.server.url}/rpc/${devnet.chainId}` },
    // The proxy forwards to the node's own path: the key in this one only has to stay out of everything shown.
    { id: "own-node", url: `${direct.url}/v3/${CANARY}`, domain: THREE_DOMAINS[DIRECT_NODE]!.domain },
  ];

  const browser: RunningChromium = await startChromium();
  stops.push(() => browser.close());
  const page = await browser.context.newPage();
  const consoleEntries: ConsoleEntry[] = [];
  page.on("console", (m: ConsoleMessage) => {
    if (m.type() === "error" || m.type() === "warning")
      consoleEntries.push({ at: Date.now(), type: m.type(), text: m.text(), url: m.location().url });
  });
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));

  await page.goto(pageServer.pageUrl({ chainId: devnet.chainId, address: ACCOUNT, upstreams }));
  // The fragment, with its keyed URL, left the address bar as soon as the page read it.
  assert.equal(page.url(), `${pageServer.origin}/`);

  // 1. All up: the verified balance, as the chain has it, proven.
  const truth1 = await balanceOnNode(devnet, 0);
  assert.equal(truth1, FIRST_TRANSFER_WEI);
  await waitForAccount(page, `d.state === "live"`, PAGE_MS);
  const live = await readPageState(page);
  assert.equal(live.balanceWei, truth1.toString());
  assert.equal(live.balanceText, "1.234567 ETH");
  assert.equal(live.evidence, "proof");
  assert.equal(live.block, firstHead);
  assert.ok(live.domains.length >= 2, `a head agreed by at least two domains: ${live.domains}`);
  assert.match(live.statusText, new RegExp(`^verified by proof at block ${firstHead}, agreed by `));
  assert.ok(!(await readPageText(page)).includes(CANARY), "no upstream key on the page");
  await page.screenshot({ path: join(ARTIFACTS, "1-live.png"), fullPage: true });

  // 2. Gateway A (aws/us-east-1) goes away, and the chain moves on: the page must show the new balance at the new
  // block, verified without A, and never anything but live on the way.
  const beforeKillA = (await readPageState(page)).refreshes;
  const killedA = Date.now();
  await gatewayA.stop();
  await transfer(1, SECOND_TRANSFER_WEI);
  const secondHead = await devnet.mine();
  const truth2 = await balanceOnNode(devnet, 0);
  assert.equal(truth2, FIRST_TRANSFER_WEI + SECOND_TRANSFER_WEI);
  await waitForAccount(page, `d.state !== "live" || d.block === "${secondHead}"`, PAGE_MS);
  const atSecondHead = (await readPageState(page)).refreshes;
  await waitForAccount(page, `Number(d.refreshes) >= ${atSecondHead + REFRESHES_AFTER_KILL}`, PAGE_MS);
  const afterA = await readPageState(page);
  assert.equal(afterA.state, "live", afterA.statusText);
  assert.equal(afterA.block, secondHead);
  assert.equal(afterA.balanceWei, truth2.toString());
  assert.equal(afterA.balanceText, "1.734567 ETH");
  assert.equal(afterA.evidence, "proof");
  assert.deepEqual(afterA.domains.toSorted(), ["gcp/europe-west1", "hetzner/eu-central"]);
  const duringA = await refreshesAfter(page, beforeKillA);
  assert.ok(duringA.length >= REFRESHES_AFTER_KILL, `refreshes after the kill: ${duringA.length}`);
  for (const r of duringA) {
    assert.equal(r.state, "live", `refresh ${r.refresh} after gateway A's loss: ${JSON.stringify(r)}`);
    assert.ok(
      r.balanceWei === truth1.toString() || r.balanceWei === truth2.toString(),
      `refresh ${r.refresh}: ${r.balanceWei}`,
    );
  }
  // The page's own status agrees: gateway A never saw the new block; the other two did.
  const heads = await upstreamHeads(page);
  assert.notEqual(heads["gateway-a"], `#${secondHead}`);
  assert.equal(heads["gateway-b"], `#${secondHead}`);
  assert.equal(heads["own-node"], `#${secondHead}`);
  assert.ok(!(await readPageText(page)).includes(CANARY), "no upstream key on the page");
  await page.screenshot({ path: join(ARTIFACTS, "2-gateway-a-down.png"), fullPage: true });

  // 3. Everything goes away: gateway B stops and the own node becomes unreachable. The page keeps the last verified
  // balance, marked stale with its block and age.
  const beforeKillAll = (await readPageState(page)).refreshes;
  const killedAll = Date.now();
  await Promise.all([gatewayB.stop(), direct.close()]);
  await waitForAccount(page, `d.state !== "live"`, PAGE_MS);
  const wentStale = (await readPageState(page)).refreshes;
  // The age is counted, not frozen: wait until it reads at least one second.
  await waitForAccount(
    page,
    `Number(d.refreshes) >= ${wentStale + REFRESHES_AFTER_KILL} && (d.state !== "stale" || Number(d.ageSeconds) >= 1)`,
    PAGE_MS,
  );
  const stale = await readPageState(page);
  assert.equal(stale.state, "stale", stale.statusText);
  assert.equal(stale.balanceWei, truth2.toString());
  assert.equal(stale.balanceText, "1.734567 ETH");
  assert.equal(stale.block, secondHead);
  assert.equal(stale.evidence, "proof");
  assert.ok(stale.ageSeconds !== undefined && stale.ageSeconds >= 1, `age ${stale.ageSeconds}`);
  assert.match(
    stale.statusText,
    new RegExp(`^stale: as of block ${secondHead}, ${stale.ageSeconds} s ago`),
    "the status names the block and the age",
  );
  const afterAll = await refreshesAfter(page, beforeKillAll);
  assert.ok(afterAll.length >= REFRESHES_AFTER_KILL, `refreshes after the last kill: ${afterAll.length}`);
  for (const r of afterAll) {
    // Live until the engine notices (a cached answer at most), then stale: never unavailable, never another value.
    assert.ok(
      r.state === "live" || r.state === "stale",
      `refresh ${r.refresh} after the last kill: ${JSON.stringify(r)}`,
    );
    assert.equal(r.balanceWei, truth2.toString(), `refresh ${r.refresh}`);
    assert.equal(r.block, secondHead, `refresh ${r.refresh}`);
  }
  const history = await readPageHistory(page);
  assert.ok(history.length >= duringA.length + afterAll.length, `the page recorded ${history.length} refreshes`);
  for (const r of history) {
    assert.notEqual(r.balanceWei, "0", `refresh ${r.refresh} showed 0`);
    assert.ok(!/^0(\.0*)? ETH$/.test(r.text), `refresh ${r.refresh} showed ${r.text}`);
    assert.notEqual(r.text.trim(), "", `refresh ${r.refresh} showed a blank`);
  }
  const text = await readPageText(page);
  assert.ok(!text.includes(CANARY), "no upstream key on the page");
  await page.screenshot({ path: join(ARTIFACTS, "3-all-down-stale.png"), fullPage: true });

  // The only console errors are the browser's notes on fetches to upstreams after they were cut.
  assert.deepEqual(pageErrors, []);
  const cut = [
    { origin: new URL(upstreams[0]!.url).origin, at: killedA },
    { origin: new URL(upstreams[1]!.url).origin, at: killedAll },
    { origin: new URL(upstreams[2]!.url).origin, at: killedAll },
  ];
  const expected = (e: ConsoleEntry) =>
    e.type === "error" &&
    e.text === "Failed to load resource: net::ERR_CONNECTION_REFUSED" &&
    cut.some((c) => e.url.startsWith(`${c.origin}/`) && e.at >= c.at);
  const unexpected = consoleEntries.filter((e) => !expected(e));
  assert.deepEqual(unexpected, [], "console errors other than failed fetches to cut upstreams");
  t.diagnostic(
    `console: ${consoleEntries.length} expected failed fetches; bundle ${pageServer.bundle.bytes} bytes ` +
      `(${pageServer.bundle.gzipBytes} gzip); ${Math.round(performance.now() - started)} ms`,
  );
});
