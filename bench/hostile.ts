/**
 * `npm run bench:hostile`: a well-behaved client's latency, alone and then under a hostile client mix — a flood
 * (wrk, as fast as it can, anonymous, over its per-address limit), oversized batches and a slowloris, each from its
 * own loopback address and process. The well-behaved client sends at a fixed rate (open loop) with an API key from
 * another address; its p99 under attack is compared with its p99 without attack (before and after, pooled),
 * measured in the same run. `--attacks flood,batch,slowloris` (the default: all three) picks the attacks, to tell
 * what each costs.
 *
 * The gateway and the client being measured share the first core; the anvil nodes and the attackers run on the
 * others, the attackers at the lowest scheduling priority. In production the attackers are on machines of their own:
 * what is measured is what their traffic costs the gateway, not what their processes (and the kernel's work on their
 * sockets) cost the bench's machine.
 */
import { spawn, spawnSync } from "node:child_process";
import { availableParallelism, setPriority } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEMO_NODES } from "../src/app/demo.ts";
import { startDevnet } from "../src/devnet/devnet.ts";
import { hashApiKey } from "../src/server/access.ts";
import { type OpenLoopResult, quantile, runOpenLoop } from "./open-loop.ts";
import { startServerProcess } from "./server-process.ts";
import { ensureWrk, runWrk } from "./wrk.ts";

/** The target: the well-behaved client's p99 under attack stays within this of its p99 without attack. */
const P99_TARGET_RATIO = 1.1;
const RATE = 200;
const DURATION_MS = 20_000;
const KEY = "mh_bench_well_behaved_client_key";
const GOOD_ADDRESS = "127.0.0.2";
/** The lowest scheduling priority, for the attackers' processes. */
const ATTACKER_NICENESS = 19;
const ATTACKS = ["flood", "batch", "slowloris"] as const;
type Attack = (typeof ATTACKS)[number];

/** `--attacks a,b`; `--gateway-node-options "…"`: flags for the gateway's Node process (say a V8 heap setting). */
function optionsFromArgs(argv: string[]): { attacks: Set<Attack>; gatewayExecArgv: string[] } {
  const { values } = parseArgs({
    args: argv,
    options: {
      attacks: { type: "string", default: ATTACKS.join(",") },
      "gateway-node-options": { type: "string", default: "" },
    },
  });
  const named = values.attacks.split(",").map((a) => a.trim());
  const unknown = named.filter((a) => !(ATTACKS as readonly string[]).includes(a));
  if (unknown.length > 0) throw new Error(`unknown attack ${unknown.join(", ")} (known: ${ATTACKS.join(", ")})`);
  const gatewayExecArgv = values["gateway-node-options"].split(" ").filter((a) => a !== "");
  return { attacks: new Set(named as Attack[]), gatewayExecArgv };
}

function line(name: string, r: Pick<OpenLoopResult, "sent" | "ok" | "wrong" | "failed" | "latenciesMs">): string {
  const l = r.latenciesMs;
  return (
    `${name}: ${r.sent} sent, ${r.ok} ok, ${r.wrong} wrong, ${r.failed} failed; ` +
    `p50 ${quantile(l, 0.5).toFixed(2)} ms, p99 ${quantile(l, 0.99).toFixed(2)} ms, ` +
    `max ${(l[l.length - 1] ?? Number.NaN).toFixed(1)} ms`
  );
}

/** An attacker's process: on the cores the gateway is not on, at the lowest priority. */
function attacker(pid: number): void {
  const cores = availableParallelism();
  if (cores >= 2) pin(pid, `1-${cores - 1}`);
  setPriority(pid, ATTACKER_NICENESS);
}

/** Restricts a process and all its threads to the given cores (`taskset` list syntax). */
function pin(pid: number, cpus: string): void {
  const r = spawnSync("taskset", ["-a", "-cp", cpus, String(pid)], { stdio: "ignore" });
  if (r.status !== 0) throw new Error(`taskset -a -cp ${cpus} ${pid} failed (util-linux's taskset is needed)`);
}

function runHostileClients(url: string, attacks: Set<Attack>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, "hostile-clients.ts"),
        JSON.stringify({
          url,
          durationMs: DURATION_MS,
          batchSenders: attacks.has("batch") ? 2 : 0,
          batchAddress: "127.0.0.3",
          slowAddress: "127.0.0.4",
          slowSockets: attacks.has("slowloris") ? 1_000 : 0,
        }),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    if (child.pid !== undefined) attacker(child.pid);
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("error", reject);
    child.once("exit", () => resolve(out.trim()));
  });
}

async function main(): Promise<void> {
  const { attacks, gatewayExecArgv } = optionsFromArgs(process.argv.slice(2));
  ensureWrk((l) => process.stdout.write(`${l}\n`));
  const cores = availableParallelism();
  // anvil inherits the bench's cores (all but the first); then the gateway and the bench move to the first.
  if (cores >= 2) pin(process.pid, `1-${cores - 1}`);
  const devnet = await startDevnet({ nodes: DEMO_NODES, blockTimeMs: 0 });
  const gateway = await startServerProcess(
    {
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
    },
    gatewayExecArgv,
  );
  if (cores >= 2) {
    pin(gateway.pid, "0");
    pin(process.pid, "0");
  }
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
    const flood = attacks.has("flood")
      ? runWrk({
          url,
          connections: 64,
          durationS: DURATION_MS / 1000,
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
          expect: "jsonrpc",
          onStart: attacker,
        })
      : undefined;
    const hostile = runHostileClients(url, attacks);
    const attacked = await good(DURATION_MS);
    const [floodResult, hostileResult] = await Promise.all([flood, hostile]);
    const after = await good(DURATION_MS);
    const without = {
      sent: alone.sent + after.sent,
      ok: alone.ok + after.ok,
      wrong: alone.wrong + after.wrong,
      failed: alone.failed + after.failed,
      latenciesMs: Float64Array.from([...alone.latenciesMs, ...after.latenciesMs]).sort(),
    };
    const ratio = attacked.p99Ms / quantile(without.latenciesMs, 0.99);
    process.stdout.write(
      [
        cores >= 2
          ? `cores: the gateway and the client on core 0; anvil and the attackers (niceness ${ATTACKER_NICENESS}) on 1-${cores - 1}`
          : "cores: one core, shared by everything (no pinning)",
        line("alone", alone),
        line("under attack", attacked),
        line("after", after),
        line("without attack (alone and after)", without),
        `attacks: ${[...attacks].join(", ")}`,
        `gateway Node options: ${gatewayExecArgv.length > 0 ? gatewayExecArgv.join(" ") : "none"}`,
        floodResult
          ? `flood (wrk, 64 connections, anonymous): ${floodResult.requests} answers (${floodResult.rps.toFixed(0)}/s), ${floodResult.non2xx} refused (429), ${floodResult.connectErrors + floodResult.readErrors} connection errors`
          : "flood: not run",
        hostileResult,
        `p99 under attack / without: ${ratio.toFixed(2)}× (target ≤ ${P99_TARGET_RATIO}×: ${ratio <= P99_TARGET_RATIO ? "met" : "NOT met"})`,
        "",
      ].join("\n"),
    );
  } finally {
    await gateway.stop();
    await devnet.stop();
  }
}

await main();
