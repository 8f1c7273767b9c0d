/**
 * The Multihome dashboard: reads the admin API with the admin token and redraws the operator's view about once a
 * second. No framework and no build step; every string from the API reaches the DOM as text (createElement,
 * textContent, append of strings), never as markup.
 *
 * Token handling: the page is opened once as /dashboard?token=<admin token>. The token is taken from the address,
 * removed from it with history.replaceState (so it is not left in the history, bookmarks or a screenshot), kept in
 * memory and in this tab's sessionStorage, so a reload keeps working; it is gone when the tab closes and is never
 * shared with other tabs. A token the listener refuses is forgotten.
 */

/** Time between the end of one overview read and the start of the next, ms. */
const POLL_INTERVAL_MS = 1_000;
/** An admin API call that has not answered by then is abandoned, ms. */
const REQUEST_TIMEOUT_MS = 5_000;
/** sessionStorage key of the admin token. */
const TOKEN_KEY = "multihome.adminToken";
/** HHI above this is "moderately concentrated", above the next "highly concentrated" (0..10000 scale). */
const HHI_MODERATE = 1_500;
const HHI_HIGH = 2_500;
/** The fields of a failure domain, as the concentration reports index their HHI. */
const DOMAIN_FIELDS = ["hosting", "operator", "region"];
/** Health badge tone of the events that deserve one. */
const EVENT_TONES = { domain_down: "down", cordon: "down", dispute: "down", domain_up: "healthy" };

const token = takeToken();
/** The last overview read, for click handlers that need the current drills. */
let latest;
let pollTimer;
/** Counts the operator's changes as their answers arrive: a read begun before one may lack it, so it is not drawn. */
let changes = 0;
let stopped = false;
/** Set once the listener refused the token: nothing reads again until the page is opened with a new one. */
let refused = false;

/** Reads the token from the address (then removes it there) or from this tab's sessionStorage. */
function takeToken() {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl !== null) {
    url.searchParams.delete("token");
    window.history.replaceState(window.history.state, "", `${url.pathname}${url.search}${url.hash}`);
    if (fromUrl !== "") {
      try {
        window.sessionStorage.setItem(TOKEN_KEY, fromUrl);
      } catch {
        // Storage can be disabled; the token then lives in memory only and a reload needs the link again.
      }
      return fromUrl;
    }
  }
  try {
    return window.sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function forgetToken() {
  try {
    window.sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Nothing stored, nothing to forget.
  }
}

/** One admin API call with the bearer token; resolves to the status and the parsed JSON body (null when none). */
async function api(method, path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const headers = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
    const data = await res.json().catch(() => null);
    return { status: res.status, data };
  } finally {
    clearTimeout(timer);
  }
}

function errorMessage(data, fallback) {
  const message = data?.error?.message;
  return typeof message === "string" ? message : fallback;
}

// ---------------------------------------------------------------------------------------------------------------
// DOM helpers

/** createElement with properties and children; strings become text nodes. */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/**
 * Keeps `container`'s children in the order of `items`, one element per key: elements are created once and updated
 * in place, so a button keeps its focus and a click in progress is not lost to the next redraw.
 */
function syncKeyed(container, items, keyOf, create, update) {
  const existing = new Map();
  for (const el of container.children) existing.set(el.dataset.key, el);
  let previous = null;
  for (const item of items) {
    const key = keyOf(item);
    let el = existing.get(key);
    if (el) existing.delete(key);
    else {
      el = create(item);
      el.dataset.key = key;
    }
    update(el, item);
    const expected = previous ? previous.nextElementSibling : container.firstElementChild;
    if (expected !== el) container.insertBefore(el, expected);
    previous = el;
  }
  for (const el of existing.values()) el.remove();
}

