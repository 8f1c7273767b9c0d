/**
 * The embedded client's size and speed: the browser bundle of the library entry (minified and gzip bytes, what makes
 * it up, the proof verifier kept inside), and what a request through an embedded Multihome costs against viem's own
 * `http()` transport to the same node, measured in one run on the same requests.
 *
 * `node bench/client.ts [--requests N] [--warmup N] [--out FILE]` prints the "Embedded client" section of
 * docs/benchmarks.md, exactly as `npm run bench` renders it (and writes it to FILE when given); `bench/run.ts` calls
 * {@link measureClient} for the same section of the full page.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { createPublicClient, getContractAddress, type Hex, http, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  BROWSER_BUNDLE_FILE,
  buildBrowserBundle,
  CLIENT_BUNDLE_BUDGET_GZIP_BYTES,
  VERIFIER_FILES,
} from "../scripts/build.ts";
import { DEMO_NODES } from "../src/app/demo.ts";
import type { ClientSettings, ClientUpstream, Multihome } from "../src/client/index.ts";
import { multihome } from "../src/client/viem.ts";
import { outageDomainOf } from "../src/core/domains/domain.ts";
import type { Transport } from "../src/core/ports.ts";
import { DEV_ACCOUNTS } from "../src/devnet/accounts.ts";
import { type Devnet, startDevnet } from "../src/devnet/devnet.ts";
import type { Verification } from "../src/engine/answers/answer.ts";
import { createFetchTransport } from "../src/upstream/fetch-transport.ts";
import { MAX_FEE_PER_GAS, MAX_PRIORITY_FEE_PER_GAS, rpc, TRANSFER_GAS } from "./nodes.ts";
import { quantile } from "./open-loop.ts";
import { clientSection } from "./report.ts";

/** Contributors named in the bundle table; the rest are summed into one row. */
const TOP_CONTRIBUTORS = 12;
/** Distinct accounts (and distinct calldata) requests cycle through: far more than the requests in flight. */
const DISTINCT_TARGETS = 64;
/**
 * Each client's share of one measurement runs in this many slices, the clients taking turns in rotated order, so a
 * drift of the machine during the run touches all of them alike.
 */
const ROUNDS = 4;
const CONCURRENCY = [1, 16] as const;
/** How long the engines may take to agree on a head across domains, ms. */
const READY_TIMEOUT_MS = 15_000;
/** The n-th fresh account receives n times this, wei: every balance differs. */
const TRANSFER_VALUE = 10n ** 15n;
const DEPLOY_GAS = 200_000n;
/** What the contract's slot 0 holds, and so what every `eth_call` returns. */
const STORED_VALUE = 42n;
/**
 * Init code storing {@link STORED_VALUE} in slot 0 and deploying `PUSH1 0 SLOAD PUSH1 0 MSTORE PUSH1 32 PUSH1 0
 * RETURN`: a read of one storage slot, whatever the calldata, like a token's `balanceOf`.
 */
const READER_INIT: Hex = "0x602a600055600b6011600039600b6000f360005460005260206000f3";

/** The demo's domains without its second aws node: three nodes, three failure domains. */
const NODES = DEMO_NODES.filter((n) => n.id !== "beta");

export interface ClientOptions {
  /** Measured requests per operation, client and concurrency. @default 5000 */
  requests?: number;
  /** Requests per operation, client and concurrency sent before measuring, discarded. @default 500 */
  warmup?: number;
  /** Aborting stops the nodes. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface BundleContributor {
  /** An npm package (`viem`, `@noble/curves`) or a source folder (`src/engine`). */
  name: string;
  /** Minified bytes it adds to the bundle. */
  bytes: number;
  files: number;
}

export interface ClientBundleMeasure {
  /** Minified bytes. */
  bytes: number;
  gzipBytes: number;
  /** `CLIENT_BUNDLE_BUDGET_GZIP_BYTES`, which `test/client-bundle.test.ts` holds the bundle to. */
  budgetGzipBytes: number;
  /** `VERIFIER_FILES`: the source files of the proof verifier. */
  verifierFiles: readonly string[];
  /** Every one of {@link verifierFiles} is in the bundle. */
  verifierInside: boolean;
  /** Largest first. */
  contributors: BundleContributor[];
  /** Source files in the bundle. */
  files: number;
}

