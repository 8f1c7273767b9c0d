/**
 * The closed-loop scenarios of `npm run bench` (`bench/run.ts`): what each measures and how its target starts, and
 * the specs of the servers they (and the open-loop and profile runs) start.
 */
import { availableParallelism } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { DEFAULTS } from "../src/config/defaults.ts";
import type { VerificationPolicy } from "../src/core/rpc/methods.ts";
import type { Readiness } from "../src/engine/engine.ts";
import type { BodySet } from "./body-sets.ts";
import { findBinary, startHaproxy, startNginx } from "./external.ts";
import type { Load } from "./loads.ts";
import type { BenchNodes } from "./nodes.ts";
import type { RunContext } from "./run-context.ts";
import type { MultihomeSpec, ServeSpec } from "./serve.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";

/** Workers of the worker scenarios: `server.workers: "auto"`, one per CPU this process may use. */
const WORKERS = availableParallelism();
/** Multihome learns of a dead domain from its head polls (1 s apart by default): allow a few. */
const DOMAIN_DOWN_TIMEOUT_MS = 15_000;
const DOMAIN_DOWN_POLL_MS = 100;
const DOWN_DOMAIN = "aws/us-east-1";

export interface Target {
  url: string;
  stop(): Promise<void>;
  /** Runs after the answer check and before the warm-up (e.g. taking a domain down). */
  prepare?(): Promise<void>;
  /** Upstream request counts since the last call (reset by the call). */
  takeCounts?(): Promise<Record<string, number>>;
  note?(): Promise<string | undefined>;
}

export interface ScenarioDef {
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

export function serverTarget(server: ServerProcess): Target {
  return { url: server.urls[0]!, stop: server.stop };
}

/** The bare Node proxy in front of alpha. */
export function bareSpec(nodes: BenchNodes): ServeSpec {
  return { kind: "bare", target: nodeById(nodes, "alpha").url, connections: DEFAULTS.upstream.connections };
}

/** Multihome with alpha as its one upstream, each balance the upstream's word, cache off. */
export function passThroughSpec(nodes: BenchNodes): MultihomeSpec {
  const { id, url, domain } = nodeById(nodes, "alpha");
  return { kind: "multihome", chainId: nodes.devnet.chainId, upstreams: [{ id, url, domain }], balances: "single" };
}

/** Multihome over {@link threeDomains}, cache off. */
export function threeDomainsSpec(
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

export async function waitDomainDown(server: ServerProcess): Promise<void> {
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

export function nodeById(nodes: BenchNodes, id: string): BenchNodes["devnet"]["nodes"][number] {
  const n = nodes.devnet.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no devnet node ${id}`);
  return n;
}

/** One node in each of aws/us-east-1, gcp/europe-west1 and hetzner/eu-central. */
export function threeDomains(nodes: BenchNodes): BenchNodes["devnet"]["nodes"] {
  return ["alpha", "gamma", "delta"].map((id) => nodeById(nodes, id));
}

/** The closed-loop scenarios, in the page's order; `load` is what they send unless they say otherwise. */
export function scenarios(
  ctx: RunContext,
  nodes: BenchNodes,
  load: Load,
  receiptLoad: Load,
  routing: BodySet,
): ScenarioDef[] {
  const { track } = ctx;
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
    const proxy = await track(start(binary, alpha.url, ctx.results, load.body));
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
