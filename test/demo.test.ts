/** `npm start` (multihome demo) starts, serves both its chains, and Ctrl-C stops every child process. */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

const root = join(import.meta.dirname, "..");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("demo: starts anvil nodes in four domains for two chains, a Solana cluster and the gateway, serves, and stops cleanly on SIGINT", async (t) => {
  const child = spawn(process.execPath, ["src/cli/main.ts", "demo", "--port", "0", "--block-time", "500"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${out}\n${err}`)), 30_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /JSON-RPC\s+(http:\/\/\S+)/.exec(out);
      if (m && /Press Ctrl-C/.test(out)) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => reject(new Error(`demo exited ${code}: ${out}\n${err}`)));
  });
  assert.match(out, /aws\/us-east-1/);
  assert.match(out, /gcp\/europe-west1/);
  const pids = [...out.matchAll(/ pid (\d+)\n/g)].map((m) => Number(m[1]));
  assert.equal(pids.length, 12, "four nodes for each chain and for the Solana cluster");
  assert.match(out, /Dashboard +http:\/\/127\.0\.0\.1:\d+\/dashboard\?token=\S+/);

  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
  });
  const body = (await res.json()) as { result: string };
  assert.ok(Number(body.result) >= 1);

  // The OP-stack chain: its blocks start with the L1-attributes deposit, proven like any other.
  const opUrl = /OP stack\s+(http:\/\/\S+)/.exec(out)![1]!;
  const op = await fetch(opUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBlockByNumber", params: ["0x1", true] }),
  });
  assert.equal(op.headers.get("multihome-verified"), "proof");
  const first = ((await op.json()) as { result: { transactions: { type: string; to: string }[] } }).result
    .transactions[0];
  assert.deepEqual([first?.type, first?.to], ["0x7e", "0x4200000000000000000000000000000000000015"]);

  // The Solana cluster: the demo wallet's balance, agreed by independent domains at one slot.
  const [, solanaUrl, wallet] =
    /curl -s -X POST (http:\/\/\S+\/rpc\/solana\/\S+)[\s\S]*?"getBalance","params":\["(\w+)"\]/.exec(out)!;
  const solana = await fetch(solanaUrl!, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "getBalance",
      params: [wallet, { commitment: "processed" }],
    }),
  });
  assert.equal(solana.headers.get("multihome-verified"), "quorum");
  assert.equal(((await solana.json()) as { result: { value: number } }).result.value, 1_000_000_000_000);

  // The drill the demo prints is one command; shortened here, it takes aws down and reports no failed request.
  const drill = /npm run drill -- (.*)\n/.exec(out)![1]!.replace("--duration 60s", "--duration 1s").split(" ");
  const report = spawnSync(process.execPath, ["src/cli/main.ts", "drill", ...drill], { cwd: root, encoding: "utf8" });
  assert.equal(report.status, 0, `${report.stdout}\n${report.stderr}`);
  assert.match(report.stdout, /hosting=aws is down for 1 s \(alpha, beta\)/);

  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGINT");
  assert.equal(await exited, 0);
  for (const pid of pids) assert.equal(alive(pid), false, `node ${pid} still running`);
});
