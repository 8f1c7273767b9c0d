import assert from "node:assert/strict";
import type { LookupAddress } from "node:dns";
import { once } from "node:events";
import { connect, createServer, type LookupFunction, type Server } from "node:net";
import { test } from "node:test";
import { within } from "../../test/harness/transport-kit.ts";
import { ADDRESS_REFUSALS } from "../core/security/address-policy.ts";
import { ADDRESS_BLOCKED_CODE, AddressBlockedError, addressBlockedReason } from "./failures.ts";
import { checkUrl, createSafeLookup, type ResolveHostname } from "./safe-lookup.ts";

const CANARY = "c4nary-s3cret-lookup-51b0";

/** A resolver over a fixed table, recording every question; unknown names fail as getaddrinfo does. */
function tableResolver(table: Record<string, string[]>) {
  const asked: Array<{ hostname: string; family: number; hints: number }> = [];
  const resolve: ResolveHostname = async (hostname, { family, hints }) => {
    asked.push({ hostname, family, hints });
    const addresses = table[hostname];
    if (addresses === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return { resolve, asked };
}

const TABLE = {
  "rpc.example": ["8.8.8.8", "2001:4860:4860::8888"],
  "node.lan": ["10.0.0.7"],
  "imds.example": ["169.254.169.254"],
  "rebind.example": ["8.8.8.8", "169.254.169.254"],
  "mapped.example": ["::ffff:a9fe:a9fe"],
  "here.example": ["127.0.0.1"],
  "half-local.example": ["127.0.0.1", "10.0.0.1"],
  "empty.example": [],
};

type Outcome = { error: NodeJS.ErrnoException } | { address: string | LookupAddress[]; family: number | undefined };

function lookupOnce(lookup: LookupFunction, hostname: string, all: boolean, family = 0): Promise<Outcome> {
  return within(
    new Promise((resolve) => {
      lookup(hostname, { all, family, hints: 0 }, (error, address, fam) => {
        resolve(error ? { error } : { address, family: fam });
      });
    }),
    5_000,
    "lookup",
  );
}

function assertBlocked(outcome: Outcome, reason: string): void {
  assert.ok("error" in outcome, "expected a refusal");
  assert.ok(outcome.error instanceof AddressBlockedError);
  assert.equal(outcome.error.code, ADDRESS_BLOCKED_CODE);
  assert.equal(outcome.error.reason, reason);
  assert.equal(outcome.error.message, `upstream address refused: ${reason}`);
}

test("answers like dns.lookup: one address, or all of them with `all`", async () => {
  const { resolve, asked } = tableResolver(TABLE);
  const lookup = createSafeLookup({ mode: "api", allowPrivate: false, resolve });
  assert.deepEqual(await lookupOnce(lookup, "rpc.example", false), { address: "8.8.8.8", family: 4 });
  assert.deepEqual(await lookupOnce(lookup, "rpc.example", true, 6), {
    address: [
      { address: "8.8.8.8", family: 4 },
      { address: "2001:4860:4860::8888", family: 6 },
    ],
    family: undefined,
  });
  // Every address is always asked for (any one of them may be connected to); family and hints pass through.
  assert.deepEqual(asked, [
    { hostname: "rpc.example", family: 0, hints: 0 },
    { hostname: "rpc.example", family: 6, hints: 0 },
  ]);
});

test("refuses when any resolved address is refused, with or without `all`", async () => {
  const { resolve } = tableResolver(TABLE);
  const config = createSafeLookup({ mode: "config", allowPrivate: false, resolve });
  for (const all of [false, true]) {
    assertBlocked(await lookupOnce(config, "imds.example", all), ADDRESS_REFUSALS.metadata);
    assertBlocked(await lookupOnce(config, "rebind.example", all), ADDRESS_REFUSALS.metadata);
    assertBlocked(await lookupOnce(config, "mapped.example", all), ADDRESS_REFUSALS.metadata);
    assertBlocked(await lookupOnce(config, "node.lan", all), ADDRESS_REFUSALS.private);
    assertBlocked(await lookupOnce(config, "half-local.example", all), ADDRESS_REFUSALS.private);
  }
  assert.deepEqual(await lookupOnce(config, "here.example", false), { address: "127.0.0.1", family: 4 });
  const lan = createSafeLookup({ mode: "config", allowPrivate: true, resolve });
  assert.deepEqual(await lookupOnce(lan, "node.lan", false), { address: "10.0.0.7", family: 4 });
  assertBlocked(await lookupOnce(lan, "imds.example", false), ADDRESS_REFUSALS.metadata);
  const api = createSafeLookup({ mode: "api", allowPrivate: true, resolve });
  assertBlocked(await lookupOnce(api, "here.example", false), ADDRESS_REFUSALS.loopbackApi);
  assertBlocked(await lookupOnce(api, "node.lan", false), ADDRESS_REFUSALS.privateApi);
});

test("metadata names are refused before resolving; resolver failures pass through unchanged", async () => {
  const { resolve, asked } = tableResolver(TABLE);
  const lookup = createSafeLookup({ mode: "config", allowPrivate: true, resolve });
  assertBlocked(await lookupOnce(lookup, "metadata.google.internal", false), ADDRESS_REFUSALS.metadataHostname);
  assert.equal(asked.length, 0);
  const missing = await lookupOnce(lookup, "nowhere.example", true);
  assert.ok("error" in missing && missing.error.code === "ENOTFOUND");
  const empty = await lookupOnce(lookup, "empty.example", false);
  assert.ok("error" in empty && empty.error.code === "ENOTFOUND");
});

async function countingServer(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as { port: number }).port, connections: () => count };
}

