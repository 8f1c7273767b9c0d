/**
 * The demo: a local network of anvil nodes in four failure domains — two of them on the same cloud region, to show
 * why domains matter — kept on identical blocks, with the gateway in front. The same four providers also serve an
 * OP-stack chain (chain id {@link DEMO_OP_CHAIN_ID}), whose every block starts with an L1-attributes deposit, and a
 * Solana cluster ({@link DEMO_SOLANA_CLUSTER}) of litesvm nodes producing a slot every {@link DEMO_SOLANA_SLOT_MS} ms.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { validateConfig } from "../config/load.ts";
import type { ConfigInput } from "../config/schema.ts";
import type { FailureDomain } from "../core/domains/domain.ts";
import { staleAfterBlockTime } from "../core/rpc/staleness.ts";
import { type Devnet, startDevnet } from "../devnet/devnet.ts";
import type { SolanaCluster } from "../devnet/solana/cluster.ts";
import { type App, startApp } from "./app.ts";

export const DEMO_NODES: { id: string; domain: FailureDomain }[] = [
  { id: "alpha", domain: { operator: "alpha-rpc", hosting: "aws", region: "us-east-1" } },
  { id: "beta", domain: { operator: "beta-nodes", hosting: "aws", region: "us-east-1" } },
  { id: "gamma", domain: { operator: "gamma-cloud", hosting: "gcp", region: "europe-west1" } },
  { id: "delta", domain: { operator: "community", hosting: "hetzner", region: "eu-central" } },
];

/** The OP-stack chain of the demo: the chain id of the OP stack's own local devnet. */
export const DEMO_OP_CHAIN_ID = 901;
/** The demo's Solana cluster, served at `/rpc/solana/localnet`. */
export const DEMO_SOLANA_CLUSTER = "localnet";
/** The demo's Solana slot time, ms (mainnet's). */
export const DEMO_SOLANA_SLOT_MS = 400;
/** Lamports the demo's Solana wallet starts with: 1,000 SOL. */
const DEMO_SOLANA_LAMPORTS = 1_000_000_000_000n;

export interface Demo {
  devnet: Devnet;
  app: App;
  rpcUrl: string;
  /** The OP-stack chain, unless `opStack: false`. */
  op?: { devnet: Devnet; rpcUrl: string };
  /** The Solana cluster and its funded wallet's address, unless `solana: false`. */
  solana?: { cluster: SolanaCluster; rpcUrl: string; wallet: string };
  /** The admin listener (metrics, dashboard, drills) and its token. */
  admin: { url: string; token: string };
  stop(): Promise<void>;
}

export interface DemoOptions {
  /** Engine port; when omitted, 8545 if free, else any free port. */
  port?: number;
  blockTimeMs?: number;
  logLevel?: "info" | "warn" | "error" | "silent" | "debug";
  storePath?: string;
  /** Also serve an OP-stack chain (four more anvil nodes). @default true */
  opStack?: boolean;
  /** Also serve a Solana cluster (four litesvm nodes). @default true */
  solana?: boolean;
}

/**
 * The demo's Solana cluster on the same four providers, with one wallet funded at genesis (its key derived from a fixed
 * label: a dev key, never for a real network). Loaded on demand: only the demo needs litesvm and @solana/kit.
 */
async function startDemoSolana(): Promise<{ cluster: SolanaCluster; wallet: string }> {
  const { startSolanaCluster } = await import("../devnet/solana/cluster.ts");
  const { devnetSigner } = await import("../devnet/solana/testing.ts");
  const wallet = (await devnetSigner("demo")).address;
  const cluster = await startSolanaCluster({
    name: DEMO_SOLANA_CLUSTER,
    nodes: DEMO_NODES,
    slotTimeMs: DEMO_SOLANA_SLOT_MS,
    accounts: [{ address: wallet, lamports: DEMO_SOLANA_LAMPORTS }],
  });
  return { cluster, wallet };
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const blockTimeMs = options.blockTimeMs ?? 2_000;
  // Blocks stamped with the time they are mined at, as a live chain's are, so ages and staleness read true.
  const startTimestamp = Math.floor(Date.now() / 1000);
  const devnet = await startDevnet({ nodes: DEMO_NODES, blockTimeMs, startTimestamp });
  let op: Devnet | undefined;
  let solana: { cluster: SolanaCluster; wallet: string } | undefined;
  try {
    if (options.solana ?? true) solana = await startDemoSolana();
    if (options.opStack ?? true) {
      op = await startDevnet({
        nodes: DEMO_NODES,
        chainId: DEMO_OP_CHAIN_ID,
        network: "optimism",
        blockTimeMs,
        startTimestamp,
      });
    }
    const port = options.port ?? ((await portIsFree(8545)) ? 8545 : 0);
    const adminPort = (await portIsFree(8546)) ? 8546 : 0;
    // The demo's own admin token, new each run unless the operator set one.
    const adminToken = process.env.MULTIHOME_ADMIN_TOKEN ?? `demo-${randomBytes(16).toString("base64url")}`;
    const input: ConfigInput = {
      server: { host: "127.0.0.1", port },
      admin: { host: "127.0.0.1", port: adminPort, token: adminToken },
      store: { kind: "sqlite", path: options.storePath ?? "./.multihome/demo.db" },
      log: { level: options.logLevel ?? "warn" },
      chains: [
        {
          chainId: devnet.chainId,
          name: "multihome-devnet",
          // The devnet's chain id is anvil's, which mines on demand; this one mines on a timer, so it can go stale.
          ...(blockTimeMs > 0 ? { staleAfterMs: staleAfterBlockTime(blockTimeMs) } : {}),
          upstreams: devnet.nodes.map((n) => ({ id: n.id, url: n.url, domain: n.domain })),
        },
        ...(op
          ? [
              {
                chainId: op.chainId,
                name: "multihome-op-devnet",
                stack: "op-stack" as const,
                // anvil's OP-stack nodes carry every header field from genesis on, as its Ethereum nodes do.
                forks: { london: 0, shanghai: 0, cancun: 0, prague: 0 },
                ...(blockTimeMs > 0 ? { staleAfterMs: staleAfterBlockTime(blockTimeMs) } : {}),
                upstreams: op.nodes.map((n) => ({ id: n.id, url: n.url, domain: n.domain })),
              },
            ]
          : []),
        ...(solana
          ? [
              {
                family: "solana" as const,
                name: DEMO_SOLANA_CLUSTER,
                upstreams: solana.cluster.nodes.map((n) => ({ id: n.id, url: n.url, domain: n.domain })),
              },
            ]
          : []),
      ],
    };
    const app = await startApp(validateConfig(input), { readyTimeoutMs: 15_000 });
    return {
      devnet,
      app,
      rpcUrl: `${app.server.url}/rpc/${devnet.chainId}`,
      ...(op ? { op: { devnet: op, rpcUrl: `${app.server.url}/rpc/${op.chainId}` } } : {}),
      ...(solana ? { solana: { ...solana, rpcUrl: `${app.server.url}/rpc/solana/${DEMO_SOLANA_CLUSTER}` } } : {}),
      admin: { url: app.admin!.url, token: adminToken },
      async stop() {
        await app.stop();
        await Promise.all([devnet.stop(), op?.stop(), solana?.cluster.stop()]);
      },
    };
  } catch (error) {
    await Promise.all([devnet.stop(), op?.stop(), solana?.cluster.stop()]);
    throw error;
  }
}
