import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { test } from "node:test";
import { anvilForThisFile, freePort, MiB, transportKit, within } from "../../test/harness/transport-kit.ts";
import { ADDRESS_REFUSALS } from "../core/address-policy.ts";
import { classifyResponse } from "../core/classify.ts";
import type { Transport, TransportFailureKind } from "../core/ports.ts";
import { classifyHttpFailure } from "./failures.ts";
import { createHttpTransport } from "./http-transport.ts";
import { AddressBlockedError, type ResolveHostname } from "./safe-lookup.ts";

const CANARY = "c4nary-s3cret-9d1f";
const { secretUrl, expectFailure } = transportKit(CANARY, "http");
const CHAIN_ID_CALL = '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}';

interface TestServer {
  port: number;
  server: Server;
  connections: Socket[];
  requests: Array<{ url: string | undefined; headers: IncomingMessage["headers"]; body: string }>;
}

async function startHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<TestServer> {
  const server = createServer();
  const state: TestServer = { port: 0, server, connections: [], requests: [] };
  server.on("connection", (socket) => {
    state.connections.push(socket);
    socket.on("error", () => {});
  });
  server.on("request", (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      state.requests.push({ url: req.url, headers: req.headers, body });
      handler(req, res, body);
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

/** Resolves when the socket is closed, whether by FIN or by reset (`events.once` would reject on the reset). */
function socketClosed(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

// --- real anvil -------------------------------------------------------------------------------------------------

const anvil = anvilForThisFile();

test("answers single and batch calls from anvil over one kept-alive connection", async () => {
  const transport = createHttpTransport({ url: `http://127.0.0.1:${anvil.port()}` });
  try {
    const single = await transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB });
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

test("reuses kept-alive connections and never opens more than `connections`", async () => {
  const server = await startHttpServer((_req, res) => res.end('{"jsonrpc":"2.0","id":1,"result":"0x1"}'));
  const sequential = createHttpTransport({ url: `http://127.0.0.1:${server.port}` });
  const bounded = createHttpTransport({ url: `http://127.0.0.1:${server.port}`, connections: 3 });
  try {
    for (let i = 0; i < 20; i++) {
      await sequential.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB });
    }
    // Undici may open a second socket while the first one's drain is still queued; never one per request.
    assert.ok(server.connections.length <= 2, `${server.connections.length} connections for 20 sequential sends`);
    const before = server.connections.length;
    await Promise.all(
      Array.from({ length: 30 }, () =>
        bounded.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB }),
      ),
    );
    const opened = server.connections.length - before;
    assert.ok(opened >= 1 && opened <= 3, `${opened} connections for 30 concurrent sends`);
    assert.equal(server.requests.length, 50);
  } finally {
    await sequential.close();
    await bounded.close();
    await stopHttpServer(server);
  }
});

test("sends path, query, Basic auth from userinfo, extra headers and the body as POST application/json", async () => {
  const server = await startHttpServer((_req, res) => res.end("{}"));
  const transport = createHttpTransport({ url: secretUrl(server.port), headers: { "X-Api-Key": "header-key" } });
  try {
    await transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB });
    const [request] = server.requests;
    assert.ok(request !== undefined);
    assert.equal(request.url, `/v2/${CANARY}?apikey=${CANARY}`);
    const expected = `Basic ${Buffer.from(`user-${CANARY}:pw-${CANARY}`).toString("base64")}`;
    assert.equal(request.headers.authorization, expected);
    assert.equal(request.headers["content-type"], "application/json");
    assert.equal(request.headers["x-api-key"], "header-key");
    assert.equal(request.body, CHAIN_ID_CALL);
  } finally {
    await transport.close();
    await stopHttpServer(server);
  }
});

