/**
 * `npm run bench:logs`: what proving an `eth_getLogs` costs a client, against the unverified call in the same run.
 * Four anvil nodes in independent domains, each behind a fault proxy that adds `RTT_MS` to every answer (a provider
 * across the internet); the gateway runs in this process. One contract logs in every 100th block of a range of
 * `RANGE_BLOCKS` (2,000, one chunk), another in every 10th (so many blooms are not empty). For the first contract:
 * - unverified: the filter sent straight to one upstream (through its proxy);
 * - verified, cold: a range never asked before (headers linked, matching blocks' bodies and receipts proven);
 * - verified, warm: the same range again with the address as a list (the answer cache misses; headers, bodies and
 *   receipts are kept).
 * Prints medians, ratios and the upstream requests of one cold call as one JSON object.
 */
import { type Hex, parseGwei } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { EMITTER_ON_CALL_INIT } from "../test/harness/contracts.ts";
import { FOUR_DOMAINS, startTestNetwork, type TestNetwork } from "../test/harness/network.ts";
import { minedSender } from "../test/harness/sender.ts";

const RTT_MS = Number(process.env.MULTIHOME_BENCH_RTT_MS ?? 20);
const ROUNDS = Number(process.env.MULTIHOME_BENCH_ROUNDS ?? 3);
const RANGE_BLOCKS = 2_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const hex = (n: number) => `0x${n.toString(16)}`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** `RANGE_BLOCKS` blocks: `rare` logs in every 100th, `common` in every 10th; the range mined. */
async function produce(net: TestNetwork, rare: Hex, common: Hex, nonce: { next: number }) {
  const signer = privateKeyToAccount(net.devnet.accounts[3]!.privateKey);
  const call = async (to: Hex) =>
    net.devnet.sendRawTransaction(
      await signer.signTransaction({
        chainId: net.chainId,
        nonce: nonce.next++,
        to,
        gas: 100_000n,
        maxFeePerGas: parseGwei("20"),
        maxPriorityFeePerGas: parseGwei("1"),
      }),
    );
  const from = net.devnet.head() + 1;
  for (let i = 0; i < RANGE_BLOCKS; i += 10) {
    if (i % 100 === 0) await call(rare);
    await call(common);
    await net.devnet.mine();
    await net.devnet.mine(9);
  }
  await net.synced();
  return { from, to: from + RANGE_BLOCKS - 1 };
}

async function main() {
  const net = await startTestNetwork({ nodes: FOUR_DOMAINS });
  try {
    const setup = minedSender(net, 7);
    const rare = await setup.deploy(EMITTER_ON_CALL_INIT);
    const common = await setup.deploy(EMITTER_ON_CALL_INIT);
    const nonce = { next: 0 };
    const ranges = [];
    const mining = performance.now();
    for (let r = 0; r < ROUNDS; r++) ranges.push(await produce(net, rare, common, nonce));
    const miningMs = performance.now() - mining;
    for (const proxy of net.proxies.values()) await proxy.setFault({ fault: { kind: "latency", ms: RTT_MS } });

    const upstream = net.proxies.get(FOUR_DOMAINS[0]!.id)!.url;
    const post = async (url: string, filter: Record<string, unknown>, proven: boolean) => {
      const r = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getLogs", params: [filter] }),
      });
      const body = (await r.json()) as { result?: unknown[] };
      if (!Array.isArray(body.result) || body.result.length !== RANGE_BLOCKS / 100) throw new Error("wrong answer");
      if (proven && r.headers.get("multihome-verified") !== "proof")
        throw new Error(`labelled ${r.headers.get("multihome-verified")}`);
    };
    const times = { unverified: [] as number[], cold: [] as number[], warm: [] as number[] };
    let requests: Record<string, number> = {};
    for (const [i, { from, to }] of ranges.entries()) {
      const range = { fromBlock: hex(from), toBlock: hex(to) };
      times.unverified.push(await timed(() => post(upstream, { ...range, address: rare }, false)));
      net.resetStats();
      times.cold.push(await timed(() => post(net.rpcUrl, { ...range, address: rare }, true)));
      if (i === 0)
        requests = Object.fromEntries(
          ["eth_getBlockByNumber", "eth_getBlockByHash", "eth_getBlockReceipts", "eth_getLogs"].map((m) => [
            m,
            net.upstreamRequests(m),
          ]),
        );
      times.warm.push(await timed(() => post(net.rpcUrl, { ...range, address: [rare] }, true)));
    }
    const m = { unverified: median(times.unverified), cold: median(times.cold), warm: median(times.warm) };
    console.log(
      JSON.stringify(
        {
          rttMs: RTT_MS,
          rounds: ROUNDS,
          rangeBlocks: RANGE_BLOCKS,
          logs: RANGE_BLOCKS / 100,
          miningSeconds: +(miningMs / 1000).toFixed(1),
          medianMs: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, +v.toFixed(1)])),
          coldRatio: +(m.cold / m.unverified).toFixed(2),
          warmRatio: +(m.warm / m.unverified).toFixed(2),
          coldUpstreamRequests: requests,
        },
        null,
        2,
      ),
    );
  } finally {
    await net.stop();
  }
}

await main();
