/**
 * `npm run bench:call`: what verifying an `eth_call` costs a client, against the unverified call in the same run. Four
 * anvil nodes in independent domains, each behind a fault proxy that adds `RTT_MS` to every answer (a provider across
 * the internet). The proxies and the gateway run in processes of their own (bench/serve.ts), as a provider and a
 * gateway do: the local execution's CPU time is the gateway's, not the provider's. For a token's `balanceOf` and a
 * Multicall3 of 50 of them:
 * - unverified: the call sent straight to one upstream (through its proxy);
 * - verified, cold: at a block nothing was proven at yet (a new block each round), through the gateway;
 * - verified, warm: again at that block with another `gas` (so the answer cache misses; the proofs are kept).
 * Prints medians and ratios as one JSON object.
 */
import { encodeFunctionData, type Hex, multicall3Abi } from "viem";
import { type Devnet, startDevnet } from "../src/devnet/devnet.ts";
import { MULTICALL3_INIT, TOKEN_ABI, TOKEN_INIT } from "../test/harness/contracts.ts";
import { FOUR_DOMAINS } from "../test/harness/network.ts";
import { minedSender } from "../test/harness/sender.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";

const RTT_MS = Number(process.env.MULTIHOME_BENCH_RTT_MS ?? 20);
const ROUNDS = Number(process.env.MULTIHOME_BENCH_ROUNDS ?? 15);
/** How long the gateway may take to agree on a block just mined, ms. */
const SYNC_TIMEOUT_MS = 10_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** One JSON-RPC call with plain fetch; its result. */
async function ask(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return ((await res.json()) as { result?: unknown }).result;
}

/** Resolves once the gateway's `eth_blockNumber` is the devnet's head. */
async function synced(gateway: string, devnet: Devnet): Promise<void> {
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  while (Number(BigInt(((await ask(gateway, "eth_blockNumber")) as string | undefined) ?? "0x0")) < devnet.head()) {
    if (Date.now() > deadline) throw new Error("the gateway did not reach the devnet's head");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main() {
  const devnet = await startDevnet({ nodes: FOUR_DOMAINS, startTimestamp: Math.floor(Date.now() / 1000) });
  const servers: ServerProcess[] = [];
  try {
    // The contracts are set up before the gateway starts: nothing to wait for after each block.
    const { send, deploy } = minedSender(
      {
        devnet,
        chainId: devnet.chainId,
        synced: async () => {},
        direct: (method, params) => ask(devnet.nodes[0]!.url, method, params),
      },
      7,
    );
    const token = await deploy(TOKEN_INIT);
    const multicall = await deploy(MULTICALL3_INIT);
    const holders = Array.from({ length: 50 }, (_, i) => `0x${(0xb000 + i).toString(16).padStart(40, "0")}` as Hex);
    for (const [i, h] of holders.slice(0, 10).entries())
      await send(encodeFunctionData({ abi: TOKEN_ABI, functionName: "set", args: [h, BigInt(i + 1)] }), token);

    const proxies = await startServerProcess({ kind: "fault-proxies", targets: devnet.nodes.map((n) => n.url) });
    servers.push(proxies);
    for (const index of devnet.nodes.keys())
      await proxies.command({ type: "setFault", index, fault: { kind: "latency", ms: RTT_MS } });
    const gateway = await startServerProcess({
      kind: "multihome",
      chainId: devnet.chainId,
      upstreams: devnet.nodes.map((n, i) => ({ id: n.id, url: proxies.urls[i]!, domain: n.domain })),
      balances: "proof",
      methods: { eth_call: "proof" },
    });
    servers.push(gateway);
    const gatewayUrl = gateway.urls[0]!;

    const balanceOf = (h: Hex) => encodeFunctionData({ abi: TOKEN_ABI, functionName: "balanceOf", args: [h] });
    const calls = {
      balanceOf: { to: token, data: balanceOf(holders[3]!) },
      multicall50: {
        to: multicall,
        data: encodeFunctionData({
          abi: multicall3Abi,
          functionName: "aggregate3",
          args: [holders.map((h) => ({ target: token, allowFailure: false, callData: balanceOf(h) }))],
        }),
      },
    };
    const upstream = proxies.urls[0]!;
    const post = (url: string, params: unknown[]) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_call", params }),
      }).then(async (r) => {
        const body = (await r.json()) as { result?: unknown };
        if (r.headers.get("multihome-verified") === "quorum") throw new Error("fell back to quorum");
        return body;
      });
    const result: Record<string, unknown> = { rttMs: RTT_MS, rounds: ROUNDS };
    for (const [name, call] of Object.entries(calls)) {
      const unverified: number[] = [];
      const cold: number[] = [];
      const warm: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        await devnet.mine();
        await synced(gatewayUrl, devnet);
        unverified.push(await timed(() => post(upstream, [call, "latest"])));
        cold.push(await timed(() => post(gatewayUrl, [call, "latest"])));
        const again = { ...call, gas: `0x${(2_000_000 + round).toString(16)}` };
        warm.push(await timed(() => post(gatewayUrl, [again, "latest"])));
      }
      const u = median(unverified);
      result[name] = {
        unverifiedMs: Number(u.toFixed(1)),
        coldMs: Number(median(cold).toFixed(1)),
        warmMs: Number(median(warm).toFixed(1)),
        coldRatio: Number((median(cold) / u).toFixed(2)),
        warmRatio: Number((median(warm) / u).toFixed(2)),
      };
    }
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const s of servers.reverse()) await s.stop();
    await devnet.stop();
  }
}

await main();
