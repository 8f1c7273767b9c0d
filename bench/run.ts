/**
 * `npm run bench`: closed-loop throughput and latency (wrk) of Multihome against a direct anvil and a bare Node
 * proxy, in one run on the same nodes with the same body (and, for the routing cost without in-flight sharing, with
 * distinct bodies); memory under load with a small cache; then open-loop fixed-rate latency, direct vs through
 * Multihome; the embedded client's browser bundle and per-request overhead (`bench/client.ts`). Writes docs/benchmarks.md (the committed record) and raw results to bench/results/.
 *
 * Options: --duration=S (10) --warmup=S (2) --connections=N (50, below the distinct bodies per wrk thread) --rate=N (1000) --open-loop-duration=S (10)
 * --memory-duration=S (15, each of the two memory runs) --out=FILE (docs/benchmarks.md) --profile (also
 * CPU-profile the bare proxy and Multihome pass-through under wrk; summaries in bench/results/profile.txt, not in
 * the page).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, relative } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import { DEFAULTS } from "../src/config/defaults.ts";
import type { VerificationPolicy } from "../src/core/rpc/methods.ts";
import { DEV_ACCOUNTS } from "../src/devnet/accounts.ts";
import { anvilBinaryPath } from "../src/devnet/anvil.ts";
import type { Readiness } from "../src/engine/engine.ts";
import { positive } from "./args.ts";
import { type BodyCase, balanceBodies, bodiesFileText, type FundedAccount, sampleCases, wrongCases } from "./bodies.ts";
import { measureClient } from "./client.ts";
import { findBinary, startHaproxy, startNginx } from "./external.ts";
import { balanceLoadOf, type Load, receiptLoadOf } from "./loads.ts";
import { type MemoryBoundResult, measureMemoryBound, peakOf } from "./memory-bound.ts";
import { type BenchNodes, rpc, startBenchNodes } from "./nodes.ts";
import { runOpenLoop } from "./open-loop.ts";
import { formatProfile, summarizeProfile } from "./profile-summary.ts";
import { timeAccountProof, timeBlockChecks } from "./proof-timing.ts";
import {
  type BenchReport,
  type ClientOutcome,
  checkTargets,
  type MemoryOutcome,
  type OpenLoopOutcome,
  type ProfileOutcome,
  renderReport,
  type ScenarioOutcome,
  withKeptSections,
} from "./report.ts";
import type { MultihomeSpec, ServeSpec } from "./serve.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { ensureWrk, runWrk } from "./wrk.ts";

const ROOT = join(import.meta.dirname, "..");
const RESULTS = join(import.meta.dirname, "results");
const THREADS = 1;
/** Workers of the worker scenarios: `server.workers: "auto"`, one per CPU this process may use. */
const WORKERS = availableParallelism();
/** Multihome learns of a dead domain from its head polls (1 s apart by default): allow a few. */
const DOMAIN_DOWN_TIMEOUT_MS = 15_000;
const DOMAIN_DOWN_POLL_MS = 100;
const DOWN_DOMAIN = "aws/us-east-1";
/** Calls of each block check timed: each takes milliseconds on the fixture's 140 transactions. */
const BLOCK_CHECK_RUNS = 100;
/** Distinct bodies of the routing scenarios without sharing: far more than the connections, so none in flight match. */
const ROUTING_BODIES = 1_024;
/** Distinct bodies of the memory scenario: many times what its cache can hold. */
const MEMORY_BODIES = 200_000;
/** `cache.maxBytes` of the memory scenario. */
const MEMORY_CACHE_BYTES = 4 * 2 ** 20;
/** With the nodes still at block 2, block 1 (every body's block) is final and its answers cached until evicted. */
const MEMORY_FINALITY_DEPTH = 1;
/** The memory scenario's expected answers are checked against the node for one body in this many (and the funded). */
const MEMORY_CHECK_STEP = 1_000;
/** Deadline of one batch checking expected answers against the node, ms. */
const CHECK_TIMEOUT_MS = 30_000;
/** The block every distinct body reads at: block 1, mined and never changed. */
const BODIES_BLOCK = "0x1";