/** The map's value for `key`, created first when missing. */
function entryOf(map, key, create) {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page lacks #${id}`);
  return el;
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

const percent = (share) => `${Math.round(share * 1000) / 10} %`;
const orDash = (value, format = String) => (value === null || value === undefined ? "—" : format(value));
const ms = (value) => orDash(value, (v) => `${Math.round(v * 10) / 10} ms`);
const clockTime = (at) => new Date(at).toLocaleTimeString([], { hour12: false });

function hhiLevel(hhi) {
  if (hhi > HHI_HIGH) return { text: "highly concentrated", level: "high" };
  if (hhi > HHI_MODERATE) return { text: "moderately concentrated", level: "moderate" };
  return { text: "spread", level: "low" };
}

function seconds(msValue) {
  return `${Math.max(0, Math.round(msValue / 1000))} s`;
}

// ---------------------------------------------------------------------------------------------------------------
// Drills

/** The running drill of exactly this domain (a selector of this one field and name), if any. */
function runningDrill(field, name) {
  return latest?.drills.find(
    (d) => d.state === "running" && Object.keys(d.selector).length === 1 && d.selector[field] === name,
  );
}

/** The duration in the field, s; undefined when it holds nothing usable, so the admin API's default applies. */
function drillSeconds() {
  const value = Number(byId("drill-seconds").value);
  return Number.isFinite(value) && value >= 1 ? Math.round(value) : undefined;
}

/**
 * Takes a drill the API returned into the last overview and redraws, so the next click decides from it even before
 * the next read; a read already under way is not drawn over it.
 */
function merge(drill) {
  changes += 1;
  if (!latest) return;
  latest = { ...latest, drills: [drill, ...latest.drills.filter((d) => d.id !== drill.id)] };
  render(latest);
}

/** Runs a click's request with its button disabled; a failure shows as the notice; the page reads again after. */
async function withBusy(button, action) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await action();
  } catch (error) {
    showNotice(`Drill request failed: ${error.message}`);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    pollNow();
  }
}

/** Starts a drill of the domain, or stops the one running on it. */
function toggleDrill(field, name, button) {
  const running = runningDrill(field, name);
  return withBusy(button, async () => {
    if (running) return stopDrill(running.id);
    const durationS = drillSeconds();
    const { status, data } = await api("POST", "/admin/api/drills", {
      selector: { [field]: name },
      ...(durationS === undefined ? {} : { durationMs: durationS * 1000 }),
    });
    if (status === 201) {
      showNotice("");
      merge(data);
    } else showNotice(`Drill not started: ${errorMessage(data, `HTTP ${status}`)}`);
  });
}

async function stopDrill(id) {
  const { status, data } = await api("DELETE", `/admin/api/drills/${encodeURIComponent(id)}`);
  if (status === 200) {
    showNotice("");
    merge(data);
  } else showNotice(`Drill not stopped: ${errorMessage(data, `HTTP ${status}`)}`);
}

function drillButton(field, name) {
  const button = h("button", { type: "button", class: "drill" });
  button.addEventListener("click", () => toggleDrill(field, name, button));
  return button;
}