test("returns non-2xx status, Retry-After and non-JSON bodies as they are", async () => {
  const server = await startHttpServer((req, res) => {
    if (req.url?.startsWith("/limited")) {
      res.writeHead(429, { "retry-after": "7", "content-type": "application/json" });
      res.end('{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limited"}}');
    } else {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>this ain't JSON</html>");
    }
  });
  const limited = createHttpTransport({ url: `http://127.0.0.1:${server.port}/limited` });
  const html = createHttpTransport({ url: `http://127.0.0.1:${server.port}/html` });
  try {
    const answer = await limited.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB });
    assert.deepEqual(answer, {
      status: 429,
      retryAfter: "7",
      body: '{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limited"}}',
    });
    const page = await html.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB });
    assert.deepEqual(page, { status: 200, retryAfter: undefined, body: "<html>this ain't JSON</html>" });
  } finally {
    await limited.close();
    await html.close();
    await stopHttpServer(server);
  }
});

test("does not follow redirects: a 3xx comes back as it is, is a failover, and its Location gets nothing", async () => {
  const elsewhere = await startHttpServer((_req, res) => res.end('{"jsonrpc":"2.0","id":1,"result":"0x1"}'));
  const server = await startHttpServer((req, res) => {
    res.writeHead(Number(req.url?.slice(1)), { location: `http://127.0.0.1:${elsewhere.port}/` });
    res.end();
  });
  const transports: Transport[] = [];
  try {
    for (const status of [301, 302, 303, 307, 308]) {
      const transport = createHttpTransport({ url: `http://127.0.0.1:${server.port}/${status}` });
      transports.push(transport);
      const answer = await transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB });
      assert.deepEqual(answer, { status, retryAfter: undefined, body: "" });
      assert.equal(classifyResponse(answer, 0).decision, "failover", String(status));
    }
    assert.equal(server.requests.length, 5);
    assert.equal(elsewhere.requests.length, 0);
    assert.equal(elsewhere.connections.length, 0);
  } finally {
    for (const transport of transports) await transport.close();
    await stopHttpServer(server);
    await stopHttpServer(elsewhere);
  }
});

// --- address policy ---------------------------------------------------------------------------------------------

/** A resolver over a fixed table that records the names asked; unknown names fail as getaddrinfo does. */
function tableResolver(table: Record<string, string[]>): { resolve: ResolveHostname; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async resolve(hostname) {
      asked.push(hostname);
      const addresses = table[hostname];
      if (addresses === undefined) throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
      return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    },
  };
}

/** `secretUrl` with a host name in place of 127.0.0.1. */
function namedUrl(hostname: string, port: number): string {
  return secretUrl(port).replace("@127.0.0.1:", `@${hostname}:`);
}

test("literal metadata, link-local, reserved and private addresses are refused when the transport is created", () => {
  const refused = [
    [`http://169.254.169.254/latest/${CANARY}`, ADDRESS_REFUSALS.metadata],
    [`http://[fd00:ec2::254]/${CANARY}`, ADDRESS_REFUSALS.metadata],
    [`http://[::ffff:169.254.169.254]/${CANARY}`, ADDRESS_REFUSALS.metadata],
    [`https://0xa9fea9fe/${CANARY}`, ADDRESS_REFUSALS.metadata],
    [`http://metadata.google.internal/${CANARY}`, ADDRESS_REFUSALS.metadataHostname],
    [`http://169.254.1.1/${CANARY}`, ADDRESS_REFUSALS["link-local"]],
    [`http://[fe80::1]/${CANARY}`, ADDRESS_REFUSALS["link-local"]],
    [`http://0.0.0.0:8545/${CANARY}`, ADDRESS_REFUSALS.unspecified],
    [`http://10.0.0.1:8545/${CANARY}`, ADDRESS_REFUSALS.private],
    [`http://user:${CANARY}@192.168.1.20:8545/`, ADDRESS_REFUSALS.private],
  ] as const;
  for (const [url, reason] of refused) {
    assert.throws(
      () => createHttpTransport({ url }),
      (error: Error) =>
        error instanceof AddressBlockedError &&
        error.code === "EADDRBLOCKED" &&
        error.reason === reason &&
        !error.message.includes(CANARY) &&
        !/[0-9]\.[0-9]|::|google/.test(error.message),
      url,
    );
  }
  // The strict mode refuses loopback and private addresses even when private networks are allowed.
  for (const url of [`http://127.0.0.1:8545/${CANARY}`, `http://10.0.0.1/${CANARY}`]) {
    assert.throws(
      () => createHttpTransport({ url, addressPolicy: { mode: "api", allowPrivate: true } }),
      AddressBlockedError,
    );
  }
});

