import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { test } from "node:test";
import { transportContract } from "../../test/harness/transport-contract.ts";
import { MiB, startHttpServer, stopHttpServer, transportKit } from "../../test/harness/transport-kit.ts";
import type { TransportFailureKind } from "../core/ports.ts";
import { ADDRESS_REFUSALS } from "../core/security/address-policy.ts";
import { AddressBlockedError, classifyHttpFailure } from "./failures.ts";
import { createHttpTransport } from "./http-transport.ts";
import type { ResolveHostname } from "./safe-lookup.ts";

const CANARY = "c4nary-s3cret-9d1f";
const { secretUrl, expectFailure } = transportKit(CANARY, "http");
const CHAIN_ID_CALL = '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}';

transportContract("undici (createHttpTransport)", (target) => createHttpTransport(target));

// --- pooling ----------------------------------------------------------------------------------------------------

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

test("a send waiting for a connection fails at its own deadline and never takes a connection", async () => {
  // One connection, held by a request the server never answers: the second send waits for it.
  let seen = 0;
  const server = await startHttpServer((_req, res) => {
    if (++seen > 1) res.end('{"jsonrpc":"2.0","id":1,"result":"0x1"}');
  });
  const transport = createHttpTransport({ url: `http://127.0.0.1:${server.port}`, connections: 1 });
  const holder = new AbortController();
  try {
    const arrived = server.nextRequest();
    const held = transport.send(CHAIN_ID_CALL, { signal: holder.signal, maxResponseBytes: MiB });
    held.catch(() => {});
    await arrived;
    const queued = new AbortController();
    const sent = transport.send(CHAIN_ID_CALL, { signal: queued.signal, maxResponseBytes: MiB });
    queued.abort(new DOMException("attempt deadline exceeded", "TimeoutError"));
    await expectFailure(sent, "timeout");
    holder.abort();
    await expectFailure(held, "aborted");
    // The next send gets the pool's one connection: the one given up while waiting neither reached the server nor
    // made the pool open a connection only to close it.
    const next = await transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB });
    assert.equal(next.status, 200);
    assert.equal(server.requests.length, 2, "the held send and the next one reached the server");
    assert.equal(server.connections.length, 2, "one connection for the held send, one for the next");
  } finally {
    await transport.close();
    await stopHttpServer(server);
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

// --- connecting ------------------------------------------------------------------------------------------------

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
