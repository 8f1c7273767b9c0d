/**
 * `multihome doctor` end to end: the real CLI as a child process against real anvil nodes (one devnet for the file),
 * plus `runDoctor` in process against small JSON-RPC servers that play a lagging, non-archive, proof-less upstream.
 * Every upstream URL carries the canary secret; no output may contain it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { CANARY, exemptFromCanaryGuard } from "../../test/harness/canary-guard.ts";
import { validateConfig } from "../config/load.ts";
import { CONCENTRATION_FINDINGS } from "../core/concentration.ts";
import type { FailureDomain } from "../core/domain.ts";
import { type AnvilProcess, startAnvil } from "../devnet/anvil.ts";
import { type Devnet, startDevnet } from "../devnet/devnet.ts";
import { DEMO_NODES } from "./demo.ts";
import { DOCTOR_FINDINGS, type DoctorReport, runDoctor } from "./doctor.ts";

const root = join(import.meta.dirname, "..", "..");
const NODE = join(root, "node_modules", ".bin", "node");
const CLI_TIMEOUT_MS = 20_000;

let devnet: Devnet;
let otherChain: AnvilProcess;
let closedPort: number;
const dir = mkdtempSync(join(tmpdir(), "multihome-doctor-"));

before(async () => {
  devnet = await startDevnet({ nodes: DEMO_NODES });
  await devnet.mine(2);
  otherChain = await startAnvil({ chainId: 5 });
  // A port that was just free and is closed now: nothing listens there.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closedPort = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

after(async () => {
  await otherChain?.stop();
  await devnet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Upstream {
  id: string;
  url: string;
  domain?: FailureDomain;
}

/** anvil serves JSON-RPC at `/` only, so its URLs carry the secret in the query. */
const secretUrl = (url: string) => `${url}/?apikey=${CANARY}`;
const node = (id: string) => devnet.nodes.find((n) => n.id === id)!;
const declared = (id: string): Upstream => ({ id, url: secretUrl(node(id).url), domain: node(id).domain });

let files = 0;
function configFile(upstreams: Upstream[]): string {
  const file = join(dir, `doctor-${++files}.json`);
  writeFileSync(file, JSON.stringify({ chains: [{ chainId: devnet.chainId, upstreams }] }));
  return file;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ["src/cli/main.ts", "doctor", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`multihome doctor did not exit within ${CLI_TIMEOUT_MS} ms\n${stderr}`));
    }, CLI_TIMEOUT_MS);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function assertNoSecret(run: Run, urls: string[]): void {
  for (const text of [run.stdout, run.stderr]) {
    assert.ok(!text.includes(CANARY), "the canary secret appears in the output");
    for (const url of urls) assert.ok(!text.includes(url), "an upstream URL appears in the output");
  }
}

const codes = (report: DoctorReport) => report.findings.map((f) => f.code).sort();

