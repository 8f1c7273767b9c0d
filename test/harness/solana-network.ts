/**
 * A Solana test network: litesvm nodes (src/devnet/solana) in independent failure domains, one fault proxy in front of
 * each, and a Multihome gateway serving them at `/rpc/solana/{name}` through the proxies, with a canary secret in
 * every upstream URL and every log line captured.
 */
import { Writable } from "node:stream";
import { generateKeyPairSigner, type KeyPairSigner } from "@solana/kit";
import { type App, startApp } from "../../src/app/app.ts";
import { validateConfig } from "../../src/config/load.ts";
import type { ConfigInput } from "../../src/config/schema.ts";
import type { FailureDomain } from "../../src/core/domains/domain.ts";
import { type SolanaCluster, startSolanaCluster } from "../../src/devnet/solana/cluster.ts";
import { createLogger } from "../../src/telemetry/logger.ts";
import { CANARY } from "./canary-guard.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { FOUR_DOMAINS, type RpcReply } from "./network.ts";
import { waitFor } from "./wait.ts";

/** Lamports every funded test account starts with: 100 SOL. */
export const FUNDED_LAMPORTS = 100_000_000_000n;

export interface SolanaTestNetwork {
  cluster: SolanaCluster;
  proxies: Map<string, FaultProxy>;
  app: App;
  /** `…/rpc/solana/localnet` on the gateway. */
  rpcUrl: string;
  /** Signers funded at genesis with FUNDED_LAMPORTS each. */
  wallets: KeyPairSigner[];
  logs: string[];
  /** One JSON-RPC call through the gateway with plain fetch. */
  rpc(method: string, params?: unknown[]): Promise<RpcReply>;
  /** One JSON-RPC call straight to a node (the truth), bypassing proxies and gateway. */
  direct(method: string, params: unknown[], node?: number): Promise<unknown>;
  /** Produces slots and waits until the gateway agrees the processed slot is the cluster's. */
  advance(count?: number): Promise<number>;
  /** Stops the gateway and starts another on the same config (and store): what a restart keeps. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface SolanaTestNetworkOptions {
  nodes?: { id: string; domain: FailureDomain }[];
  /** Funded wallets. @default 2 */
  wallets?: number;
  /** Slots between processed and finalized. @default 4 (tests reach finality in a few slots) */
  finalizedDepth?: number;
  config?: Partial<Omit<ConfigInput, "chains">>;
  /** > 0: the cluster produces a slot every `slotTimeMs` on its own. @default 0 (only `advance` does) */
  slotTimeMs?: number;
}

export const SOLANA_CLUSTER_NAME = "localnet";

export async function startSolanaTestNetwork(options: SolanaTestNetworkOptions = {}): Promise<SolanaTestNetwork> {
  const wallets = await Promise.all(Array.from({ length: options.wallets ?? 2 }, () => generateKeyPairSigner()));
  const cluster = await startSolanaCluster({
    name: SOLANA_CLUSTER_NAME,
    nodes: options.nodes ?? FOUR_DOMAINS,
    finalizedDepth: options.finalizedDepth ?? 4,
    slotTimeMs: options.slotTimeMs ?? 0,
    accounts: wallets.map((w) => ({ address: w.address, lamports: FUNDED_LAMPORTS })),
  });
  const proxies = new Map<string, FaultProxy>();
  let app: App | undefined;
  try {
    for (const [i, n] of cluster.nodes.entries())
      proxies.set(n.id, await startFaultProxy({ target: n.url, seed: i + 1 }));
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    const config = validateConfig({
      server: { host: "127.0.0.1", port: 0 },
      store: { kind: "memory" },
      log: { level: "debug" },
      ...options.config,
      health: { headPollIntervalMs: 250, ...options.config?.health },
      chains: [
        {
          family: "solana",
          name: SOLANA_CLUSTER_NAME,
          upstreams: cluster.nodes.map((n) => ({
            id: n.id,
            url: `${proxies.get(n.id)!.url}/v3/${CANARY}?api-key=${CANARY}`,
            domain: n.domain,
          })),
        },
      ],
    });
    const logger = createLogger({ level: "debug", destination: sink });
    const start = async () => {
      const started = await startApp(config, { logger, readyTimeoutMs: 10_000 });
      app = started;
      await waitFor(
        () =>
          started.engine.solanaStatus()[0]?.upstreams.every((u) => u.admission === "admitted" && u.head !== undefined),
        { timeoutMs: 10_000, what: "every Solana upstream admitted with its slot known" },
      );
      return started;
    };
    let nextId = 1;
    const gatewayUrl = (a: App) => `${a.server.url}/rpc/solana/${SOLANA_CLUSTER_NAME}`;
    const net: SolanaTestNetwork = {
      cluster,
      proxies,
      app: await start(),
      rpcUrl: "",
      wallets,
      logs,
      async rpc(method, params = []) {
        const res = await fetch(net.rpcUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
        });
        return { status: res.status, headers: res.headers, body: (await res.json()) as RpcReply["body"] };
      },
      async direct(method, params, node = 0) {
        const res = await fetch(cluster.nodes[node]!.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
        });
        return ((await res.json()) as { result: unknown }).result;
      },
      async advance(count = 1) {
        const slot = await cluster.produceSlots(count);
        const processed = () => net.app.engine.solanaStatus()[0]?.slots.processed;
        await waitFor(() => processed() === slot, { timeoutMs: 5_000, what: `the gateway to agree on slot ${slot}` });
        return slot;
      },
      async restart() {
        await net.app.stop();
        net.app = await start();
        net.rpcUrl = gatewayUrl(net.app);
      },
      async stop() {
        await net.app.stop();
        await Promise.all([...proxies.values()].map((p) => p.close()));
        await cluster.stop();
      },
    };
    net.rpcUrl = gatewayUrl(net.app);
    return net;
  } catch (error) {
    await app?.stop();
    await Promise.all([...proxies.values()].map((p) => p.close()));
    await cluster.stop();
    throw error;
  }
}