test("a private literal address is accepted when private networks are allowed (nothing is sent)", async () => {
  const transport = createHttpTransport({
    url: "http://10.0.0.1:8545/",
    addressPolicy: { mode: "config", allowPrivate: true },
  });
  await transport.close();
});

test("a name resolving to a refused address fails with `connect` (EADDRBLOCKED) and connects nowhere", async () => {
  const server = await startHttpServer((_req, res) => res.end('{"jsonrpc":"2.0","id":1,"result":"0x1"}'));
  const { resolve, asked } = tableResolver({
    "imds.test": ["169.254.169.254"],
    "lan.test": ["10.0.0.1"],
    // Loopback first: a check of the first address only would let the connection through to the test server.
    "rebind.test": ["127.0.0.1", "169.254.169.254"],
    "here.test": ["127.0.0.1"],
  });
  const cases = [
    ["imds.test", ADDRESS_REFUSALS.metadata],
    ["lan.test", ADDRESS_REFUSALS.private],
    ["rebind.test", ADDRESS_REFUSALS.metadata],
  ] as const;
  try {
    for (const [hostname, reason] of cases) {
      const transport = createHttpTransport({ url: namedUrl(hostname, server.port), resolve });
      try {
        const started = performance.now();
        const error = await expectFailure(
          transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB }),
          "connect",
        );
        assert.ok(performance.now() - started < 1_000, "a refusal is immediate");
        assert.equal(error.message, `could not connect to the upstream (EADDRBLOCKED: ${reason})`);
        assert.ok(!error.message.includes(hostname));
      } finally {
        await transport.close();
      }
    }
    // TLS connects through the same lookup.
    const tls = createHttpTransport({ url: namedUrl("imds.test", server.port).replace("http:", "https:"), resolve });
    try {
      const error = await expectFailure(
        tls.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB }),
        "connect",
      );
      assert.equal(error.message, `could not connect to the upstream (EADDRBLOCKED: ${ADDRESS_REFUSALS.metadata})`);
    } finally {
      await tls.close();
    }
    assert.deepEqual(asked, ["imds.test", "lan.test", "rebind.test", "imds.test"]);
    assert.equal(server.connections.length, 0);
    // The same resolver, a name with only loopback addresses: it is what the connection uses.
    const transport = createHttpTransport({ url: namedUrl("here.test", server.port), resolve });
    try {
      const answer = await transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB });
      assert.equal(answer.status, 200);
      assert.equal(server.requests.length, 1);
    } finally {
      await transport.close();
    }
  } finally {
    await stopHttpServer(server);
  }
});

test("localhost (the operator's own node) works from the config and is refused from an API", async () => {
  const server = await startHttpServer((_req, res) => res.end('{"jsonrpc":"2.0","id":1,"result":"0x1"}'));
  const fromConfig = createHttpTransport({ url: namedUrl("localhost", server.port) });
  const fromApi = createHttpTransport({
    url: namedUrl("localhost", server.port),
    addressPolicy: { mode: "api", allowPrivate: true },
  });
  try {
    const answer = await fromConfig.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB });
    assert.equal(answer.status, 200);
    const connections = server.connections.length;
    const error = await expectFailure(
      fromApi.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB }),
      "connect",
    );
    assert.equal(error.message, `could not connect to the upstream (EADDRBLOCKED: ${ADDRESS_REFUSALS.loopbackApi})`);
    assert.equal(server.connections.length, connections);
    assert.equal(server.requests.length, 1);
  } finally {
    await fromConfig.close();
    await fromApi.close();
    await stopHttpServer(server);
  }
});

test("connection refused is `connect`, and the error never names the URL", async () => {
  const port = await freePort();
  const transport = createHttpTransport({ url: secretUrl(port) });
  try {
    const error = await expectFailure(
      transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB }),
      "connect",
    );
    assert.match(error.message, /ECONNREFUSED/);
  } finally {
    await transport.close();
  }
});