test("(a) upstreams across hostings and operators: exit 0 and a correct JSON report", async () => {
  const upstreams = DEMO_NODES.map((n) => declared(n.id));
  const run = await runCli(["--config", configFile(upstreams), "--json"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "", "--json prints nothing but the report");
  assertNoSecret(
    run,
    upstreams.map((u) => u.url),
  );
  const report = JSON.parse(run.stdout) as DoctorReport;
  assert.equal(report.critical, false);
  assert.deepEqual(report.findings, []);
  assert.deepEqual(
    report.upstreams.map((p) => p.id),
    DEMO_NODES.map((n) => n.id),
  );
  for (const p of report.upstreams) {
    assert.equal(p.transport, "http");
    assert.equal(p.reachable, true, p.id);
    assert.equal(p.reportedChainId, devnet.chainId);
    assert.equal(p.chainIdMatches, true);
    assert.equal(p.head, devnet.head());
    assert.equal(p.lagBlocks, 0);
    assert.equal(p.proof, true, `anvil serves eth_getProof (${p.id})`);
    assert.equal(p.archive, "archive");
    assert.equal(p.websocket, true, "anvil takes WebSocket on its HTTP port");
    assert.equal(p.domainSource, "declared");
    assert.deepEqual(p.domain, node(p.id).domain);
  }
  assert.deepEqual(report.concentration.byHosting, [
    { name: "aws", share: 0.5 },
    { name: "gcp", share: 0.25 },
    { name: "hetzner", share: 0.25 },
  ]);
  assert.deepEqual(report.concentration.hhi, { hosting: 3_750, operator: 2_500, region: 3_750 });
  assert.deepEqual(report.chains, [{ chainId: devnet.chainId, concentration: report.concentration }]);
});

test("(b) every upstream on one hosting and one operator: exit 1 with single_hosting and single_operator", async () => {
  const acme: FailureDomain = { operator: "acme", hosting: "aws", region: "us-east-1" };
  const upstreams = ["alpha", "beta", "gamma"].map((id) => ({ ...declared(id), domain: acme }));
  const file = configFile(upstreams);
  const json = await runCli(["--config", file, "--json"]);
  assert.equal(json.code, 1, json.stderr);
  const report = JSON.parse(json.stdout) as DoctorReport;
  assert.equal(report.critical, true);
  assert.deepEqual(codes(report), ["no_anchor", "single_hosting", "single_operator", "single_region"]);

  const human = await runCli(["--config", file]);
  assert.equal(human.code, 1);
  assertNoSecret(
    human,
    upstreams.map((u) => u.url),
  );
  assert.match(human.stdout, /CRITICAL {2}single_hosting: All upstreams depend on one hosting provider \(aws\)/);
  assert.match(human.stdout, /CRITICAL {2}single_operator: All upstreams depend on one operator \(acme\)/);
  assert.match(human.stdout, /hosting +aws 100% +HHI 10000/);
  assert.match(human.stdout, /Result: critical findings \(exit code 1\)\./);
  // One progress line per upstream, on stderr, as each probe finishes.
  for (const id of ["alpha", "beta", "gamma"]) assert.match(human.stderr, new RegExp(`^ {2}✓ ${id}: chain `, "m"));
});

test("(c) a wrong chain id and an unreachable upstream are reported, and no URL reaches any output", async () => {
  const wrong = {
    id: "wrong-chain",
    url: secretUrl(otherChain.url),
    domain: { operator: "x", hosting: "ovh", region: "gra" },
  };
  const down = {
    id: "down",
    url: `http://user:${CANARY}@127.0.0.1:${closedPort}/v2/${CANARY}?apikey=${CANARY}`,
    domain: { operator: "y", hosting: "vultr", region: "ams" },
  };
  const upstreams = [declared("alpha"), declared("gamma"), wrong, down];
  const file = configFile(upstreams);
  const urls = upstreams.map((u) => u.url);

  const json = await runCli(["--config", file, "--json"]);
  assertNoSecret(json, urls);
  assert.equal(json.code, 1, "a wrong chain is critical");
  const report = JSON.parse(json.stdout) as DoctorReport;
  const byId = new Map(report.upstreams.map((p) => [p.id, p]));
  assert.equal(byId.get("wrong-chain")?.reachable, true);
  assert.equal(byId.get("wrong-chain")?.reportedChainId, 5);
  assert.equal(byId.get("wrong-chain")?.chainIdMatches, false);
  assert.equal(byId.get("down")?.reachable, false);
  assert.match(byId.get("down")?.error ?? "", /ECONNREFUSED/);
  assert.equal(byId.get("alpha")?.chainIdMatches, true);
  assert.deepEqual(codes(report), ["unreachable", "wrong_chain"]);
  assert.deepEqual(
    report.concentration.byHosting.map((s) => s.name),
    ["aws", "gcp", "vultr"],
    "an upstream on another chain spreads nothing",
  );

  const human = await runCli(["--config", file, "--timeout", "3000"]);
  assertNoSecret(human, urls);
  assert.equal(human.code, 1);
  assert.match(human.stderr, /✗ wrong-chain: serves chain 5, not 31337/);
  assert.match(human.stderr, /✗ down: unreachable: could not connect to the upstream \(ECONNREFUSED\)/);
  assert.match(human.stdout, /wrong_chain: Upstream wrong-chain serves chain 5, not 31337/);
  assert.match(human.stdout, /unreachable: Upstream down did not answer/);
});

test("(d) an upstream without a domain: inferred self for loopback, and the YAML to paste is printed", async () => {
  const local = { id: "local", url: secretUrl(node("delta").url) };
  const localWs = { id: "local-ws", url: `${node("beta").wsUrl}/?apikey=${CANARY}` };
  const upstreams = [declared("alpha"), declared("gamma"), local, localWs];
  const file = configFile(upstreams);
  const human = await runCli(["--config", file]);
  assertNoSecret(
    human,
    upstreams.map((u) => u.url),
  );
  assert.equal(human.code, 0, human.stdout);
  assert.match(human.stdout, /local +yes +ok .* self \/ self \/ local \(inferred\)/);
  const yaml = human.stdout.slice(human.stdout.indexOf("  chains:"));
  assert.match(
    yaml,
    new RegExp(
      [
        "  chains:",
        `    - chainId: ${devnet.chainId}`,
        "      upstreams:",
        "        - id: local",
        "          domain:",
        "            operator: self",
        "            hosting: self",
        "            region: local",
        "        - id: local-ws",
      ].join("\n"),
    ),
  );
  // What was printed can be pasted: with it, the config loads for the gateway, which requires every domain.
  const printed = parseYaml(yaml.slice(0, yaml.indexOf("\n\n"))) as {
    chains: { chainId: number; upstreams: { id: string; domain: FailureDomain }[] }[];
  };
  const inferred = new Map(printed.chains[0]?.upstreams.map((u) => [u.id, u.domain]));
  const pasted = validateConfig(
    {
      chains: [
        {
          chainId: devnet.chainId,
          upstreams: upstreams.map((u: Upstream) => ({ ...u, domain: u.domain ?? inferred.get(u.id) })),
        },
      ],
    },
    {},
  );
  assert.equal(pasted.chains[0]?.upstreams.length, 4);

  const json = await runCli(["--config", file, "--json"]);
  const report = JSON.parse(json.stdout) as DoctorReport;
  const probe = report.upstreams.find((p) => p.id === "local-ws");
  assert.equal(probe?.transport, "ws");
  assert.equal(probe?.websocket, true);
  assert.equal(probe?.domainSource, "inferred");
  assert.deepEqual(probe?.domain, { operator: "self", hosting: "self", region: "local" });
});

test("bad usage or a bad config exits 2", async () => {
  const good = configFile([declared("alpha")]);
  const missingOption = await runCli([]);
  assert.equal(missingOption.code, 2);
  assert.match(missingOption.stderr, /--config/);
  const badTimeout = await runCli(["--config", good, "--timeout", "soon"]);
  assert.equal(badTimeout.code, 2);
  assert.match(badTimeout.stderr, /--timeout must be a whole number/);
  const badConfig = join(dir, "bad.yaml");
  writeFileSync(badConfig, `chains: [{ chainId: 1, upstreams: [{ id: a, url: "ftp://x/${CANARY}" }] }]\n`);
  const invalid = await runCli(["--config", badConfig]);
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /chains\.0\.upstreams\.0\.url: /);
  assert.ok(!invalid.stderr.includes(CANARY));
});

