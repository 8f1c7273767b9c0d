import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import { createServer as createNetServer } from "node:net";
import { test } from "node:test";
import { keccak256, toHex } from "viem";
import WebSocket, { WebSocketServer } from "ws";
import { anvilForThisFile, freePort, MiB, transportKit, within } from "../../test/harness/transport-kit.ts";
import { ADDRESS_REFUSALS } from "../core/security/address-policy.ts";
import { AddressBlockedError } from "./failures.ts";
import type { ResolveHostname } from "./safe-lookup.ts";
import { createWsTransport, WS_RECONNECT_DELAY_MIN_MS } from "./ws-transport.ts";

const CANARY = "c4nary-s3cret-ws-77e2";
const { secretUrl, expectFailure } = transportKit(CANARY, "ws");

function opts(signal: AbortSignal = AbortSignal.timeout(5_000), maxResponseBytes = MiB) {
  return { signal, maxResponseBytes };
}

function call(method: string, params: unknown[] = [], id: unknown = 1): string {
  return JSON.stringify({ jsonrpc: "2.0", id, method, params });
}

function closedSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

interface FakeUpstream {
  port: number;
  upgrades: IncomingMessage[];
  sockets: WebSocket[];
  /** Emits "request" with the method name of every message received. */
  events: EventEmitter;
  stop(): Promise<void>;
}

/**
 * A scripted upstream: `echo` answers its first param, `hang` never answers, `drop` kills the connection, `big`
 * answers a string of params[0] bytes, `slow` is answered only when `release` arrives, `notify` pushes a
 * subscription notification before answering.
 */
