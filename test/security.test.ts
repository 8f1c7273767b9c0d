/**
 * FAULTS.md part B, case by case, against a gateway in front of real anvil nodes: every hostile or broken request
 * gets the documented HTTP status and JSON-RPC code, and a refused request makes zero upstream calls. The API keys
 * used here carry the canary secret, so the suite-wide canary guard proves none of them is ever echoed.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseGwei } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import WebSocket from "ws";
import { startApp } from "../src/app/app.ts";
import { validateConfig } from "../src/config/load.ts";
import { silentLogger } from "../src/core/ports.ts";
import { hashApiKey, RATE_LIMIT_MAX_DEBT_WINDOWS } from "../src/server/access.ts";
import { MAX_DRAINED_BODY_BYTES } from "../src/server/admission.ts";
import { CANARY, startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { within } from "./harness/transport-kit.ts";
import { waitFor } from "./harness/wait.ts";

/** Methods the gateway itself sends in the background (head polls, chain checks). */
const BACKGROUND = new Set(["eth_getBlockByNumber", "eth_chainId"]);

const KEYS = {
  full: `mh_${CANARY}_full`,
  metered: `mh_${CANARY}_metered`,
  revoked: `mh_${CANARY}_revoked`,
  otherChain: `mh_${CANARY}_other_chain`,
  chainIdOnly: `mh_${CANARY}_chain_id_only`,
  walletPage: `mh_${CANARY}_wallet_page`,
  wsMetered: `mh_${CANARY}_ws_metered`,
  revocable: `mh_${CANARY}_revocable`,
  overdrawn: `mh_${CANARY}_overdrawn`,
};
const keysDir = mkdtempSync(join(tmpdir(), "multihome-security-keys-"));
const KEYS_FILE = join(keysDir, "keys.yaml");
const writeKeysFile = (revoked: boolean) =>
  writeFileSync(KEYS_FILE, `- { id: revocable, hash: "${hashApiKey(KEYS.revocable)}", revoked: ${revoked} }\n`);
const ADMIN_TOKEN = `admin-${CANARY}-token`;
/** The peer whose `X-Forwarded-For` is believed. */
const TRUSTED_PROXY = "127.0.0.4";
const LOOP_CONTRACT = "0x00000000000000000000000000000000000000aa";

let net: TestNetwork;
let other: Awaited<ReturnType<typeof startApp>> | undefined;

/** Upstream requests of `method` since the stats were reset. */
function upstreamCallsOf(method: string): number {
  let total = 0;
  for (const p of net.proxies.values()) total += p.stats().byMethod[method] ?? 0;
  return total;
}

function clientCalls(): number {
  let total = 0;
  for (const p of net.proxies.values()) {
    for (const [method, n] of Object.entries(p.stats().byMethod)) if (!BACKGROUND.has(method)) total += n;
  }
  return total;
}

interface Request {
  body?: string | Buffer;
  headers?: Record<string, string>;
  path?: string;
  method?: string;
  /** The client's own address (127.0.0.x). */
  address?: string;
  base?: string;
}

/**
 * One request over node:http (which can bind the client's own loopback address, 127.0.0.x: each address is a
 * distinct client to the gateway). A header given as "" is left out (to drop the default key).
 */
function send(request: Request): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const url = new URL(`${request.base ?? net.baseUrl}${request.path ?? `/rpc/${net.chainId}`}`);
  const headers = Object.fromEntries(
    Object.entries({ "content-type": "application/json", ...request.headers }).filter(([, v]) => v !== ""),
  );
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: request.method ?? "POST",
        headers,
        agent: false,
        ...(request.address ? { localAddress: request.address } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers: h, text, json });
        });
      },
    );
    // A server that answers before reading the whole body (413) may close while it is still being sent.
    req.on("error", reject);
    req.end(request.body);
  });
}

const call = (method: string, params: unknown[] = [], id: unknown = 1) =>
  JSON.stringify({ jsonrpc: "2.0", id, method, params });
const keyed = (key: string) => ({ authorization: `Bearer ${key}` });

