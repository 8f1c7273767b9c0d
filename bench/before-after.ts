/**
 * `node bench/before-after.ts --baseline <checkout>`: the cost of a change on the verified hot path. The proven reads
 * of this checkout are measured against those of another checkout of Multihome (an earlier commit, with its
 * dependencies installed) in one run, on the same anvil nodes, with the same wrk load: each round starts one gateway,
 * measures it, stops it, then the other, alternating which goes first, so drift in the machine falls on both alike.
 * Prints, per scenario, the median requests/s and p99 of each and their ratio.
 *
 * Options: --baseline=DIR (required) --rounds=N (3) --duration=S (10) --warmup=S (2) --connections=N (32)
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { VerificationPolicy } from "../src/core/rpc/methods.ts";
import { balanceLoadOf, type Load, receiptLoadOf } from "./loads.ts";
import { type BenchNodes, startBenchNodes } from "./nodes.ts";
import type { MultihomeSpec } from "./serve.ts";
import { startServerProcess } from "./server-process.ts";
import { ensureWrk, runWrk } from "./wrk.ts";

const { values: opts } = parseArgs({
  options: {
    baseline: { type: "string" },
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "32" },
  },
});
if (!opts.baseline) throw new Error("--baseline=<checkout of the earlier commit> is required");
const ROOT = join(import.meta.dirname, "..");
const rounds = Number(opts.rounds);
const durationS = Number(opts.duration);
const warmupS = Number(opts.warmup);
const connections = Number(opts.connections);

interface Scenario {
  title: string;
  load: Load;
  balances: VerificationPolicy;
  methods?: Record<string, VerificationPolicy>;
}

/** Multihome over alpha (aws), gamma (gcp) and delta (hetzner), cache off: every read is verified afresh. */
function spec(nodes: BenchNodes, s: Scenario): MultihomeSpec {
  const upstreams = ["alpha", "gamma", "delta"].map((id) => {
    const n = nodes.devnet.nodes.find((x) => x.id === id)!;
    return { id: n.id, url: n.url, domain: n.domain };
  });
  return {
    kind: "multihome",
    chainId: nodes.devnet.chainId,
    upstreams,
    balances: s.balances,
    ...(s.methods ? { methods: s.methods } : {}),
  };
}

async function measureOnce(root: string, nodes: BenchNodes, s: Scenario): Promise<{ rps: number; p99Ms: number }> {
  const server = await startServerProcess(spec(nodes, s), [], root);
  try {
    const url = server.urls[0]!;
    await runWrk({ url, connections, durationS: warmupS, body: s.load.body, expect: s.load.expect });
    const r = await runWrk({ url, connections, durationS, body: s.load.body, expect: s.load.expect });
    if (r.wrong > 0) throw new Error(`${s.title} (${root}): ${r.wrong} wrong answers, e.g. ${r.wrongSample}`);
    return { rps: r.rps, p99Ms: r.p99Us / 1000 };
  } finally {
    await server.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  ensureWrk((line) => process.stdout.write(`${line}\n`));
  const nodes = await startBenchNodes();
  try {
    const alpha = nodes.devnet.nodes.find((n) => n.id === "alpha")!;
    const scenarios: Scenario[] = [
      { title: "proven balance (eth_getBalance, proof)", load: await balanceLoadOf(alpha.url), balances: "proof" },
      {
        title: "proven receipt (eth_getTransactionReceipt, proof)",
        load: await receiptLoadOf(nodes, alpha.url),
        // As bench/run.ts' 4rp: the receipt proven, the balance policy beside the point.
        balances: "single",
        methods: { eth_getTransactionReceipt: "proof" },
      },
    ];
    const rows: string[] = [];
    for (const s of scenarios) {
      const after: { rps: number; p99Ms: number }[] = [];
      const before: { rps: number; p99Ms: number }[] = [];
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? ["before", "after"] : ["after", "before"];
        for (const which of order) {
          const result = await measureOnce(which === "after" ? ROOT : opts.baseline!, nodes, s);
          (which === "after" ? after : before).push(result);
          process.stdout.write(
            `${s.title}, round ${round + 1}, ${which}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(1)} ms\n`,
          );
        }
      }
      const [rb, ra] = [median(before.map((r) => r.rps)), median(after.map((r) => r.rps))];
      const [pb, pa] = [median(before.map((r) => r.p99Ms)), median(after.map((r) => r.p99Ms))];
      rows.push(
        `| ${s.title} | ${rb.toFixed(0)} | ${ra.toFixed(0)} | ${(ra / rb).toFixed(3)} | ${pb.toFixed(1)} | ${pa.toFixed(1)} | ${(pa / pb).toFixed(3)} |`,
      );
    }
    process.stdout.write(
      [
        "",
        `${rounds} rounds of ${durationS} s (after ${warmupS} s of warm-up), ${connections} connections, medians:`,
        "",
        "| Scenario | before req/s | after req/s | after/before | before p99 ms | after p99 ms | after/before |",
        "|---|---|---|---|---|---|---|",
        ...rows,
        "",
      ].join("\n"),
    );
  } finally {
    await nodes.stop();
  }
}

await main();
