/**
 * The upstream nodes every scenario shares: the demo's four anvil nodes (its failure domains included), on
 * identical blocks mined to block 1 and then left still — no block timer — so the state each scenario reads never
 * moves and any node can answer the pinned `eth_getBalance` at "0x1" with the same work.
 */
import { Pool } from "undici";
import { DEMO_NODES } from "../src/app/demo.ts";
import { type Devnet, startDevnet } from "../src/devnet/devnet.ts";

export interface BenchNodes {
  devnet: Devnet;
  /** Block 1's hash, identical on every node. */
  block1Hash: string;
  stop(): Promise<void>;
}

const RPC_TIMEOUT_MS = 10_000;

export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const pool = new Pool(url, { connections: 1 });
  try {
    const res = await pool.request({
      method: "POST",
      path: "/",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      headersTimeout: RPC_TIMEOUT_MS,
      bodyTimeout: RPC_TIMEOUT_MS,
    });
    const body = (await res.body.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  } finally {
    await pool.close();
  }
}

export async function startBenchNodes(): Promise<BenchNodes> {
  const devnet = await startDevnet({ nodes: DEMO_NODES, blockTimeMs: 0 });
  try {
    await devnet.mine(1);
    const hashes: string[] = [];
    for (const n of devnet.nodes) {
      // Per-request log lines cost the node CPU on every call; no scenario should pay for them.
      await rpc(n.url, "anvil_setLoggingEnabled", [false]);
      const block = (await rpc(n.url, "eth_getBlockByNumber", ["0x1", false])) as { hash: string };
      hashes.push(block.hash);
    }
    if (new Set(hashes).size !== 1) throw new Error(`nodes disagree on block 1: ${hashes.join(", ")}`);
    return { devnet, block1Hash: hashes[0]!, stop: () => devnet.stop() };
  } catch (error) {
    await devnet.stop();
    throw error;
  }
}