async function startFakeUpstream(options: { autoPong?: boolean } = {}): Promise<FakeUpstream> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", autoPong: options.autoPong ?? true });
  await once(wss, "listening");
  const state: FakeUpstream = {
    port: (wss.address() as { port: number }).port,
    upgrades: [],
    sockets: [],
    events: new EventEmitter(),
    async stop() {
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  wss.on("connection", (socket, request) => {
    state.upgrades.push(request);
    state.sockets.push(socket);
    socket.on("error", () => {});
    const held: unknown[] = [];
    socket.on("message", (data) => {
      const request = JSON.parse(String(data)) as { id: unknown; method: string; params: unknown[] };
      state.events.emit("request", request.method);
      const reply = (result: unknown): void => socket.send(JSON.stringify({ jsonrpc: "2.0", id: request.id, result }));
      switch (request.method) {
        case "echo":
          return reply(request.params[0]);
        case "hang":
          return;
        case "drop":
          return socket.terminate();
        case "big":
          return reply("x".repeat(request.params[0] as number));
        case "slow":
          held.push(request.id);
          return;
        case "release":
          for (const id of held.splice(0)) socket.send(JSON.stringify({ jsonrpc: "2.0", id, result: "slow" }));
          return reply("release");
        case "notify":
          socket.send('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":"n"}}');
          return reply("after-notification");
      }
    });
  });
  return state;
}

// --- real anvil -------------------------------------------------------------------------------------------------

const anvil = anvilForThisFile();

test("anvil over WebSocket: the caller's ids come back byte for byte, single and batch", async () => {
  const transport = createWsTransport({ url: `ws://127.0.0.1:${anvil.port()}` });
  try {
    const big = await transport.send('{"jsonrpc":"2.0","id":9007199254740993,"method":"eth_chainId"}', opts());
    assert.deepEqual(big, { status: 200, body: '{"jsonrpc":"2.0","id":9007199254740993,"result":"0x7a69"}' });
    const text = await transport.send('{ "id" : "abc", "jsonrpc":"2.0","method":"eth_chainId"}', opts());
    assert.equal(text.body, '{"jsonrpc":"2.0","id":"abc","result":"0x7a69"}');
    const batch = await transport.send(
      '[{"jsonrpc":"2.0","id":7,"method":"eth_chainId"},{"jsonrpc":"2.0","id":"x","method":"eth_chainId"},' +
        '{"jsonrpc":"2.0","id":null,"method":"eth_chainId"},{"jsonrpc":"2.0","method":"eth_chainId"}]',
      opts(),
    );
    const items = JSON.parse(batch.body) as Array<{ id: unknown; result: string }>;
    assert.equal(items.length, 3);
    for (const id of [7, "x", null]) assert.equal(items.find((item) => item.id === id)?.result, "0x7a69", String(id));
  } finally {
    await transport.close();
  }
});

test("anvil over WebSocket: 50 concurrent calls with the same id each get their own answer", async () => {
  const transport = createWsTransport({ url: `ws://127.0.0.1:${anvil.port()}` });
  try {
    const inputs = Array.from({ length: 50 }, (_, i) => toHex(`multihome-${i}`));
    const answers = await Promise.all(inputs.map((input) => transport.send(call("web3_sha3", [input], 1), opts())));
    answers.forEach((answer, i) => {
      const parsed = JSON.parse(answer.body) as { id: unknown; result: string };
      assert.equal(parsed.id, 1);
      assert.equal(parsed.result, keccak256(inputs[i] as `0x${string}`));
    });
  } finally {
    await transport.close();
  }
});

test("anvil over WebSocket: notifications resolve empty and an uncorrelatable error goes to its send", async () => {
  const transport = createWsTransport({ url: `ws://127.0.0.1:${anvil.port()}` });
  try {
    assert.deepEqual(await transport.send('{"jsonrpc":"2.0","method":"eth_chainId"}', opts()), {
      status: 200,
      body: "",
    });
    // Anvil answers an empty batch with one error whose id is null.
    const empty = await transport.send("[]", opts());
    assert.equal((JSON.parse(empty.body) as { error: { code: number } }).error.code, -32600);
    for (const garbage of ["this ain't JSON", "5", '"x"'])
      await assert.rejects(transport.send(garbage, opts()), TypeError);
  } finally {
    await transport.close();
  }
});

test("connects lazily, once for many concurrent first sends, with userinfo as Basic auth", async () => {
  const upstream = await startFakeUpstream();
  const transport = createWsTransport({ url: secretUrl(upstream.port) });
  try {
    // A full round trip by another client: an eager connect would have arrived by now.
    const probe = new WebSocket(`ws://127.0.0.1:${upstream.port}`);
    await within(once(probe, "open"), 5_000, "probe open");
    probe.send(call("echo", ["probe"]));
    await within(once(probe, "message"), 5_000, "probe answer");
    probe.close();
    assert.equal(upstream.upgrades.length, 1);

    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => transport.send(call("echo", [`n${i}`], "same"), opts())),
    );
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.body, `{"jsonrpc":"2.0","id":"same","result":"n${i}"}`);
    }
    assert.equal(upstream.upgrades.length, 2);
    const upgrade = upstream.upgrades[1];
    assert.equal(upgrade?.url, `/v2/${CANARY}?apikey=${CANARY}`);
    assert.equal(
      upgrade?.headers.authorization,
      `Basic ${Buffer.from(`user-${CANARY}:pw-${CANARY}`).toString("base64")}`,
    );
  } finally {
    await transport.close();
    await upstream.stop();
  }
});

test("a dropped connection fails its sends with `reset`, and the next send reconnects", async () => {
  const upstream = await startFakeUpstream();
  const transport = createWsTransport({ url: secretUrl(upstream.port) });
  try {
    const waiting = expectFailure(transport.send(call("hang"), opts()), "reset");
    await expectFailure(transport.send(call("drop"), opts()), "reset");
    await waiting;
    const answer = await transport.send(call("echo", ["back"]), opts());
    assert.equal(answer.body, '{"jsonrpc":"2.0","id":1,"result":"back"}');
    assert.equal(upstream.upgrades.length, 2);
  } finally {
    await transport.close();
    await upstream.stop();
  }
});