export type ClientKey = "baseline" | "one" | "three";

export interface ClientLatency {
  method: string;
  concurrency: number;
  client: ClientKey;
  requests: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  /**
   * CPU time of this whole process (user + system) over this client's measured slices, divided by its requests, µs:
   * the other engines' background head polls during those slices are in it too.
   */
  cpuUsPerRequest: number;
  /** HTTP requests this client sent to the node(s) during its own measured slices, divided by its requests (its head polls included). */
  upstreamCallsPerRequest: number;
  /** The same by JSON-RPC method. */
  upstreamCallsByMethod: Record<string, number>;
  /** Answers that differ from the node's own answer to the same request. */
  wrong: number;
  /**
   * `evidence.verified` of one untimed `call` to the engine with the operation's first request, made before it was
   * measured; undefined for the baseline, which has no evidence.
   */
  verified: Verification | undefined;
}

export interface ClientMeasurement {
  bundle: ClientBundleMeasure;
  requests: number;
  warmup: number;
  rounds: number;
  distinctTargets: number;
  /** The block every read was answered at (the nodes do not mine during the run; checked after it). */
  block: number;
  /** The nodes' failure domains (`hosting/region`), in upstream order: the first is the baseline's node. */
  domains: string[];
  rows: ClientLatency[];
}

/** Groups the bundle's inputs by npm package or by source folder, largest first. */
export function bundleContributors(inputs: Record<string, number>): BundleContributor[] {
  const groups = new Map<string, BundleContributor>();
  for (const [file, bytes] of Object.entries(inputs)) {
    const parts = file.split("/");
    const nm = parts.lastIndexOf("node_modules");
    let name: string;
    if (nm >= 0) {
      const first = parts[nm + 1] ?? file;
      name = first.startsWith("@") ? `${first}/${parts[nm + 2] ?? ""}` : first;
    } else {
      const src = parts.indexOf("src");
      name = src >= 0 && parts.length > src + 2 ? parts.slice(src, src + 2).join("/") : file;
    }
    const g = groups.get(name) ?? { name, bytes: 0, files: 0 };
    g.bytes += bytes;
    g.files += 1;
    groups.set(name, g);
  }
  return [...groups.values()].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
}

