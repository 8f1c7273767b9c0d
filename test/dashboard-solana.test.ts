/**
 * The dashboard in a real browser with a Solana cluster: Debian's Chromium opens the admin listener's /dashboard in
 * front of a gateway serving `solana/localnet` over four litesvm nodes in four failure domains (the Solana test
 * network), and the page must show the cluster's row with its agreed slots, those slots moving as the nodes produce
 * new ones, its upstreams in their domains, and one of them down once its node is killed.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { Locator, Page } from "playwright-core";
import { type RunningChromium, startChromium } from "./harness/chromium.ts";
import { CANARY } from "./harness/network.ts";
import { SOLANA_CLUSTER_NAME, startSolanaTestNetwork } from "./harness/solana-network.ts";
import { waitFor } from "./harness/wait.ts";

const TOKEN = "dashboard-solana-test-admin-token-7e2c";
const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts", "dashboard");
/** What the page must show within this long after the gateway changed: it reads about once a second. */
const PAGE_MS = 10_000;
/** The Solana test network's nodes and their failure domains (FOUR_DOMAINS), as the page must group them. */
const DOMAINS = [
  { id: "u1", operator: "op-one", hosting: "aws", region: "us-east-1" },
  { id: "u2", operator: "op-two", hosting: "gcp", region: "europe-west1" },
  { id: "u3", operator: "op-three", hosting: "hetzner", region: "eu-central" },
  { id: "u4", operator: "op-four", hosting: "ovh", region: "ca-east" },
];

const until = <T>(what: string, check: () => Promise<T | undefined | false>) =>
  waitFor(check, { timeoutMs: PAGE_MS, intervalMs: 100, what });

/** The text as laid out on screen (Playwright's Locator.innerText, which the DOM lint rule mistakes for the property). */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text, with its line breaks, is what is asserted
const textOf = (locator: Locator) => locator.innerText();

/** The cluster's row in the header, as the page labels it. */
const ROW = /^Solana (\S+) · slot (\d+) · confirmed (\d+) · finalized (\d+) · (ready|not ready.*)$/;

interface Row {
  name: string;
  processed: number;
  confirmed: number;
  finalized: number;
  state: string;
}

/** The cluster's row as a person reads it; undefined until it shows every slot as a number. */
async function rowOf(page: Page): Promise<Row | undefined> {
  const items = await page.getByRole("list", { name: "Chains" }).getByRole("listitem").allInnerTexts();
  const m = items.length === 1 ? ROW.exec(items[0]!.trim()) : null;
  if (!m) return undefined;
  return { name: m[1]!, processed: Number(m[2]), confirmed: Number(m[3]), finalized: Number(m[4]), state: m[5]! };
}

interface ShownUpstream {
  id: string;
  domain: string;
  operator: string;
  health: string;
  healthTitle: string | null;
  head: string;
  lag: string;
  hostingClass: string;
  hostingSummary: string;
}

/**
 * Each upstream row as shown, read in one go (the page redraws every second): its hosting/region heading, operator,
 * health (and the badge's tooltip), head and lag, and its hosting section's state class and health summary.
 */
function upstreamsOf(page: Page): Promise<ShownUpstream[]> {
  return page.evaluate(`[...document.querySelectorAll("section.hosting .region")].flatMap((r) =>
    [...r.querySelectorAll("tr[data-upstream]")].map((tr) => {
      const cells = [...tr.children].map((c) => c.innerText.trim());
      const section = r.closest("section.hosting");
      return {
        id: tr.getAttribute("data-upstream"),
        domain: r.querySelector("h4").innerText.trim(),
        operator: cells[1],
        health: cells[2],
        healthTitle: tr.querySelector("td.health .badge").getAttribute("title"),
        head: cells[3],
        lag: cells[4],
        hostingClass: section.className,
        hostingSummary: section.querySelector(".summary").innerText.trim(),
      };
    }))`);
}