// --- in process: upstreams that are behind, not archive, and without proofs -------------------------------------

interface FakeNode {
  url: string;
  server: Server;
}

/** A JSON-RPC node at `head` that keeps state for the last 200 blocks only and has no eth_getProof. */
async function startFakeNode(head: number, options: { refuseChainId?: boolean } = {}): Promise<FakeNode> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      let call: { id: number; method: string; params: unknown[] };
      try {
        call = JSON.parse(body) as typeof call;
      } catch {
        res.statusCode = 400;
        return res.end();
      }
      const { id, method, params } = call;
      const reply = (payload: object) => res.end(JSON.stringify({ jsonrpc: "2.0", id, ...payload }));
      if (method === "eth_chainId" && !options.refuseChainId) return reply({ result: "0x7a69" });
      if (method === "eth_blockNumber") return reply({ result: `0x${head.toString(16)}` });
      if (method === "eth_getBalance") {
        const block = Number.parseInt(String(params[1]), 16);
        return head - block <= 200
          ? reply({ result: "0x0" })
          : reply({ error: { code: -32000, message: "missing trie node" } });
      }
      // Echoing the request line is what some vendors do: it must be redacted.
      return reply({ error: { code: -32601, message: `method ${method} not found at ${req.url}` } });
    });
  });
  exemptFromCanaryGuard(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/?key=${CANARY}`, server };
}

test("runDoctor: lag behind the highest head, a pruned node's depth, no proofs and no WebSocket", async (t) => {
  const behind = await startFakeNode(150_000);
  const ahead = await startFakeNode(150_020);
  const refusing = await startFakeNode(1, { refuseChainId: true });
  t.after(() => {
    refusing.server.closeAllConnections();
    refusing.server.close();
    behind.server.closeAllConnections();
    behind.server.close();
    ahead.server.closeAllConnections();
    ahead.server.close();
  });
  const config = validateConfig(
    {
      chains: [
        {
          chainId: 31337,
          upstreams: [
            { id: "behind", url: behind.url, domain: { operator: "a", hosting: "aws", region: "r1" } },
            { id: "ahead", url: ahead.url, domain: { operator: "b", hosting: "gcp", region: "r2" } },
            { id: "refusing", url: refusing.url, domain: { operator: "c", hosting: "ovh", region: "r3" } },
          ],
        },
      ],
    },
    {},
  );
  const seen: string[] = [];
  const report = await runDoctor(config, { timeoutMs: 2_000, onProbe: (p) => seen.push(p.id) });
  assert.deepEqual(seen.sort(), ["ahead", "behind", "refusing"]);
  const [b, a, r] = report.upstreams;
  assert.equal(b?.head, 150_000);
  assert.equal(b?.lagBlocks, 20);
  assert.equal(a?.lagBlocks, 0);
  assert.equal(b?.proof, false);
  assert.equal(b?.archive, "≥ 128 blocks");
  assert.equal(b?.websocket, false);
  // An upstream's own words are shown, but never with its URL in them.
  assert.equal(r?.reachable, false);
  assert.equal(r?.error, "eth_chainId: method eth_chainId not found at /[redacted] (-32601)");
  assert.deepEqual(codes(report), ["lagging", "no_proof", "no_proof", "unreachable"]);
  assert.equal(report.critical, false);
  assert.ok(!JSON.stringify(report).includes(CANARY));
});

test("docs/doctor.md documents every finding code and exit code", () => {
  const docs = readFileSync(join(root, "docs", "doctor.md"), "utf8");
  for (const code of [...Object.keys(CONCENTRATION_FINDINGS), ...Object.keys(DOCTOR_FINDINGS)]) {
    assert.ok(docs.includes(`\`${code}\``), `${code} is not in docs/doctor.md`);
  }
  for (const exit of ["| 0 |", "| 1 |", "| 2 |"]) assert.ok(docs.includes(exit), `exit code ${exit}`);
});