/** Builds the browser bundle into a temporary directory (removed after) and sums up what it holds. */
async function measureClientBundle(): Promise<ClientBundleMeasure> {
  const dir = mkdtempSync(join(tmpdir(), "multihome-bundle-"));
  try {
    const built = await buildBrowserBundle(join(dir, BROWSER_BUNDLE_FILE));
    const all = bundleContributors(built.inputs);
    const top = all.slice(0, TOP_CONTRIBUTORS);
    const rest = all.slice(TOP_CONTRIBUTORS);
    if (rest.length > 0) {
      top.push({
        name: `${rest.length} others`,
        bytes: rest.reduce((s, c) => s + c.bytes, 0),
        files: rest.reduce((s, c) => s + c.files, 0),
      });
    }
    return {
      bytes: built.bytes,
      gzipBytes: built.gzipBytes,
      budgetGzipBytes: CLIENT_BUNDLE_BUDGET_GZIP_BYTES,
      verifierFiles: VERIFIER_FILES,
      verifierInside: VERIFIER_FILES.every((f) => built.inputs[f] !== undefined),
      contributors: top,
      files: Object.keys(built.inputs).length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Counts what reaches the node: HTTP requests, and JSON-RPC calls by method (without parsing the body). */
function createCallCounter() {
  let http = 0;
  const methods = new Map<string, number>();
  const MARK = '"method":"';
  return {
    count(body: string): void {
      http++;
      for (let at = body.indexOf(MARK); at >= 0; at = body.indexOf(MARK, at)) {
        at += MARK.length;
        const end = body.indexOf('"', at);
        const method = body.slice(at, end);
        methods.set(method, (methods.get(method) ?? 0) + 1);
      }
    },
    take(): { http: number; methods: Record<string, number> } {
      const taken = { http, methods: Object.fromEntries(methods) };
      http = 0;
      methods.clear();
      return taken;
    },
  };
}

type CallCounter = ReturnType<typeof createCallCounter>;

interface Subject {
  key: ClientKey;
  client: PublicClient;
  counter: CallCounter;
  engine?: Multihome;
}

interface Operation {
  method: string;
  params(i: number): unknown[];
  /** The evidence each engine must answer with: measuring is refused otherwise. */
  requires?: Verification;
}

/** Closed loop: `concurrency` workers take request indexes in turn until `count` are answered. */
async function drive(
  subject: Subject,
  op: Operation,
  first: number,
  count: number,
  concurrency: number,
  latencies: number[],
  answers: Map<number, string>,
): Promise<void> {
  let next = first;
  const end = first + count;
  const worker = async () => {
    while (next < end) {
      const i = next++;
      const params = op.params(i);
      const started = performance.now();
      const result = await subject.client.request({ method: op.method, params } as never);
      latencies.push((performance.now() - started) * 1000);
      answers.set(i, JSON.stringify(result));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * How each engine answers `op`, from one untimed `call` with its first request: the evidence the measured requests
 * are served with. Throws on an error, on evidence other than `op.requires`, or on an answer at another block.
 */
async function verificationOf(subjects: Subject[], op: Operation, first: number, block: number) {
  const verified = new Map<ClientKey, Verification>();
  for (const s of subjects) {
    if (!s.engine) continue;
    const answer = await s.engine.call({ method: op.method, params: op.params(first) });
    const { evidence } = answer;
    if (!answer.ok) throw new Error(`${op.method} through ${s.key} failed: ${JSON.stringify(answer.error)}`);
    if (op.requires !== undefined && evidence.verified !== op.requires)
      throw new Error(`${op.method} through ${s.key} is ${evidence.verified}, expected ${op.requires}`);
    if (evidence.blockNumber !== undefined && evidence.blockNumber !== block)
      throw new Error(`${op.method} through ${s.key} was answered at block ${evidence.blockNumber}, expected ${block}`);
    verified.set(s.key, evidence.verified);
  }
  return verified;
}

async function measureOperation(
  subjects: Subject[],
  op: Operation,
  concurrency: number,
  first: number,
  requests: number,
  warmup: number,
  block: number,
): Promise<ClientLatency[]> {
  const verified = await verificationOf(subjects, op, first, block);
  for (const s of subjects) await drive(s, op, first, warmup, concurrency, [], new Map());
  const start = first + warmup;
  const slice = Math.ceil(requests / ROUNDS);
  const state = subjects.map(() => ({ latencies: [] as number[], cpuUs: 0, answers: new Map<number, string>() }));
  const calls = subjects.map(() => ({ http: 0, methods: {} as Record<string, number> }));
  for (let round = 0; round < ROUNDS; round++) {
    const from = start + round * slice;
    const count = Math.min(slice, start + requests - from);
    if (count <= 0) break;
    for (let k = 0; k < subjects.length; k++) {
      const index = (k + round) % subjects.length;
      const s = subjects[index]!;
      const st = state[index]!;
      // Only this slice's calls: what the engine polled while the other clients ran is no part of its cost.
      s.counter.take();
      const cpu = process.cpuUsage();
      await drive(s, op, from, count, concurrency, st.latencies, st.answers);
      const used = process.cpuUsage(cpu);
      st.cpuUs += used.user + used.system;
      const taken = s.counter.take();
      const c = calls[index]!;
      c.http += taken.http;
      for (const [m, n] of Object.entries(taken.methods)) c.methods[m] = (c.methods[m] ?? 0) + n;
    }
  }
  const truth = state[subjects.findIndex((s) => s.key === "baseline")]!.answers;
  return subjects.map((s, k) => {
    const st = state[k]!;
    const sorted = Float64Array.from(st.latencies).sort();
    const n = sorted.length;
    let wrong = 0;
    for (const [i, a] of st.answers) if (truth.get(i) !== a) wrong++;
    return {
      method: op.method,
      concurrency,
      client: s.key,
      requests: n,
      p50Us: quantile(sorted, 0.5),
      p99Us: quantile(sorted, 0.99),
      meanUs: st.latencies.reduce((a, b) => a + b, 0) / n,
      cpuUsPerRequest: st.cpuUs / n,
      upstreamCallsPerRequest: calls[k]!.http / n,
      upstreamCallsByMethod: Object.fromEntries(Object.entries(calls[k]!.methods).map(([m, c]) => [m, c / n])),
      wrong,
      verified: verified.get(s.key),
    };
  });
}

/**
 * Block 2: {@link DISTINCT_TARGETS} transfers to fresh accounts (so every balance read is of an existing account
 * with a non-zero balance, through a full proof path) and the reader contract. Returns the contract's address.
 */
async function prepareChain(devnet: Devnet, targets: Hex[]): Promise<Hex> {
  // The devnet starts with block 1 mined (genesis has no state root to prove against).
  if (devnet.head() !== 1) throw new Error(`the devnet started at block ${devnet.head()}, expected 1`);
  const sender = privateKeyToAccount(DEV_ACCOUNTS[0]!.privateKey);
  const base = {
    chainId: devnet.chainId,
    type: "eip1559",
    maxFeePerGas: MAX_FEE_PER_GAS,
    maxPriorityFeePerGas: MAX_PRIORITY_FEE_PER_GAS,
  } as const;
  for (const [nonce, to] of targets.entries()) {
    await devnet.sendRawTransaction(
      await sender.signTransaction({
        ...base,
        nonce,
        to,
        value: BigInt(nonce + 1) * TRANSFER_VALUE,
        gas: TRANSFER_GAS,
      }),
    );
  }
  const nonce = targets.length;
  await devnet.sendRawTransaction(await sender.signTransaction({ ...base, nonce, data: READER_INIT, gas: DEPLOY_GAS }));
  if ((await devnet.mine(1)) !== 2) throw new Error(`mining block 2 left the head at ${devnet.head()}`);
  return getContractAddress({ from: sender.address, nonce: BigInt(nonce) });
}

/** Multihome over `upstreams` as a viem transport, each upstream reached by fetch with its calls counted. */
function embedded(
  key: ClientKey,
  chainId: number,
  upstreams: ClientUpstream[],
  settings: ClientSettings,
): Subject & { engine: Multihome } {
  const counter = createCallCounter();
  const transport = (u: ClientUpstream): Transport => {
    const inner = createFetchTransport(u);
    return {
      send(body, options) {
        counter.count(body);
        return inner.send(body, options);
      },
      close: () => inner.close(),
    };
  };
  const client = createPublicClient({ transport: multihome({ chainId, upstreams, settings, transport }) });
  return { key, client: client as PublicClient, counter, engine: client.transport.multihome };
}

export async function measureClient(options: ClientOptions = {}): Promise<ClientMeasurement> {
  const { requests = 5_000, warmup = 500, signal, log = () => {} } = options;
  if (!Number.isInteger(requests) || requests < ROUNDS) throw new Error(`requests must be an integer ≥ ${ROUNDS}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error("warmup must be a non-negative integer");
  log("— embedded client: browser bundle");
  const bundle = await measureClientBundle();
  log(
    `  ${bundle.bytes} bytes minified, ${bundle.gzipBytes} gzip (budget ${bundle.budgetGzipBytes}); ` +
      `verifier inside: ${bundle.verifierInside}`,
  );
  const devnet = await startDevnet({ nodes: NODES, blockTimeMs: 0, ...(signal ? { signal } : {}) });
  const subjects: Subject[] = [];
  try {
    const targets = Array.from(
      { length: DISTINCT_TARGETS },
      (_, i) => `0x${"5eed".padEnd(36, "0")}${(i + 1).toString(16).padStart(4, "0")}` as Hex,
    );
    // Per-request log lines cost the nodes CPU on every call, as in bench/nodes.ts.
    for (const n of devnet.nodes) await rpc(n.url, "anvil_setLoggingEnabled", [false]);
    const reader = await prepareChain(devnet, targets);
    const block = devnet.head();
    const upstreams: ClientUpstream[] = devnet.nodes.map((n) => ({ id: n.id, url: n.url, domain: n.domain }));
    const domains = devnet.nodes.map((n) => outageDomainOf(n.domain));
    const alpha = upstreams[0]!;
    // Every request goes to the node: with the cache on, the repeated reads would measure a map lookup.
    const cacheOff: ClientSettings = { cache: { enabled: false } };
    const baselineCounter = createCallCounter();
    subjects.push({
      key: "baseline",
      client: createPublicClient({
        transport: http(alpha.url, {
          retryCount: 0,
          // Counted as the embedded engines' calls are: from the body as sent, at no extra cost (`onFetchRequest` would
          // build a Request for each call, and the baseline would pay for it).
          fetchFn: (input, init) => {
            baselineCounter.count(typeof init?.body === "string" ? init.body : "");
            return fetch(input, init);
          },
        }),
      }) as PublicClient,
      counter: baselineCounter,
    });
    // One upstream is one domain: it may anchor blocks only when told so, as a user embedding one provider would.
    subjects.push(
      embedded("one", devnet.chainId, [alpha], {
        ...cacheOff,
        verification: { anchorMinDomains: 1, anchorMinUpstreams: 1 },
      }),
    );
    subjects.push(embedded("three", devnet.chainId, upstreams, cacheOff));
    for (const s of subjects) {
      if (!s.engine) continue;
      const { ready, status } = await s.engine.ready(READY_TIMEOUT_MS);
      if (!ready)
        throw new Error(`the embedded Multihome (${s.key}) did not agree on a head: ${JSON.stringify(status)}`);
    }
    // Answers are checked against the baseline's: first check the baseline reads what block 2 put there.
    const direct = subjects[0]!.client;
    const stored = await direct.request({ method: "eth_call", params: [{ to: reader, data: "0x" }, "latest"] });
    if (stored !== `0x${STORED_VALUE.toString(16).padStart(64, "0")}`)
      throw new Error(`the reader contract answered ${String(stored)}, expected ${STORED_VALUE}`);
    const funded = await direct.request({ method: "eth_getBalance", params: [targets[0]!, "latest"] });
    if (BigInt(funded) !== TRANSFER_VALUE)
      throw new Error(`the first account holds ${funded}, expected ${TRANSFER_VALUE}`);
    const operations: Operation[] = [
      { method: "eth_blockNumber", params: () => [] },
      { method: "eth_chainId", params: () => [] },
      { method: "eth_getBalance", params: (i) => [targets[i % DISTINCT_TARGETS]!, "latest"], requires: "proof" },
      {
        method: "eth_call",
        params: (i) => [
          { to: reader, data: `0x70a08231${(i % DISTINCT_TARGETS).toString(16).padStart(64, "0")}` },
          "latest",
        ],
      },
    ];
    const rows: ClientLatency[] = [];
    let first = 0;
    for (const concurrency of CONCURRENCY) {
      for (const op of operations) {
        signal?.throwIfAborted();
        const measured = await measureOperation(subjects, op, concurrency, first, requests, warmup, block);
        first += warmup + requests;
        for (const r of measured) {
          log(
            `  ${op.method} ×${concurrency} ${r.client}: p50 ${r.p50Us.toFixed(0)} µs, p99 ${r.p99Us.toFixed(0)} µs, ` +
              `cpu ${r.cpuUsPerRequest.toFixed(0)} µs/request, upstream ${r.upstreamCallsPerRequest.toFixed(2)}/request, ` +
              `wrong ${r.wrong}, evidence ${r.verified ?? "—"}`,
          );
        }
        rows.push(...measured);
      }
    }
    // "Every read is answered at block N" holds only if no node moved during the run.
    for (const n of devnet.nodes) {
      const head = Number(await rpc(n.url, "eth_blockNumber"));
      if (head !== block) throw new Error(`node ${n.id} is at block ${head} after the run, expected ${block}`);
    }
    return { bundle, requests, warmup, rounds: ROUNDS, distinctTargets: DISTINCT_TARGETS, block, domains, rows };
  } finally {
    await Promise.allSettled(subjects.map((s) => s.engine?.close()));
    await devnet.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      requests: { type: "string", default: "5000" },
      warmup: { type: "string", default: "500" },
      out: { type: "string" },
    },
  });
  const controller = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => controller.abort());
  const result = await measureClient({
    requests: Number(values.requests),
    warmup: Number(values.warmup),
    signal: controller.signal,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const text = `${clientSection({ status: "measured", ...result }).join("\n")}\n`;
  process.stdout.write(text);
  if (values.out) writeFileSync(values.out, text);
}
