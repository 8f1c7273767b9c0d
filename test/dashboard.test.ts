/**
 * The dashboard in a real browser: Debian's Chromium opens the admin listener's /dashboard in front of a real gateway
 * and real anvil nodes spread over failure domains like the demo's (two vendors on aws/us-east-1), plus a third aws
 * upstream in another region, so aws carries 3 of 5 upstreams and the concentration warning is certain.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { Locator, Page } from "playwright-core";
import { type RunningChromium, startChromium } from "./harness/chromium.ts";
import { CANARY, FOUR_NODES_TWO_ON_AWS, startTestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

const TOKEN = "dashboard-test-admin-token-4b1d";
const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts", "dashboard");
const NODES = [
  ...FOUR_NODES_TWO_ON_AWS,
  { id: "epsilon", domain: { operator: "epsilon-rpc", hosting: "aws", region: "us-west-2" } },
];
/** What the page must show within this long after the gateway changed: it reads about once a second. */
const PAGE_MS = 10_000;

const until = <T>(what: string, check: () => Promise<T | undefined | false>) =>
  waitFor(check, { timeoutMs: PAGE_MS, intervalMs: 100, what });

/** Hosting → region → upstream ids, as the page groups them. */
function grouping(page: Page) {
  return page.evaluate(`[...document.querySelectorAll("section.hosting")].map((s) => ({
    hosting: s.getAttribute("data-hosting"),
    regions: [...s.querySelectorAll(".region")].map((r) => ({
      region: r.getAttribute("data-region"),
      upstreams: [...r.querySelectorAll("tr[data-upstream]")].map((tr) => tr.getAttribute("data-upstream")),
    })),
  }))`);
}

/** The text as laid out on screen (Playwright's Locator.innerText, which the DOM lint rule mistakes for the property). */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text, with its line breaks, is what is asserted
const textOf = (locator: Locator) => locator.innerText();

const healthOf = (page: Page, id: string) => textOf(page.locator(`tr[data-upstream="${id}"] td.health`));

