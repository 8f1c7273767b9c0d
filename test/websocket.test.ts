/**
 * JSON-RPC over WebSocket and eth_subscribe on real anvil nodes behind fault proxies, with a plain `ws` client, viem
 * (watchBlocks, watchEvent) and an ethers WebSocketProvider: every method over WS, A28 (an upstream and, separately,
 * a whole domain die mid-stream: no block missing or duplicated, the subscription id unchanged), removed logs on a
 * reorg, and the per-connection limits and close codes.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { WebSocketProvider } from "ethers";
import { createPublicClient, type Hex, webSocket } from "viem";
import WebSocket from "ws";
import type { MultihomeError } from "../src/core/errors.ts";
import { type Metrics, noopMetrics, silentLogger } from "../src/core/ports.ts";
import type { Engine } from "../src/engine/engine.ts";
import { createWsServer } from "../src/server/ws-server.ts";
import { EMITTER_INIT, EMITTER_TOPIC } from "./harness/contracts.ts";
import { FOUR_NODES_TWO_ON_AWS, startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { devSender } from "./harness/sender.ts";
import { waitFor } from "./harness/wait.ts";

type Json = Record<string, unknown>;

interface Client {
  ws: WebSocket;
  /** One call; resolves with the whole reply object. */
  request(method: string, params?: unknown[]): Promise<Json>;
  /** Sends raw text; resolves with the next reply that is not a notification. */
  raw(text: string): Promise<unknown>;
  /** Notifications received, by subscription id. */
  notifications: Map<string, unknown[]>;
  closed: Promise<{ code: number; reason: string }>;
}

async function connect(url: string, options: WebSocket.ClientOptions = {}): Promise<Client> {
  const ws = new WebSocket(url, options);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  ws.on("error", () => {});
  const notifications = new Map<string, unknown[]>();
  const waiting: ((reply: unknown) => void)[] = [];
  const byId = new Map<unknown, (reply: Json) => void>();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as Json;
    if (!Array.isArray(msg) && msg.method === "eth_subscription") {
      const { subscription, result } = msg.params as { subscription: string; result: unknown };
      const list = notifications.get(subscription) ?? [];
      list.push(result);
      notifications.set(subscription, list);
      return;
    }
    const resolve = !Array.isArray(msg) && byId.get(msg.id);
    if (resolve) {
      byId.delete(msg.id);
      resolve(msg);
    } else waiting.shift()?.(msg);
  });
  let nextId = 1;
  return {
    ws,
    notifications,
    closed,
    request(method, params = []) {
      const id = `c${nextId++}`;
      return new Promise((resolve) => {
        byId.set(id, resolve);
        ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
      });
    },
    raw(text) {
      return new Promise((resolve) => {
        waiting.push(resolve);
        ws.send(text);
      });
    },
  };
}

/** Block numbers in order of arrival: how many are missing and how many came twice over [first, last]. */
function gaps(numbers: number[]) {
  const seen = new Set<number>();
  let duplicates = 0;
  let outOfOrder = 0;
  numbers.forEach((n, i) => {
    if (seen.has(n)) duplicates++;
    seen.add(n);
    if (i > 0 && n !== numbers[i - 1]! + 1) outOfOrder++;
  });
  const first = Math.min(...numbers);
  const last = Math.max(...numbers);
  let missing = 0;
  for (let n = first; n <= last; n++) if (!seen.has(n)) missing++;
  return { first, last, missing, duplicates, outOfOrder };
}

const hexNumber = (n: unknown) => Number(n as string);

const statusOf = (net: TestNetwork, id: string) =>
  net.app.engine.readiness().chains[0]!.upstreams.find((u) => u.id === id)!;

/** Waits until the gateway itself has found `id` failing: the fault struck, and what follows happens without it. */
async function seenDown(net: TestNetwork, id: string): Promise<void> {
  await waitFor(() => statusOf(net, id).breaker !== "closed", {
    timeoutMs: 5_000,
    what: `the gateway to find ${id} down`,
  });
}

