import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import { createRequire } from "node:module";
import { connect, createServer as createTcpServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Agent, request } from "undici";
import { type FaultProxy, mulberry32, startFaultProxy } from "./fault-proxy.ts";

const HOST = "127.0.0.1";
/**
 * The platform binary inside @foundry-rs/anvil, spawned directly so the pid we stop is anvil itself and not the
 * package's Node wrapper around it.
 */
const ANVIL = createRequire(import.meta.url).resolve(
  `@foundry-rs/anvil-${process.platform}-${process.arch === "x64" ? "amd64" : process.arch}/bin/anvil`,
);
const ANVIL_START_TIMEOUT_MS = 15_000;
const WAIT_TIMEOUT_MS = 5_000;

interface Anvil {
  url: string;
  child: ChildProcess;
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  server.listen(0, HOST);
  await once(server, "listening");
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  server.close();
  await once(server, "close");
  return address.port;
}

/** Starts anvil on a port of its choosing (it prints the bound address) and checks it answers eth_chainId. */
async function startAnvil(extraArgs: string[] = []): Promise<Anvil> {
  const child = spawn(ANVIL, ["--host", HOST, "--port", "0", ...extraArgs], { stdio: ["ignore", "pipe", "pipe"] });
  const signal = AbortSignal.timeout(ANVIL_START_TIMEOUT_MS);
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (listening?.[1] !== undefined) finish(undefined, Number(listening[1]));
    };
    const onExit = (code: number | null) => finish(new Error(`anvil exited with ${code}: ${output}`));
    const onAbort = () => finish(new Error(`anvil did not start within ${ANVIL_START_TIMEOUT_MS} ms: ${output}`));
    const finish = (error: Error | undefined, bound = 0) => {
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      signal.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve(bound);
    };
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
    signal.addEventListener("abort", onAbort);
  }).catch(async (error: unknown) => {
    await stopAnvil({ url: "", child });
    throw error;
  });
  child.stdout?.resume();
  child.stderr?.resume();
  const url = `http://${HOST}:${port}`;
  const answer = await post(url, { jsonrpc: "2.0", id: 1, method: "eth_chainId" });
  assert.equal(answer.status, 200);
  return { url, child };
}

async function stopAnvil(anvil: Anvil | undefined): Promise<void> {
  if (anvil === undefined || anvil.child.exitCode !== null || anvil.child.pid === undefined) return;
  const exited = once(anvil.child, "exit");
  process.kill(anvil.child.pid, "SIGTERM");
  await exited;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): unknown;
}

async function post(
  url: string,
  body: unknown,
  options: { dispatcher?: Agent; signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await request(url, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json", ...options.headers },
    dispatcher: options.dispatcher,
    signal: options.signal ?? AbortSignal.timeout(WAIT_TIMEOUT_MS),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) };
}

/**
 * Sends raw HTTP/1.1 bytes and collects everything until the server closes, for faults and headers a client library
 * would hide or refuse. The socket is never half-closed: Node's server would abort the request on our FIN.
 */
async function rawExchange(port: number, text: string): Promise<{ head: string; body: string }> {
  const socket = connect(port, HOST);
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  socket.write(text);
  const timer = setTimeout(() => socket.destroy(), WAIT_TIMEOUT_MS);
  await once(socket, "close");
  clearTimeout(timer);
  const raw = Buffer.concat(chunks).toString("utf8");
  const split = raw.indexOf("\r\n\r\n");
  return split < 0 ? { head: raw, body: "" } : { head: raw.slice(0, split), body: raw.slice(split + 4) };
}

/** Every `code` on an error and its causes (undici wraps socket errors). */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let current = error; typeof current === "object" && current !== null; ) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === "string") codes.push(code);
    current = cause;
  }
  return codes;
}