/** A domain's header: its health summary, its share of traffic, and whether its button starts or stops a drill. */
function updateDomainHeader(el, field, name, upstreams, trafficShare) {
  const summary = healthSummary(upstreams);
  el.querySelector(".summary").replaceChildren(h("span", { class: `badge health-${summary.state}` }, summary.text));
  el.querySelector(".traffic").textContent = `traffic ${percent(trafficShare ?? 0)}`;
  const button = el.querySelector("button.drill");
  const running = runningDrill(field, name);
  button.textContent = running ? "Stop drill" : "Drill";
  button.setAttribute("aria-label", `${running ? "Stop drill of" : "Drill"} ${field} ${name}`);
  button.classList.toggle("active", Boolean(running));
  return summary;
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

function showNotice(text) {
  const notice = byId("notice");
  notice.textContent = text;
  notice.hidden = text === "";
}

function renderChains(chains) {
  syncKeyed(
    byId("chains"),
    chains,
    (c) => String(c.chainId),
    () => h("li", { class: "chain" }),
    (el, c) => {
      const state = c.ready ? "ready" : `not ready${c.reason ? `: ${c.reason}` : ""}`;
      el.classList.toggle("not-ready", !c.ready);
      // A Solana cluster (`solana/{name}`): its head is the agreed processed slot; confirmed and finalized follow.
      const solana = c.slots !== undefined;
      const head = !c.head
        ? solana
          ? "no agreed slot"
          : "no agreed head"
        : solana
          ? `slot ${c.head.number} · confirmed ${c.slots.confirmed ?? "?"} · finalized ${c.slots.finalized ?? "?"}`
          : `head #${c.head.number}`;
      el.replaceChildren(
        h("strong", {}, solana ? `Solana ${String(c.chainId).replace(/^solana\//, "")}` : `Chain ${c.chainId}`),
        " · ",
        h("span", { class: "head" }, head),
        " · ",
        h("span", {}, state),
        ...(c.domainsDown.length > 0
          ? [" ", h("span", { class: "badge health-down" }, `domains down: ${c.domainsDown.join(", ")}`)]
          : []),
      );
    },
  );
}

function renderReport(article, report, empty) {
  const body = article.querySelector(".report-body");
  const total = report.byHosting.reduce((sum, s) => sum + s.share, 0);
  if (total === 0) {
    body.replaceChildren(h("p", { class: "empty" }, empty));
    return;
  }
  const hhi = h(
    "dl",
    { class: "hhi" },
    DOMAIN_FIELDS.map((f) => {
      const level = hhiLevel(report.hhi[f]);
      return h(
        "div",
        { class: `hhi-${level.level}` },
        h("dt", {}, `HHI by ${f}`),
        h("dd", {}, h("strong", {}, String(Math.round(report.hhi[f]))), ` ${level.text}`),
      );
    }),
  );
  const shares = (title, list) =>
    h(
      "div",
      { class: "shares" },
      h("h4", {}, title),
      h(
        "ul",
        { "aria-label": `${article.querySelector("h3").textContent} ${title.toLowerCase()}` },
        [...list]
          .sort((a, b) => b.share - a.share)
          .map((s) => {
            const bar = h("span", { class: "bar" });
            bar.style.setProperty("--share", String(s.share));
            return h(
              "li",
              {},
              h("span", { class: "name" }, s.name),
              h("span", { class: "track" }, bar),
              h("span", { class: "value" }, percent(s.share)),
            );
          }),
      ),
    );
  body.replaceChildren(hhi, shares("By hosting", report.byHosting), shares("By operator", report.byOperator));
}

function renderFindings(concentration) {
  const seen = new Set();
  const findings = [...concentration.traffic.findings, ...concentration.upstreams.findings]
    .filter((f) => (seen.has(f.message) ? false : seen.add(f.message)))
    .sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "critical" ? -1 : 1));
  const list = byId("findings");
  if (findings.length === 0) {
    list.replaceChildren(
      h("li", { class: "finding ok" }, "No hosting provider, operator or region carries most of the load."),
    );
    return;
  }
  list.replaceChildren(
    ...findings.map((f) =>
      h(
        "li",
        { class: `finding ${f.severity === "critical" ? "critical" : "warning"}` },
        h("span", { class: "severity" }, f.severity === "critical" ? "Critical" : "Warning"),
        " ",
        f.message,
      ),
    ),
  );
}

/** Upstreams of every chain, grouped hosting → region. */
function groupByHosting(chains) {
  const hostings = new Map();
  for (const chain of chains) {
    for (const u of chain.upstreams) {
      const regions = entryOf(hostings, u.hosting, () => new Map());
      const group = entryOf(regions, u.region, () => ({ down: false, upstreams: [] }));
      group.upstreams.push({ chainId: chain.chainId, ...u });
      if (chain.domainsDown.includes(u.domain)) group.down = true;
    }
  }
  return [...hostings.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, regions]) => ({
      name,
      regions: [...regions.entries()].sort(([a], [b]) => a.localeCompare(b)),
      upstreams: [...regions.values()].flatMap((r) => r.upstreams),
    }));
}

function healthSummary(upstreams) {
  const counts = new Map();
  for (const u of upstreams) counts.set(u.health, (counts.get(u.health) ?? 0) + 1);
  const order = ["down", "cordoned", "degraded", "pending", "healthy"];
  const worst = order.find((s) => counts.has(s));
  const text = order
    .filter((s) => counts.has(s))
    .map((s) => `${counts.get(s)} ${s}`)
    .join(", ");
  return { state: counts.size === 1 ? worst : "degraded", text };
}

function upstreamTable(upstreams, multiChain) {
  const head = ["Upstream", ...(multiChain ? ["Chain"] : []), "Operator", "Health", "Head", "Lag", "Latency"];
  head.push("Share", "Served");
  return h(
    "table",
    { class: "upstreams" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        head.map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      {},
      upstreams.map((u) =>
        h(
          "tr",
          { "data-upstream": u.id, class: `health-${u.health}` },
          h("th", { scope: "row" }, u.id),
          multiChain ? h("td", {}, String(u.chainId)) : null,
          h("td", {}, u.operator),
          h(
            "td",
            { class: "health" },
            h("span", { class: `badge health-${u.health}`, title: `breaker ${u.breaker}, ${u.admission}` }, u.health),
            u.drilled ? h("span", { class: "badge drilled" }, "drill") : null,
            u.cordonReason ? h("small", { class: "reason" }, u.cordonReason) : null,
          ),
          h(
            "td",
            { class: "num" },
            orDash(u.head, (n) => `#${n}`),
          ),
          h("td", { class: "num" }, orDash(u.lag)),
          h("td", { class: "num" }, ms(u.latencyMs)),
          h("td", { class: "num share" }, percent(u.share)),
          h("td", { class: "num served" }, String(u.served)),
        ),
      ),
    ),
  );
}