function connectOutcome(options: { host: string; port: number; lookup: LookupFunction }): Promise<Error | "connected"> {
  return within(
    new Promise((resolve) => {
      const socket = connect(options);
      socket.once("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", (error) => resolve(error));
    }),
    5_000,
    "connect",
  );
}

test("net.connect with the lookup: refused before any connection, allowed names connect", async () => {
  const { server, port, connections } = await countingServer();
  const { resolve } = tableResolver(TABLE);
  try {
    const config = createSafeLookup({ mode: "config", allowPrivate: false, resolve });
    // Loopback plus one private address: the loopback server must see nothing, because nothing is connected to.
    const refused = await connectOutcome({ host: "half-local.example", port, lookup: config });
    assert.ok(refused instanceof AddressBlockedError, String(refused));
    assert.equal(connections(), 0);
    assert.equal(await connectOutcome({ host: "here.example", port, lookup: config }), "connected");
    // The operating system's resolver: localhost is the operator's own machine, fine from config, refused from an API.
    const system = createSafeLookup({ mode: "config", allowPrivate: false });
    assert.equal(await connectOutcome({ host: "localhost", port, lookup: system }), "connected");
    const before = connections();
    const strict = createSafeLookup({ mode: "api", allowPrivate: true });
    const blocked = await connectOutcome({ host: "localhost", port, lookup: strict });
    assert.ok(blocked instanceof AddressBlockedError, String(blocked));
    assert.equal(blocked.reason, ADDRESS_REFUSALS.loopbackApi);
    assert.equal(connections(), before);
  } finally {
    server.close();
    await once(server, "close");
  }
});