test("dashboard: failure domains, concentration, live updates and a drill, in Chromium", async (t) => {
  const net = await startTestNetwork({
    nodes: NODES,
    config: { admin: { host: "127.0.0.1", port: 0, token: TOKEN } },
  });
  let browser: RunningChromium | undefined;
  t.after(async () => {
    await browser?.close();
    await net.stop();
  });
  const admin = net.app.admin?.url;
  assert.ok(admin, "the admin listener runs");
  await mkdir(ARTIFACTS, { recursive: true });

  // The static files carry no data and are served without the token, with headers that keep the token in the first
  // URL from leaking and nothing but the page's own files running; everything else still needs the token.
  for (const [path, type] of [
    ["/dashboard", "text/html"],
    ["/dashboard/dashboard.js", "text/javascript"],
    ["/dashboard/dashboard.css", "text/css"],
  ] as const) {
    const res = await fetch(`${admin}${path}`);
    assert.equal(res.status, 200, path);
    assert.ok(res.headers.get("content-type")?.startsWith(type), `${path}: ${res.headers.get("content-type")}`);
    assert.match(res.headers.get("content-security-policy") ?? "", /^default-src 'self'/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("referrer-policy"), "no-referrer");
    assert.equal(res.headers.get("cache-control"), "no-store");
  }
  assert.equal((await fetch(`${admin}/admin/api/overview`)).status, 401);
  assert.equal((await fetch(`${admin}/dashboard/other.js`)).status, 401);

  browser = await startChromium();
  const page = await browser.context.newPage();
  const consoleErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));

  await page.goto(`${admin}/dashboard?token=${TOKEN}`);
  await page.getByRole("region", { name: "hosting aws" }).waitFor({ timeout: PAGE_MS });

  // The token left the address bar as soon as the page read it.
  assert.equal(page.url(), `${admin}/dashboard`);

  // Upstreams grouped hosting → region, each with its health.
  assert.deepEqual(await grouping(page), [
    {
      hosting: "aws",
      regions: [
        { region: "us-east-1", upstreams: ["alpha", "beta"] },
        { region: "us-west-2", upstreams: ["epsilon"] },
      ],
    },
    { hosting: "gcp", regions: [{ region: "europe-west1", upstreams: ["gamma"] }] },
    { hosting: "hetzner", regions: [{ region: "eu-central", upstreams: ["delta"] }] },
  ]);
  for (const n of NODES) assert.equal(await healthOf(page, n.id), "healthy", n.id);
  const alphaRow = await textOf(page.locator('tr[data-upstream="alpha"]'));
  assert.match(alphaRow, /alpha-rpc/);
  assert.match(alphaRow, /#\d+/);

  // Concentration: aws holds 3 of 5 upstreams, so HHI by hosting is 60² + 20² + 20² = 4400, and the findings say so
  // in plain words.
  const upstreamsReport = page.getByRole("article", { name: "Upstreams" });
  await until("the upstream concentration", async () => (await textOf(upstreamsReport)).includes("4400"));
  assert.match(await textOf(upstreamsReport), /HHI by hosting\s+4400 highly concentrated/);
  const findings = await textOf(page.getByRole("list", { name: "Findings" }));
  assert.match(findings, /Warning/);
  assert.match(findings, /aws/);
  assert.match(await textOf(page.getByRole("article", { name: /Traffic/ })), /No traffic in the last minute/);
  await page.screenshot({ path: join(ARTIFACTS, "overview.png"), fullPage: true });

  // Live: a mined block shows as the new head, and traffic through the gateway shows as served calls and shares.
  const head = await net.devnet.mine();
  await net.synced();
  const chains = page.getByRole("list", { name: "Chains" });
  await until(`head #${head} on the page`, async () => (await textOf(chains)).includes(`head #${head}`));
  // A method upstreams answer (fees are computed here from proven blocks, without asking any).
  for (let i = 0; i < 10; i++)
    assert.ok((await net.rpc("web3_clientVersion")).body.result, "web3_clientVersion answered");
  const served = async () => {
    const cells = await page.locator("td.served").allInnerTexts();
    return cells.reduce((sum, c) => sum + Number(c), 0);
  };
  const gatewayServed = [...net.app.engine.activity.traffic().values()].reduce((a, b) => a + b, 0);
  assert.ok(gatewayServed > 0, "the gateway counted calls its upstreams served");
  await until(`${gatewayServed} served calls on the page`, async () => (await served()) === gatewayServed);
  assert.doesNotMatch(await textOf(page.getByRole("article", { name: /Traffic/ })), /No traffic/);
  await page.screenshot({ path: join(ARTIFACTS, "live.png"), fullPage: true });

  // A drill of aws from the page: the domain turns down there and the drill is listed with its live figures.
  await page.getByRole("button", { name: "Drill hosting aws", exact: true }).click();
  const awsIds = NODES.filter((n) => n.domain.hosting === "aws").map((n) => n.id);
  await until("aws upstreams shown down by the drill", async () => {
    for (const id of awsIds) if (!/down\s*drill/.test(await healthOf(page, id))) return false;
    return true;
  });
  const running = net.app.engine.activity.drills().find((d) => d.state === "running");
  assert.equal(running?.label, "hosting=aws");
  assert.deepEqual([...(running?.upstreams ?? [])].sort(), [...awsIds].sort());
  for (const id of ["gamma", "delta"]) assert.doesNotMatch(await healthOf(page, id), /drill/);
  const drillItem = page.locator(`li[data-drill="${running?.id}"]`);
  assert.match(await textOf(drillItem), /hosting=aws\s+running\s+ends in \d+ s/);
  assert.match(
    await page.getByRole("region", { name: "hosting aws" }).getAttribute("class").then(String),
    /state-down/,
  );
  for (let i = 0; i < 5; i++) await net.rpc("web3_clientVersion");
  await until("the drill's live request count", async () => {
    const m = /During\s+(\d+) requests, (\d+) failed/.exec(await textOf(drillItem));
    return m !== null && Number(m[1]) >= 5;
  });
  await page.screenshot({ path: join(ARTIFACTS, "drill-running.png"), fullPage: true });

  // The stop button ends it: the drill is listed as stopped and aws is no longer drilled.
  await page.getByRole("button", { name: "Stop hosting=aws", exact: true }).click();
  await until("the drill shown stopped", async () => /hosting=aws\s+stopped/.test(await textOf(drillItem)));
  assert.equal(net.app.engine.activity.drills().find((d) => d.id === running?.id)?.state, "stopped");
  await until("aws upstreams no longer drilled", async () => {
    for (const id of awsIds) if ((await healthOf(page, id)).includes("drill")) return false;
    return true;
  });
  assert.equal(await page.getByRole("button", { name: "Stop hosting=aws", exact: true }).isVisible(), false);
  await page.getByRole("button", { name: "Drill hosting aws", exact: true }).waitFor({ timeout: PAGE_MS });
  const events = await textOf(page.getByRole("list", { name: "Events" }));
  assert.match(events, /drill started/);
  await page.screenshot({ path: join(ARTIFACTS, "drill-stopped.png"), fullPage: true });

  // Started and stopped with one button, the second click the moment the button is enabled again (before any read
  // of the overview could land): it must know the drill the first one started, or it starts it again and gets a 409.
  const gcpButton = page.locator('section[data-hosting="gcp"] button.drill');
  await page.evaluate(`new Promise((resolve) => {
    const b = document.querySelector('section[data-hosting="gcp"] button.drill');
    new MutationObserver((_, observer) => {
      if (b.disabled) return;
      observer.disconnect();
      b.click();
      resolve();
    }).observe(b, { attributes: true, attributeFilter: ["disabled"] });
    b.click();
  })`);
  const gcpDrill = () => net.app.engine.activity.drills().find((d) => d.label === "hosting=gcp");
  await until("the drill of gcp stopped", async () => gcpDrill()?.state === "stopped");
  assert.equal(await page.locator("#notice").isHidden(), true, await textOf(page.locator("#notice")));
  await until("gcp shown not drilled", async () => (await gcpButton.textContent()) === "Drill");

  // The token survives a reload of this tab (sessionStorage) and is not in the address bar afterwards either.
  await page.reload();
  await until("the page live again after a reload", async () =>
    /^Live/.test(await textOf(page.locator("#connection"))),
  );
  assert.equal(page.url(), `${admin}/dashboard`);

  // Nor is it in the history: away and back, the entry the page was opened with holds the address without it.
  await page.goto("about:blank");
  await page.goBack();
  assert.equal(page.url(), `${admin}/dashboard`);
  await until("the page live again after going back", async () =>
    /^Live/.test(await textOf(page.locator("#connection"))),
  );

  // No secret reaches the page: no upstream URL, no canary.
  const html = await page.content();
  for (const secret of [CANARY, ...[...net.proxies.values()].map((p) => p.url), ...net.devnet.nodes.map((n) => n.url)])
    assert.ok(!html.includes(secret), `the page HTML holds ${secret === CANARY ? "the canary" : secret}`);
  assert.deepEqual(consoleErrors, []);

  // Another tab opened without the token reads nothing and says how to open the page.
  const bare = await browser.context.newPage();
  await bare.goto(`${admin}/dashboard`);
  await until("the sign-in notice", async () => /token=<admin token>/.test(await textOf(bare.locator("#notice"))));

  // A token the listener refuses is forgotten: the page says so, keeps nothing, and a reload stays signed out.
  const wrong = await browser.context.newPage();
  await wrong.goto(`${admin}/dashboard?token=not-the-admin-token`);
  await until("the refused-token notice", async () => /refused the token/.test(await textOf(wrong.locator("#notice"))));
  assert.equal(await wrong.evaluate(`sessionStorage.getItem("multihome.adminToken")`), null);
  assert.equal(wrong.url(), `${admin}/dashboard`);
  await wrong.reload();
  await until("still signed out after a reload", async () =>
    /the token is needed/.test(await textOf(wrong.locator("#notice"))),
  );
  assert.equal(await textOf(wrong.locator("#connection")), "Not signed in");
});
