import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { test } from "node:test";
import { anvilForThisFile, freePort, MiB, transportKit, within } from "../../test/harness/transport-kit.ts";
import { classifyResponse } from "../core/classify.ts";
import { createFetchTransport } from "./fetch-transport.ts";

const CANARY = "f3tch-c4nary-51e7";
const { secretUrl, expectFailure } = transportKit(CANARY, "http");
const CHAIN_ID_CALL = '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}';
const send = (transport: ReturnType<typeof createFetchTransport>, signal = AbortSignal.timeout(5_000), max = MiB) =>
  transport.send(CHAIN_ID_CALL, { signal, maxResponseBytes: max });

interface TestServer {
  port: number;
  server: Server;
  connections: Socket[];
  requests: Array<{
    method: string | undefined;
    url: string | undefined;
    headers: IncomingMessage["headers"];
    body: string;
  }>;
  /** Resolves with the next request's response once it has arrived (for tests that answer later, or never). */
  nextRequest(): Promise<ServerResponse>;
}

async function startHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = createServer();
  const waiting: Array<(res: ServerResponse) => void> = [];
  const state: TestServer = {
    port: 0,
    server,
    connections: [],
    requests: [],
    nextRequest: () => new Promise((resolve) => waiting.push(resolve)),
  };
  server.on("connection", (socket) => {
    state.connections.push(socket);
    socket.on("error", () => {});
  });
  server.on("request", (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      state.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res);
      waiting.shift()?.(res);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  state.port = (server.address() as { port: number }).port;
  return state;
}

async function stopHttpServer(state: TestServer): Promise<void> {
  state.server.closeAllConnections();
  state.server.close();
  await once(state.server, "close");
}

/** A server that reads the request and never answers (until it is stopped). */
const silent = () => startHttpServer(() => {});

// --- real anvil -------------------------------------------------------------------------------------------------

const anvil = anvilForThisFile();

test("a call round-trips to anvil, single and batch", async () => {
  const transport = createFetchTransport({ url: `http://127.0.0.1:${anvil.port()}` });
  try {
    const single = await send(transport);
    assert.equal(single.status, 200);
    assert.deepEqual(JSON.parse(single.body), { jsonrpc: "2.0", id: 1, result: "0x7a69" });
    const batch = await transport.send(
      '[{"jsonrpc":"2.0","id":"a","method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"}]',
      { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB },
    );
    const items = JSON.parse(batch.body) as Array<{ id: unknown; result: string }>;
    assert.deepEqual(items.map((item) => item.id).sort(), [2, "a"]);
    assert.equal(items.find((item) => item.id === "a")?.result, "0x7a69");
  } finally {
    await transport.close();
  }
});

// --- what is sent -------------------------------------------------------------------------------------------------

test("path and query reach the server; userinfo is sent as Basic auth, not in the URL; headers and body as given", async () => {
  const server = await startHttpServer((_req, res) => res.end('{"jsonrpc":"2.0","id":1,"result":"0x1"}'));
  const transport = createFetchTransport({ url: secretUrl(server.port), headers: { "X-Api-Key": `key-${CANARY}` } });
  try {
    const answer = await send(transport);
    assert.deepEqual(answer, { status: 200, retryAfter: undefined, body: '{"jsonrpc":"2.0","id":1,"result":"0x1"}' });
    const [request] = server.requests;
    assert.ok(request !== undefined);
    assert.equal(request.method, "POST");
    assert.equal(request.url, `/v2/${CANARY}?apikey=${CANARY}`);
    const expected = `Basic ${Buffer.from(`user-${CANARY}:pw-${CANARY}`).toString("base64")}`;
    assert.equal(request.headers.authorization, expected);
    assert.equal(request.headers["content-type"], "application/json");
    assert.equal(request.headers["x-api-key"], `key-${CANARY}`);
    assert.equal(request.body, CHAIN_ID_CALL);
  } finally {
    await transport.close();
    await stopHttpServer(server);
  }
});