const { values: opts } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "50" },
    rate: { type: "string", default: "1000" },
    "open-loop-duration": { type: "string", default: "10" },
    "memory-duration": { type: "string", default: "15" },
    profile: { type: "boolean", default: false },
    out: { type: "string", default: join(ROOT, "docs", "benchmarks.md") },
  },
});
const durationS = positive("duration", opts.duration);
const warmupS = positive("warmup", opts.warmup);
const connections = positive("connections", opts.connections);
const rate = positive("rate", opts.rate);
const openLoopDurationS = positive("open-loop-duration", opts["open-loop-duration"]);
const memoryDurationS = positive("memory-duration", opts["memory-duration"]);
const upstreamConnections = DEFAULTS.upstream.connections;
// Each wrk thread cycles through its share of the distinct bodies: only with more of them than connections are no
// two requests in flight alike, which is what the distinct-body scenarios claim.
if (ROUTING_BODIES / THREADS <= connections) {
  throw new Error(
    `--connections must stay below ${ROUTING_BODIES / THREADS} (distinct bodies per wrk thread), got ${connections}`,
  );
}

const log = (line: string) => process.stdout.write(`${line}\n`);
/** Files of distinct bodies, removed when the run ends (or is interrupted). */
const bodiesDir = mkdtempSync(join(tmpdir(), "multihome-bench-"));

/** Stops for everything started and not yet stopped, so an interrupt still stops each process by its pid. */
const live = new Set<() => Promise<void>>();
async function track<T extends { stop(): Promise<void> }>(started: Promise<T>): Promise<T> {
  const value = await started;
  const stop = value.stop;
  const once = async () => {
    live.delete(once);
    await stop();
  };
  live.add(once);
  return { ...value, stop: once };
}
let interrupted = false;
const stopAllAndExit = (code: number) => {
  interrupted = true;
  void Promise.allSettled([...live].map((stop) => stop())).finally(() => {
    rmSync(bodiesDir, { recursive: true, force: true });
    process.exit(code);
  });
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping every process started`);
    stopAllAndExit(130);
  });
}
// A bug anywhere must not leave anvil nodes or servers running: stop them by pid, then fail.
process.once("uncaughtException", (error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  stopAllAndExit(1);
});

interface Target {
  url: string;
  stop(): Promise<void>;
  /** Runs after the answer check and before the warm-up (e.g. taking a domain down). */
  prepare?(): Promise<void>;
  /** Upstream request counts since the last call (reset by the call). */
  takeCounts?(): Promise<Record<string, number>>;
  note?(): Promise<string | undefined>;
}

interface ScenarioDef {
  key: string;
  title: string;
  path: string;
  /** The request this scenario sends. @default the balance load every other scenario sends */
  load?: Load;
  /** Distinct bodies sent in turn instead of one request repeated (`load` is then unused). */
  bodies?: BodySet;
  /** The scenario its throughput is compared with. @default the bare Node proxy with the repeated body */
  baselineKey?: string;
  /** The `multihome-verified` header every answer must carry (Multihome scenarios only). */
  verified?: VerificationPolicy;
  start(): Promise<Target | { unavailable: string }>;
}

function serverTarget(server: ServerProcess): Target {
  return { url: server.urls[0]!, stop: server.stop };
}

/** The bare Node proxy in front of alpha. */
function bareSpec(nodes: BenchNodes): ServeSpec {
  return { kind: "bare", target: nodeById(nodes, "alpha").url, connections: upstreamConnections };
}

/** Multihome with alpha as its one upstream, each balance the upstream's word, cache off. */
function passThroughSpec(nodes: BenchNodes): MultihomeSpec {
  const { id, url, domain } = nodeById(nodes, "alpha");
  return { kind: "multihome", chainId: nodes.devnet.chainId, upstreams: [{ id, url, domain }], balances: "single" };
}

/** Multihome over {@link threeDomains}, cache off. */
function threeDomainsSpec(
  nodes: BenchNodes,
  balances: VerificationPolicy,
  methods?: Record<string, VerificationPolicy>,
): MultihomeSpec {
  return {
    kind: "multihome",
    chainId: nodes.devnet.chainId,
    upstreams: threeDomains(nodes).map(({ id, url, domain }) => ({ id, url, domain })),
    balances,
    ...(methods ? { methods } : {}),
  };
}

async function answerIs(
  url: string,
  load: Load,
  verified: VerificationPolicy | undefined,
): Promise<string | undefined> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: load.body });
  const text = await res.text();
  if (res.status !== 200 || !text.includes(load.expect)) return `HTTP ${res.status}: ${text.slice(0, 200)}`;
  if (load.check) {
    const wrong = load.check((JSON.parse(text) as { result?: unknown }).result);
    if (wrong) return `${wrong}: ${text.slice(0, 200)}`;
  }
  const header = res.headers.get("multihome-verified");
  // A scenario measuring the wrong verification mode would still get the right balance: check the mode too.
  if (verified && header !== verified) return `multihome-verified is ${header ?? "absent"}, expected ${verified}`;
  return undefined;
}

async function waitDomainDown(server: ServerProcess): Promise<void> {
  const deadline = Date.now() + DOMAIN_DOWN_TIMEOUT_MS;
  let last: Readiness | undefined;
  while (Date.now() < deadline) {
    last = (await server.command({ type: "readiness" })) as Readiness;
    if (last.chains[0]?.domainsDown.includes(DOWN_DOMAIN)) return;
    await delay(DOMAIN_DOWN_POLL_MS);
  }
  const upstreams = last?.chains[0]?.upstreams.map((u) => `${u.id} ${u.admission}/${u.breaker}/head ${u.head}`);
  throw new Error(
    `Multihome did not report ${DOWN_DOMAIN} down within ${DOMAIN_DOWN_TIMEOUT_MS} ms ` +
      `(domains down: ${last?.chains[0]?.domainsDown.join(", ") || "none"}; upstreams: ${upstreams?.join("; ")})`,
  );
}

function nodeById(nodes: BenchNodes, id: string): BenchNodes["devnet"]["nodes"][number] {
  const n = nodes.devnet.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no devnet node ${id}`);
  return n;
}