before(async () => {
  writeKeysFile(false);
  net = await startTestNetwork({
    config: {
      server: {
        host: "127.0.0.1",
        port: 0,
        maxConnectionsPerClient: 24,
        overCapHoldMs: 200,
        trustedProxies: [TRUSTED_PROXY],
        corsOrigins: ["https://app.example"],
        headersTimeoutMs: 1_000,
        requestTimeoutMs: 2_000,
      },
      admin: { host: "127.0.0.1", port: 0, token: ADMIN_TOKEN },
      websocket: { maxConnectionsPerClient: 4, maxSubscriptionsPerConnection: 8 },
      logs: { maxBlockRange: 2 },
      calls: { maxGas: 1_000_000 },
      auth: {
        anonymous: true,
        // An hour-long window: a test's requests never straddle two windows.
        anonymousRateLimit: { units: 10, windowSeconds: 3_600 },
        keys: [
          { id: "full", hash: hashApiKey(KEYS.full) },
          { id: "metered", hash: hashApiKey(KEYS.metered), rateLimit: { units: 150, windowSeconds: 3_600 } },
          { id: "revoked", hash: hashApiKey(KEYS.revoked), revoked: true },
          { id: "other-chain", hash: hashApiKey(KEYS.otherChain), chains: [1] },
          { id: "chain-id-only", hash: hashApiKey(KEYS.chainIdOnly), methods: ["eth_chainId"] },
          { id: "wallet-page", hash: hashApiKey(KEYS.walletPage), origins: ["https://wallet.example"] },
          { id: "ws-metered", hash: hashApiKey(KEYS.wsMetered), rateLimit: { units: 5, windowSeconds: 3_600 } },
          { id: "overdrawn", hash: hashApiKey(KEYS.overdrawn), rateLimit: { units: 10, windowSeconds: 1 } },
        ],
        keysFile: KEYS_FILE,
        keysReloadIntervalMs: 100,
      },
    },
  });
  await net.devnet.mine(5);
  await net.synced();
  for (let i = 0; i < net.devnet.nodes.length; i++) {
    // An infinite loop (JUMPDEST, PUSH1 0, JUMP) at the same address on every node.
    await net.direct("anvil_setCode", [LOOP_CONTRACT, "0x5b600056"], i);
  }
});
after(async () => {
  rmSync(keysDir, { recursive: true, force: true });
  await other?.stop();
  await net?.stop();
});

async function signed(options: { chainId?: number; unprotected?: boolean }): Promise<string> {
  const account = privateKeyToAccount(net.devnet.accounts[3]!.privateKey);
  if (options.unprotected)
    return account.signTransaction({ nonce: 0, to: account.address, gas: 21_000n, gasPrice: 1n, type: "legacy" });
  return account.signTransaction({
    chainId: options.chainId ?? net.chainId,
    nonce: 0,
    to: account.address,
    value: 1n,
    gas: 21_000n,
    maxFeePerGas: parseGwei("20"),
    maxPriorityFeePerGas: parseGwei("1"),
  });
}

interface Case {
  id: string;
  name: string;
  request: () => Promise<Request> | Request;
  status: number;
  /** The JSON-RPC error code of a single answer; undefined: no JSON-RPC error expected. */
  code?: number;
  check?: (r: Awaited<ReturnType<typeof send>>) => void;
  /** Upstream calls the request may make (0 unless it is served); "by check": counted by `check` itself. */
  upstreamCalls?: number | "by check";
}

const batchOf = (n: number, method = "eth_chainId") =>
  JSON.stringify(Array.from({ length: n }, (_, i) => ({ jsonrpc: "2.0", id: i, method, params: [] })));

