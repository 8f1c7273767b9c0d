/** The embedded-client section: the browser bundle against its budget, and the per-request overhead against viem. */
import type { ClientKey, ClientLatency } from "../client.ts";
import { int, listOf, ratio } from "./format.ts";
import type { ClientOutcome } from "./types.ts";

const CLIENT_TITLES: Record<ClientKey, string> = {
  baseline: "viem `http()`, direct",
  one: "Multihome, one upstream",
  three: "Multihome, three domains",
};
/** Upstream calls of another method per request from which a row of the client table is broken down by method. */
const CLIENT_BREAKDOWN_MIN_CALLS = 0.01;
const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const x = (own: number, base: number | undefined) => ratio(base === undefined || base === 0 ? undefined : own / base);

/** Each measured method with the evidence the engines answered it with, as the rows hold it: `` `eth_call` `single` ``. */
function evidenceByMethod(rows: readonly ClientLatency[]): string {
  const byMethod = new Map<string, Set<string>>();
  for (const r of rows) {
    if (r.verified === undefined) continue;
    const set = byMethod.get(r.method) ?? new Set<string>();
    set.add(r.verified);
    byMethod.set(r.method, set);
  }
  return [...byMethod].map(([m, v]) => `\`${m}\` ${[...v].map((e) => `\`${e}\``).join(" or ")}`).join(", ");
}

/**
 * The embedded client: its browser bundle against the budget, and each request's latency and CPU through the
 * embedded engine as ratios to viem's `http()` on the same requests in the same run. `node bench/client.ts` prints
 * exactly this.
 */
export function clientSection(client: ClientOutcome | undefined): string[] {
  if (client === undefined) return [];
  const head = ["## Embedded client", ""];
  if (client.status !== "measured") return [...head, `**failed**: ${client.note}`, ""];
  const { bundle: b, rows, domains } = client;
  const within = b.gzipBytes <= b.budgetGzipBytes;
  const baselineOf = (r: ClientLatency) =>
    rows.find((o) => o.client === "baseline" && o.method === r.method && o.concurrency === r.concurrency);
  // Head polls reach every row a little; a row is broken down when something else stands in for the method asked.
  const breakdown = rows.filter(
    (r) =>
      r.client !== "baseline" &&
      Object.entries(r.upstreamCallsByMethod).some(([m, n]) => m !== r.method && n >= CLIENT_BREAKDOWN_MIN_CALLS),
  );
  return [
    ...head,
    'The library entry (`src/client/index.ts`, `import { createMultihome } from "multihome"`) as a browser bundle, and',
    "what a request through the embedded engine costs against viem's own `http()` transport, from `bench/client.ts`",
    "(`node bench/client.ts` prints this section on its own).",
    "",
    "### Browser bundle",
    "",
    "`buildBrowserBundle` (`scripts/build.ts`: esbuild, browser platform, one minified ES module):",
    `**${kib(b.bytes)} KiB minified, ${kib(b.gzipBytes)} KiB gzip** (${int(b.bytes)} and ${int(b.gzipBytes)} bytes, gzip level 9), against a budget`,
    `of ${kib(b.budgetGzipBytes)} KiB gzip (\`CLIENT_BUNDLE_BUDGET_GZIP_BYTES\`, held by \`test/client-bundle.test.ts\`): ${within ? "within it" : "**over it**"}.`,
    `The proof verifier (${b.verifierFiles.map((f) => `\`${f}\``).join(", ")}: \`VERIFIER_FILES\`) is ${b.verifierInside ? "inside" : "**missing**"}. ${int(b.files)} source files,`,
    "grouped by npm package or source folder (minified bytes each adds, before gzip):",
    "",
    "| contributor | KiB | share | files |",
    "|---|---|---|---|",
    ...b.contributors.map(
      (c) => `| ${c.name} | ${kib(c.bytes)} | ${((100 * c.bytes) / b.bytes).toFixed(1)} % | ${int(c.files)} |`,
    ),
    "",
    "### Per-request overhead",
    "",
    `- ${domains.length} anvil nodes, one in each of ${listOf(domains)}; block ${client.block} holds`,
    `  ${client.distinctTargets} transfers to fresh accounts and a contract whose every call reads one storage slot. The nodes mine`,
    `  nothing during the run (each node's head is checked after it), so every read is answered at block ${client.block}.`,
    "- Three viem public clients in the bench process, each sent the same requests with `client.request` (no viem",
    "  action cache or request sharing: `eth_blockNumber` is as `getBlockNumber({ cacheTime: 0 })`): viem `http()`",
    `  straight to the ${domains[0] ?? "first"} node (the baseline); \`multihome({ upstreams })\` with that node alone (one domain, so it`,
    "  is allowed to anchor blocks alone: `anchorMinDomains: 1`, `anchorMinUpstreams: 1`); and `multihome({ upstreams })`",
    `  over the ${domains.length} domains (the defaults). Both Multihome engines run with the answer cache off, and the reads cycle`,
    `  through ${client.distinctTargets} accounts (and as many calldata) so no two requests in flight are alike: every request`,
    "  reaches a node, none is shared.",
    "- The evidence column is `evidence.verified` of one untimed `call` to each engine with the request's first",
    "  parameters, made before it is measured (the bench refuses to measure a balance read that is not `proof`):",
    `  ${evidenceByMethod(rows)}.`,
    "  `none` is an answer from the engine's agreed head or its configuration, with no upstream call (the head is as",
    "  fresh as the last head poll, `health.headPollIntervalMs` apart); `proof` is one `eth_getProof` checked against",
    "  the state root of the agreed head, whose header the head polls already hold; `single` is one upstream's word.",
    "  The rows not answered locally are the engine's overhead.",
    `- Closed loop at each concurrency: ${int(client.warmup)} warm-up requests per client (discarded), then ${int(client.requests)} measured, in`,
    `  ${client.rounds} slices with the clients taking turns in rotated order. Latency is from the call to its result in this`,
    "  process. CPU is `process.cpuUsage()` (user + system) of the whole bench process over a client's measured slices,",
    "  divided by its requests: the nodes run in their own processes, so it is client-side work, but it includes the",
    "  background head polls of the engines idle during those slices (the baseline's rows too). Upstream calls are the",
    "  HTTP requests a client sent to the nodes during its own slices, divided by its requests (its own head polls",
    "  included, the other engines' not). Wrong answers differ from the baseline's answer to the same request. No",
    "  threshold applies: the ratios are the figures.",
    "- Balance reads with `proof` evidence include the node's own extra work: `http()` asks it for a plain",
    "  `eth_getBalance`, the engine for `eth_getProof` (a larger answer, walked and hashed on both sides).",
    "",
    "| request | concurrency | client | evidence | p50 µs | p99 µs | mean µs | CPU µs/request | upstream calls/request | p50 vs http() | mean vs http() | CPU vs http() | wrong |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => {
      const base = baselineOf(r);
      const vs = (pick: (o: ClientLatency) => number) =>
        r.client === "baseline" ? "—" : x(pick(r), base && pick(base));
      return `| \`${r.method}\` | ${r.concurrency} | ${CLIENT_TITLES[r.client]} | ${r.verified === undefined ? "—" : `\`${r.verified}\``} | ${int(r.p50Us)} | ${int(r.p99Us)} | ${int(r.meanUs)} | ${int(r.cpuUsPerRequest)} | ${r.upstreamCallsPerRequest.toFixed(2)} | ${vs((o) => o.p50Us)} | ${vs((o) => o.meanUs)} | ${vs((o) => o.cpuUsPerRequest)} | ${int(r.wrong)} |`;
    }),
    "",
    ...(breakdown.length > 0
      ? [
          "Upstream JSON-RPC calls per request, by method, where another method stands in for the one asked",
          "(`eth_getBlockByNumber` is the head polls):",
          "",
          ...breakdown.map(
            (r) =>
              `- \`${r.method}\`, concurrency ${r.concurrency}, ${CLIENT_TITLES[r.client]}: ${Object.entries(
                r.upstreamCallsByMethod,
              )
                .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
                .map(([m, n]) => `${m} ${n.toFixed(3)}`)
                .join(", ")}`,
          ),
          "",
        ]
      : []),
  ];
}