/** Mines `count` blocks in bursts of up to three (the head then moves by several blocks between polls). */
async function mineInBursts(net: TestNetwork, count: number) {
  for (let left = count; left > 0; ) {
    const burst = Math.min(left, 1 + (left % 3));
    await net.devnet.mine(burst);
    left -= burst;
    await net.synced();
  }
}

/**
 * Streams newHeads to a plain client, viem watchBlocks and ethers while `disrupt` runs; then checks each saw every
 * block from its first to the devnet head, once and in order, under one subscription id.
 */
async function streamThrough(
  t: { diagnostic(s: string): void },
  net: TestNetwork,
  name: string,
  disrupt: () => Promise<void>,
): Promise<{ largestHeadJump: number }> {
  const wsUrl = net.rpcUrl.replace(/^http/, "ws");
  const plain = await connect(wsUrl);
  const sub = await plain.request("eth_subscribe", ["newHeads"]);
  const id = sub.result as string;
  assert.match(id, /^0x[0-9a-f]{32}$/);

  const viemBlocks: number[] = [];
  const viem = createPublicClient({
    transport: webSocket(wsUrl, { retryCount: 0, reconnect: false, keepAlive: false }),
  });
  // What viem reports is kept here and asserted by the test itself: a throw inside its callbacks never fails this test
  // (it escapes later, if at all, as an uncaught error blamed on whichever test is running).
  const viemErrors: string[] = [];
  const noViemError = () => assert.deepEqual(viemErrors, [], "viem watchBlocks reported errors");
  const unwatch = viem.watchBlocks({
    // viem hands no block when its own fetch of an announced block failed, an error it swallows.
    onBlock: (block: { number: bigint | null } | undefined) =>
      block ? viemBlocks.push(Number(block.number)) : viemErrors.push("watchBlocks could not fetch an announced block"),
    onError: (error) => viemErrors.push(`${error.name}: ${error.message}`),
  });
  const ethers = new WebSocketProvider(wsUrl, net.chainId, { staticNetwork: true });
  const ethersBlocks: number[] = [];
  await ethers.on("block", (n: number) => ethersBlocks.push(n));
  try {
    // Every client is subscribed once a first block reaches all three.
    await net.devnet.mine();
    await waitFor(
      () => {
        noViemError();
        return viemBlocks.length > 0 && ethersBlocks.length > 0 && plain.notifications.get(id)?.length;
      },
      { timeoutMs: 10_000, what: "a first block at every client" },
    );
    const logsBefore = net.logs.length;
    await disrupt();
    const head = net.devnet.head();
    const done = () => {
      noViemError();
      return [plain.notifications.get(id)!.map((h) => hexNumber((h as Json).number)), viemBlocks, ethersBlocks].every(
        (list) => list.at(-1) === head,
      );
    };
    await waitFor(done, { timeoutMs: 20_000, what: `every client to reach block ${head}` });
    for (const [client, numbers] of [
      ["plain ws", plain.notifications.get(id)!.map((h) => hexNumber((h as Json).number))],
      ["viem watchBlocks", viemBlocks],
      ["ethers WebSocketProvider", ethersBlocks],
    ] as const) {
      const g = gaps(numbers as number[]);
      t.diagnostic(
        `${name} ${client}: ${numbers.length} blocks (${g.first}..${g.last}), missing ${g.missing}, duplicated ${g.duplicates}, out of order ${g.outOfOrder}`,
      );
      assert.ok(numbers.length >= 20, `${client}: only ${numbers.length} blocks`);
      assert.equal(g.missing, 0, `${client}: missing blocks`);
      assert.equal(g.duplicates, 0, `${client}: duplicated blocks`);
      assert.equal(g.outOfOrder, 0, `${client}: out of order`);
      assert.equal(g.last, head);
    }
    // How far the agreed head jumped at once: the gaps the stream had to fill.
    const heads = net.logs
      .slice(logsBefore)
      .map((l) => JSON.parse(l) as { msg?: string; head?: number })
      .filter((l) => l.msg === "agreed head")
      .map((l) => l.head!);
    const largestHeadJump = Math.max(...heads.slice(1).map((h, i) => h - heads[i]!));
    t.diagnostic(`${name}: the agreed head moved ${heads.length} times, by up to ${largestHeadJump} blocks at once`);
    // One subscription id, unchanged across the failover: every notification carried it.
    assert.deepEqual([...plain.notifications.keys()], [id]);
    for (const h of plain.notifications.get(id)!) {
      const header = h as Json;
      assert.equal(header.transactions, undefined, "a header, not a block");
      assert.equal(
        header.hash,
        await net.direct("eth_getBlockByNumber", [header.number, false]).then((b) => (b as Json).hash),
      );
    }
    assert.equal(plain.ws.readyState, WebSocket.OPEN, "the plain client's connection lived through it all");
    noViemError();
    return { largestHeadJump };
  } finally {
    unwatch();
    (await viem.transport.getRpcClient()).close();
    await ethers.destroy();
    plain.ws.close();
  }
}