/** One node in each of aws/us-east-1, gcp/europe-west1 and hetzner/eu-central. */
function threeDomains(nodes: BenchNodes): BenchNodes["devnet"]["nodes"] {
  return ["alpha", "gamma", "delta"].map((id) => nodeById(nodes, id));
}

function scenarios(nodes: BenchNodes, load: Load, receiptLoad: Load, routing: BodySet): ScenarioDef[] {
  const { devnet } = nodes;
  const alpha = nodeById(nodes, "alpha");
  const behindFaultProxies = async (down: boolean): Promise<Target> => {
    const proxies = await track(startServerProcess({ kind: "fault-proxies", targets: devnet.nodes.map((n) => n.url) }));
    try {
      const gateway = await track(
        startServerProcess({
          kind: "multihome",
          chainId: devnet.chainId,
          upstreams: devnet.nodes.map((n, i) => ({ id: n.id, url: proxies.urls[i]!, domain: n.domain })),
          balances: "single",
        }),
      );
      const awsIndexes = devnet.nodes.flatMap((n, i) => (n.domain.hosting === "aws" ? [i] : []));
      return {
        url: gateway.urls[0]!,
        async stop() {
          await gateway.stop();
          await proxies.stop();
        },
        async prepare() {
          if (!down) return;
          for (const index of awsIndexes) await proxies.command({ type: "setFault", index, fault: { kind: "down" } });
          await waitDomainDown(gateway);
        },
        async takeCounts() {
          const counts = (await proxies.command({ type: "takeCounts" })) as number[];
          return Object.fromEntries(devnet.nodes.map((n, i) => [n.id, counts[i] ?? 0]));
        },
        async note() {
          if (!down) return undefined;
          const r = (await gateway.command({ type: "readiness" })) as Readiness;
          const c = r.chains[0];
          return `At the end of the run Multihome reported ready=${r.ready}, domains down: ${c?.domainsDown.join(", ") || "none"}.`;
        },
      };
    } catch (error) {
      await proxies.stop();
      throw error;
    }
  };
  const external = (name: "nginx" | "haproxy") => async (): Promise<Target | { unavailable: string }> => {
    const binary = findBinary(name);
    if (!binary) return { unavailable: "not installed" };
    const start = name === "nginx" ? startNginx : startHaproxy;
    const proxy = await track(start(binary, alpha.url, RESULTS, load.body));
    return { url: proxy.url, stop: proxy.stop };
  };
  const serve = async (spec: ServeSpec) => serverTarget(await track(startServerProcess(spec)));
  return [
    {
      key: "direct",
      title: "1. direct to anvil",
      path: "wrk → anvil. The upstream's own cost: the ceiling for every other path.",
      start: async () => ({ url: alpha.url, stop: async () => {} }),
    },
    {
      key: "bare",
      title: "2. bare Node proxy",
      path: "wrk → `bench/bare-proxy.ts` (node:http + undici Pool, forwards the body untouched) → anvil. The baseline.",
      start: () => serve(bareSpec(nodes)),
    },
    {
      key: "pass-through",
      title: "3. Multihome pass-through",
      path:
        'wrk → Multihome with one upstream → anvil. `verification.methods.eth_getBalance: "single"`: this measures routing, ' +
        "each balance is the upstream's word.",
      verified: "single",
      start: () => serve(passThroughSpec(nodes)),
    },
    {
      key: "bare-distinct",
      title: "2d. bare Node proxy, distinct bodies",
      path:
        "As 2, but wrk sends distinct bodies in turn (`bench/cycle.lua`), so no two requests in flight are alike. " +
        "The baseline for 3d; against 2, what the changing bodies cost the driver and the node.",
      bodies: routing,
      start: () => serve(bareSpec(nodes)),
    },
    {
      key: "pass-through-distinct",
      title: "3d. Multihome pass-through, distinct bodies",
      path:
        "As 3 (one upstream, `single`, cache off), with the bodies of 2d: no two requests in flight are alike, so " +
        "in-flight sharing never joins two and every request is routed on its own. Against 2d, this is what " +
        "routing costs.",
      bodies: routing,
      baselineKey: "bare-distinct",
      verified: "single",
      start: () => serve(passThroughSpec(nodes)),
    },
    {
      key: "three-domains",
      title: "4. Multihome, three domains",
      path:
        "wrk → Multihome over three anvil nodes in aws/us-east-1, gcp/europe-west1 and hetzner/eu-central. " +
        '`verification.methods.eth_getBalance: "single"`: this measures routing over domains; 4p is the same with proofs.',
      verified: "single",
      start: () => serve(threeDomainsSpec(nodes, "single")),
    },
    {
      key: "three-domains-proof",
      title: "4p. Multihome, three domains, proven reads",
      path:
        'As 4, but `verification.methods.eth_getBalance: "proof"` (the default): Multihome asks for `eth_getProof` instead of ' +
        "`eth_getBalance` and verifies the account proof against the state root of block 1, whose hash the three " +
        "domains agree on. Against 4, this is what verification costs.",
      verified: "proof",
      start: () => serve(threeDomainsSpec(nodes, "proof")),
    },
    {
      key: "three-domains-receipts",
      title: "4r. Multihome, three domains, receipts, single",
      path:
        "As 4, but every request is `eth_getTransactionReceipt` of the transfer in the middle of block 2 (100 transfers " +
        'from five senders), with `verification.methods.eth_getTransactionReceipt: "single"`: each receipt is the ' +
        "upstream's word. The control for 4rp.",
      load: receiptLoad,
      verified: "single",
      start: () => serve(threeDomainsSpec(nodes, "single", { eth_getTransactionReceipt: "single" })),
    },
    {
      key: "three-domains-receipts-proof",
      title: "4rp. Multihome, three domains, receipts, proven",
      path:
        'As 4r, but `verification.methods.eth_getTransactionReceipt: "proof"` (the default): each request makes one ' +
        "`eth_getTransactionReceipt` upstream call to locate the transaction; block 2 itself (`eth_getBlockByHash` with " +
        "full transactions, and `eth_getBlockReceipts`) is fetched once, verified against the roots of the header " +
        "whose hash the three domains agree on, and kept in memory by hash for every later request, as is the " +
        "sender recovered from the transaction's signature. The answer served is the receipt from that verified " +
        "list. Against 4r, this is what proven receipts cost once the block is verified.",
      load: receiptLoad,
      verified: "proof",
      start: () => serve(threeDomainsSpec(nodes, "single", { eth_getTransactionReceipt: "proof" })),
    },
    {
      key: "demo-all-up",
      title: "5a. Multihome, demo shape behind fault proxies, all up",
      path:
        "wrk → Multihome over the demo's four nodes (alpha and beta on aws/us-east-1, gamma on gcp, delta on " +
        "hetzner), each behind a test fault proxy (a Node reverse proxy that parses every body; all four run in one " +
        'extra process) → anvil. `verification.methods.eth_getBalance: "single"`: this measures routing. The control for 5b: ' +
        "same hops, nothing down.",
      verified: "single",
      start: () => behindFaultProxies(false),
    },
    {
      key: "demo-aws-down",
      title: "5b. Multihome, one hosting domain down",
      path:
        "As 5a, but both aws/us-east-1 fault proxies are `down` (connection refused) before the warm-up, and the run " +
        'starts once Multihome reports the domain down. `verification.methods.eth_getBalance: "single"`.',
      verified: "single",
      start: () => behindFaultProxies(true),
    },
    {
      key: "nginx",
      title: "6. nginx proxy_pass",
      path: "wrk → nginx (1 worker, upstream keepalive 32) → anvil. Only when nginx is installed (Debian: `apt-get install -y nginx-light`).",
      start: external("nginx"),
    },
    {
      key: "haproxy",
      title: "7. haproxy",
      path: "wrk → haproxy (1 thread, http-reuse always) → anvil. Only when haproxy is installed.",
      start: external("haproxy"),
    },
    {
      key: "cached",
      title: "8. Multihome, three domains, cache on (a wallet's repeated read)",
      path:
        "As 4p (proven reads, the defaults), with the answer cache on (`cache.enabled: true`, the default): the " +
        "balance at an explicit block is proven once, then answered from memory until it expires or is evicted. " +
        "Compare with 6 (nginx in front of one upstream, every request forwarded).",
      verified: "proof",
      start: () => serve({ ...threeDomainsSpec(nodes, "proof"), cache: true }),
    },
    {
      key: "cached-workers",
      title: `8w. Multihome, cache on, ${WORKERS} workers`,
      path:
        `As 8, run as \`multihome start\` runs it with \`server.workers: "auto"\` (${WORKERS} here, one per core): ` +
        "a primary holds the listening socket and hands each connection to a worker, the load's connections spread " +
        "over every worker. Compare with 6 (nginx) and with 8 (one process).",
      verified: "proof",
      start: () => serve({ ...threeDomainsSpec(nodes, "proof"), cache: true, workers: WORKERS }),
    },
    {
      key: "pass-through-distinct-workers",
      title: `3dw. Multihome pass-through, distinct bodies, ${WORKERS} workers`,
      path: `As 3d, with \`server.workers: "auto"\` (${WORKERS} workers). Against 2d: routing alone, on every core.`,
      bodies: routing,
      baselineKey: "bare-distinct",
      verified: "single",
      start: () => serve({ ...passThroughSpec(nodes), workers: WORKERS }),
    },
  ];
}

