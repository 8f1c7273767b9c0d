/**
 * A whole test network: real anvil nodes (the devnet) in several failure domains, one fault proxy in front of each,
 * and a Multihome gateway whose upstream URLs go through the proxies and carry a canary secret, with every log line
 * captured so tests can prove the secret never leaks.
 */
import { Writable } from "node:stream";
import { type App, type AppOptions, startApp } from "../../src/app/app.ts";
import { DEMO_NODES } from "../../src/app/demo.ts";
import { validateConfig } from "../../src/config/load.ts";
import type { Config, ConfigInput } from "../../src/config/schema.ts";
import type { ChainStack } from "../../src/core/chain-presets.ts";
import type { FailureDomain } from "../../src/core/domains/domain.ts";
import { type Devnet, startDevnet } from "../../src/devnet/devnet.ts";
import { createLogger } from "../../src/telemetry/logger.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { waitFor } from "./wait.ts";

/** The secret in every upstream URL: the canary guard (loaded into every test process) fails a test that serves it. */
export { CANARY } from "./canary-guard.ts";

import { CANARY } from "./canary-guard.ts";

export const THREE_DOMAINS: { id: string; domain: FailureDomain }[] = [
  { id: "u1", domain: { operator: "op-one", hosting: "aws", region: "us-east-1" } },
  { id: "u2", domain: { operator: "op-two", hosting: "gcp", region: "europe-west1" } },
  { id: "u3", domain: { operator: "op-three", hosting: "hetzner", region: "eu-central" } },
];

/** Four upstreams in four independent failure domains: one liar among them still leaves three honest domains. */
export const FOUR_DOMAINS: { id: string; domain: FailureDomain }[] = [
  ...THREE_DOMAINS,
  { id: "u4", domain: { operator: "op-four", hosting: "ovh", region: "ca-east" } },
];

/** The demo's shape: two vendors on one cloud region (alpha, beta), plus two independent domains. */
export const FOUR_NODES_TWO_ON_AWS = DEMO_NODES;

export interface TestNetwork {
  devnet: Devnet;
  proxies: Map<string, FaultProxy>;
  /** The gateway's validated config: another replica can be started with it. */
  config: Config;
  app: App;
  rpcUrl: string;
  baseUrl: string;
  chainId: number;
  /** Every log line the gateway wrote. */
  logs: string[];
  /** One JSON-RPC call through the gateway with plain fetch. */
  rpc(method: string, params?: unknown[], headers?: Record<string, string>): Promise<RpcReply>;
  /** One JSON-RPC call straight to a devnet node (the truth to compare with), bypassing proxies and gateway. */
  direct(method: string, params: unknown[], node?: number): Promise<unknown>;
  /** Resolves once the gateway's agreed head is the devnet's head. */
  synced(): Promise<void>;
  /** Sum of JSON-RPC items every proxy received since the last `resetStats`. */
  upstreamRequests(method?: string): number;
  resetStats(): void;
  stop(): Promise<void>;
}

export interface RpcReply {
  status: number;
  headers: Headers;
  body: { jsonrpc?: string; id?: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } };
}

export interface TestNetworkOptions {
  nodes?: { id: string; domain: FailureDomain }[];
  /** 0: blocks only when the test mines them. */
  blockTimeMs?: number;
  /**
   * Genesis timestamp, seconds. @default now: blocks carry the time they are mined at (or a little ahead), so the
   * age of a last-known-good value is the time since its block, as on a live chain.
   */
  startTimestamp?: number;
  config?: Partial<Omit<ConfigInput, "chains">>;
  /** Added to the chain's config (e.g. `staleAfterMs`: the devnet's chain id has no bound of its own). */
  chain?: { staleAfterMs?: number; stack?: ChainStack };
  /** anvil's network family for every node (`optimism`: OP-stack nodes that take deposit transactions). */
  network?: "ethereum" | "optimism";
  /** The clock the gateway reads. @default the system clock */
  clock?: AppOptions["clock"];
}

/** Resolves once every chain of `app` is ready with every upstream admitted and its head known. */
export async function settled(app: App, timeoutMs: number): Promise<void> {
  await waitFor(
    () =>
      app.engine
        .readiness()
        .chains.every((c) => c.ready && c.upstreams.every((u) => u.admission === "admitted" && u.head !== undefined)),
    { timeoutMs, what: "the gateway to be ready with every upstream admitted" },
  );
}

export async function startTestNetwork(options: TestNetworkOptions = {}): Promise<TestNetwork> {
  const nodes = options.nodes ?? THREE_DOMAINS;
  const devnet = await startDevnet({
    nodes,
    blockTimeMs: options.blockTimeMs ?? 0,
    startTimestamp: options.startTimestamp ?? Math.floor(Date.now() / 1000),
    ...(options.network ? { network: options.network } : {}),
  });
  const proxies = new Map<string, FaultProxy>();
  let app: App | undefined;
  try {
    // Each proxy draws its own faults: with one seed, a ratio fault set on every proxy would strike all upstreams on
    // the same requests, and "30 % of each upstream's answers" would silently become "30 % of requests everywhere".
    for (const [i, n] of devnet.nodes.entries())
      proxies.set(n.id, await startFaultProxy({ target: n.url, seed: i + 1 }));
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    const input: ConfigInput = {
      server: { host: "127.0.0.1", port: 0 },
      store: { kind: "memory" },
      log: { level: "debug" },
      ...options.config,
      health: { headPollIntervalMs: 250, ...options.config?.health },
      chains: [
        {
          chainId: devnet.chainId,
          ...options.chain,
          upstreams: devnet.nodes.map((n) => ({
            id: n.id,
            url: `${proxies.get(n.id)!.url}/v3/${CANARY}?apikey=${CANARY}`,
            domain: n.domain,
          })),
        },
      ],
    };
    const config = validateConfig(input);
    const logger = createLogger({ level: "debug", destination: sink });
    app = await startApp(config, {
      logger,
      readyTimeoutMs: 10_000,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const started = app;
    // Tests start from a settled world: every upstream admitted and its head known, not just the first two.
    await settled(started, 10_000);
    const rpcUrl = `${started.server.url}/rpc/${devnet.chainId}`;
    let nextId = 1;
    return {
      devnet,
      proxies,
      config,
      app: started,
      rpcUrl,
      baseUrl: started.server.url,
      chainId: devnet.chainId,
      logs,
      async rpc(method, params = [], headers = {}) {
        const res = await fetch(rpcUrl, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
        });
        return { status: res.status, headers: res.headers, body: (await res.json()) as RpcReply["body"] };
      },
      async direct(method, params, node = 0) {
        const res = await fetch(devnet.nodes[node]!.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
        });
        return ((await res.json()) as { result: unknown }).result;
      },
      async synced() {
        await waitFor(() => started.engine.readiness().chains[0]!.head?.number === devnet.head(), {
          timeoutMs: 5_000,
          what: "agreed head to reach the devnet head",
        });
      },
      upstreamRequests(method) {
        let total = 0;
        for (const p of proxies.values()) {
          const s = p.stats();
          total += method ? (s.byMethod[method] ?? 0) : s.requests;
        }
        return total;
      },
      resetStats() {
        for (const p of proxies.values()) p.resetStats();
      },
      async stop() {
        await started.stop();
        await Promise.all([...proxies.values()].map((p) => p.close()));
        await devnet.stop();
      },
    };
  } catch (error) {
    await app?.stop();
    await Promise.all([...proxies.values()].map((p) => p.close()));
    await devnet.stop();
    throw error;
  }
}