function renderHostings(overview) {
  const multiChain = overview.chains.length > 1;
  const traffic = new Map(overview.concentration.traffic.byHosting.map((s) => [s.name, s.share]));
  syncKeyed(
    byId("hostings"),
    groupByHosting(overview.chains),
    (g) => g.name,
    (g) => {
      const section = h("section", { class: "hosting", "aria-label": `hosting ${g.name}`, "data-hosting": g.name });
      const header = h(
        "header",
        {},
        h("h3", {}, g.name),
        h("span", { class: "summary" }),
        h("span", { class: "traffic" }),
        drillButton("hosting", g.name),
      );
      section.append(header, h("div", { class: "regions" }));
      return section;
    },
    (section, g) => {
      const summary = updateDomainHeader(section, "hosting", g.name, g.upstreams, traffic.get(g.name));
      section.className = `hosting state-${summary.state}`;
      section
        .querySelector(".regions")
        .replaceChildren(
          ...g.regions.map(([region, group]) =>
            h(
              "div",
              { class: `region${group.down ? " region-down" : ""}`, "data-region": region },
              h(
                "h4",
                {},
                `${g.name}/${region}`,
                group.down ? h("span", { class: "badge health-down" }, "domain down") : null,
              ),
              upstreamTable(group.upstreams, multiChain),
            ),
          ),
        );
    },
  );
}

function renderOperators(overview) {
  const operators = new Map();
  for (const chain of overview.chains) {
    for (const u of chain.upstreams) {
      const o = entryOf(operators, u.operator, () => ({ name: u.operator, domains: new Set(), upstreams: [] }));
      o.domains.add(u.domain);
      o.upstreams.push(u);
    }
  }
  const traffic = new Map(overview.concentration.traffic.byOperator.map((s) => [s.name, s.share]));
  syncKeyed(
    byId("operators"),
    [...operators.values()].sort((a, b) => a.name.localeCompare(b.name)),
    (o) => o.name,
    (o) =>
      h(
        "li",
        { class: "operator", "data-operator": o.name },
        h("span", { class: "name" }),
        h("span", { class: "summary" }),
        h("span", { class: "traffic" }),
        drillButton("operator", o.name),
      ),
    (li, o) => {
      li.querySelector(".name").replaceChildren(
        h("strong", {}, o.name),
        " ",
        h("span", { class: "domains" }, `on ${[...o.domains].sort().join(", ")}`),
      );
      updateDomainHeader(li, "operator", o.name, o.upstreams, traffic.get(o.name));
    },
  );
}

function statsBlock(title, s) {
  const servedBy = Object.entries(s.servedBy)
    .sort(([, a], [, b]) => b - a)
    .map(([domain, n]) => `${domain} ${n}`)
    .join(", ");
  return h(
    "dl",
    { class: "stats" },
    h("div", {}, h("dt", {}, title), h("dd", {}, `${s.requests} requests, ${s.failed} failed`)),
    h("div", {}, h("dt", {}, "p50 / p99"), h("dd", {}, `${ms(s.p50Ms)} / ${ms(s.p99Ms)}`)),
    h("div", {}, h("dt", {}, "served by"), h("dd", {}, servedBy || "—")),
  );
}

