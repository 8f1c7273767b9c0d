/**
 * The canary guard fails a process that serves or logs the secret, and only such a process: each case runs in a
 * child node process with the guard loaded the way `scripts/test.ts` loads it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { CANARY } from "./harness/canary-guard.ts";

const ROOT = join(import.meta.dirname, "..");
const GUARD = pathToFileURL(join(ROOT, "test/harness/canary-guard.ts")).href;
const LOGGER = pathToFileURL(join(ROOT, "src/telemetry/logger.ts")).href;
const CHILD_TIMEOUT_MS = 60_000;

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs node with the guard imported; the child is a plain process, not one of this runner's test files. */
function runNode(args: string[]): Promise<ChildResult> {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ["--import", GUARD, ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    timeout: CHILD_TIMEOUT_MS,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function runScript(source: string): Promise<ChildResult> {
  return runNode(["--input-type=module", "--eval", source]);
}

/** Shared by the child scripts: a server on 127.0.0.1 port 0 and a bounded fetch. */
const PRELUDE = `
import http from "node:http";
import { Writable } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import { CANARY, exemptFromCanaryGuard } from ${JSON.stringify(GUARD)};
import { createLogger } from ${JSON.stringify(LOGGER)};
const listen = (server) => new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server.address().port)));
const get = (url, headers = {}) => fetch(url, { headers, signal: AbortSignal.timeout(10_000) }).then((r) => r.text());
const wsRoundTrip = (url, send) => new Promise((ok, fail) => {
  const ws = new WebSocket(url);
  const timer = setTimeout(() => { ws.terminate(); fail(new Error("no websocket message")); }, 10_000);
  ws.on("open", () => { if (send) ws.send(send); });
  ws.on("message", (m) => { clearTimeout(timer); ws.close(); ok(String(m)); });
  ws.on("error", (e) => { clearTimeout(timer); fail(e); });
});
const rawUpgrade = (port, path) => new Promise((ok, fail) => {
  const req = http.request({ host: "127.0.0.1", port, path, headers: { connection: "Upgrade", upgrade: "websocket" } });
  req.setTimeout(10_000, () => req.destroy(new Error("no answer to the upgrade")));
  req.on("response", (res) => { res.resume(); res.on("end", () => ok(res.statusCode)); });
  req.on("error", fail);
  req.end();
});
`;

test("a process that serves or logs the canary fails, with every place reported and the secret masked", async () => {
  const result = await runScript(`${PRELUDE}
const wss = new WebSocketServer({ noServer: true });
wss.on("connection", (ws) => ws.send(JSON.stringify({ error: "upstream /v3/" + CANARY + " refused" })));
const server = http.createServer((req, res) => {
  if (req.url === "/header") {
    res.setHeader("x-upstream", "https://rpc.example/v3/" + CANARY);
    res.end("ok");
  } else if (req.url === "/split") {
    // Split across two writes, the way a streamed body would cut it.
    res.write('{"error":"bad key ' + CANARY.slice(0, 9));
    res.end(CANARY.slice(9) + '"}');
  } else {
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "upstream https://rpc.example/v3/" + CANARY + " failed" }));
  }
});
server.on("upgrade", (req, socket, head) => {
  if (req.url === "/ws") return wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  const text = "no upstream " + CANARY;
  socket.end("HTTP/1.1 503 Service Unavailable\\r\\nconnection: close\\r\\ncontent-length: " + text.length + "\\r\\n\\r\\n" + text);
});
const port = await listen(server);
await get("http://127.0.0.1:" + port + "/header");
await get("http://127.0.0.1:" + port + "/body");
await get("http://127.0.0.1:" + port + "/split");
await wsRoundTrip("ws://127.0.0.1:" + port + "/ws");
await rawUpgrade(port, "/refused");
const sink = new Writable({ write(_chunk, _enc, cb) { cb(); } });
createLogger({ level: "info", secrets: [], destination: sink }).warn({ detail: "upstream /v3/" + CANARY }, "upstream failed");
wss.close();
server.close();
server.closeAllConnections();
`);
  assert.notEqual(result.code, 0, result.stderr);
  assert.equal(result.stderr.includes(CANARY), false, "the report itself must not carry the secret");
  assert.equal(result.stdout.includes(CANARY), false);
  const kinds = [...result.stderr.matchAll(/canary leak \(([a-z-]+)\)/g)].map((m) => m[1]);
  assert.deepEqual(
    [...new Set(kinds)].sort(),
    ["log", "response-body", "response-header", "socket", "ws-frame"],
    result.stderr,
  );
  assert.equal(kinds.filter((k) => k === "response-body").length, 2, "the split body is found too");
  assert.equal(kinds.length, 6, `one finding per leak, none twice: ${result.stderr}`);
  assert.match(result.stderr, /canary leak \(response-header\): "x-upstream: https:\/\/rpc\.example\/v3\/<CANARY>"/);
  assert.match(result.stderr, /canary leak \(log\): ".*upstream \/v3\/<CANARY>/);
  // Each finding says where the write was made: the script's own frames are in the stack.
  assert.match(result.stderr, /canary leak \(ws-frame\)[^\n]*\n\s+at [^\n]*\n(\s+at [^\n]*\n)*?\s+at [^\n]*\[eval/);
});

test("a process that only sends the canary where it belongs, or through an exempted server, passes", async () => {
  const result = await runScript(`${PRELUDE}
// The upstream: receives its key in the request line, answers without echoing it.
const upstream = http.createServer((req, res) => res.end(JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x1" })));
const upstreamPort = await listen(upstream);
// The gateway: reads the client's key, calls the upstream with the upstream's key in the URL, logs, answers.
const sink = new Writable({ write(_chunk, _enc, cb) { cb(); } });
const logger = createLogger({ level: "debug", secrets: [], destination: sink });
const gateway = http.createServer(async (req, res) => {
  const key = req.headers.authorization === "Bearer " + CANARY && req.headers["x-api-key"] === CANARY;
  const answer = await get("http://127.0.0.1:" + upstreamPort + "/v3/" + CANARY + "?apikey=" + CANARY);
  logger.info({ upstream: "u1", authorized: key }, "call answered");
  res.setHeader("multihome-verified", "single");
  res.end(answer);
});
const wss = new WebSocketServer({ noServer: true });
wss.on("connection", (ws) => ws.on("message", () => ws.send("subscribed")));
gateway.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)));
const port = await listen(gateway);
const answer = await get("http://127.0.0.1:" + port + "/rpc/1", { authorization: "Bearer " + CANARY, "x-api-key": CANARY });
if (!answer.includes("0x1")) throw new Error("unexpected answer " + answer);
// A client's frames may carry its key.
await wsRoundTrip("ws://127.0.0.1:" + port + "/rpc/1", JSON.stringify({ method: "eth_subscribe", key: CANARY }));

// Hostile upstreams that echo their key on purpose, exempted three ways: by server, by WebSocketServer, by port.
const echo = http.createServer((req, res) => { res.setHeader("x-echo", req.url); res.end("refused " + req.url); });
const echoPort = await listen(echo);
const releaseEcho = exemptFromCanaryGuard(echo);
await get("http://127.0.0.1:" + echoPort + "/v3/" + CANARY);
releaseEcho();
const byPort = http.createServer((req, res) => res.end("refused " + req.url));
const byPortPort = await listen(byPort);
const releasePort = exemptFromCanaryGuard({ port: byPortPort });
await get("http://127.0.0.1:" + byPortPort + "/v3/" + CANARY);
releasePort();
const hostileWs = new WebSocketServer({ host: "127.0.0.1", port: 0 });
await new Promise((ok) => hostileWs.on("listening", ok));
exemptFromCanaryGuard(hostileWs);
hostileWs.on("connection", (ws) => ws.on("message", (m) => ws.send("echo " + m)));
await wsRoundTrip("ws://127.0.0.1:" + hostileWs.address().port + "/", CANARY);

for (const s of [upstream, gateway, echo, byPort]) { s.close(); s.closeAllConnections(); }
wss.close();
hostileWs.close();
`);
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /canary leak/);
  assert.equal(result.stdout, "");
});

test("a leak inside a test fails that test, and a leak outside any test fails the file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "multihome-canary-guard-"));
  try {
    const file = join(dir, "leaky.test.mjs");
    await writeFile(
      file,
      `import { after, test } from "node:test";
import { Writable } from "node:stream";
import { CANARY } from ${JSON.stringify(GUARD)};
const sink = new Writable({ write(_chunk, _enc, cb) { cb(); } });
test("stays quiet", () => { sink.write("nothing to see"); });
test("logs the secret", () => { sink.write("upstream " + CANARY); });
test("outer", async (t) => {
  await t.test("inner logs the secret", () => { sink.write("inner " + CANARY); });
});
`,
    );
    const result = await runNode(["--test", "--test-reporter=spec", file]);
    const out = result.stdout + result.stderr;
    assert.notEqual(result.code, 0, out);
    assert.equal(out.includes(CANARY), false, out);
    assert.match(out, /✔ stays quiet/);
    assert.match(out, /✖ logs the secret/);
    assert.match(out, /✖ inner logs the secret/);
    assert.match(out, /the canary secret was served or logged/);

    const late = join(dir, "late.test.mjs");
    await writeFile(
      late,
      `import { after, test } from "node:test";
import { CANARY } from ${JSON.stringify(GUARD)};
test("passes", () => {});
after(() => { process.stdout.write("shutting down " + CANARY + "\\n"); });
`,
    );
    const lateResult = await runNode(["--test", "--test-reporter=spec", late]);
    const lateOut = lateResult.stdout + lateResult.stderr;
    assert.notEqual(lateResult.code, 0, lateOut);
    assert.match(lateOut, /✔ passes/);
    assert.match(lateOut, /canary leak \(log\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