test("checkUrl: scheme, metadata names, literals and resolved names, without repeating the URL", async () => {
  const { resolve } = tableResolver(TABLE);
  const signal = AbortSignal.timeout(5_000);
  const check = (url: string, mode: "config" | "api", allowPrivate = false) =>
    checkUrl(url, { mode, allowPrivate, signal, resolve });
  const refused = async (url: string, mode: "config" | "api", reason: string | RegExp, allowPrivate = false) => {
    const verdict = await check(url, mode, allowPrivate);
    assert.ok(!verdict.ok, url);
    if (typeof reason === "string") assert.equal(verdict.reason, reason, url);
    else assert.match(verdict.reason, reason, url);
    assert.ok(!verdict.reason.includes(CANARY));
  };
  const key = `/v2/${CANARY}?apikey=${CANARY}`;
  for (const scheme of ["http", "https", "ws", "wss"]) {
    assert.deepEqual(await check(`${scheme}://rpc.example${key}`, "api"), { ok: true });
  }
  await refused(`ftp://rpc.example${key}`, "config", "the scheme must be http, https, ws or wss");
  await refused(`file:///etc/${CANARY}`, "config", "the scheme must be http, https, ws or wss");
  await refused(`not a url ${CANARY}`, "config", "not a valid URL");
  await refused(`http://metadata.google.internal${key}`, "config", ADDRESS_REFUSALS.metadataHostname, true);
  await refused(`http://169.254.169.254${key}`, "config", ADDRESS_REFUSALS.metadata, true);
  await refused(`http://[::ffff:169.254.169.254]${key}`, "config", ADDRESS_REFUSALS.metadata, true);
  await refused(`http://0xa9fea9fe${key}`, "config", ADDRESS_REFUSALS.metadata, true);
  await refused(`http://imds.example${key}`, "config", ADDRESS_REFUSALS.metadata, true);
  await refused(`http://rebind.example${key}`, "api", ADDRESS_REFUSALS.metadata);
  await refused(`http://10.0.0.1${key}`, "config", ADDRESS_REFUSALS.private);
  assert.deepEqual(await check(`http://10.0.0.1${key}`, "config", true), { ok: true });
  await refused(`http://node.lan${key}`, "api", ADDRESS_REFUSALS.privateApi, true);
  assert.deepEqual(await check(`http://127.0.0.1:8545${key}`, "config"), { ok: true });
  await refused(`http://127.0.0.1:8545${key}`, "api", ADDRESS_REFUSALS.loopbackApi);
  await refused(`http://here.example${key}`, "api", ADDRESS_REFUSALS.loopbackApi);
  await refused(`http://nowhere.example${key}`, "api", "the host name could not be resolved (ENOTFOUND)");
  await refused(`http://empty.example${key}`, "config", "the host name resolved to no address");
});

test("checkUrl with the system resolver: localhost is loopback", async () => {
  const signal = AbortSignal.timeout(5_000);
  assert.deepEqual(await checkUrl("http://localhost:8545/", { mode: "config", allowPrivate: false, signal }), {
    ok: true,
  });
  assert.deepEqual(await checkUrl("ws://localhost:8545/", { mode: "api", allowPrivate: true, signal }), {
    ok: false,
    reason: ADDRESS_REFUSALS.loopbackApi,
  });
});

test("checkUrl stops waiting for a resolver when its signal aborts", async () => {
  let release: (() => void) | undefined;
  const stuck: ResolveHostname = () =>
    new Promise((resolve) => {
      release = () => resolve([{ address: "8.8.8.8", family: 4 }]);
    });
  const controller = new AbortController();
  const pending = checkUrl("http://slow.example/", {
    mode: "api",
    allowPrivate: false,
    signal: controller.signal,
    resolve: stuck,
  });
  const reason = new Error("caller gave up");
  controller.abort(reason);
  await assert.rejects(within(pending, 1_000, "checkUrl"), (error) => error === reason);
  release?.();
  await assert.rejects(
    checkUrl("http://rpc.example/", { mode: "api", allowPrivate: false, signal: controller.signal }),
    (error) => error === reason,
  );
});

test("addressBlockedReason finds the refusal through causes and aggregate errors", () => {
  const blocked = new AddressBlockedError(ADDRESS_REFUSALS.metadata);
  assert.equal(addressBlockedReason(blocked), ADDRESS_REFUSALS.metadata);
  assert.equal(addressBlockedReason(new Error("wrapped", { cause: blocked })), ADDRESS_REFUSALS.metadata);
  assert.equal(addressBlockedReason(new AggregateError([new Error("x"), blocked])), ADDRESS_REFUSALS.metadata);
  assert.equal(addressBlockedReason(new Error("ECONNREFUSED")), undefined);
  assert.equal(addressBlockedReason("text"), undefined);
});