test("a TLS handshake that never completes is `connect` after connectTimeoutMs", async () => {
  const silent: NetServer = createNetServer((socket) => socket.on("error", () => {}));
  silent.listen(0, "127.0.0.1");
  await once(silent, "listening");
  const { port } = silent.address() as { port: number };
  const transport = createHttpTransport({ url: secretUrl(port, "https"), connectTimeoutMs: 200 });
  try {
    const started = performance.now();
    const error = await expectFailure(
      transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB }),
      "connect",
    );
    const elapsed = performance.now() - started;
    assert.match(error.message, /UND_ERR_CONNECT_TIMEOUT/);
    // Undici checks connect deadlines on a coarse (about 0.5 s) timer wheel.
    assert.ok(elapsed >= 190 && elapsed < 1_500, `${elapsed} ms`);
  } finally {
    await transport.close();
    silent.close();
  }
});

test("a connection closed or reset mid-body is `reset`", async () => {
  const server = await startHttpServer((req, res) => {
    res.writeHead(200, { "content-length": "1000" });
    res.write('{"jsonrpc":"2.0","id":1,"result":"0x', () => {
      if (req.url?.startsWith("/rst")) req.socket.resetAndDestroy();
      else req.socket.destroy();
    });
  });
  try {
    for (const path of ["/fin", "/rst"]) {
      const transport = createHttpTransport({ url: secretUrl(server.port).replace("/v2/", `${path}/`) });
      try {
        await expectFailure(
          transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB }),
          "reset",
        );
      } finally {
        await transport.close();
      }
    }
  } finally {
    await stopHttpServer(server);
  }
});

test("the deadline covers a body trickling 1 byte/s: aborted on time and the socket closed", async () => {
  let headersSent = false;
  const server = await startHttpServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write("{", () => {
      headersSent = true;
    });
    const trickle = setInterval(() => res.write(" "), 1_000);
    res.on("close", () => clearInterval(trickle));
  });
  const transport = createHttpTransport({ url: secretUrl(server.port) });
  try {
    const signal = AbortSignal.timeout(300);
    let abortedAt = 0;
    signal.addEventListener("abort", () => {
      abortedAt = performance.now();
    });
    const started = performance.now();
    await expectFailure(transport.send(CHAIN_ID_CALL, { signal, maxResponseBytes: MiB }), "timeout");
    const endedAt = performance.now();
    assert.ok(headersSent, "the response had started before the deadline");
    assert.ok(abortedAt - started >= 290, `aborted after ${abortedAt - started} ms`);
    assert.ok(endedAt - abortedAt < 50, `ended ${endedAt - abortedAt} ms after the deadline`);
    const [socket] = server.connections;
    assert.ok(socket !== undefined);
    await within(socketClosed(socket), 1_000, "upstream socket close");
  } finally {
    await transport.close();
    await stopHttpServer(server);
  }
});

test("a caller's abort (not a deadline) is `aborted`, before and after the headers", async () => {
  const server = await startHttpServer((_req, res) => {
    res.writeHead(200);
    res.write("{");
  });
  const transport = createHttpTransport({ url: secretUrl(server.port) });
  try {
    const early = new AbortController();
    early.abort();
    await expectFailure(transport.send(CHAIN_ID_CALL, { signal: early.signal, maxResponseBytes: MiB }), "aborted");
    assert.equal(server.requests.length, 0);
    const late = new AbortController();
    const received = within(once(server.server, "request"), 5_000, "request");
    const sending = expectFailure(
      transport.send(CHAIN_ID_CALL, { signal: late.signal, maxResponseBytes: MiB }),
      "aborted",
    );
    await received;
    late.abort();
    await sending;
  } finally {
    await transport.close();
    await stopHttpServer(server);
  }
});