function renderDrills(overview) {
  const drills = [...overview.drills].sort((a, b) => b.startedAt - a.startedAt);
  byId("drills-empty").hidden = drills.length > 0;
  syncKeyed(
    byId("drill-list"),
    drills,
    (d) => d.id,
    (d) => {
      const stop = h("button", { type: "button", class: "stop", "aria-label": `Stop ${d.label}` }, "Stop");
      stop.addEventListener("click", () => withBusy(stop, () => stopDrill(d.id)));
      return h(
        "li",
        { class: "drill-item", "data-drill": d.id },
        h("header", {}, h("h3", {}, d.label), h("span", { class: "state" }), h("span", { class: "timing" }), stop),
        h("div", { class: "figures" }),
      );
    },
    (li, d) => {
      const now = overview.generatedAt;
      li.className = `drill-item drill-${d.state}`;
      li.querySelector(".state").replaceChildren(h("span", { class: `badge drill-${d.state}` }, d.state));
      const timing =
        d.state === "running"
          ? `ends in ${seconds(d.endsAt - now)}`
          : d.state === "recovering"
            ? `recovery counted for ${seconds(d.afterEndsAt - now)} more`
            : `started ${clockTime(d.startedAt)}, ran ${seconds(Math.min(d.endsAt, now) - d.startedAt)}`;
      li.querySelector(".timing").textContent = timing;
      li.querySelector("button.stop").hidden = d.state !== "running";
      li.querySelector(".figures").replaceChildren(
        h(
          "p",
          { class: "down-list" },
          `${d.state === "running" ? "Takes down" : "Took down"}: ${d.upstreams.join(", ")}`,
        ),
        statsBlock("During", d.during),
        statsBlock("After", d.after),
      );
    },
  );
}

let eventsShown = "";

function renderEvents(events) {
  byId("events-empty").hidden = events.length > 0;
  // Events carry no controls, so the list is redrawn only when it changed.
  const first = events[0];
  const signature = first ? `${events.length}:${first.at}:${first.kind}:${first.message}` : "";
  if (signature === eventsShown) return;
  eventsShown = signature;
  byId("event-list").replaceChildren(
    ...events.map((e) =>
      h(
        "li",
        { class: "event" },
        h("time", { datetime: new Date(e.at).toISOString() }, clockTime(e.at)),
        h(
          "span",
          { class: `badge${EVENT_TONES[e.kind] ? ` health-${EVENT_TONES[e.kind]}` : ""}` },
          e.kind.replace("_", " "),
        ),
        h("span", { class: "message" }, e.message),
        e.domain || e.upstream
          ? h("span", { class: "where" }, [e.domain, e.upstream].filter(Boolean).join(" · "))
          : null,
      ),
    ),
  );
}

function render(overview) {
  latest = overview;
  renderChains(overview.chains);
  renderFindings(overview.concentration);
  renderReport(byId("report-traffic"), overview.concentration.traffic, "No traffic in the last minute.");
  renderReport(byId("report-upstreams"), overview.concentration.upstreams, "No upstream is configured.");
  renderHostings(overview);
  renderOperators(overview);
  renderDrills(overview);
  renderEvents(overview.events);
}

// ---------------------------------------------------------------------------------------------------------------
// The poll loop: one read at a time, the next scheduled when the previous one ended.

function setConnection(text, ok) {
  const el = byId("connection");
  el.textContent = text;
  el.classList.toggle("offline", !ok);
}

async function poll() {
  pollTimer = undefined;
  const changesSeen = changes;
  try {
    const { status, data } = await api("GET", "/admin/api/overview");
    if (status === 401) {
      forgetToken();
      refused = true;
      stopped = true;
      setConnection("Not signed in", false);
      showNotice("The admin listener refused the token. Open the dashboard again as /dashboard?token=<admin token>.");
      return;
    }
    if (status !== 200 || !data) throw new Error(errorMessage(data, `HTTP ${status}`));
    // A read that began before the operator's last change may not hold it: it is dropped and read again at once.
    if (changesSeen === changes) {
      render(data);
      setConnection(`Live · updated ${clockTime(data.generatedAt)}`, true);
    }
  } catch (error) {
    setConnection(`Cannot reach the admin API (${error.name === "AbortError" ? "timed out" : error.message})`, false);
  }
  schedule(changesSeen === changes ? POLL_INTERVAL_MS : 0);
}

function schedule(delayMs) {
  if (stopped || pollTimer !== undefined) return;
  pollTimer = setTimeout(poll, delayMs);
}

/** Reads again at once after a change the operator made, instead of waiting out the interval. */
function pollNow() {
  changes += 1;
  if (pollTimer === undefined) return; // a read is in flight: seeing `changes` moved, it reads again when it ends
  clearTimeout(pollTimer);
  pollTimer = undefined;
  schedule(0);
}

window.addEventListener("pagehide", () => {
  stopped = true;
  clearTimeout(pollTimer);
  pollTimer = undefined;
});
// A page restored from the back/forward cache resumes reading.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted || token === undefined || refused) return;
  stopped = false;
  schedule(0);
});

if (token === undefined) {
  setConnection("Not signed in", false);
  showNotice("Open the dashboard as /dashboard?token=<admin token>: the token is needed to read the admin API.");
} else {
  schedule(0);
}
