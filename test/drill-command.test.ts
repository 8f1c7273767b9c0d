/**
 * Outage drills against a real gateway in front of real anvil nodes: the `multihome drill` command (a child process)
 * takes aws down while a client keeps calling; the client loses nothing, other domains serve, and the report says so.
 * The admin API refuses malformed drills with stable codes.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import type { Drill } from "../src/core/domains/drill.ts";
import { CANARY, FOUR_NODES_TWO_ON_AWS, startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { within } from "./harness/transport-kit.ts";

const TOKEN = `drill-test-${CANARY}-token`;
let net: TestNetwork;
let admin: string;

before(async () => {
  net = await startTestNetwork({
    nodes: FOUR_NODES_TWO_ON_AWS,
    config: { admin: { host: "127.0.0.1", port: 0, token: TOKEN } },
  });
  admin = net.app.admin!.url;
});
after(() => net?.stop());

const api = (method: string, path: string, body?: unknown, token = TOKEN) =>
  fetch(`${admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["src/cli/main.ts", "drill", ...args], {
      env: { ...process.env, MULTIHOME_ADMIN_TOKEN: TOKEN },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

test("multihome drill takes aws down while clients keep calling: nothing fails, gcp and hetzner serve", async () => {
  const drill = runCli(["--domain", "hosting=aws", "--duration", "3s", "--progress", "1000", "--admin", admin]);
  let done = false;
  const finished = drill.finally(() => {
    done = true;
  });
  // A client calling throughout, through the drill and its recovery.
  let calls = 0;
  let failures = 0;
  while (!done) {
    // A method upstreams answer (fees are computed here from proven blocks, without asking any).
    const reply = await net.rpc("web3_clientVersion");
    calls++;
    if (reply.status !== 200 || reply.body.error) failures++;
  }
  const { code, stdout, stderr } = await within(finished, 30_000, "the drill to finish");
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  assert.equal(failures, 0, `${failures} of ${calls} client calls failed`);
  assert.match(stdout, /hosting=aws is down for 3 s \(alpha, beta\)/);
  assert.match(stdout, /the gateway lost hosting=aws without failing a client request/);
  const during = /during: +(.*)/.exec(stdout)![1]!;
  assert.match(during, / 0 failed/);
  assert.doesNotMatch(during, /aws\//, "no aws upstream served during the drill");
  assert.match(during, /gcp\/europe-west1|hetzner\/eu-central/);
  assert.equal(stdout.includes(CANARY) || stderr.includes(CANARY), false);
  // The gateway's own record agrees.
  const drills = (await (await api("GET", "/admin/api/drills")).json()) as Drill[];
  const last = drills.at(-1)!;
  assert.equal(last.state, "done");
  assert.ok(last.during.requests > 0);
  assert.equal(last.during.failed, 0);
  const overview = (await (await api("GET", "/admin/api/overview")).json()) as {
    events: { kind: string }[];
  };
  assert.ok(overview.events.some((e) => e.kind === "drill_started"));
  assert.ok(overview.events.some((e) => e.kind === "drill_ended"));
});

test("the admin API refuses bad drills with stable codes, and only with the token", async () => {
  assert.equal((await api("POST", "/admin/api/drills", { selector: { hosting: "aws" } }, "wrong")).status, 401);
  const cases: [unknown, number, string][] = [
    [{ selector: { cloud: "aws" } }, 400, "invalid_drill"],
    [{ selector: {} }, 400, "invalid_drill"],
    [{ selector: { hosting: "azure" } }, 400, "invalid_drill"],
    [{ selector: { hosting: "aws" }, durationMs: 5 }, 400, "invalid_drill"],
    [{ selector: { hosting: "aws" }, durationMs: "60s" }, 400, "invalid_drill"],
  ];
  for (const [body, status, code] of cases) {
    const res = await api("POST", "/admin/api/drills", body);
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, code);
  }
  const tooBig = await api("POST", "/admin/api/drills", { selector: { hosting: "x".repeat(5_000) } });
  assert.equal(tooBig.status, 413);
  const started = await api("POST", "/admin/api/drills", { selector: { operator: "community" }, durationMs: 60_000 });
  assert.equal(started.status, 201);
  const drill = (await started.json()) as Drill;
  assert.deepEqual(drill.upstreams, ["delta"]);
  const again = await api("POST", "/admin/api/drills", { selector: { operator: "community" } });
  assert.equal(again.status, 409);
  assert.equal(((await again.json()) as { error: { code: string } }).error.code, "drill_running");
  const stopped = await api("DELETE", `/admin/api/drills/${drill.id}`);
  assert.equal(stopped.status, 200);
  assert.equal(((await stopped.json()) as Drill).state, "recovering");
  assert.equal((await api("DELETE", "/admin/api/drills/drill-999")).status, 404);
});

test("multihome drill: bad usage exits 2 and names the problem", async () => {
  const bad = await runCli(["--domain", "cloud=aws", "--admin", admin]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--domain takes field=value/);
  const refused = await runCli(["--domain", "hosting=azure", "--admin", admin]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /no upstream is in hosting=azure/);
});