const CASES: Case[] = [
  { id: "B1", name: "not JSON", request: () => ({ body: "this ain't an RPC call" }), status: 400, code: -32700 },
  {
    id: "B1",
    name: "invalid UTF-8",
    request: () => ({ body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }),
    status: 400,
    code: -32700,
  },
  { id: "B2", name: "empty body", request: () => ({ body: "" }), status: 400, code: -32700 },
  { id: "B2", name: "whitespace only", request: () => ({ body: "  \n\t " }), status: 400, code: -32700 },
  { id: "B3", name: "a number", request: () => ({ body: "123" }), status: 400, code: -32600 },
  { id: "B3", name: "a string", request: () => ({ body: '"x"' }), status: 400, code: -32600 },
  { id: "B3", name: "null", request: () => ({ body: "null" }), status: 400, code: -32600 },
  {
    id: "B4",
    name: "jsonrpc missing",
    request: () => ({ body: '{"id":1,"method":"eth_chainId"}' }),
    status: 400,
    code: -32600,
  },
  {
    id: "B4",
    name: 'jsonrpc "1.0"',
    request: () => ({ body: '{"jsonrpc":"1.0","id":1,"method":"eth_chainId"}' }),
    status: 400,
    code: -32600,
    check: (r) => assert.match(r.json.error.message, /invalid JSON-RPC version/),
  },
  {
    id: "B5",
    name: "method missing",
    request: () => ({ body: '{"jsonrpc":"2.0","id":1}' }),
    status: 400,
    code: -32600,
  },
  {
    id: "B5",
    name: "method not a string",
    request: () => ({ body: '{"jsonrpc":"2.0","id":1,"method":42}' }),
    status: 400,
    code: -32600,
  },
  {
    id: "B5",
    name: "method empty",
    request: () => ({ body: '{"jsonrpc":"2.0","id":1,"method":""}' }),
    status: 400,
    code: -32600,
  },
  {
    id: "B5",
    name: "method over 64 characters",
    request: () => ({ body: call(`eth_${"x".repeat(80)}`) }),
    status: 400,
    code: -32600,
  },
  ...["9007199254740993", "1755648000000000123", '"abc"'].map(
    (id): Case => ({
      id: "B7",
      name: `id ${id} echoed byte-exact`,
      request: () => ({ body: `{"jsonrpc":"2.0","id":${id},"method":"eth_chainId","params":[]}` }),
      status: 200,
      check: (r) => assert.ok(r.text.includes(`"id":${id}`), r.text),
    }),
  ),
  ...["-0", "1.5", "1.0", "0e0"].map(
    (id): Case => ({
      id: "B7",
      name: `id ${id} rejected`,
      request: () => ({ body: `{"jsonrpc":"2.0","id":${id},"method":"eth_chainId","params":[]}` }),
      status: 400,
      code: -32600,
      check: (r) => assert.equal(r.json.id, null),
    }),
  ),
  ...[
    "admin_addPeer",
    "debug_traceTransaction",
    "personal_unlockAccount",
    "eth_sign",
    "eth_signTypedData_v4",
    "eth_sendTransaction",
    "miner_start",
    "txpool_content",
    "engine_newPayloadV3",
    "erpc_taxonomy",
    "anvil_setBalance",
  ].map(
    (method): Case => ({
      id: "B9",
      name: `disallowed ${method}`,
      request: () => ({ body: call(method, ["0x00"]) }),
      status: 200,
      code: -32601,
      check: (r) => assert.equal(/https?:|127\.0\.0\.1|\/v3\//.test(r.text), false, r.text),
    }),
  ),
  {
    id: "B12",
    name: "depth 10,000",
    request: () => ({ body: `${"[".repeat(10_000)}${"]".repeat(10_000)}` }),
    status: 400,
    code: -32600,
  },
  {
    id: "B12",
    name: "depth 1,000,000 in params",
    request: () => ({ body: `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":${"[".repeat(1_000_000)}` }),
    status: 400,
    code: -32600,
  },
  {
    id: "B13",
    name: "a 6 MiB body",
    request: () => ({ body: Buffer.alloc(6 * 1024 * 1024, 0x20) }),
    status: 413,
    code: -32005,
    check: (r) => assert.equal(r.json.error.data.reason, "request body too large"),
  },
  {
    id: "B16",
    name: "a batch of 10,000",
    request: () => ({ body: batchOf(10_000) }),
    status: 413,
    code: -32005,
    check: (r) => assert.equal(r.json.error.data.reason, "too many calls in batch"),
  },
  {
    id: "B17",
    name: "an empty batch",
    request: () => ({ body: "[]" }),
    status: 400,
    code: -32600,
    check: (r) => assert.equal(Array.isArray(r.json), false),
  },
  {
    id: "B18",
    name: "a batch of valid, disallowed and malformed items",
    request: () => ({
      body: `[{"jsonrpc":"2.0","id":1,"method":"subtract","params":[42,23]},{"jsonrpc":"2.0","id":2,"method":"web3_clientVersion","params":[]},123]`,
    }),
    status: 200,
    // Only the valid item goes out: one upstream's client version.
    upstreamCalls: 1,
    check: (r) => {
      assert.equal(r.json[0].id, 1);
      assert.equal(r.json[0].error.code, -32601);
      assert.equal(r.json[1].id, 2);
      assert.equal(typeof r.json[1].result, "string");
      assert.equal(r.json[2].error.code, -32600);
    },
  },
  {
    id: "B21",
    name: "eth_getLogs from 0x0 to latest over the range cap",
    request: () => ({ body: call("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest" }]) }),
    status: 200,
    code: -32602,
  },
  {
    id: "B21",
    name: "eth_getLogs with more addresses than allowed",
    request: () => ({
      body: call("eth_getLogs", [
        {
          fromBlock: "latest",
          address: Array.from({ length: 1_001 }, (_, i) => `0x${i.toString(16).padStart(40, "0")}`),
        },
      ]),
    }),
    status: 200,
    code: -32602,
  },
  {
    id: "B24",
    name: "eth_call of an infinite loop with gas 2^64-1 runs out of the capped gas",
    request: () => ({ body: call("eth_call", [{ to: LOOP_CONTRACT, gas: "0xffffffffffffffff" }, "latest"]) }),
    status: 200,
    // Over the gas a call may burn here (MAX_LOCAL_EXECUTION_GAS), it is not settled locally: beside the one upstream
    // asked with the local run, the quorum of two independent domains agree the capped gas runs out (a slow attempt
    // may draw a hedge besides).
    upstreamCalls: "by check",
    check: (r) => {
      assert.match(r.json.error.message, /out ?of ?gas/i);
      assert.ok(upstreamCallsOf("eth_call") >= 3, `${upstreamCallsOf("eth_call")} eth_call upstream calls`);
    },
  },
  {
    id: "B26",
    name: "raw transaction not hex",
    request: () => ({ body: call("eth_sendRawTransaction", ["0xzz"]) }),
    status: 200,
    code: -32602,
  },
  {
    id: "B26",
    name: "raw transaction of odd length",
    request: () => ({ body: call("eth_sendRawTransaction", ["0x02f"]) }),
    status: 200,
    code: -32602,
  },
  {
    id: "B26",
    name: "raw transaction over 128 KiB",
    request: () => ({ body: call("eth_sendRawTransaction", [`0x${"ab".repeat(140 * 1024)}`]) }),
    status: 200,
    code: -32602,
  },
  {
    id: "B26",
    name: "raw transaction of an unsupported type",
    request: () => ({ body: call("eth_sendRawTransaction", ["0x7ff86c827a6980843b9aca00"]) }),
    status: 200,
    code: -32602,
  },
  {
    id: "B27",
    name: "signed for another chain",
    request: async () => ({ body: call("eth_sendRawTransaction", [await signed({ chainId: 1 })]) }),
    status: 200,
    code: -32003,
  },
  {
    id: "B27",
    name: "pre-EIP-155 unprotected",
    request: async () => ({ body: call("eth_sendRawTransaction", [await signed({ unprotected: true })]) }),
    status: 200,
    code: -32003,
  },
  {
    id: "B32",
    name: "unknown key",
    request: () => ({ body: call("eth_chainId"), headers: keyed(`mh_${CANARY}_unknown`) }),
    status: 401,
    code: -32090,
  },
  {
    id: "B32",
    name: "revoked key, same message as unknown",
    request: () => ({ body: call("eth_chainId"), headers: keyed(KEYS.revoked) }),
    status: 401,
    code: -32090,
    check: (r) => assert.equal(r.json.error.message, "unauthorized: unknown or revoked API key"),
  },
  {
    id: "B32",
    name: "unknown key in the URL path",
    request: () => ({ body: call("eth_chainId"), path: `/rpc/${net.chainId}/mh_${CANARY}_unknown` }),
    status: 401,
    code: -32090,
  },
  {
    id: "B32",
    name: "key for another chain",
    request: () => ({ body: call("eth_chainId"), headers: keyed(KEYS.otherChain) }),
    status: 403,
    code: -32091,
  },
  {
    id: "B32",
    name: "key not allowed this method",
    request: () => ({
      body: call("eth_getBalance", [net.devnet.accounts[0]!.address]),
      headers: keyed(KEYS.chainIdOnly),
    }),
    status: 200,
    code: -32601,
  },
  {
    id: "B35",
    name: "Origin https://evil.example",
    request: () => ({ body: call("eth_blockNumber"), headers: { origin: "https://evil.example" } }),
    status: 403,
    code: -32091,
    check: (r) => assert.equal(r.headers.get("access-control-allow-origin"), null),
  },
  {
    id: "B35",
    name: "Origin null",
    request: () => ({ body: call("eth_blockNumber"), headers: { origin: "null" } }),
    status: 403,
    code: -32091,
  },
  {
    id: "B35",
    name: "preflight from an origin not allowed",
    request: () => ({
      method: "OPTIONS",
      headers: {
        origin: "https://evil.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    }),
    status: 403,
    check: (r) => assert.equal(r.headers.get("access-control-allow-origin"), null),
  },
  {
    id: "B35",
    name: "text/plain POST from a foreign page on a keyed route",
    request: () => ({
      body: call("eth_getBalance", [net.devnet.accounts[0]!.address]),
      headers: { "content-type": "text/plain", origin: "https://evil.example", ...keyed(KEYS.full) },
    }),
    status: 403,
    code: -32091,
  },
  {
    id: "B35",
    name: "a key limited to its wallet's page, used from another allowed page",
    request: () => ({
      body: call("eth_chainId"),
      headers: { origin: "https://app.example", ...keyed(KEYS.walletPage) },
    }),
    status: 403,
    code: -32091,
  },
  ...["/metrics", "/status", "/health", "/admin/api/status"].map(
    (path): Case => ({
      id: "B38",
      name: `probe ${path} on the public listener`,
      request: () => ({ path, method: "GET" }),
      status: 404,
      check: (r) => assert.equal(r.text.includes(CANARY), false),
    }),
  ),
];

describe("FAULTS.md B: each refused request, its status and code, and zero upstream calls", () => {
  for (const c of CASES) {
    test(`${c.id}: ${c.name}`, async () => {
      const request = await c.request();
      net.resetStats();
      const r = await send({ ...request, headers: { ...keyed(KEYS.full), ...request.headers } });
      assert.equal(r.status, c.status, r.text.slice(0, 300));
      if (c.code !== undefined) {
        assert.ok(r.json && !Array.isArray(r.json) && r.json.error, r.text.slice(0, 300));
        assert.equal(r.json.error.code, c.code, r.text.slice(0, 300));
      }
      c.check?.(r);
      if (c.upstreamCalls !== "by check") assert.equal(clientCalls(), c.upstreamCalls ?? 0);
      assert.equal(r.text.includes(CANARY), false);
    });
  }
});

describe("B20, B32, B34: keys and rate limits", () => {
  test("B20: a key limited to 150 units is debited per batch item: a second batch of 100 is refused whole", async () => {
    const headers = keyed(KEYS.metered);
    const first = await send({ body: batchOf(100), headers });
    assert.equal(first.status, 200);
    net.resetStats();
    const second = await send({ body: batchOf(100, "eth_getBalance"), headers });
    assert.equal(second.status, 429, second.text);
    assert.equal(second.json.error.code, -32005);
    assert.ok(Number(second.headers.get("retry-after")) >= 1);
    // Refused before it was read: the next call of the key is refused too, without an upstream call.
    const third = await send({ body: call("eth_chainId"), headers });
    assert.equal(third.status, 429);
    assert.equal(clientCalls(), 0);
  });

  test("an overdraft is paid off in later windows; a refused big body is not drained, its connection is closed", async () => {
    const headers = keyed(KEYS.overdrawn);
    // 100 items, a unit or more each, against 10 units a second: at least 9 windows overdrawn, refused ~10 s or more.
    const batch = await send({ body: batchOf(100), headers });
    assert.equal(batch.status, 429, batch.text);
    const owed = Number(batch.headers.get("retry-after"));
    assert.ok(owed >= 9 && owed <= RATE_LIMIT_MAX_DEBT_WINDOWS + 1, `Retry-After ${owed}`);
    net.resetStats();
    // Still refused, before its body is read. A small body is drained and the connection kept...
    const small = await send({ body: call("eth_chainId"), headers: { ...headers, connection: "keep-alive" } });
    assert.equal(small.status, 429);
    assert.ok(Number(small.headers.get("retry-after")) >= 8);
    assert.equal(small.headers.get("connection"), "keep-alive");
    // ...a big one is left unread and the connection closed, rather than read and dropped.
    const big = call("eth_call", [{ to: LOOP_CONTRACT, data: `0x${"00".repeat(MAX_DRAINED_BODY_BYTES)}` }, "latest"]);
    const refused = await send({ body: big, headers: { ...headers, connection: "keep-alive" } });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("connection"), "close");
    assert.equal(clientCalls(), 0);
  });

  test("B32: no key on a gateway that takes only keys is 401; an invalid key is never served anonymously", async () => {
    other = await startApp(
      validateConfig({
        ...net.config,
        server: { ...net.config.server, port: 0 },
        auth: { ...net.config.auth, anonymous: false },
      }),
      { logger: silentLogger, readyTimeoutMs: 10_000 },
    );
    const base = other.server.url;
    const none = await send({ base, body: call("eth_chainId") });
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, -32090);
    const good = await send({ base, body: call("eth_chainId"), headers: keyed(KEYS.full) });
    assert.equal(good.status, 200);
    const inPath = await send({ base, body: call("eth_chainId"), path: `/rpc/${net.chainId}/${KEYS.full}` });
    assert.equal(inPath.status, 200);
    // On the anonymous-friendly gateway too, a wrong key is refused rather than served as anonymous.
    const wrong = await send({ body: call("eth_chainId"), headers: keyed(`${KEYS.full}x`) });
    assert.equal(wrong.status, 401);
  });

  test("B34: anonymous per-address limit; spoofed X-Forwarded-For from an untrusted peer does not reset it", async () => {
    const spoofer = "127.0.0.2";
    let refused: Awaited<ReturnType<typeof send>> | undefined;
    for (let i = 0; i < 12 && !refused; i++) {
      const r = await send({
        address: spoofer,
        body: call("eth_chainId"),
        headers: { authorization: "", "x-forwarded-for": `203.0.113.${i}` },
      });
      if (r.status === 429) refused = r;
      else assert.equal(r.status, 200, `${i} ${r.text}`);
    }
    assert.ok(refused, "the spoofing client was never limited");
    assert.equal(refused.json.error.code, -32005);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    // Another client is not affected.
    const neighbour = await send({ address: "127.0.0.3", body: call("eth_chainId"), headers: { authorization: "" } });
    assert.equal(neighbour.status, 200);
  });

  test("B34: behind a trusted proxy, IPv6 clients rotating within one /64 share one limit", async () => {
    let refusedAt: number | undefined;
    for (let i = 0; i < 12 && refusedAt === undefined; i++) {
      const r = await send({
        address: TRUSTED_PROXY,
        body: call("eth_chainId"),
        headers: { authorization: "", "x-forwarded-for": `2001:db8:1:2::${(i + 1).toString(16)}, 198.51.100.7` },
      });
      // The proxy appended the real client; the right-most untrusted hop is it: 198.51.100.7, same for all.
      if (r.status === 429) refusedAt = i;
    }
    assert.equal(refusedAt, 10);
    let ipv6RefusedAt: number | undefined;
    for (let i = 0; i < 12 && ipv6RefusedAt === undefined; i++) {
      const r = await send({
        address: TRUSTED_PROXY,
        body: call("eth_chainId"),
        headers: { authorization: "", "x-forwarded-for": `2001:db8:1:2:${(i + 1).toString(16)}::1` },
      });
      if (r.status === 429) ipv6RefusedAt = i;
    }
    assert.equal(ipv6RefusedAt, 10, "addresses within one /64 count as one client");
  });
});

