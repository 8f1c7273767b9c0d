/**
 * `npm run bench:hostile`: a well-behaved client's latency, alone and then under a hostile client mix — a flood
 * (wrk, as fast as it can, anonymous, over its per-address limit), oversized batches and a slowloris, each from its
 * own loopback address and process. The well-behaved client sends at a fixed rate (open loop) with an API key from
 * another address; its p99 under attack is compared with its p99 alone, measured in the same run.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { DEMO_NODES } from "../src/app/demo.ts";
import { hashApiKey } from "../src/core/access.ts";
import { startDevnet } from "../src/devnet/devnet.ts";
import { type OpenLoopResult, runOpenLoop } from "./open-loop.ts";
import { startServerProcess } from "./server-process.ts";
import { ensureWrk, runWrk } from "./wrk.ts";

/** The target: the well-behaved client's p99 under attack stays within this of its p99 alone. */
const P99_TARGET_RATIO = 1.1;
const RATE = 200;
const DURATION_MS = 15_000;
const KEY = "mh_bench_well_behaved_client_key";
const GOOD_ADDRESS = "127.0.0.2";

function line(name: string, r: OpenLoopResult): string {
  return (
    `${name}: ${r.sent} sent, ${r.ok} ok, ${r.wrong} wrong, ${r.failed} failed; ` +
    `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, max ${r.maxMs.toFixed(1)} ms`
  );
}

function runHostileClients(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, "hostile-clients.ts"),
        JSON.stringify({
          url,
          durationMs: DURATION_MS,
          batchAddress: "127.0.0.3",
          slowAddress: "127.0.0.4",
          slowSockets: 1_000,
        }),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("error", reject);
    child.once("exit", () => resolve(out.trim()));
  });
}

async function main(): Promise<void> {
  ensureWrk((l) => process.stdout.write(`${l}\n`));
  const devnet = await startDevnet({ nodes: DEMO_NODES, blockTimeMs: 0 });
  const gateway = await startServerProcess({
    kind: "multihome",
    chainId: devnet.chainId,
    upstreams: devnet.nodes.map((n) => ({ id: n.id, url: n.url, domain: n.domain })),
    balances: "proof",
    cache: true,
    config: {
      server: { host: "127.0.0.1", port: 0, maxConnectionsPerClient: 64, headersTimeoutMs: 2_000 },
      auth: {
        anonymousRateLimit: { units: 100, windowSeconds: 1 },
        keys: [{ id: "well-behaved", hash: hashApiKey(KEY) }],
      },
    },
  });
  try {
    const url = gateway.urls[0]!;
    const good = (durationMs: number) =>
      runOpenLoop({
        url,
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "eth_getBalance",
          params: [devnet.accounts[0]!.address, "latest"],
        }),
        expect: '"result":"0x',
        rate: RATE,
        durationMs,
        connections: 16,
        localAddress: GOOD_ADDRESS,
        headers: { authorization: `Bearer ${KEY}` },
      });
    await good(3_000);
    const alone = await good(DURATION_MS);
    const flood = runWrk({
      url,
      connections: 64,
      durationS: DURATION_MS / 1000,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      expect: "jsonrpc",
    });
    const hostile = runHostileClients(url);
    const attacked = await good(DURATION_MS);
    const [floodResult, hostileResult] = await Promise.all([flood, hostile]);
    const after = await good(DURATION_MS);
    const ratio = attacked.p99Ms / alone.p99Ms;
    process.stdout.write(
      [
        line("alone", alone),
        line("under attack", attacked),
        line("after", after),
        `flood (wrk, 64 connections, anonymous): ${floodResult.requests} answers (${floodResult.rps.toFixed(0)}/s), ${floodResult.non2xx} refused (429), ${floodResult.connectErrors + floodResult.readErrors} connection errors`,
        hostileResult,
        `p99 under attack / alone: ${ratio.toFixed(2)}× (target ≤ ${P99_TARGET_RATIO}×: ${ratio <= P99_TARGET_RATIO ? "met" : "NOT met"})`,
        "",
      ].join("\n"),
    );
  } finally {
    await gateway.stop();
    await devnet.stop();
  }
}

await main();