test("a refused connection is `connect`, and the error never names the URL", async () => {
  const transport = createWsTransport({ url: secretUrl(await freePort()) });
  try {
    const error = await expectFailure(transport.send(call("echo"), opts()), "connect");
    assert.match(error.message, /ECONNREFUSED/);
  } finally {
    await transport.close();
  }
});

test("reconnects with backoff: one attempt in flight, fail fast while backing off", async () => {
  let attempts = 0;
  const server = createServer((_req, res) => res.end());
  server.on("upgrade", (_req, socket) => {
    attempts++;
    socket.end("HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  let now = 1_000_000;
  const transport = createWsTransport({
    url: secretUrl((server.address() as { port: number }).port),
    clock: { now: () => now },
  });
  try {
    const first = await Promise.allSettled(Array.from({ length: 5 }, () => transport.send(call("echo"), opts())));
    assert.equal(attempts, 1, "concurrent sends share one connect");
    for (const outcome of first) {
      assert.equal(outcome.status, "rejected");
      await expectFailure(Promise.reject(outcome.status === "rejected" ? outcome.reason : undefined), "connect");
    }
    await expectFailure(transport.send(call("echo"), opts()), "connect");
    assert.equal(attempts, 1, "no attempt while backing off");
    now += WS_RECONNECT_DELAY_MIN_MS;
    await expectFailure(transport.send(call("echo"), opts()), "connect");
    assert.equal(attempts, 2);
    now += WS_RECONNECT_DELAY_MIN_MS; // the delay has doubled
    await expectFailure(transport.send(call("echo"), opts()), "connect");
    assert.equal(attempts, 2);
    now += WS_RECONNECT_DELAY_MIN_MS;
    await expectFailure(transport.send(call("echo"), opts()), "connect");
    assert.equal(attempts, 3);
  } finally {
    await transport.close();
    server.closeAllConnections();
    server.close();
  }
});

test("a handshake that never completes is `connect` after connectTimeoutMs", async () => {
  const silent = createNetServer((socket) => socket.on("error", () => {}));
  silent.listen(0, "127.0.0.1");
  await once(silent, "listening");
  const transport = createWsTransport({
    url: secretUrl((silent.address() as { port: number }).port),
    connectTimeoutMs: 200,
  });
  try {
    const started = performance.now();
    const impatient = expectFailure(transport.send(call("echo"), opts(AbortSignal.timeout(50))), "timeout");
    const patient = expectFailure(transport.send(call("echo"), opts()), "connect");
    // A send's own deadline ends its wait for the shared connect without ending the connect.
    await impatient;
    assert.ok(performance.now() - started < 190, "the impatient send did not wait for the connect deadline");
    await patient;
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 190 && elapsed < 400, `${elapsed} ms`);
  } finally {
    await transport.close();
    silent.close();
  }
});

test("a send's signal aborts only that send; a late answer never reaches another send", async () => {
  const upstream = await startFakeUpstream();
  const transport = createWsTransport({ url: secretUrl(upstream.port) });
  try {
    const cancel = new AbortController();
    const slow = expectFailure(transport.send(call("slow", [], 1), opts(cancel.signal)), "aborted");
    const hung = expectFailure(transport.send(call("hang", [], 1), opts(AbortSignal.timeout(100))), "timeout");
    const other = transport.send(call("echo", ["other"], 1), opts());
    assert.equal((await other).body, '{"jsonrpc":"2.0","id":1,"result":"other"}');
    cancel.abort();
    await slow;
    await hung;
    // The upstream now answers the abandoned `slow` call first, then this one; both used id 1.
    const released = await transport.send(call("release", [], 1), opts());
    assert.equal(released.body, '{"jsonrpc":"2.0","id":1,"result":"release"}');
    assert.equal(upstream.upgrades.length, 1);
  } finally {
    await transport.close();
    await upstream.stop();
  }
});

test("an answer over maxResponseBytes fails that send only; a frame over maxPayloadBytes drops the connection", async () => {
  const upstream = await startFakeUpstream();
  const transport = createWsTransport({ url: secretUrl(upstream.port), maxPayloadBytes: 64 * 1024 });
  try {
    await expectFailure(transport.send(call("big", [2_000]), opts(undefined, 1_000)), "too_large");
    const small = await transport.send(call("big", [10]), opts(undefined, 1_000));
    assert.equal(small.body, `{"jsonrpc":"2.0","id":1,"result":"${"x".repeat(10)}"}`);
    assert.equal(upstream.upgrades.length, 1);
    const error = await expectFailure(transport.send(call("big", [128 * 1024]), opts()), "reset");
    assert.match(error.message, /WS_ERR_UNSUPPORTED_MESSAGE_LENGTH/);
  } finally {
    await transport.close();
    await upstream.stop();
  }
});

test("unsolicited messages go to onNotification and never settle a send", async () => {
  const upstream = await startFakeUpstream();
  const notifications: unknown[] = [];
  const transport = createWsTransport({ url: secretUrl(upstream.port), onNotification: (m) => notifications.push(m) });
  try {
    const answer = await transport.send(call("notify", [], 5), opts());
    assert.equal(answer.body, '{"jsonrpc":"2.0","id":5,"result":"after-notification"}');
    assert.deepEqual(notifications, [
      { jsonrpc: "2.0", method: "eth_subscription", params: { subscription: "0x1", result: "n" } },
    ]);
  } finally {
    await transport.close();
    await upstream.stop();
  }
});

test("an upstream that stops answering pings is dropped and its sends fail with `reset`", async () => {
  const upstream = await startFakeUpstream({ autoPong: false });
  const transport = createWsTransport({ url: secretUrl(upstream.port), pingIntervalMs: 50 });
  try {
    const started = performance.now();
    await expectFailure(transport.send(call("hang"), opts(AbortSignal.timeout(5_000))), "reset");
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 500, `${elapsed} ms`);
  } finally {
    await transport.close();
    await upstream.stop();
  }
});

test("close() rejects pending sends as `aborted`, closes the socket and refuses new sends", async () => {
  const upstream = await startFakeUpstream();
  const transport = createWsTransport({ url: secretUrl(upstream.port) });
  try {
    const received = within(once(upstream.events, "request"), 5_000, "request");
    const pending = expectFailure(transport.send(call("hang"), opts(AbortSignal.timeout(10_000))), "aborted");
    assert.deepEqual(await received, ["hang"]);
    await within(transport.close(), 2_000, "close");
    await pending;
    const [socket] = upstream.sockets;
    assert.ok(socket !== undefined);
    await within(closedSocket(socket), 2_000, "upstream socket close");
    await expectFailure(transport.send(call("echo"), opts()), "aborted");
  } finally {
    await transport.close();
    await upstream.stop();
  }
});

test("does not follow a redirect on the upgrade: `connect`, and the Location gets nothing", async () => {
  const target = await startFakeUpstream();
  const redirector = createServer((_req, res) => res.writeHead(404).end());
  const redirected: string[] = [];
  redirector.on("upgrade", (req: IncomingMessage, socket) => {
    redirected.push(req.url ?? "");
    socket.end(`HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:${target.port}/\r\nContent-Length: 0\r\n\r\n`);
  });
  redirector.listen(0, "127.0.0.1");
  await once(redirector, "listening");
  const transport = createWsTransport({ url: secretUrl((redirector.address() as { port: number }).port) });
  try {
    const error = await expectFailure(transport.send(call("echo"), opts()), "connect");
    assert.match(error.message, /could not connect to the upstream/);
    assert.equal(redirected.length, 1);
    assert.equal(target.upgrades.length, 0);
  } finally {
    await transport.close();
    redirector.closeAllConnections();
    redirector.close();
    await target.stop();
  }
});

/** `secretUrl` with a host name in place of 127.0.0.1. */
function namedUrl(hostname: string, port: number, scheme = "ws"): string {
  return secretUrl(port, scheme).replace("@127.0.0.1:", `@${hostname}:`);
}

test("literal metadata, link-local and private addresses are refused when the transport is created", () => {
  const refused = [
    [`ws://169.254.169.254/${CANARY}`, ADDRESS_REFUSALS.metadata],
    [`wss://[::ffff:a9fe:a9fe]/${CANARY}`, ADDRESS_REFUSALS.metadata],
    [`ws://metadata.goog/${CANARY}`, ADDRESS_REFUSALS.metadataHostname],
    [`ws://[fe80::1]:8546/${CANARY}`, ADDRESS_REFUSALS["link-local"]],
    [`ws://10.0.0.1:8546/${CANARY}`, ADDRESS_REFUSALS.private],
  ] as const;
  for (const [url, reason] of refused) {
    assert.throws(
      () => createWsTransport({ url }),
      (error: Error) =>
        error instanceof AddressBlockedError && error.reason === reason && !error.message.includes(CANARY),
      url,
    );
  }
  assert.throws(
    () => createWsTransport({ url: "ws://127.0.0.1:8546/", addressPolicy: { mode: "api", allowPrivate: true } }),
    AddressBlockedError,
  );
});

test("a name resolving to a refused address fails with `connect` (EADDRBLOCKED) and reaches nothing", async () => {
  const upstream = await startFakeUpstream();
  const asked: string[] = [];
  const resolve: ResolveHostname = async (hostname) => {
    asked.push(hostname);
    const address = hostname === "here.test" ? "127.0.0.1" : "169.254.169.254";
    // Loopback first: a check of the first address only would let the upgrade through to the fake upstream.
    return hostname === "rebind.test"
      ? [
          { address: "127.0.0.1", family: 4 },
          { address, family: 4 },
        ]
      : [{ address, family: 4 }];
  };
  try {
    for (const [scheme, hostname] of [
      ["ws", "imds.test"],
      ["ws", "rebind.test"],
      ["wss", "imds.test"],
    ] as const) {
      const transport = createWsTransport({ url: namedUrl(hostname, upstream.port, scheme), resolve });
      try {
        const error = await expectFailure(transport.send(call("echo"), opts()), "connect");
        assert.equal(error.message, `could not connect to the upstream (EADDRBLOCKED: ${ADDRESS_REFUSALS.metadata})`);
      } finally {
        await transport.close();
      }
    }
    assert.deepEqual(asked, ["imds.test", "rebind.test", "imds.test"]);
    assert.equal(upstream.upgrades.length, 0);
    const transport = createWsTransport({ url: namedUrl("here.test", upstream.port), resolve });
    try {
      const answer = await transport.send(call("echo", ["through the resolver"]), opts());
      assert.equal(answer.body, '{"jsonrpc":"2.0","id":1,"result":"through the resolver"}');
    } finally {
      await transport.close();
    }
  } finally {
    await upstream.stop();
  }
});

test("localhost works from the config and is refused from an API before any upgrade", async () => {
  const upstream = await startFakeUpstream();
  const fromConfig = createWsTransport({ url: namedUrl("localhost", upstream.port) });
  const fromApi = createWsTransport({
    url: namedUrl("localhost", upstream.port),
    addressPolicy: { mode: "api", allowPrivate: false },
  });
  try {
    const answer = await fromConfig.send(call("echo", ["home"]), opts());
    assert.equal(answer.body, '{"jsonrpc":"2.0","id":1,"result":"home"}');
    const error = await expectFailure(fromApi.send(call("echo"), opts()), "connect");
    assert.equal(error.message, `could not connect to the upstream (EADDRBLOCKED: ${ADDRESS_REFUSALS.loopbackApi})`);
    assert.equal(upstream.upgrades.length, 1);
  } finally {
    await fromConfig.close();
    await fromApi.close();
    await upstream.stop();
  }
});

test("rejects URLs it cannot use without repeating them", () => {
  for (const url of [`http://h/${CANARY}`, `not a url ${CANARY}`]) {
    assert.throws(
      () => createWsTransport({ url }),
      (error: Error) => error instanceof TypeError && !error.message.includes(CANARY),
    );
  }
});