describe("the admin listener", () => {
  test("is a port of its own, and every request needs the admin token; its answers carry no upstream URL", async () => {
    const base = net.app.admin!.url;
    assert.notEqual(base, net.baseUrl);
    const none = await send({ base, path: "/admin/api/status", method: "GET", headers: { authorization: "" } });
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    const wrong = await send({ base, path: "/admin/api/status", method: "GET", headers: keyed(`${ADMIN_TOKEN}x`) });
    assert.equal(wrong.status, 401);
    const key = await send({ base, path: "/admin/api/status", method: "GET", headers: keyed(KEYS.full) });
    assert.equal(key.status, 401, "a client API key is not an admin token");
    const ok = await send({ base, path: "/admin/api/status", method: "GET", headers: keyed(ADMIN_TOKEN) });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.chains[0].upstreams.length, 3);
    assert.equal(ok.text.includes(CANARY), false);
    assert.equal(/https?:\/\//.test(ok.text), false, ok.text);
    const missing = await send({ base, path: "/admin/api/nope", method: "GET", headers: keyed(ADMIN_TOKEN) });
    assert.equal(missing.status, 404);
  });
});

describe("B35: CORS for allowed origins", () => {
  test("an allowed origin gets its own origin back, never * and never credentials", async () => {
    const pre = await send({
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(pre.headers.get("access-control-allow-credentials"), null);
    const r = await send({ body: call("eth_chainId"), headers: { origin: "https://app.example", authorization: "" } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), "https://app.example");
    const wallet = await send({
      body: call("eth_chainId"),
      headers: { origin: "https://wallet.example", ...keyed(KEYS.walletPage) },
    });
    assert.equal(wallet.status, 200);
    assert.equal(wallet.headers.get("access-control-allow-origin"), "https://wallet.example");
  });
});

function wsUrl(path = `/rpc/${net.chainId}`): string {
  return `${net.baseUrl.replace("http", "ws")}${path}`;
}

function opened(ws: WebSocket): Promise<number | "open"> {
  return new Promise((resolve) => {
    ws.once("open", () => resolve("open"));
    ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.once("error", () => resolve(0));
  });
}

describe("B39: WebSocket abuse", () => {
  test("connections from one client beyond the cap are refused with 429; others still connect", async () => {
    const sockets: WebSocket[] = [];
    try {
      const results: (number | "open")[] = [];
      for (let i = 0; i < 6; i++) {
        const ws = new WebSocket(wsUrl(), { localAddress: "127.0.0.5", headers: keyed(KEYS.full) });
        sockets.push(ws);
        results.push(await opened(ws));
      }
      assert.deepEqual(results, ["open", "open", "open", "open", 429, 429]);
      const neighbour = new WebSocket(wsUrl(), { localAddress: "127.0.0.6", headers: keyed(KEYS.full) });
      sockets.push(neighbour);
      assert.equal(await opened(neighbour), "open");
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  });

  test("eth_subscribe sent as one batch never exceeds the subscription cap: 1,000 refused whole, 100 get 8", async () => {
    const ws = new WebSocket(wsUrl(), { localAddress: "127.0.0.7", headers: keyed(KEYS.full) });
    try {
      assert.equal(await opened(ws), "open");
      const next = () => new Promise<any>((resolve) => ws.once("message", (data) => resolve(JSON.parse(String(data)))));
      const subscribes = (n: number) => batchOf(n, "eth_subscribe").replaceAll('"params":[]', '"params":["newHeads"]');
      let reply = next();
      ws.send(subscribes(1_000));
      assert.equal((await reply).error.code, -32005);
      reply = next();
      ws.send(subscribes(100));
      const items: any[] = await reply;
      assert.equal(items.filter((i) => typeof i.result === "string").length, 8);
      assert.ok(items.filter((i) => i.error).every((i) => i.error.code === -32005));
    } finally {
      ws.terminate();
    }
  });

  test("a frame over the message limit closes with 1009; an upgrade with 2,000 headers or a 32k protocol header is refused", async () => {
    const ws = new WebSocket(wsUrl(), { localAddress: "127.0.0.8", headers: keyed(KEYS.full) });
    assert.equal(await opened(ws), "open");
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.send(Buffer.alloc(2 * 1024 * 1024, 0x20));
    assert.equal(await closed, 1009);

    const many = Array.from({ length: 2_000 }, (_, i) => `x-h${i}: v`).join("\r\n");
    assert.match(await rawUpgrade(`${many}\r\n`), /^HTTP\/1\.1 (400|431) /);
    assert.match(await rawUpgrade(`Sec-WebSocket-Protocol: a${" ".repeat(32_768)}b\r\n`), /^HTTP\/1\.1 (400|431) /);
    const alive = await send({ body: call("eth_chainId") });
    assert.equal(alive.status, 200);
  });
});

/** A raw upgrade request with extra header lines; resolves with whatever the server answered before closing. */
function rawUpgrade(extra: string): Promise<string> {
  const url = new URL(net.baseUrl);
  return new Promise((resolve) => {
    const socket = connect({ port: Number(url.port), host: url.hostname, localAddress: "127.0.0.9" });
    let response = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      response += d;
    });
    socket.on("error", () => {});
    socket.once("close", () => resolve(response));
    socket.write(
      `GET /rpc/${net.chainId} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`,
    );
  });
}

describe("B40: slowloris", () => {
  function slowSocket(address: string): Promise<Socket> {
    const url = new URL(net.baseUrl);
    return new Promise((resolve, reject) => {
      const socket = connect({ port: Number(url.port), host: url.hostname, localAddress: address }, () =>
        resolve(socket),
      );
      socket.once("error", reject);
    });
  }

  test("headers trickling in are cut at server.headersTimeoutMs; a body trickling in at server.requestTimeoutMs", async () => {
    const headers = await slowSocket("127.0.0.10");
    let headersAnswer = "";
    headers.setEncoding("utf8");
    headers.on("data", (d: string) => {
      headersAnswer += d;
    });
    headers.write("POST /rpc/");
    const body = await slowSocket("127.0.0.10");
    let bodyAnswer = "";
    body.setEncoding("utf8");
    body.on("data", (d: string) => {
      bodyAnswer += d;
    });
    body.write(
      `POST /rpc/${net.chainId} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
    );
    const closed = (s: Socket) => new Promise<void>((resolve) => s.once("close", () => resolve()));
    await within(closed(headers), 5_000, "the header trickle to be cut");
    await within(closed(body), 5_000, "the body trickle to be cut");
    assert.match(headersAnswer, /^HTTP\/1\.1 408 /);
    assert.match(bodyAnswer, /^HTTP\/1\.1 408 /);
  });

  test("idle connections beyond the per-client cap are never read and are closed; other clients are unaffected", async () => {
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 24; i++) sockets.push(await slowSocket("127.0.0.11"));
      const extra = await slowSocket("127.0.0.11");
      sockets.push(extra);
      await new Promise<void>((resolve) => extra.once("close", () => resolve()));
      assert.equal(sockets.slice(0, 24).filter((s) => s.destroyed).length, 0);
      const neighbour = await send({ body: call("eth_chainId") });
      assert.equal(neighbour.status, 200);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});

describe("one gate for every path: WebSocket messages, REST views and refused bodies pay and are refused alike", () => {
  /** One JSON-RPC exchange on an open WebSocket. */
  function exchange(ws: WebSocket, body: string): Promise<any> {
    return new Promise((resolve) => {
      ws.once("message", (data) => resolve(JSON.parse(String(data))));
      ws.send(body);
    });
  }

  test("over WebSocket a key is debited per item; once over, its messages and new upgrades are refused", async () => {
    const ws = new WebSocket(wsUrl(), { localAddress: "127.0.0.12", headers: keyed(KEYS.wsMetered) });
    try {
      assert.equal(await opened(ws), "open");
      assert.match((await exchange(ws, call("eth_chainId"))).result, /^0x/);
      net.resetStats();
      assert.equal((await exchange(ws, batchOf(10))).error.code, -32005, "10 more units than the 5 allowed");
      const next = await exchange(ws, call("eth_gasPrice"));
      assert.equal(next.error.code, -32005);
      assert.equal(clientCalls(), 0);
      const again = new WebSocket(wsUrl(), { localAddress: "127.0.0.12", headers: keyed(KEYS.wsMetered) });
      assert.equal(await opened(again), 429);
    } finally {
      ws.terminate();
    }
  });

  test("a key revoked in the keys file stops working on a WebSocket already open", async () => {
    const ws = new WebSocket(wsUrl(), { localAddress: "127.0.0.13", headers: keyed(KEYS.revocable) });
    try {
      assert.equal(await opened(ws), "open");
      assert.match((await exchange(ws, call("eth_chainId"))).result, /^0x/);
      writeKeysFile(true);
      const refused = await waitFor(
        async () => {
          const reply = await exchange(ws, call("eth_chainId"));
          return reply.error?.code === -32090 ? reply : undefined;
        },
        { timeoutMs: 5_000, what: "the revocation to reach the open connection" },
      );
      assert.equal(refused.error.message, "unauthorized: unknown or revoked API key");
    } finally {
      ws.terminate();
      writeKeysFile(false);
    }
  });

  test("the REST views pay too, and a refusal is a REST error body with Retry-After", async () => {
    const path = `/v1/chains/${net.chainId}/accounts/${net.devnet.accounts[0]!.address}`;
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof send>> | undefined;
    for (let i = 0; i < 4 && !refused; i++) {
      const r = await send({ path, method: "GET", address: "127.0.0.14", headers: { authorization: "" } });
      statuses.push(r.status);
      if (r.status === 429) refused = r;
    }
    // Whether the view itself can answer (200, or 503 without a proven balance) does not matter: it was paid for.
    assert.deepEqual(
      statuses.map((status) => status === 429),
      [false, false, true],
      `4 units each against an anonymous limit of 10: ${statuses}`,
    );
    assert.deepEqual(refused!.json.error.code, "rate_limited");
    assert.ok(Number(refused!.headers.get("retry-after")) >= 1);
  });

  test("bodies refused whole (too large, not UTF-8) are debited like any other", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const body = i % 2 === 0 ? Buffer.alloc(2 * 1024 * 1024, 0x20) : Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      const r = await send({ body, address: "127.0.0.15", headers: { authorization: "" } });
      statuses.push(r.status);
    }
    // 2 units each against an anonymous limit of 10: the 6th is over it.
    assert.deepEqual(statuses, [413, 400, 413, 400, 413, 429]);
  });
});
