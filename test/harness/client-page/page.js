/**
 * A wallet's balance screen on the embedded Multihome engine: the page multi-homes across the upstreams it is given
 * (Multihome gateways and direct providers, each in its own failure domain), verifies every answer itself and shows
 * the account's balance as "verified", "stale: as of block N" or "unavailable" — never a 0 it does not know.
 *
 * Input, in the address's fragment (`#chainId=…&address=…&upstreams=<JSON [{ id, url, domain }]>`): a fragment is
 * never sent to any server nor put in a Referer, and upstream URLs may carry API keys. It is removed from the address
 * bar once read.
 *
 * State for tests, on `#account`: `data-state` (loading | live | stale | unavailable), `data-balance-wei`,
 * `data-block`, `data-evidence`, `data-domains` (comma-separated), `data-age-seconds`, `data-refreshes` (completed
 * refreshes); `window.accountHistory` holds one entry per completed refresh.
 */
import { createMultihome } from "./multihome.browser.js";

/** Pause between the end of one refresh and the start of the next, ms. */
const REFRESH_MS = 500;
/** How long the first refresh waits for the upstreams to agree on a head, ms. */
const READY_TIMEOUT_MS = 5_000;
/** Entries kept in `window.accountHistory`. */
const HISTORY_MAX = 1_000;
const WEI_PER_ETH = 10n ** 18n;

/**
 * A screen refreshed twice a second must notice a lost upstream within a refresh or two, not after the gateway
 * defaults (1 s head polls, 5 s call deadline), which suit a server that lives for months. Fast head polls make a dead
 * upstream drop out of the agreed head quickly; short deadlines bound how long one refresh can wait on an upstream
 * that accepts connections and never answers, so the page says "stale" in seconds rather than hanging on it.
 */
const SETTINGS = {
  health: { headPollIntervalMs: 250 },
  routing: { requestTimeoutMs: 2_000, attemptTimeoutMs: 500 },
};

const root = document.getElementById("account");
const balanceText = document.getElementById("balance");
const statusText = document.getElementById("status");
const upstreamRows = document.getElementById("upstreams");
const refreshesText = document.getElementById("refreshes");
const history = [];
window.accountHistory = history;

const input = new URLSearchParams(location.hash.slice(1));
window.history.replaceState(null, "", `${location.pathname}${location.search}`);
const chainId = Number(input.get("chainId"));
const address = input.get("address") ?? "";
const upstreams = JSON.parse(input.get("upstreams") ?? "[]");
document.getElementById("address").textContent = address;

/** Exact decimal ETH from wei (a decimal string): no float ever rounds a balance. */
function formatEth(wei) {
  const value = BigInt(wei);
  const whole = value / WEI_PER_ETH;
  const fraction = (value % WEI_PER_ETH).toString().padStart(18, "0").replace(/0+$/, "");
  return `${whole}${fraction === "" ? "" : `.${fraction}`} ETH`;
}

/** What the screen says; `undefined` fields are removed from the DOM so a test never reads a previous state's. */
function show(state, fields) {
  root.dataset.state = state;
  for (const name of ["balanceWei", "block", "evidence", "domains", "ageSeconds"]) {
    const value = fields[name];
    if (value === undefined) delete root.dataset[name];
    else root.dataset[name] = String(value);
  }
}

function render(answer) {
  if (!answer.ok) {
    // Nothing verified, now or before: say so. A blank or a 0 here is exactly the failure this page exists to avoid.
    show("unavailable", {});
    balanceText.textContent = "unavailable";
    statusText.textContent = `unavailable: ${answer.message}`;
    return;
  }
  const { view } = answer;
  const domains = view.evidence.domains.join(", ");
  balanceText.textContent = formatEth(view.balance);
  show(view.freshness, {
    balanceWei: view.balance,
    block: view.block.number,
    evidence: view.evidence.method,
    domains: view.evidence.domains.join(","),
    ageSeconds: view.ageSeconds,
  });
  statusText.textContent =
    view.freshness === "live"
      ? `verified by ${view.evidence.method} at block ${view.block.number}, agreed by ${domains}`
      : `stale: as of block ${view.block.number}, ${view.ageSeconds} s ago (no upstream can be verified now)`;
}

function renderUpstreams(status) {
  const rows = status.upstreams.map((u) => {
    const tr = document.createElement("tr");
    tr.dataset.upstream = u.id;
    for (const text of [u.id, u.domain, u.head === undefined ? "—" : `#${u.head}`, u.breaker]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  upstreamRows.replaceChildren(...rows);
}

const mh = createMultihome({ chainId, upstreams, settings: SETTINGS });
let refreshes = 0;
let timer;
let stopped = false;

async function refresh() {
  if (stopped) return;
  let answer;
  try {
    answer = await mh.account(address);
  } catch (error) {
    // The account view answers failures as values; a throw is a defect, reported where a test sees it.
    console.error("the account view threw", error);
    answer = { ok: false, message: "the account view failed" };
  }
  if (stopped) return;
  render(answer);
  renderUpstreams(mh.status());
  refreshes++;
  root.dataset.refreshes = String(refreshes);
  refreshesText.textContent = `refreshed ${refreshes} times, every ${REFRESH_MS} ms`;
  history.push({
    refresh: refreshes,
    at: Date.now(),
    state: root.dataset.state,
    balanceWei: root.dataset.balanceWei,
    block: root.dataset.block === undefined ? undefined : Number(root.dataset.block),
    text: balanceText.textContent,
  });
  if (history.length > HISTORY_MAX) history.shift();
  timer = setTimeout(refresh, REFRESH_MS);
}

window.addEventListener("pagehide", () => {
  stopped = true;
  clearTimeout(timer);
  void mh.close();
});

// The first answer waits for an agreed head (bounded): before it, "loading" is the truth, not "unavailable".
mh.ready(READY_TIMEOUT_MS).then(refresh, refresh);
