/**
 * `multihome doctor` end to end: the real CLI as a child process against real anvil nodes (one devnet for the file),
 * plus `runDoctor` in process against anvil nodes at different heights (one pruned) and a small JSON-RPC server that
 * plays what anvil cannot: no `eth_getProof`, and a rate limit.
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
import { CONCENTRATION_FINDINGS } from "../core/domains/concentration.ts";
import type { FailureDomain } from "../core/domains/domain.ts";
import { type AnvilProcess, startAnvil } from "../devnet/anvil.ts";
import { type Devnet, startDevnet } from "../devnet/devnet.ts";
import { createRpcClient } from "../devnet/rpc.ts";
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
  assert.deepEqual(
    report.chains.map((c) => c.chainId),
    [devnet.chainId],
  );
  const concentration = report.chains[0]!.concentration;
  assert.deepEqual(concentration.byHosting, [
    { name: "aws", share: 0.5 },
    { name: "gcp", share: 0.25 },
    { name: "hetzner", share: 0.25 },
  ]);
  assert.deepEqual(concentration.hhi, { hosting: 3_750, operator: 2_500, region: 3_750 });
  assert.ok(!("concentration" in report), "the concentration is per chain only");
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
    report.chains[0]?.concentration.byHosting.map((s) => s.name),
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

// --- in process: real nodes behind, pruned and rich; a fake one without proofs or rate limited -------------------

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
/** 10^22 wei: more than 2^53, as the zero address holds on mainnet. */
const RICH_BALANCE = `0x${(10n ** 22n).toString(16)}`;

/** An anvil node at `head` whose zero address holds {@link RICH_BALANCE} from block 1 on. */
async function startNodeAt(head: number, extraArgs: string[] = []): Promise<AnvilProcess> {
  const anvil = await startAnvil({ extraArgs });
  try {
    const rpc = createRpcClient(anvil.url);
    await rpc.call("anvil_setBalance", [ZERO_ADDRESS, RICH_BALANCE]);
    await rpc.call("anvil_mine", [`0x${head.toString(16)}`]);
    return anvil;
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

test("runDoctor on anvil: lag behind the highest head, a balance over 2^53 counts, a pruned node is recent only", async (t) => {
  // Below the highest head by more than DOCTOR_LAG_WARNING_BLOCKS, and deep enough for the 128-block check.
  const [rich, pruned] = await Promise.all([startNodeAt(200), startNodeAt(300, ["--prune-history", "50"])]);
  t.after(() => Promise.all([rich.stop(), pruned.stop()]));
  const config = validateConfig(
    {
      chains: [
        {
          chainId: 31337,
          upstreams: [
            { id: "rich", url: secretUrl(rich.url), domain: { operator: "a", hosting: "aws", region: "r1" } },
            { id: "pruned", url: secretUrl(pruned.url), domain: { operator: "b", hosting: "gcp", region: "r2" } },
          ],
        },
      ],
    },
    {},
  );
  const report = await runDoctor(config, { timeoutMs: 5_000 });
  const [r, p] = report.upstreams;
  assert.equal(r?.head, 200);
  assert.equal(p?.head, 300);
  assert.equal(r?.lagBlocks, 100);
  assert.equal(p?.lagBlocks, 0);
  assert.equal(r?.archive, "archive", "a balance of 10^22 wei at block 1 is served state");
  // anvil answers BlockOutOfRangeError for state older than it keeps: the node answered, the state is gone.
  assert.equal(p?.archive, "recent only");
  assert.equal(r?.proof, true);
  assert.equal(p?.proof, true);
  assert.deepEqual(codes(report), ["lagging"]);
  assert.ok(!JSON.stringify(report).includes(CANARY));
});

interface FakeNode {
  url: string;
  server: Server;
}

/**
 * A JSON-RPC node at block 300 whose `eth_getProof` is `missing` (method not found, echoing the request line as
 * some vendors do) or `rate-limited` (-32005); with `refuseChainId`, `eth_chainId` is not found either.
 */
async function startFakeNode(proof: "missing" | "rate-limited", options: { refuseChainId?: boolean } = {}) {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      let call: { id: number; method: string };
      try {
        call = JSON.parse(body) as typeof call;
      } catch {
        res.statusCode = 400;
        return res.end();
      }
      const { id, method } = call;
      const reply = (payload: object) => res.end(JSON.stringify({ jsonrpc: "2.0", id, ...payload }));
      if (method === "eth_chainId" && !options.refuseChainId) return reply({ result: "0x7a69" });
      if (method === "eth_blockNumber") return reply({ result: "0x12c" });
      if (method === "eth_getBalance") return reply({ result: RICH_BALANCE });
      if (method === "eth_getProof" && proof === "rate-limited") {
        return reply({ error: { code: -32005, message: "rate limit exceeded" } });
      }
      return reply({ error: { code: -32601, message: `method ${method} not found at ${req.url}` } });
    });
  });
  exemptFromCanaryGuard(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/?key=${CANARY}`, server } satisfies FakeNode;
}

test("runDoctor: no eth_getProof is no_proof, a rate-limited one is unknown, and an upstream's words are redacted", async (t) => {
  const nodes = await Promise.all([
    startFakeNode("missing"),
    startFakeNode("rate-limited"),
    startFakeNode("missing", { refuseChainId: true }),
  ]);
  t.after(() => {
    for (const { server } of nodes) {
      server.closeAllConnections();
      server.close();
    }
  });
  const [missing, limited, refusing] = nodes;
  const config = validateConfig(
    {
      chains: [
        {
          chainId: 31337,
          upstreams: [
            { id: "no-proof", url: missing!.url, domain: { operator: "a", hosting: "aws", region: "r1" } },
            { id: "limited", url: limited!.url, domain: { operator: "b", hosting: "gcp", region: "r2" } },
            { id: "refusing", url: refusing!.url, domain: { operator: "c", hosting: "ovh", region: "r3" } },
          ],
        },
      ],
    },
    {},
  );
  const seen: string[] = [];
  const report = await runDoctor(config, { timeoutMs: 2_000, onProbe: (p) => seen.push(p.id) });
  assert.deepEqual(seen.sort(), ["limited", "no-proof", "refusing"]);
  const [m, l, r] = report.upstreams;
  assert.equal(m?.proof, false);
  assert.equal(l?.proof, null, "a rate limit says nothing about eth_getProof");
  assert.equal(m?.archive, "archive");
  assert.equal(m?.websocket, false);
  assert.equal(r?.reachable, false);
  assert.equal(r?.error, "eth_chainId: method eth_chainId not found at /[redacted] (-32601)");
  assert.deepEqual(codes(report), ["no_proof", "unreachable"]);
  assert.equal(report.findings.find((f) => f.code === "no_proof")?.upstream, "no-proof");
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
