/**
 * `npm run bench:call`: what verifying an `eth_call` costs a client, against the unverified call in the same run. Four
 * anvil nodes in independent domains, each behind a fault proxy that adds `RTT_MS` to every answer (a provider across
 * the internet); the gateway runs in this process. For a token's `balanceOf` and a Multicall3 of 50 of them:
 * - unverified: the call sent straight to one upstream (through its proxy);
 * - verified, cold: at a block nothing was proven at yet (a new block each round), through the gateway;
 * - verified, warm: again at that block with another `gas` (so the answer cache misses; the proofs are kept).
 * Prints medians and ratios as one JSON object.
 */
import { encodeFunctionData, type Hex, multicall3Abi } from "viem";
import { MULTICALL3_INIT, TOKEN_ABI, TOKEN_INIT } from "../test/harness/contracts.ts";
import { FOUR_DOMAINS, startTestNetwork, type TestNetwork } from "../test/harness/network.ts";
import { minedSender } from "../test/harness/sender.ts";

const RTT_MS = Number(process.env.MULTIHOME_BENCH_RTT_MS ?? 20);
const ROUNDS = Number(process.env.MULTIHOME_BENCH_ROUNDS ?? 15);
const erc20 = TOKEN_ABI;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main() {
  const net: TestNetwork = await startTestNetwork({ nodes: FOUR_DOMAINS });
  try {
    const from = minedSender(net, 7);
    const token = await from.deploy(TOKEN_INIT);
    const multicall = await from.deploy(MULTICALL3_INIT);
    const holders = Array.from({ length: 50 }, (_, i) => `0x${(0xb000 + i).toString(16).padStart(40, "0")}` as Hex);
    for (const [i, h] of holders.slice(0, 10).entries())
      await from.send(encodeFunctionData({ abi: erc20, functionName: "set", args: [h, BigInt(i + 1)] }), token);
    for (const proxy of net.proxies.values()) await proxy.setFault({ fault: { kind: "latency", ms: RTT_MS } });

    const balanceOf = (h: Hex) => encodeFunctionData({ abi: erc20, functionName: "balanceOf", args: [h] });
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
    const upstream = net.proxies.get(FOUR_DOMAINS[0]!.id)!.url;
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
        await net.devnet.mine();
        await net.synced();
        unverified.push(await timed(() => post(upstream, [call, "latest"])));
        cold.push(await timed(() => post(net.rpcUrl, [call, "latest"])));
        const again = { ...call, gas: `0x${(2_000_000 + round).toString(16)}` };
        warm.push(await timed(() => post(net.rpcUrl, [again, "latest"])));
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
    await net.stop();
  }
}

await main();
