/**
 * `npm run bench:solana`: what agreement costs a Solana read, against the node answering it alone in the same run.
 * Four litesvm nodes in independent domains producing a slot every 400 ms, the gateway in this process, wrk as the
 * client (16 connections, 10 s each):
 * - direct: `getBalance` at `confirmed` straight to one node;
 * - agreed: the same call through Multihome, served when two independent domains agree on the value at one slot.
 * Also counts the upstream calls each agreed read cost, from the gateway's own metrics (every attempt it sent, slot
 * polls included). Prints one JSON object; docs/solana.md keeps the figures.
 */
import { generateKeyPairSigner } from "@solana/kit";
import { startApp } from "../src/app/app.ts";
import { validateConfig } from "../src/config/load.ts";
import { silentLogger } from "../src/core/ports.ts";
import { startSolanaCluster } from "../src/devnet/solana/cluster.ts";
import { ensureWrk, runWrk, type WrkResult } from "./wrk.ts";

const SLOT_MS = 400;
/** Four providers in independent failure domains (the test harness's, without its canary guard in this process). */
const FOUR_DOMAINS = [
  { id: "u1", domain: { operator: "op-one", hosting: "aws", region: "us-east-1" } },
  { id: "u2", domain: { operator: "op-two", hosting: "gcp", region: "europe-west1" } },
  { id: "u3", domain: { operator: "op-three", hosting: "hetzner", region: "eu-central" } },
  { id: "u4", domain: { operator: "op-four", hosting: "ovh", region: "ca-east" } },
];
const CONNECTIONS = Number(process.env.MULTIHOME_BENCH_CONNECTIONS ?? 16);
const DURATION_S = Number(process.env.MULTIHOME_BENCH_SECONDS ?? 10);
const LAMPORTS = 7_000_000_000n;

const summary = (r: WrkResult) => ({
  rps: Math.round(r.rps),
  p50Ms: r.p50Us / 1000,
  p99Ms: r.p99Us / 1000,
  wrong: r.wrong,
  errors: r.connectErrors + r.readErrors + r.writeErrors + r.timeouts + r.non2xx,
});

async function main() {
  ensureWrk((line) => process.stderr.write(`${line}\n`));
  const wallet = (await generateKeyPairSigner()).address;
  const cluster = await startSolanaCluster({
    name: "bench",
    nodes: FOUR_DOMAINS,
    slotTimeMs: SLOT_MS,
    accounts: [{ address: wallet, lamports: LAMPORTS }],
  });
  const app = await startApp(
    validateConfig({
      server: { host: "127.0.0.1", port: 0 },
      store: { kind: "memory" },
      log: { level: "warn" },
      chains: [
        {
          family: "solana",
          name: "bench",
          upstreams: cluster.nodes.map((n) => ({ id: n.id, url: n.url, domain: n.domain })),
        },
      ],
    }),
    { logger: silentLogger, readyTimeoutMs: 15_000 },
  );
  /** Every attempt the gateway sent to an upstream, from its metrics. */
  const upstreamRequests = async () => {
    const text = await app.metrics.registry.scrape();
    return [...text.matchAll(/^multihome_upstream_call_duration_seconds_count\{[^}]*\} (\d+)/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  };
  try {
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "getBalance",
      params: [wallet, { commitment: "confirmed" }],
    });
    const expect = `"value":${LAMPORTS}`;
    const load = { body, expect, connections: CONNECTIONS, durationS: DURATION_S };
    const direct = await runWrk({ ...load, url: cluster.nodes[0]!.url });
    const before = await upstreamRequests();
    const agreed = await runWrk({ ...load, url: `${app.server.url}/rpc/solana/bench` });
    const upstreamPerRead = ((await upstreamRequests()) - before) / agreed.requests;
    const result = {
      slotMs: SLOT_MS,
      connections: CONNECTIONS,
      seconds: DURATION_S,
      direct: summary(direct),
      agreed: summary(agreed),
      throughputRatio: Math.round((agreed.rps / direct.rps) * 100) / 100,
      p50Ratio: Math.round((agreed.p50Us / direct.p50Us) * 100) / 100,
      // Slot polls (three per upstream per second) included: a few hundred over the run.
      upstreamCallsPerRead: Math.round(upstreamPerRead * 100) / 100,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await app.stop();
    await cluster.stop();
  }
}

await main();