test("a given Authorization header wins over userinfo", async () => {
  const server = await startHttpServer((_req, res) => res.end("{}"));
  const transport = createFetchTransport({ url: secretUrl(server.port), headers: { Authorization: "Bearer given" } });
  try {
    await send(transport);
    assert.equal(server.requests[0]?.headers.authorization, "Bearer given");
  } finally {
    await transport.close();
    await stopHttpServer(server);
  }
});

test("non-2xx statuses, Retry-After and non-JSON bodies come back as they are", async () => {
  const server = await startHttpServer((req, res) => {
    if (req.url?.startsWith("/limited")) {
      res.writeHead(429, { "retry-after": "7", "content-type": "application/json" });
      res.end('{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limited"}}');
    } else {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>bad gateway</html>");
    }
  });
  const limited = createFetchTransport({ url: `http://127.0.0.1:${server.port}/limited` });
  const html = createFetchTransport({ url: `http://127.0.0.1:${server.port}/html` });
  try {
    assert.deepEqual(await send(limited), {
      status: 429,
      retryAfter: "7",
      body: '{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limited"}}',
    });
    assert.deepEqual(await send(html), { status: 502, retryAfter: undefined, body: "<html>bad gateway</html>" });
  } finally {
    await limited.close();
    await html.close();
    await stopHttpServer(server);
  }
});

test("a redirect is not followed: the 3xx comes back, is a failover, and its Location gets nothing", async () => {
  const elsewhere = await startHttpServer((_req, res) => res.end('{"jsonrpc":"2.0","id":1,"result":"0x1"}'));
  const server = await startHttpServer((req, res) => {
    res.writeHead(Number(req.url?.slice(1)), { location: `http://127.0.0.1:${elsewhere.port}/` });
    res.end();
  });
  try {
    for (const status of [301, 302, 303, 307, 308]) {
      const transport = createFetchTransport({ url: `http://127.0.0.1:${server.port}/${status}` });
      try {
        const answer = await send(transport);
        assert.deepEqual(answer, { status, retryAfter: undefined, body: "" });
        assert.equal(classifyResponse(answer, 0).decision, "failover", String(status));
      } finally {
        await transport.close();
      }
    }
    assert.equal(server.requests.length, 5);
    assert.equal(elsewhere.requests.length, 0);
    assert.equal(elsewhere.connections.length, 0);
  } finally {
    await stopHttpServer(server);
    await stopHttpServer(elsewhere);
  }
});

// --- failures, none of which may show the URL ------------------------------------------------------------------------

test("an invalid or non-HTTP URL is refused at creation without repeating it", () => {
  for (const url of [`http://user:${CANARY}@[::1/`, `ftp://127.0.0.1/${CANARY}`, `ws://127.0.0.1/${CANARY}`]) {
    assert.throws(
      () => createFetchTransport({ url }),
      (error: Error) => error instanceof TypeError && !error.message.includes(CANARY),
      url,
    );
  }
});

test("connection refused is `connect` (Node's fetch: cause ECONNREFUSED), and nothing of the URL leaks", async () => {
  const port = await freePort();
  const transport = createFetchTransport({ url: secretUrl(port), headers: { "x-api-key": `key-${CANARY}` } });
  try {
    const error = await expectFailure(send(transport), "connect");
    assert.equal(error.message, "could not connect to the upstream (ECONNREFUSED)");
    const codes: unknown[] = [];
    for (let c: unknown = error.cause; c !== undefined; c = (c as { cause?: unknown }).cause) {
      codes.push((c as { code?: unknown }).code);
    }
    assert.ok(codes.includes("ECONNREFUSED"), JSON.stringify(codes));
  } finally {
    await transport.close();
  }
});