/** Waits for a condition the proxy reaches asynchronously (socket bookkeeping), bounded by a deadline. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + WAIT_TIMEOUT_MS;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const chainId = (id: unknown = 1) => ({ jsonrpc: "2.0", id, method: "eth_chainId" });
const blockNumber = (id: unknown = 1) => ({ jsonrpc: "2.0", id, method: "eth_blockNumber" });

describe("fault proxy", () => {
  let anvil: Anvil | undefined;
  let polygon: Anvil | undefined;
  const proxies: FaultProxy[] = [];
  const agents: Agent[] = [];

  const upstream = () => {
    assert.ok(anvil);
    return anvil.url;
  };
  const proxyFor = async (target = upstream(), seed?: number) => {
    const proxy = await startFaultProxy({ target, ...(seed === undefined ? {} : { seed }) });
    proxies.push(proxy);
    return proxy;
  };
  const agent = (options: ConstructorParameters<typeof Agent>[0] = {}) => {
    const created = new Agent(options);
    agents.push(created);
    return created;
  };

  before(async () => {
    [anvil, polygon] = await Promise.all([startAnvil(), startAnvil(["--chain-id", "137"])]);
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all([stopAnvil(anvil), stopAnvil(polygon)]);
  });

  test("passes requests through and answers what anvil answers", async () => {
    const proxy = await proxyFor();
    const direct = await post(upstream(), chainId(5));
    const proxied = await post(proxy.url, chainId(5), { dispatcher: agent() });
    assert.equal(proxied.status, 200);
    assert.equal(proxied.text, direct.text);
    assert.deepEqual(proxied.json(), { jsonrpc: "2.0", id: 5, result: "0x7a69" });
    assert.equal(proxied.headers["content-type"], "application/json");
    assert.equal(proxied.headers["access-control-allow-origin"], "*");
    assert.equal(proxied.headers["content-length"], String(Buffer.byteLength(proxied.text)));
  });

  test("forwards a body that is not JSON untouched and records it as (unparsed)", async () => {
    const proxy = await proxyFor();
    const direct = await post(upstream(), "this ain't an RPC call");
    const proxied = await post(proxy.url, "this ain't an RPC call", { dispatcher: agent() });
    assert.equal(proxied.status, direct.status);
    assert.equal(proxied.text, direct.text);
    assert.deepEqual(proxy.stats().byMethod, { "(unparsed)": 1 });
  });

  test("drops hop-by-hop headers both ways, keeps the rest, and uses the target's path", async () => {
    const seen: { url?: string; headers?: IncomingHttpHeaders } = {};
    const fake = createHttpServer((req, res) => {
      seen.url = req.url;
      seen.headers = req.headers;
      req.resume();
      req.on("end", () => {
        res.writeHead(200, {
          "content-type": "application/json",
          "x-kept": "yes",
          "x-private": "no",
          connection: "keep-alive, x-private",
          "keep-alive": "timeout=9",
        });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x1" }));
      });
    });
    fake.listen(0, HOST);
    await once(fake, "listening");
    after(() => new Promise((resolve) => fake.close(resolve)));
    const address = fake.address();
    assert.ok(address !== null && typeof address === "object");
    const proxy = await proxyFor(`http://${HOST}:${address.port}/rpc?key=abc`);

    const payload = JSON.stringify(chainId());
    const answer = await rawExchange(
      proxy.port,
      `POST /v2/some-key HTTP/1.1\r\nhost: ${HOST}\r\nauthorization: Bearer t\r\nx-trace: 1\r\nx-hop: drop\r\n` +
        `connection: close, x-hop\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\n\r\n${payload}`,
    );
    assert.match(answer.head, /^HTTP\/1\.1 200 /);
    assert.match(answer.head, /\r\nx-kept: yes\r\n/i);
    assert.doesNotMatch(answer.head, /x-private/i);
    assert.doesNotMatch(answer.head, /timeout=9/);
    assert.equal(answer.body, JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x1" }));
    assert.equal(seen.url, "/rpc?key=abc");
    assert.equal(seen.headers?.["authorization"], "Bearer t");
    assert.equal(seen.headers?.["x-trace"], "1");
    assert.equal(seen.headers?.["x-hop"], undefined);
  });

  test("down refuses connections and clearing restores service on the same port", async () => {
    const proxy = await proxyFor();
    const client = agent();
    assert.equal((await post(proxy.url, chainId(), { dispatcher: client })).status, 200);

    await proxy.setFault({ kind: "down" });
    const refused = await post(proxy.url, chainId(), { dispatcher: client }).catch((error: unknown) => error);
    assert.ok(errorCodes(refused).includes("ECONNREFUSED"), `expected ECONNREFUSED, got ${String(refused)}`);
    await waitFor(() => proxy.stats().openSockets === 0, "the kept-alive socket to be destroyed");

    await proxy.clearFault();
    const restored = await post(proxy.url, chainId(), { dispatcher: client });
    assert.equal(restored.status, 200);
    assert.equal(new URL(proxy.url).port, String(proxy.port));
  });

  test("down destroys connections that are waiting on an answer", async () => {
    const proxy = await proxyFor();
    await proxy.setFault({ kind: "blackhole" });
    const pending = post(proxy.url, chainId(), { dispatcher: agent() }).catch((error: unknown) => error);
    await waitFor(() => proxy.stats().faulted === 1, "the request to be held");
    const started = performance.now();
    await proxy.setFault({ kind: "down" });
    const error = await pending;
    assert.ok(error instanceof Error);
    assert.ok(performance.now() - started < 1_000);
    await proxy.clearFault();
  });

  test("blackhole reads the request and never answers, until the client gives up", async () => {
    const proxy = await proxyFor();
    await proxy.setFault({ kind: "blackhole" });
    const started = performance.now();
    const error = await post(proxy.url, chainId(), { dispatcher: agent(), signal: AbortSignal.timeout(300) }).catch(
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof Error);
    assert.equal(error.name, "TimeoutError");
    assert.ok(performance.now() - started >= 295);
    assert.equal(proxy.stats().requests, 1);
    assert.equal(proxy.stats().faulted, 1);
    assert.equal(proxy.stats().upstreamRequests, 0);
    await waitFor(() => proxy.stats().openSockets === 0, "the abandoned socket to close");
  });

  test("clearing a blackhole drops the connections it held", async () => {
    const proxy = await proxyFor();
    await proxy.setFault({ kind: "blackhole" });
    const pending = post(proxy.url, chainId(), { dispatcher: agent() }).catch((error: unknown) => error);
    await waitFor(() => proxy.stats().faulted === 1, "the request to be held");
    assert.equal(proxy.stats().openSockets, 1);
    const started = performance.now();
    await proxy.clearFault();
    const error = await pending;
    assert.ok(error instanceof Error);
    assert.notEqual(error.name, "TimeoutError");
    assert.ok(performance.now() - started < 1_000);
    assert.equal((await post(proxy.url, chainId(), { dispatcher: agent() })).status, 200);
  });

  test("latency delays the answer by at least the given time", async () => {
    const proxy = await proxyFor();
    await proxy.setFault({ kind: "latency", ms: 250 });
    const started = performance.now();
    const answer = await post(proxy.url, chainId(), { dispatcher: agent() });
    const elapsed = performance.now() - started;
    assert.deepEqual(answer.json(), { jsonrpc: "2.0", id: 1, result: "0x7a69" });
    assert.ok(elapsed >= 250, `elapsed ${elapsed} ms`);
    assert.ok(elapsed < 1_000, `elapsed ${elapsed} ms`);
  });

  test("latency never forwards a request whose client went away", async () => {
    const proxy = await proxyFor();
    await proxy.setFault({ kind: "latency", ms: 150 });
    const error = await post(proxy.url, chainId(), { dispatcher: agent(), signal: AbortSignal.timeout(30) }).catch(
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof Error);
    // The wait is the measured thing: the whole latency window passes without a forward.
    await delay(300);
    assert.equal(proxy.stats().upstreamRequests, 0);
  });

  test("status answers the given HTTP status, body and headers without forwarding", async () => {
    const proxy = await proxyFor();
    await proxy.setFault({ kind: "status", status: 503, body: "upstream busy", headers: { "retry-after": "7" } });
    const answer = await post(proxy.url, chainId(), { dispatcher: agent() });
    assert.equal(answer.status, 503);
    assert.equal(answer.text, "upstream busy");
    assert.equal(answer.headers["retry-after"], "7");
    assert.equal(answer.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(proxy.stats().upstreamRequests, 0);

    await proxy.setFault({ kind: "status", status: 500 });
    const empty = await post(proxy.url, chainId(), { dispatcher: agent() });
    assert.equal(empty.status, 500);
    assert.equal(empty.text, "");
  });

  test("rpcError echoes ids (batch as an array, big ids byte-exact) with the chosen status", async () => {
    const proxy = await proxyFor();
    await proxy.setFault({ kind: "rpcError", code: -32603, message: "internal", data: { why: "x" } });
    const single = await post(proxy.url, chainId(7), { dispatcher: agent() });
    assert.equal(single.status, 200);
    assert.equal(single.headers["content-type"], "application/json");
    assert.deepEqual(single.json(), {
      jsonrpc: "2.0",
      id: 7,
      error: { code: -32603, message: "internal", data: { why: "x" } },
    });

    const batch = await post(proxy.url, [chainId(1), blockNumber("a")], { dispatcher: agent() });
    assert.deepEqual(batch.json(), [
      { jsonrpc: "2.0", id: 1, error: { code: -32603, message: "internal", data: { why: "x" } } },
      { jsonrpc: "2.0", id: "a", error: { code: -32603, message: "internal", data: { why: "x" } } },
    ]);

    await proxy.setFault({
      kind: "rpcError",
      code: -32005,
      message: "rate limited",
      status: 429,
      headers: { "retry-after": "10" },
    });
    const bigId = await post(proxy.url, '{"jsonrpc":"2.0","id":9007199254740993,"method":"eth_chainId"}', {
      dispatcher: agent(),
    });
    assert.equal(bigId.status, 429);
    assert.equal(bigId.headers["retry-after"], "10");
    assert.equal(
      bigId.text,
      '{"jsonrpc":"2.0","id":9007199254740993,"error":{"code":-32005,"message":"rate limited"}}',
    );

    const garbage = await post(proxy.url, "{not json", { dispatcher: agent() });
    assert.deepEqual(garbage.json(), { jsonrpc: "2.0", id: null, error: { code: -32005, message: "rate limited" } });
    assert.equal(proxy.stats().upstreamRequests, 0);
  });

  test("truncate sends part of the body under the full Content-Length, then closes", async () => {
    const proxy = await proxyFor();
    const full = await post(upstream(), {
      jsonrpc: "2.0",
      id: 1,
      method: "eth_getBlockByNumber",
      params: ["0x0", false],
    });
    await proxy.setFault({ kind: "truncate", fraction: 0.5 });

    const payload = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBlockByNumber", params: ["0x0", false] });
    const { head, body } = await rawExchange(
      proxy.port,
      `POST / HTTP/1.1\r\nhost: ${HOST}\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\n\r\n${payload}`,
    );
    const contentLength = Number(/content-length: (\d+)/i.exec(head)?.[1]);
    assert.equal(contentLength, Buffer.byteLength(full.text));
    assert.equal(Buffer.byteLength(body), Math.floor(contentLength * 0.5));
    assert.equal(body, full.text.slice(0, Math.floor(contentLength * 0.5)));

    const error = await post(proxy.url, chainId(), { dispatcher: agent() }).catch((caught: unknown) => caught);
    assert.ok(error instanceof Error, "a client reading the truncated body fails");
  });

  test("reset destroys the connection after reading the request (ECONNRESET)", async () => {
    const proxy = await proxyFor();
    await proxy.setFault({ kind: "reset" });
    const error = await post(proxy.url, chainId(), { dispatcher: agent() }).catch((caught: unknown) => caught);
    assert.ok(errorCodes(error).includes("ECONNRESET"), `expected ECONNRESET, got ${errorCodes(error).join(",")}`);
    assert.equal(proxy.stats().requests, 1);
    assert.equal(proxy.stats().upstreamRequests, 0);
  });

  test("slowBody sends headers at once and trickles the body at the given rate", async () => {
    const proxy = await proxyFor();
    const call = { jsonrpc: "2.0", id: 1, method: "eth_getBlockByNumber", params: ["0x0", false] };
    const full = await post(upstream(), call);
    const bytes = Buffer.byteLength(full.text);
    const bytesPerSecond = Math.round(bytes / 0.5);
    await proxy.setFault({ kind: "slowBody", bytesPerSecond });

    const started = performance.now();
    const response = await request(proxy.url, {
      method: "POST",
      body: JSON.stringify(call),
      headers: { "content-type": "application/json" },
      dispatcher: agent(),
      signal: AbortSignal.timeout(WAIT_TIMEOUT_MS),
    });
    const headersAfter = performance.now() - started;
    let firstByteAfter: number | undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) {
      firstByteAfter ??= performance.now() - started;
      chunks.push(chunk as Buffer);
    }
    const total = performance.now() - started;
    const expected = (bytes / bytesPerSecond) * 1000;
    assert.equal(Buffer.concat(chunks).toString("utf8"), full.text);
    assert.equal(response.headers["content-length"], String(bytes));
    assert.ok(headersAfter < 150, `headers after ${headersAfter} ms`);
    assert.ok(firstByteAfter !== undefined && firstByteAfter < 150, `first byte after ${firstByteAfter} ms`);
    assert.ok(chunks.length > 5, `body came in ${chunks.length} chunks`);
    assert.ok(total >= expected * 0.95, `total ${total} ms, expected ≈ ${expected} ms`);
    assert.ok(total <= expected + 300, `total ${total} ms, expected ≈ ${expected} ms`);
  });

  test("postAcceptTimeout lets the call take effect upstream and never answers", async () => {
    const proxy = await proxyFor();
    const minedBefore = BigInt(((await post(upstream(), blockNumber())).json() as { result: string }).result);
    await proxy.setFault({ kind: "postAcceptTimeout" });
    const error = await post(
      proxy.url,
      { jsonrpc: "2.0", id: 1, method: "evm_mine", params: [] },
      { dispatcher: agent(), signal: AbortSignal.timeout(300) },
    ).catch((caught: unknown) => caught);
    assert.ok(error instanceof Error);
    assert.equal(error.name, "TimeoutError");
    const afterMine = BigInt(((await post(upstream(), blockNumber())).json() as { result: string }).result);
    assert.equal(afterMine, minedBefore + 1n);
    assert.equal(proxy.stats().upstreamRequests, 1);
  });

  test("rewrite replaces the response (per matching item in a batch, big ids kept exact)", async () => {
    const proxy = await proxyFor();
    const seen: { method: string; params: unknown }[] = [];
    await proxy.setFault({
      fault: {
        kind: "rewrite",
        fn: (call, response) => {
          seen.push(call);
          return { ...(response as object), result: "0x89" };
        },
      },
      methods: ["eth_chainId"],
    });
    const single = await post(proxy.url, chainId(3), { dispatcher: agent() });
    assert.deepEqual(single.json(), { jsonrpc: "2.0", id: 3, result: "0x89" });
    assert.deepEqual(seen, [{ method: "eth_chainId", params: undefined }]);

    const batch = await post(proxy.url, [blockNumber(1), chainId(2)], { dispatcher: agent() });
    const items = batch.json() as { id: number; result: string }[];
    assert.equal(items.find((item) => item.id === 2)?.result, "0x89");
    assert.match(items.find((item) => item.id === 1)?.result ?? "", /^0x[0-9a-f]+$/);
    assert.equal(seen.length, 2);

    const big = await post(proxy.url, '{"jsonrpc":"2.0","id":9007199254740993,"method":"eth_chainId"}', {
      dispatcher: agent(),
    });
    assert.equal(big.text, '{"jsonrpc":"2.0","id":9007199254740993,"result":"0x89"}');
  });

  test("ratio 0.3 affects about 30% of 200 requests, the same ones for the same seed", async () => {
    const pattern = async (seed: number) => {
      const proxy = await proxyFor(upstream(), seed);
      await proxy.setFault({ fault: { kind: "status", status: 503 }, ratio: 0.3 });
      const client = agent();
      const hits: boolean[] = [];
      for (let i = 0; i < 200; i++)
        hits.push((await post(proxy.url, chainId(i), { dispatcher: client })).status === 503);
      assert.equal(proxy.stats().faulted, hits.filter(Boolean).length);
      return hits;
    };
    const first = await pattern(42);
    const count = first.filter(Boolean).length;
    assert.ok(count >= 45 && count <= 75, `faulted ${count} of 200`);
    const next = mulberry32(42);
    assert.deepEqual(
      first,
      first.map(() => next() < 0.3),
    );
    assert.deepEqual(await pattern(42), first);
    assert.notDeepEqual(await pattern(43), first);

    // Setting a rule again restarts its choices, whatever the proxy saw before.
    const proxy = await proxyFor(upstream(), 42);
    const client = agent();
    const run = async () => {
      await proxy.setFault({ fault: { kind: "status", status: 503 }, ratio: 0.3 });
      const hits: boolean[] = [];
      for (let i = 0; i < 20; i++)
        hits.push((await post(proxy.url, chainId(i), { dispatcher: client })).status === 503);
      return hits;
    };
    assert.deepEqual(await run(), first.slice(0, 20));
    assert.deepEqual(await run(), first.slice(0, 20));
  });

  test("methods limits the fault to the listed methods (a batch matches if any item does)", async () => {
    const proxy = await proxyFor();
    await proxy.setFault({ fault: { kind: "status", status: 502 }, methods: ["eth_blockNumber"] });
    const client = agent();
    assert.equal((await post(proxy.url, chainId(), { dispatcher: client })).status, 200);
    assert.equal((await post(proxy.url, blockNumber(), { dispatcher: client })).status, 502);
    assert.equal((await post(proxy.url, [chainId(1), blockNumber(2)], { dispatcher: client })).status, 502);
    assert.equal((await post(proxy.url, [chainId(1), chainId(2)], { dispatcher: client })).status, 200);
    assert.equal(proxy.stats().faulted, 2);
  });

  test("stats count request items, methods, faults and connections; resetStats zeroes them", async () => {
    const proxy = await proxyFor();
    // One connection per origin, so the connection count is exact rather than up to undici's pooling.
    const client = agent({ connections: 1 });
    await post(proxy.url, chainId(), { dispatcher: client });
    await post(proxy.url, [chainId(1), blockNumber(2), blockNumber(3)], { dispatcher: client });
    await post(proxy.url, "nope", { dispatcher: client });
    await proxy.setFault({ kind: "status", status: 500 });
    await post(proxy.url, blockNumber(), { dispatcher: client });
    assert.deepEqual(proxy.stats(), {
      requests: 6,
      byMethod: { eth_chainId: 2, eth_blockNumber: 3, "(unparsed)": 1 },
      faulted: 1,
      connections: 1,
      openSockets: 1,
      httpRequests: 4,
      upstreamRequests: 3,
      upstreamErrors: 0,
    });
    proxy.resetStats();
    assert.deepEqual(proxy.stats(), {
      requests: 0,
      byMethod: {},
      faulted: 0,
      connections: 0,
      openSockets: 1,
      httpRequests: 0,
      upstreamRequests: 0,
      upstreamErrors: 0,
    });
  });

  test("rejects rules that cannot be applied exactly", async () => {
    const proxy = await proxyFor();
    assert.throws(() => proxy.setFault({ fault: { kind: "none" }, ratio: 1.5 }), /ratio/);
    assert.throws(() => proxy.setFault({ fault: { kind: "down" }, ratio: 0.5 }), /down/);
    assert.throws(() => proxy.setFault({ kind: "truncate", fraction: -0.1 }), /fraction/);
    assert.throws(() => proxy.setFault({ kind: "slowBody", bytesPerSecond: 0 }), /bytesPerSecond/);
    assert.throws(() => proxy.setFault({ kind: "latency", ms: Number.NaN }), /latency/);
    assert.throws(() => proxy.setFault({ kind: "status", status: 99 }), /status/);
    assert.equal((await post(proxy.url, chainId(), { dispatcher: agent() })).status, 200);
  });

  test("setTarget switches the upstream to another chain", async () => {
    assert.ok(polygon);
    const proxy = await proxyFor();
    const client = agent();
    assert.deepEqual((await post(proxy.url, chainId(), { dispatcher: client })).json(), {
      jsonrpc: "2.0",
      id: 1,
      result: "0x7a69",
    });
    proxy.setTarget(polygon.url);
    assert.deepEqual((await post(proxy.url, chainId(), { dispatcher: client })).json(), {
      jsonrpc: "2.0",
      id: 1,
      result: "0x89",
    });
  });

  test("an unreachable upstream shows up as a reset connection", async () => {
    const proxy = await proxyFor(`http://${HOST}:${await freePort()}`);
    const error = await post(proxy.url, chainId(), { dispatcher: agent() }).catch((caught: unknown) => caught);
    assert.ok(errorCodes(error).includes("ECONNRESET"), `got ${errorCodes(error).join(",")}`);
    assert.equal(proxy.stats().upstreamErrors, 1);
  });

  test("close ends every socket, refuses new connections and is idempotent", async () => {
    const proxy = await startFaultProxy({ target: upstream() });
    const client = agent();
    assert.equal((await post(proxy.url, chainId(), { dispatcher: client })).status, 200);
    await proxy.setFault({ kind: "blackhole" });
    const pending = post(proxy.url, chainId(), { dispatcher: agent() }).catch((error: unknown) => error);
    await waitFor(() => proxy.stats().openSockets === 2 && proxy.stats().faulted === 1, "two open sockets");

    await proxy.close();
    assert.equal(proxy.stats().openSockets, 0);
    assert.ok((await pending) instanceof Error);
    const refused = await post(proxy.url, chainId(), { dispatcher: agent() }).catch((error: unknown) => error);
    assert.ok(errorCodes(refused).includes("ECONNREFUSED"));
    await proxy.close();
    assert.throws(() => proxy.setFault({ kind: "blackhole" }), /closed/);
    await proxy.clearFault();
  });
});