describe("websocket on three domains", () => {
  let net: TestNetwork;
  let wsUrl: string;
  let emit: () => Promise<Hex>;

  before(async () => {
    net = await startTestNetwork({
      config: {
        server: { host: "127.0.0.1", port: 0, maxBodyBytes: 4_096 },
        websocket: { maxSubscriptionsPerConnection: 4, maxBufferedBytes: 65_536 },
      },
    });
    const send = devSender(net, 5);
    emit = () => send({ data: EMITTER_INIT });
    await net.devnet.mine(3);
    await net.synced();
    wsUrl = net.rpcUrl.replace(/^http/, "ws");
  });
  after(async () => {
    await net?.stop();
  });

  test("every JSON-RPC method works over WebSocket as over HTTP: reads, batches, errors with codes", async () => {
    const c = await connect(wsUrl);
    try {
      const address = net.devnet.accounts[1]!.address;
      assert.equal((await c.request("eth_chainId")).result, `0x${net.chainId.toString(16)}`);
      assert.equal(hexNumber((await c.request("eth_blockNumber")).result), net.devnet.head());
      const balance = await c.request("eth_getBalance", [address, "latest"]);
      assert.equal(balance.result, (await net.rpc("eth_getBalance", [address, "latest"])).body.result);
      const block = (await c.request("eth_getBlockByNumber", ["0x2", false])).result as Json;
      assert.equal(block.hash, ((await net.direct("eth_getBlockByNumber", ["0x2", false])) as Json).hash);
      const batch = (await c.raw(
        JSON.stringify([
          { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] },
          { jsonrpc: "2.0", id: 2, method: "eth_sign", params: [] },
          { jsonrpc: "2.0", id: 3, method: "eth_getBalance", params: ["0x12"] },
          { jsonrpc: "2.0", method: "eth_chainId", params: [] },
        ]),
      )) as Json[];
      assert.equal(batch.length, 3, "a notification gets no answer");
      assert.equal(batch[0]!.result, `0x${net.chainId.toString(16)}`);
      assert.equal((batch[1]!.error as Json).code, -32601);
      assert.equal((batch[2]!.error as Json).code, -32602);
      assert.equal((((await c.raw("{nope")) as Json).error as Json).code, -32700);
      assert.equal((((await c.raw("[]")) as Json).error as Json).code, -32600);
      const pending = await c.request("eth_subscribe", ["newPendingTransactions"]);
      assert.equal((pending.error as Json).code, -32601);
      assert.match((pending.error as Json).message as string, /not supported/);
      assert.equal(((await c.request("eth_subscribe", ["logs", { fromBlock: "0x1" }])).error as Json).code, -32602);
      assert.equal((await c.request("eth_unsubscribe", [`0x${"ab".repeat(16)}`])).result, false);
      // Over HTTP, subscriptions are pointed at the WebSocket endpoint.
      const http = await net.rpc("eth_subscribe", ["newHeads"]);
      assert.equal(http.body.error?.code, -32601);
      assert.match(http.body.error!.message, /WebSocket/);
    } finally {
      c.ws.close();
    }
  });

  test("A28: the upstream feeding a subscription dies mid-stream, then two: 0 missing, 0 duplicated", async (t) => {
    const { largestHeadJump } = await streamThrough(t, net, "A28 upstream", async () => {
      await mineInBursts(net, 8);
      await net.proxies.get("u1")!.setFault({ kind: "down" });
      await seenDown(net, "u1");
      await mineInBursts(net, 8);
      // With a second upstream gone no two domains agree: the head stalls, then jumps when u2 is back.
      await net.proxies.get("u2")!.setFault({ kind: "down" });
      // u2's breaker opens too: the stream's backfill must not wait for its backoff once it answers again.
      await seenDown(net, "u2");
      await net.devnet.mine(6);
      // The stall is real: the gateway has u3's new head, and u3 alone does not move the agreed head.
      await waitFor(() => statusOf(net, "u3").head === net.devnet.head(), {
        timeoutMs: 5_000,
        what: "the gateway to poll u3's new head",
      });
      const agreed = net.app.engine.readiness().chains[0]!.head!.number;
      assert.ok(agreed < net.devnet.head(), `the agreed head reached ${agreed} with u1 and u2 down: nothing stalled`);
      await net.proxies.get("u2")!.clearFault();
      await net.synced();
      await net.proxies.get("u1")!.clearFault();
      await mineInBursts(net, 4);
    });
    assert.ok(largestHeadJump >= 6, "the stall while two upstreams were down was crossed by a backfill");
  });

  for (const depth of [1, 2]) {
    test(`a reorg of depth ${depth} after logs were delivered: removed logs, then the new branch's`, async (t) => {
      const c = await connect(wsUrl);
      const viemLogs: { blockHash: string | null; removed: boolean }[] = [];
      const viem = createPublicClient({
        transport: webSocket(wsUrl, { retryCount: 0, reconnect: false, keepAlive: false }),
      });
      // What viem reports through onError is kept and asserted here: a throw inside its callbacks never fails this test.
      const viemErrors: string[] = [];
      const noViemError = () => assert.deepEqual(viemErrors, [], "viem watchEvent reported errors");
      const unwatch = viem.watchEvent({
        onLogs: (logs) => viemLogs.push(...logs.map((l) => ({ blockHash: l.blockHash, removed: l.removed }))),
        onError: (error) => viemErrors.push(`${error.name}: ${error.message}`),
      });
      try {
        const logsSub = (await c.request("eth_subscribe", ["logs", { topics: [EMITTER_TOPIC] }])).result as string;
        const headsSub = (await c.request("eth_subscribe", ["newHeads"])).result as string;
        await net.devnet.mine();
        await waitFor(() => c.notifications.get(headsSub)?.length, { timeoutMs: 10_000, what: "a first head" });
        await emit();
        await net.devnet.mine(depth);
        const logs = () => (c.notifications.get(logsSub) ?? []) as Json[];
        await waitFor(
          () => {
            noViemError();
            return logs().length === 1 && viemLogs.length === 1;
          },
          { timeoutMs: 10_000, what: "the log at both clients" },
        );
        const delivered = logs()[0]!;
        assert.equal(delivered.removed, false);
        const reorg = await net.devnet.reorg(depth);
        assert.equal(reorg.orphaned[0], delivered.blockHash);
        await waitFor(
          () => {
            noViemError();
            return logs().length === 3 && viemLogs.length === 3;
          },
          { timeoutMs: 10_000, what: "the removed log and the new one" },
        );
        const [, removed, again] = logs();
        assert.deepEqual({ ...removed, removed: false }, delivered, "the same log, withdrawn");
        assert.equal(removed!.removed, true);
        assert.equal(again!.removed, false);
        assert.equal(again!.blockHash, reorg.replacements[0]);
        assert.equal(again!.transactionHash, delivered.transactionHash);
        assert.deepEqual(
          viemLogs.map((l) => [l.blockHash, l.removed]),
          [
            [delivered.blockHash, false],
            [delivered.blockHash, true],
            [reorg.replacements[0], false],
          ],
        );
        // Heads: the orphaned heights again, on the new branch, after the removed log.
        await waitFor(
          () => (c.notifications.get(headsSub) as Json[]).some((h) => h.hash === reorg.replacements.at(-1)),
          { timeoutMs: 10_000, what: "the new branch's head" },
        );
        const heads = (c.notifications.get(headsSub) as Json[]).map((h) => [hexNumber(h.number), h.hash]);
        const tail = heads.slice(-depth);
        assert.deepEqual(
          tail,
          reorg.replacements.map((hash, i) => [reorg.head - depth + 1 + i, hash]),
        );
        t.diagnostic(
          `reorg depth ${depth}: ${heads.length} heads, logs delivered/removed/re-delivered ${logs().length}, viem saw ${viemLogs.length}`,
        );
        noViemError();
      } finally {
        unwatch();
        (await viem.transport.getRpcClient()).close();
        c.ws.close();
      }
    });
  }

  test("limits: subscriptions per connection, oversized message 1009, unknown chain 404", async () => {
    const c = await connect(wsUrl);
    for (let i = 0; i < 4; i++) assert.match((await c.request("eth_subscribe", ["newHeads"])).result as string, /^0x/);
    const refused = await c.request("eth_subscribe", ["newHeads"]);
    assert.equal((refused.error as Json).code, -32005);
    assert.equal(((refused.error as Json).data as Json).limit, 4);
    // The connection stays usable.
    assert.ok((await c.request("eth_blockNumber")).result);

    c.ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: ["x".repeat(5_000)] }));
    assert.equal((await c.closed).code, 1009);

    const unknown = new WebSocket(wsUrl.replace(`/rpc/${net.chainId}`, "/rpc/999999"));
    const status = await new Promise<number>((resolve) => {
      unknown.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      unknown.once("open", () => resolve(101));
    });
    unknown.on("error", () => {});
    unknown.terminate();
    assert.equal(status, 404);
  });

  test("unsubscribe stops notifications and frees the slot", async () => {
    const c = await connect(wsUrl);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await c.request("eth_subscribe", ["newHeads"])).result as string);
      assert.equal((await c.request("eth_unsubscribe", [ids[0]])).result, true);
      assert.equal((await c.request("eth_unsubscribe", [ids[0]])).result, false);
      assert.match((await c.request("eth_subscribe", ["newHeads"])).result as string, /^0x/);
      await net.devnet.mine();
      await waitFor(() => c.notifications.get(ids[1]!)?.length, { timeoutMs: 10_000, what: "a head" });
      assert.equal(c.notifications.get(ids[0]!), undefined);
    } finally {
      c.ws.close();
    }
  });

  test("a slow consumer is disconnected with 1008, not buffered without bound", async () => {
    const c = await connect(wsUrl);
    // Stop reading; keep asking for answers (each batch ~ 4 KiB of replies).
    c.ws.pause();
    // Each batch (under server.maxBodyBytes) is answered with ~60 KiB of block headers, from the cache after the first.
    const batch = JSON.stringify(
      Array.from({ length: 40 }, (_, i) => ({
        jsonrpc: "2.0",
        id: i,
        method: "eth_getBlockByNumber",
        params: ["0x1", false],
      })),
    );
    const sent = await waitFor(
      async () => {
        for (let i = 0; i < 10; i++) c.ws.send(batch);
        await new Promise<void>((resolve) => c.ws.send("", () => resolve()));
        return net.logs.some((l) => l.includes("slow consumer")) && true;
      },
      { timeoutMs: 20_000, intervalMs: 1, what: "the gateway to give up on the slow consumer" },
    );
    assert.ok(sent);
    c.ws.resume();
    const closed = await c.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /slow consumer/);
  });

  test("server shutdown closes WebSocket connections with 1001", async () => {
    const c = await connect(wsUrl);
    await c.request("eth_subscribe", ["newHeads"]);
    assert.equal(net.app.server.webSocketConnections(), 1);
    const [closed] = await Promise.all([c.closed, net.app.stop()]);
    assert.equal(closed.code, 1001);
  });
});