test("a body over maxResponseBytes is `too_large`, whether declared by Content-Length or chunked", async () => {
  const big = "x".repeat(64 * 1024);
  const server = await startHttpServer((req, res) => {
    if (req.url?.includes("/declared/")) {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(big.length) });
      res.end(big);
    } else {
      // No Content-Length: chunked, each chunk under the cap, the sum over it.
      res.writeHead(200, { "content-type": "application/json" });
      for (let i = 0; i < 16; i++) res.write(big.slice(0, 4096));
      res.end();
    }
  });
  const declared = createFetchTransport({ url: secretUrl(server.port).replace("/v2/", "/declared/") });
  const chunked = createFetchTransport({ url: secretUrl(server.port).replace("/v2/", "/chunked/") });
  try {
    const a = await expectFailure(send(declared, AbortSignal.timeout(5_000), 10_000), "too_large");
    assert.equal(a.message, "upstream response is too large (declared 65536 > 10000 bytes)");
    const b = await expectFailure(send(chunked, AbortSignal.timeout(5_000), 10_000), "too_large");
    assert.equal(b.message, "upstream response is too large (more than 10000 bytes)");
    assert.equal(server.requests.length, 2);
    // At the cap exactly is fine.
    const ok = await send(chunked, AbortSignal.timeout(5_000), 16 * 4096);
    assert.equal(ok.body.length, 16 * 4096);
  } finally {
    await declared.close();
    await chunked.close();
    await stopHttpServer(server);
  }
});

test("the caller's abort is `aborted`; an AbortSignal.timeout is `timeout`; both end the request", async () => {
  const server = await silent();
  const transport = createFetchTransport({ url: secretUrl(server.port) });
  try {
    const controller = new AbortController();
    const arrived = server.nextRequest();
    const pending = send(transport, controller.signal);
    const res = await within(arrived, 5_000, "the request to arrive");
    controller.abort();
    await expectFailure(pending, "aborted");
    await within(once(res, "close"), 5_000, "the aborted request to be closed");

    const started = performance.now();
    const error = await expectFailure(send(transport, AbortSignal.timeout(200)), "timeout");
    const elapsed = performance.now() - started;
    assert.equal(error.message, "upstream attempt deadline passed");
    assert.ok(elapsed >= 190 && elapsed < 2_000, `${elapsed} ms`);

    // An already aborted signal sends nothing.
    const before = server.requests.length;
    const gone = new AbortController();
    gone.abort();
    await expectFailure(send(transport, gone.signal), "aborted");
    await expectFailure(send(transport, AbortSignal.abort(new DOMException("late", "TimeoutError"))), "timeout");
    assert.equal(server.requests.length, before);
  } finally {
    await transport.close();
    await stopHttpServer(server);
  }
});

test("a connection closed mid-body is `reset`", async () => {
  const server = await startHttpServer((req, res) => {
    res.writeHead(200, { "content-length": "1000" });
    res.write('{"jsonrpc":"2.0","id":1,"result":"0x', () => req.socket.destroy());
  });
  const transport = createFetchTransport({ url: secretUrl(server.port) });
  try {
    await expectFailure(send(transport), "reset");
  } finally {
    await transport.close();
    await stopHttpServer(server);
  }
});

test("close() aborts sends in flight (`aborted`) and refuses new ones", async () => {
  const server = await silent();
  const transport = createFetchTransport({ url: secretUrl(server.port) });
  try {
    const arrived = Promise.all([server.nextRequest(), server.nextRequest()]);
    const pending = [send(transport, AbortSignal.timeout(10_000)), send(transport, AbortSignal.timeout(10_000))];
    const responses = await within(arrived, 5_000, "both requests to arrive");
    await transport.close();
    for (const p of pending) {
      const error = await expectFailure(p, "aborted");
      assert.equal(error.message, "transport is closed");
    }
    await within(Promise.all(responses.map((res) => once(res, "close"))), 5_000, "the requests to be closed");
    const before = server.requests.length;
    await expectFailure(send(transport), "aborted");
    assert.equal(server.requests.length, before);
  } finally {
    await stopHttpServer(server);
  }
});