test("a body over maxResponseBytes is `too_large` and its socket is closed (declared or streamed)", async () => {
  const server = await startHttpServer((req, res) => {
    const size = 2 * MiB;
    if (req.url?.startsWith("/declared")) res.writeHead(200, { "content-length": String(size) });
    else res.writeHead(200); // chunked: the size is only known while reading
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (sent < size && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  try {
    for (const path of ["/declared", "/streamed"]) {
      const transport = createHttpTransport({ url: `http://127.0.0.1:${server.port}${path}` });
      try {
        const before = server.connections.length;
        await expectFailure(
          transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB }),
          "too_large",
        );
        const socket = server.connections[before];
        assert.ok(socket !== undefined);
        await within(socketClosed(socket), 1_000, `${path} socket close`);
      } finally {
        await transport.close();
      }
    }
  } finally {
    await stopHttpServer(server);
  }
});

test("a body of exactly maxResponseBytes is accepted", async () => {
  const body = `"${"x".repeat(998)}"`;
  const server = await startHttpServer((_req, res) => res.end(body));
  const transport = createHttpTransport({ url: `http://127.0.0.1:${server.port}` });
  try {
    const answer = await transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: 1_000 });
    assert.equal(answer.body, body);
    await expectFailure(
      transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: 999 }),
      "too_large",
    );
  } finally {
    await transport.close();
    await stopHttpServer(server);
  }
});

test("close() rejects in-flight sends as `aborted`, closes sockets and refuses new sends", async () => {
  const server = await startHttpServer(() => {});
  const transport = createHttpTransport({ url: secretUrl(server.port) });
  try {
    const received = within(once(server.server, "request"), 5_000, "request");
    const inFlight = expectFailure(
      transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(10_000), maxResponseBytes: MiB }),
      "aborted",
    );
    await received;
    await within(transport.close(), 1_000, "close");
    await inFlight;
    const [socket] = server.connections;
    assert.ok(socket !== undefined);
    await within(socketClosed(socket), 1_000, "socket close");
    await expectFailure(
      transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(1_000), maxResponseBytes: MiB }),
      "aborted",
    );
  } finally {
    await transport.close();
    await stopHttpServer(server);
  }
});

test("rejects URLs it cannot use without repeating them", () => {
  for (const url of [`ftp://h/${CANARY}`, `not a url ${CANARY}`, `ws://127.0.0.1/${CANARY}`]) {
    assert.throws(
      () => createHttpTransport({ url }),
      (error: Error) => error instanceof TypeError && !error.message.includes(CANARY),
    );
  }
});

test("classifies undici and socket failures that loopback cannot easily produce", () => {
  const live = new AbortController().signal;
  const kind = (error: unknown, signal = live): TransportFailureKind => classifyHttpFailure(error, signal).kind;
  const coded = (code: string): Error => Object.assign(new Error("x"), { code });
  assert.equal(kind(coded("UND_ERR_CONNECT_TIMEOUT")), "connect");
  assert.equal(kind(coded("ENOTFOUND")), "connect");
  assert.equal(kind(coded("EADDRBLOCKED")), "connect");
  assert.equal(kind(coded("ERR_TLS_CERT_ALTNAME_INVALID")), "connect");
  assert.equal(kind(new AggregateError([coded("ECONNREFUSED"), coded("ECONNREFUSED")])), "connect");
  for (const code of [
    "ECONNRESET",
    "EPIPE",
    "UND_ERR_SOCKET",
    "ERR_STREAM_PREMATURE_CLOSE",
    "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH",
    "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
    "HPE_INVALID_CONSTANT",
  ]) {
    assert.equal(kind(coded(code)), "reset", code);
  }
  assert.equal(kind(Object.assign(new Error("x"), { cause: coded("ECONNRESET") })), "reset");
  assert.equal(kind(coded("UND_ERR_HEADERS_TIMEOUT")), "timeout");
  assert.equal(kind(coded("UND_ERR_BODY_TIMEOUT")), "timeout");
  // Unknown failures may have happened after the request was sent: never `connect`.
  assert.equal(kind(new Error("something new")), "reset");
  assert.equal(kind("a string"), "reset");
  // The caller's signal decides over whatever the torn-down socket reported.
  const timedOut = new AbortController();
  timedOut.abort(new DOMException("deadline", "TimeoutError"));
  assert.equal(kind(coded("ECONNRESET"), timedOut.signal), "timeout");
  const cancelled = new AbortController();
  cancelled.abort();
  assert.equal(kind(coded("UND_ERR_SOCKET"), cancelled.signal), "aborted");
});