/** Distinct bodies, each with its own correct answer, and the file wrk reads them from. */
interface BodySet {
  cases: BodyCase[];
  file: string;
  /** What the page says the bodies are. */
  description: string;
}

async function measure(def: ScenarioDef, defaultLoad: Load): Promise<{ outcome: ScenarioOutcome; text?: string }> {
  const load = def.load ?? defaultLoad;
  const base = {
    key: def.key,
    title: def.title,
    path: def.path,
    ...(def.bodies ? { bodies: def.bodies.description } : load.body !== defaultLoad.body ? { body: load.body } : {}),
    ...(def.baselineKey ? { baselineKey: def.baselineKey } : {}),
  };
  log(`— ${def.title}`);
  let target: Target | { unavailable: string };
  try {
    target = await def.start();
  } catch (error) {
    log(`  failed to start: ${(error as Error).message}`);
    return { outcome: { ...base, status: "failed", note: `did not start: ${(error as Error).message}` } };
  }
  if ("unavailable" in target) {
    log(`  ${target.unavailable}`);
    return { outcome: { ...base, status: "not installed" } };
  }
  try {
    // A set of bodies: its first and every funded account's, whose answers are not "0x0".
    const checked = def.bodies ? def.bodies.cases.filter((c, i) => i === 0 || !c.expect.endsWith('"0x0"')) : [load];
    for (const c of checked) {
      const wrong = await answerIs(target.url, c, def.verified);
      if (wrong) throw new Error(`unexpected answer before the run: ${wrong}`);
    }
    await target.prepare?.();
    const common = {
      url: target.url,
      ...(def.bodies ? { bodiesFile: def.bodies.file } : { body: load.body, expect: load.expect }),
      connections,
      threads: THREADS,
    };
    await runWrk({ ...common, durationS: warmupS });
    await target.takeCounts?.();
    const result = await runWrk({ ...common, durationS });
    const upstreamRequests = await target.takeCounts?.();
    const note = await target.note?.();
    const { text, ...wrk } = result;
    log(
      `  ${Math.round(wrk.rps)} req/s, p50 ${(wrk.p50Us / 1000).toFixed(2)} ms, p99 ${(wrk.p99Us / 1000).toFixed(2)} ms, ` +
        `non-2xx ${wrk.non2xx}, wrong ${wrk.wrong}`,
    );
    return {
      outcome: {
        ...base,
        status: "measured",
        wrk,
        ...(upstreamRequests ? { upstreamRequests } : {}),
        ...(note ? { note } : {}),
      },
      text,
    };
  } catch (error) {
    log(`  failed: ${(error as Error).message}`);
    return { outcome: { ...base, status: "failed", note: (error as Error).message } };
  } finally {
    await target.stop();
  }
}