describe("websocket when a whole domain goes down", () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork({ nodes: FOUR_NODES_TWO_ON_AWS, config: { websocket: { pingIntervalMs: 300 } } });
    await net.devnet.mine(2);
    await net.synced();
  });
  after(async () => {
    await net?.stop();
  });

  test("A28: the aws/us-east-1 domain (two upstreams) goes down mid-stream: 0 missing, 0 duplicated", async (t) => {
    await streamThrough(t, net, "A28 domain", async () => {
      await mineInBursts(net, 8);
      await Promise.all(["alpha", "beta"].map((id) => net.proxies.get(id)!.setFault({ kind: "down" })));
      await waitFor(() => net.app.engine.readiness().chains[0]!.domainsDown.includes("aws/us-east-1"), {
        timeoutMs: 5_000,
        what: "the gateway to find aws/us-east-1 down",
      });
      await mineInBursts(net, 8);
      await Promise.all(["alpha", "beta"].map((id) => net.proxies.get(id)!.clearFault()));
      await mineInBursts(net, 6);
    });
  });

  test("a client that does not answer pings is terminated", async () => {
    const silent = await connect(net.rpcUrl.replace(/^http/, "ws"), { autoPong: false });
    assert.equal((await silent.closed).code, 1006, "terminated, without a close frame");
  });
});