test("dashboard: a Solana cluster's row, its slots moving and an upstream going down, in Chromium", async (t) => {
  const net = await startSolanaTestNetwork({
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

  browser = await startChromium();
  const page = await browser.context.newPage();
  const consoleErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));

  await page.goto(`${admin}/dashboard?token=${TOKEN}`);

  // The cluster's row names it and shows its agreed slot per commitment, as numbers that agree with the gateway.
  const first = await until("the Solana row with its slots", () => rowOf(page));
  const agreed = net.app.engine.solanaStatus()[0]!.slots;
  assert.deepEqual(
    { ...first },
    {
      name: SOLANA_CLUSTER_NAME,
      processed: agreed.processed,
      confirmed: agreed.confirmed,
      finalized: agreed.finalized,
      state: "ready",
    },
  );
  assert.ok(first.finalized <= first.confirmed && first.confirmed <= first.processed, JSON.stringify(first));

  // Its upstreams, each under its own hosting/region with its operator, healthy at the agreed slot.
  const shown = await until("every upstream healthy at the agreed slot", async () => {
    const rows = await upstreamsOf(page);
    return rows.length === DOMAINS.length &&
      rows.every((u) => u.health === "healthy" && u.head === `#${first.processed}`)
      ? rows
      : undefined;
  });
  assert.deepEqual(
    shown.map((u) => ({ id: u.id, domain: u.domain, operator: u.operator, lag: u.lag })),
    DOMAINS.map((d) => ({ id: d.id, domain: `${d.hosting}/${d.region}`, operator: d.operator, lag: "0" })),
  );
  for (const d of DOMAINS)
    assert.equal(await page.getByRole("region", { name: `hosting ${d.hosting}` }).count(), 1, d.hosting);
  await page.screenshot({ path: join(ARTIFACTS, "solana.png"), fullPage: true });

  // The nodes produce slots: the row moves forward, every commitment (finalized 4 slots behind processed).
  const slot = await net.advance(6);
  const moved = await until(`the row at slot ${slot} with confirmed and finalized moved`, async () => {
    const row = await rowOf(page);
    return row && row.processed === slot && row.confirmed > first.confirmed && row.finalized > first.finalized
      ? row
      : undefined;
  });
  assert.ok(moved.finalized <= moved.confirmed && moved.confirmed <= moved.processed, JSON.stringify(moved));
  await until(`every upstream at #${slot}`, async () =>
    (await upstreamsOf(page)).every((u) => u.health === "healthy" && u.head === `#${slot}`),
  );

  // One node killed: its upstream shows down (its breaker open, as an EVM upstream's), the other three stay healthy,
  // and the row goes on moving with the slots they agree on.
  await net.cluster.kill("u1");
  const later = await net.advance(2);
  const down = await until(`u1 down and the others healthy at #${later}`, async () => {
    const rows = await upstreamsOf(page);
    const u1 = rows.find((u) => u.id === "u1");
    const others = rows.filter((u) => u.id !== "u1");
    const ok =
      u1 !== undefined &&
      /^down\b/.test(u1.health) &&
      others.length === 3 &&
      others.every((u) => u.health === "healthy" && u.head === `#${later}`);
    return ok ? rows : undefined;
  });
  // (read from the same redraw: a half-open probe of its breaker shows it degraded for a moment)
  const u1 = down.find((u) => u.id === "u1")!;
  assert.deepEqual(
    { domain: u1.domain, head: u1.head, lag: u1.lag, hostingSummary: u1.hostingSummary },
    { domain: "aws/us-east-1", head: `#${slot}`, lag: String(later - slot), hostingSummary: "1 down" },
  );
  assert.match(String(u1.healthTitle), /^breaker open/);
  assert.match(u1.hostingClass, /\bstate-down\b/);
  for (const u of down.filter((u) => u.id !== "u1")) {
    assert.equal(u.hostingSummary, "1 healthy", u.id);
    assert.match(u.hostingClass, /\bstate-healthy\b/, u.id);
  }
  const after = await until(`the row at slot ${later}`, async () => {
    const row = await rowOf(page);
    return row?.processed === later ? row : undefined;
  });
  assert.equal(after.state, "ready");
  assert.ok(after.confirmed >= moved.confirmed && after.finalized >= moved.finalized, JSON.stringify(after));
  await page.screenshot({ path: join(ARTIFACTS, "solana-upstream-down.png"), fullPage: true });

  // Nothing the page shows is a broken value, no secret reaches it, and the console stayed clean.
  assert.doesNotMatch(await textOf(page.locator("body")), /\b(NaN|undefined|null|Infinity)\b/);
  const html = await page.content();
  for (const secret of [CANARY, ...[...net.proxies.values()].map((p) => p.url), ...net.cluster.nodes.map((n) => n.url)])
    assert.ok(!html.includes(secret), `the page HTML holds ${secret === CANARY ? "the canary" : secret}`);
  assert.deepEqual(consoleErrors, []);
});