async function openLoop(key: string, title: string, target: Target, load: Load): Promise<OpenLoopOutcome> {
  try {
    const common = { url: target.url, ...load, rate };
    await runOpenLoop({ ...common, durationMs: warmupS * 1000 });
    const result = await runOpenLoop({ ...common, durationMs: openLoopDurationS * 1000 });
    log(
      `— open loop, ${title}: p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms, ` +
        `not ok ${result.wrong + result.failed}`,
    );
    return { key, title, result };
  } finally {
    await target.stop();
  }
}

/**
 * CPU profiles of the bare proxy and of Multihome pass-through under the same wrk load, with the CPU time each
 * spends per request: the difference is what Multihome itself costs.
 */
async function profileServers(nodes: BenchNodes, load: Load): Promise<ProfileOutcome> {
  const specs: [string, ServeSpec][] = [
    ["bare", bareSpec(nodes)],
    ["pass-through", passThroughSpec(nodes)],
  ];
  const texts: string[] = [];
  const usPerRequest: number[] = [];
  for (const [name, spec] of specs) {
    const dir = join(RESULTS, "profile", name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const server = await track(startServerProcess(spec, ["--cpu-prof", "--cpu-prof-dir", dir]));
    let requests = 0;
    try {
      const common = { url: server.urls[0]!, ...load, connections, threads: THREADS };
      requests += (await runWrk({ ...common, durationS: warmupS })).requests;
      requests += (await runWrk({ ...common, durationS })).requests;
    } finally {
      await server.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error(`no .cpuprofile written to ${dir}`);
    const summary = summarizeProfile(join(dir, file), ROOT, 25);
    const busyUsPerRequest = (summary.totalMs * (1 - summary.idleShare) * 1000) / requests;
    usPerRequest.push(busyUsPerRequest);
    texts.push(
      `== ${name} (${relative(ROOT, join(dir, file))}): ${int(requests)} requests, ` +
        `${busyUsPerRequest.toFixed(1)} µs of CPU per request\n${formatProfile(summary)}`,
    );
  }
  const text = texts.join("\n");
  writeFileSync(join(RESULTS, "profile.txt"), text);
  log(`— CPU profiles under wrk:\n${text}`);
  return { bareUsPerRequest: usPerRequest[0]!, passThroughUsPerRequest: usPerRequest[1]! };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** The embedded client's bundle and per-request overhead, on nodes of its own, stopped before the scenarios start. */
async function clientOverhead(): Promise<ClientOutcome> {
  const controller = new AbortController();
  const abort = async () => controller.abort();
  live.add(abort);
  try {
    return { status: "measured", ...(await measureClient({ signal: controller.signal, log })) };
  } catch (error) {
    log(`  failed: ${(error as Error).message}`);
    return { status: "failed", note: (error as Error).message };
  } finally {
    live.delete(abort);
  }
}

/** Writes the bodies' file once their expected answers are the node's (`sampleStep`: only every so many, and the funded). */
async function writeCheckedBodies(file: string, cases: BodyCase[], nodeUrl: string, sampleStep = 1): Promise<void> {
  const checked = sampleStep === 1 ? cases : sampleCases(cases, sampleStep);
  const funded = cases.filter((c) => !c.expect.endsWith('"0x0"') && !checked.includes(c));
  const wrong = await wrongCases([...checked, ...funded], async (batch) => {
    const res = await fetch(nodeUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: batch,
      signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
    });
    return res.text();
  });
  if (wrong.length > 0) throw new Error(`the node does not give the expected answers: ${wrong.slice(0, 3).join("; ")}`);
  writeFileSync(file, bodiesFileText(cases));
}

/** Log line of one memory run. */
function memoryLine(r: MemoryBoundResult): string {
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  const peak = peakOf(r.samples);
  return (
    `  cache ${r.cache ? "on" : "off"}: ${int(r.wrk.requests)} requests, wrong ${r.wrk.wrong}, non-2xx ${r.wrk.non2xx}; ` +
    `heap idle/peak/end ${mib(r.idle.heapUsed)}/${mib(peak.heapUsed)}/${mib(r.end.heapUsed)} MiB, ` +
    `rss ${mib(r.idle.rss)}/${mib(peak.rss)}/${mib(r.end.rss)} MiB` +
    (r.cacheCheck
      ? `; upstream calls for ${r.cacheCheck.recent} recent / ${r.cacheCheck.evicted} evicted bodies: ` +
        `${r.cacheCheck.recentUpstreamCalls} / ${r.cacheCheck.evictedUpstreamCalls}`
      : "")
  );
}

/**
 * The memory scenario: Multihome with a small cache under far more distinct cacheable reads than it holds, then the
 * same load with the cache off (the control that tells what serving the load retains anyway).
 */
async function memoryBound(nodes: BenchNodes, funded: FundedAccount[]): Promise<MemoryOutcome> {
  const title = "Memory under load with a small cache";
  log(`— ${title}`);
  const alpha = nodeById(nodes, "alpha");
  try {
    const cases = balanceBodies({ count: MEMORY_BODIES, block: BODIES_BLOCK, funded });
    const bodiesFile = join(bodiesDir, "memory.txt");
    await writeCheckedBodies(bodiesFile, cases, alpha.url, MEMORY_CHECK_STEP);
    const run = (cache: boolean) =>
      measureMemoryBound({
        chainId: nodes.devnet.chainId,
        upstream: { id: alpha.id, url: alpha.url, domain: alpha.domain },
        cases,
        bodiesFile,
        cache,
        cacheMaxBytes: MEMORY_CACHE_BYTES,
        finalityDepth: MEMORY_FINALITY_DEPTH,
        durationS: memoryDurationS,
        connections,
        threads: THREADS,
        track,
      });
    const withCache = await run(true);
    log(memoryLine(withCache));
    const control = await run(false);
    log(memoryLine(control));
    return { status: "measured", withCache, control };
  } catch (error) {
    log(`  failed: ${(error as Error).message}`);
    return { status: "failed", note: (error as Error).message };
  }
}

function versionOf(binary: string): string {
  const r = spawnSync(binary, ["--version"], { encoding: "utf8" });
  // "anvil Version: 1.7.1"
  return (
    (r.stdout ?? "")
      .split("\n")[0]
      ?.replace(/^anvil Version:\s*/, "")
      .trim() || "unknown"
  );
}

async function main(): Promise<void> {
  const wrkVersion = ensureWrk(log);
  mkdirSync(RESULTS, { recursive: true });
  const cores = availableParallelism();
  // Anything else running on the machine takes CPU from the run: the page records how busy it was beforehand.
  const loadAverage = loadavg();
  log(`${cores} cores, Node ${process.version}, ${wrkVersion}`);
  // Timed before anything else starts, so nothing on this machine that the run itself started competes for the CPU.
  const proofTiming = timeAccountProof(1_000);
  log(
    `verifyAccountProof (${proofTiming.nodes} nodes), ${proofTiming.runs} runs: ` +
      `p50 ${proofTiming.p50Us.toFixed(1)} µs, p99 ${proofTiming.p99Us.toFixed(1)} µs`,
  );
  const blockTiming = await timeBlockChecks(BLOCK_CHECK_RUNS);
  log(
    `checkBlockBody / checkBlockReceipts (${blockTiming.transactions} transactions), ${blockTiming.runs} runs: ` +
      `p50 ${blockTiming.bodyP50Us.toFixed(1)} / ${blockTiming.receiptsP50Us.toFixed(1)} µs, ` +
      `p99 ${blockTiming.bodyP99Us.toFixed(1)} / ${blockTiming.receiptsP99Us.toFixed(1)} µs; ` +
      `recoverSender p50 ${blockTiming.senderP50Us.toFixed(1)} µs`,
  );
  const client = await clientOverhead();
  if (interrupted) return;
  const nodes = await track(startBenchNodes());
  try {
    const alpha = nodeById(nodes, "alpha");
    const load = await balanceLoadOf(alpha.url);

    const receiptLoad = await receiptLoadOf(nodes, alpha.url);
    const funded: FundedAccount[] = [];
    for (const a of DEV_ACCOUNTS) {
      const balance = await rpc(alpha.url, "eth_getBalance", [a.address, BODIES_BLOCK]);
      if (typeof balance !== "string") throw new Error(`unexpected balance ${balance} of ${a.address}`);
      funded.push({ address: a.address, balance });
    }
    const routingCases = balanceBodies({ count: ROUTING_BODIES, block: BODIES_BLOCK, funded });
    const routing: BodySet = {
      cases: routingCases,
      file: join(bodiesDir, "routing.txt"),
      description:
        `\`eth_getBalance\` at block 1 of ${int(ROUTING_BODIES)} distinct addresses (${funded.length} funded dev ` +
        `accounts and ${int(ROUTING_BODIES - funded.length)} never-used ones, whose correct answer is "0x0"), each ` +
        "answer checked against its own body's",
    };
    await writeCheckedBodies(routing.file, routingCases, alpha.url);

    const outcomes: ScenarioOutcome[] = [];
    const raw: string[] = [];
    for (const def of scenarios(nodes, load, receiptLoad, routing)) {
      if (interrupted) return;
      const { outcome, text } = await measure(def, load);
      outcomes.push(outcome);
      if (text) raw.push(`## ${def.title}\n${text}`);
    }

    if (interrupted) return;
    const memory = await memoryBound(nodes, funded);

    const loops: OpenLoopOutcome[] = [];
    loops.push(await openLoop("direct", "direct to anvil", { url: alpha.url, stop: async () => {} }, load));
    const bare = await track(startServerProcess(bareSpec(nodes)));
    loops.push(await openLoop("bare", "bare Node proxy", serverTarget(bare), load));
    const gateway = await track(startServerProcess(passThroughSpec(nodes)));
    loops.push(await openLoop("pass-through", "Multihome pass-through", serverTarget(gateway), load));
    const provenTarget = serverTarget(await track(startServerProcess(threeDomainsSpec(nodes, "proof"))));
    const wrongProven = await answerIs(provenTarget.url, load, "proof");
    if (wrongProven) {
      await provenTarget.stop();
      throw new Error(`proven reads, open loop: unexpected answer before the run: ${wrongProven}`);
    }
    loops.push(await openLoop("three-domains-proof", "Multihome, three domains, proven reads", provenTarget, load));

    const profile = opts.profile ? await profileServers(nodes, load) : undefined;

    const report: BenchReport = {
      date: new Date().toISOString().slice(0, 10),
      machine: {
        cpuModel: cpus()[0]?.model.trim() ?? "unknown",
        cores,
        memoryGiB: totalmem() / 2 ** 30,
        kernel: release(),
        node: process.version,
        anvil: versionOf(anvilBinaryPath()),
        wrk: wrkVersion,
        loadAverage,
      },
      settings: {
        durationS,
        warmupS,
        connections,
        threads: THREADS,
        upstreamConnections,
        rate,
        openLoopDurationS,
        openLoopWarmupS: warmupS,
      },
      body: load.body,
      baselineKey: "bare",
      passThroughKey: "pass-through",
      provenKey: "three-domains-proof",
      unprovenKey: "three-domains",
      cachedKey: "cached",
      nginxKey: "nginx",
      cachedWorkersKey: "cached-workers",
      distinctWorkersKey: "pass-through-distinct-workers",
      receiptsProvenKey: "three-domains-receipts-proof",
      receiptsUnprovenKey: "three-domains-receipts",
      proofTiming,
      blockTiming,
      directKey: "direct",
      scenarios: outcomes,
      openLoop: loops,
      distinctBaselineKey: "bare-distinct",
      distinctPassThroughKey: "pass-through-distinct",
      memory,
      ...(profile ? { profile } : {}),
      client,
    };
    writeFileSync(join(RESULTS, "wrk.txt"), raw.join("\n"));
    writeFileSync(join(RESULTS, "results.json"), `${JSON.stringify(report, null, 2)}\n`);
    const previous = existsSync(opts.out) ? readFileSync(opts.out, "utf8") : undefined;
    writeFileSync(opts.out, withKeptSections(renderReport(report), previous));
    log("");
    for (const t of checkTargets(report)) {
      log(`target: ${t.target}: ${t.measured} — ${t.met === undefined ? "not measured" : t.met ? "met" : "NOT met"}`);
    }
    log(`wrote ${relative(ROOT, opts.out)} and ${relative(ROOT, RESULTS)}/`);
  } finally {
    await Promise.allSettled([...live].map((stop) => stop()));
    rmSync(bodiesDir, { recursive: true, force: true });
  }
}

await main();