test("a connection closed while its eth_subscribe is being paid for gets no subscription", async () => {
  let subscribed = 0;
  let unsubscribed = 0;
  const gateway = {
    subscribe: () => {
      subscribed++;
      return { ok: true, id: "0x1", unsubscribe: () => unsubscribed++ };
    },
  } as unknown as Engine;
  // The rate-limit store answers only when the test says so.
  let charging!: () => void;
  const charged = new Promise<void>((resolve) => {
    charging = resolve;
  });
  let answerCharge!: (refused: MultihomeError | undefined) => void;
  const gate = {
    costs: {},
    client: "c",
    mayCall: () => true,
    charge: () => {
      charging();
      return new Promise<MultihomeError | undefined>((resolve) => {
        answerCharge = resolve;
      });
    },
  };
  let subscriptionsOpen = 0;
  let serverClosed!: () => void;
  const closedOnServer = new Promise<void>((resolve) => {
    serverClosed = resolve;
  });
  let requestCounted!: (outcome: string) => void;
  const counted = new Promise<string>((resolve) => {
    requestCounted = resolve;
  });
  const metrics: Metrics = {
    ...noopMetrics,
    webSocketSubscriptions: (delta) => {
      subscriptionsOpen += delta;
    },
    webSocketConnections: (delta) => {
      if (delta < 0) serverClosed();
    },
    request: (_chainId, _method, outcome) => requestCounted(outcome),
  };
  const wss = createWsServer(
    gateway,
    {
      maxConnections: 10,
      maxConnectionsPerClient: 10,
      maxSubscriptionsPerConnection: 4,
      maxBufferedBytes: 65_536,
      pingIntervalMs: 60_000,
      maxPayload: 4_096,
      limits: { maxBatchItems: 10, maxDepth: 16, maxMethodLength: 64 },
      metrics,
    },
    silentLogger,
    () => "r1",
  );
  const server = createServer();
  server.on("upgrade", (req, socket, head) => wss.upgrade(req, socket, head, { chainId: 1 }, { client: "c", gate }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/rpc/1`);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
    await charged;
    ws.close();
    await closedOnServer;
    answerCharge(undefined);
    assert.equal(await counted, "timeout", "the call is answered as cancelled");
    assert.equal(subscribed - unsubscribed, 0, "no subscription is left behind");
    assert.equal(subscriptionsOpen, 0, "the subscriptions gauge is back to 0");
  } finally {
    await wss.close(0);
    await new Promise((resolve) => server.close(resolve));
  }
});
