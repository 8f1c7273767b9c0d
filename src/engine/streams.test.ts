import assert from "node:assert/strict";
import { test } from "node:test";
import { computeHeaderHash } from "../core/verification/header.ts";
import type { CallAnswer } from "./answers/answer.ts";
import { bloomMayMatch, createStreams, logMatches, parseSubscription, STREAM_WINDOW_BLOCKS } from "./streams.ts";

type Json = Record<string, unknown>;
const ZERO = `0x${"00".repeat(32)}`;
const TOPIC = `0x${"11".repeat(32)}`;
const ADDRESS = `0x${"22".repeat(20)}`;
const hex = (n: number) => `0x${n.toString(16)}`;

/** A fake chain of real headers (their hashes recomputed from the fields); some blocks carry one log. */
function createFakeChain() {
  const byHash = new Map<string, Json>();
  const canonical: string[] = [];
  const logsOf = new Map<string, Json[]>();
  function block(number: number, parentHash: string, salt: number, withLog: boolean): Json {
    const b: Json = {
      parentHash,
      sha3Uncles: ZERO,
      miner: ADDRESS,
      stateRoot: ZERO,
      transactionsRoot: ZERO,
      receiptsRoot: ZERO,
      logsBloom: `0x${(withLog ? "ff" : "00").repeat(256)}`,
      difficulty: "0x0",
      number: hex(number),
      gasLimit: "0x1c9c380",
      gasUsed: "0x0",
      timestamp: hex(1_000 + number),
      extraData: `0x${salt.toString(16).padStart(2, "0")}`,
      mixHash: ZERO,
      nonce: "0x0000000000000000",
    };
    b.hash = computeHeaderHash(b);
    b.transactions = [];
    byHash.set(b.hash as string, b);
    logsOf.set(
      b.hash as string,
      withLog
        ? [
            {
              address: ADDRESS,
              topics: [TOPIC],
              data: "0x",
              blockHash: b.hash,
              blockNumber: hex(number),
              logIndex: "0x0",
            },
          ]
        : [],
    );
    return b;
  }
  /** Replaces blocks from `from` on with `count` new ones (salted), like a reorg, or extends the chain. */
  function build(from: number, count: number, salt: number, logs: (n: number) => boolean) {
    canonical.length = from;
    for (let n = from; n < from + count; n++) {
      const parent = n === 0 ? ZERO : canonical[n - 1]!;
      canonical.push(block(n, parent, salt, logs(n)).hash as string);
    }
  }
  return { byHash, canonical, logsOf, build };
}

function setup() {
  const chain = createFakeChain();
  chain.build(0, 4, 0, () => false);
  const calls: string[] = [];
  let failNext = 0;
  const timers: (() => void)[] = [];
  const errors: string[] = [];
  /** Awaited by the next call when set (a fetch still in flight). */
  let gate: Promise<void> | undefined;
  /** Runs inside every call, before it answers. */
  let during: (() => void) | undefined;
  const io = {
    head: () => ({ number: chain.canonical.length - 1, hash: chain.canonical.at(-1)! }),
    hashAt: async (n: number) => chain.canonical[n],
    async call(method: string, params: unknown[]): Promise<CallAnswer> {
      calls.push(method);
      during?.();
      if (gate) {
        const g = gate;
        gate = undefined;
        await g;
      }
      const none = { blockNumber: undefined, verified: "none" as const };
      if (failNext > 0) {
        failNext--;
        return { ok: false, rpcError: { code: -32000, message: "down" }, evidence: none };
      }
      const hash = method === "eth_getLogs" ? (params[0] as { blockHash: string }).blockHash : (params[0] as string);
      if (method === "eth_getBlockByHash") return { ok: true, result: chain.byHash.get(hash) ?? null, evidence: none };
      return { ok: true, result: chain.logsOf.get(hash) ?? [], evidence: none };
    },
  };
  const clock = {
    now: () => 0,
    setTimer(_ms: number, fn: () => void) {
      timers.push(fn);
      return () => {
        const i = timers.indexOf(fn);
        if (i >= 0) timers.splice(i, 1);
      };
    },
  };
  const logger = {
    debug() {},
    info() {},
    warn() {},
    error: (_o: unknown, msg: string) => errors.push(msg),
    child: () => logger,
  } as never;
  const streams = createStreams({ clock, logger }, io, {
    logsFromReceipts: false,
    retryMs: 100,
  });
  return {
    chain,
    streams,
    calls,
    timers,
    errors,
    fail: (n: number) => (failNext = n),
    /** Holds the next call until the returned function is called. */
    hold(): () => void {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return release;
    },
    onCall: (fn: (() => void) | undefined) => (during = fn),
  };
}

/** Lets the delivery loop run to where it waits (every fake call resolves at once). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test("parseSubscription: newHeads and logs filters; the rest refused with a reason", () => {
  assert.deepEqual(parseSubscription(["newHeads"]), { ok: true, value: { kind: "newHeads" } });
  const logs = parseSubscription([
    "logs",
    { address: ADDRESS.toUpperCase().replace("0X", "0x"), topics: [null, [TOPIC], []] },
  ]);
  assert.deepEqual(logs, {
    ok: true,
    value: { kind: "logs", filter: { addresses: [ADDRESS], topics: [null, [TOPIC], null] } },
  });
  const refused = (params: unknown) => {
    const r = parseSubscription(params);
    assert.equal(r.ok, false);
    return r.ok ? undefined : r.error;
  };
  assert.equal(refused(["newPendingTransactions"])?.code, "method_not_found");
  assert.match(refused(["newPendingTransactions"])!.message, /not supported/);
  assert.equal(refused(["logs", { fromBlock: "0x1" }])?.code, "invalid_params");
  assert.equal(refused(["logs", { address: "0x12" }])?.code, "invalid_params");
  assert.equal(refused(["logs", { topics: [null, null, null, null, null] }])?.code, "invalid_params");
  assert.equal(refused(["logs", { address: Array(1_025).fill(ADDRESS) }])?.code, "invalid_params");
  assert.equal(refused(["blocks"])?.code, "invalid_params");
  assert.equal(refused([])?.code, "invalid_params");
});

test("logMatches and bloomMayMatch", () => {
  const log = { address: ADDRESS, topics: [TOPIC, ZERO] };
  assert.ok(logMatches(log, { addresses: [], topics: [] }));
  assert.ok(logMatches(log, { addresses: [ADDRESS], topics: [[TOPIC], null] }));
  assert.ok(!logMatches(log, { addresses: [], topics: [null, [TOPIC]] }));
  assert.ok(!logMatches(log, { addresses: [], topics: [null, null, [TOPIC]] }), "fewer topics than the filter asks");
  assert.ok(!bloomMayMatch(`0x${"00".repeat(256)}`, { addresses: [], topics: [] }), "an empty bloom: no logs");
  assert.ok(bloomMayMatch(`0x${"ff".repeat(256)}`, { addresses: [ADDRESS], topics: [[TOPIC]] }));
  assert.ok(bloomMayMatch("garbage", { addresses: [ADDRESS], topics: [] }), "no usable bloom: fetch");
});

test("a jump of the head is filled block by block; a reorg withdraws delivered logs newest first, then the new branch", async () => {
  const { chain, streams, calls } = setup();
  const heads: number[] = [];
  const logs: Json[] = [];
  const a = streams.subscribe(["newHeads"], (h) => heads.push(Number((h as Json).number)));
  const b = streams.subscribe(["logs", { topics: [TOPIC] }], (l) => logs.push(l as Json));
  assert.ok(a.ok && b.ok);
  assert.notEqual(a.id, b.id);
  await settle();
  assert.deepEqual(heads, [], "starts after the head of the moment");

  chain.build(4, 6, 0, (n) => n >= 7); // blocks 4..9, logs in 7, 8, 9
  calls.length = 0;
  streams.wake();
  await settle();
  assert.deepEqual(heads, [4, 5, 6, 7, 8, 9]);
  assert.deepEqual(
    logs.map((l) => [Number(l.blockNumber), l.removed]),
    [
      [7, false],
      [8, false],
      [9, false],
    ],
  );
  assert.equal(calls.filter((m) => m === "eth_getLogs").length, 3, "blocks whose bloom is empty are not asked");
  const delivered = logs.map((l) => l.blockHash);

  // Blocks 8 and 9 are replaced by 8', 9', 10' (a log only in 9').
  chain.build(8, 3, 1, (n) => n === 9);
  logs.length = 0;
  heads.length = 0;
  streams.wake();
  await settle();
  assert.deepEqual(
    logs.map((l) => [Number(l.blockNumber), l.removed, l.blockHash]),
    [
      [9, true, delivered[2]],
      [8, true, delivered[1]],
      [9, false, chain.canonical[9]],
    ],
  );
  assert.deepEqual(heads, [8, 9, 10]);
});

test("a failed fetch is retried later; nothing is skipped or repeated", async () => {
  const { chain, streams, timers, fail } = setup();
  const heads: number[] = [];
  streams.subscribe(["newHeads"], (h) => heads.push(Number((h as Json).number)));
  await settle();
  chain.build(4, 3, 0, () => false);
  fail(2);
  streams.wake();
  await settle();
  assert.deepEqual(heads, []);
  let retries = 0;
  while (timers.length > 0) {
    assert.equal(timers.length, 1, "one retry scheduled at a time");
    retries++;
    timers.shift()!();
    await settle();
  }
  assert.equal(retries, 2);
  assert.deepEqual(heads, [4, 5, 6]);
});

test("a gap wider than the window is crossed one anchored block at a time", async () => {
  const { chain, streams } = setup();
  const heads: number[] = [];
  const sub = streams.subscribe(["newHeads"], (h) => heads.push(Number((h as Json).number)));
  await settle();
  const wide = STREAM_WINDOW_BLOCKS + 40;
  chain.build(4, wide, 0, () => false);
  streams.wake();
  for (let i = 0; i < 60 && heads.length < wide; i++) await settle();
  assert.equal(heads.length, wide);
  assert.ok(heads.every((n, i) => n === 4 + i));
  assert.ok(sub.ok);
  sub.unsubscribe();
  assert.equal(streams.size(), 0);
  streams.stop();
});

test("the last subscriber leaving while a block is being fetched: no error, nothing scheduled, a fresh start next time", async () => {
  const { chain, streams, timers, errors, hold } = setup();
  const heads: number[] = [];
  const first = streams.subscribe(["newHeads"], (h) => heads.push(Number((h as Json).number)));
  await settle();
  chain.build(4, 2, 0, () => false);
  const release = hold();
  streams.wake();
  await settle();
  assert.ok(first.ok);
  first.unsubscribe();
  release();
  await settle();
  assert.deepEqual(errors, []);
  assert.deepEqual(heads, [], "nothing delivered to nobody");
  assert.equal(timers.length, 0);
  // The next subscriber starts from the head of its own time.
  const later: number[] = [];
  streams.subscribe(["newHeads"], (h) => later.push(Number((h as Json).number)));
  await settle();
  chain.build(6, 1, 0, () => false);
  streams.wake();
  await settle();
  assert.deepEqual(later, [6]);
  streams.stop();
});

test("wakes while fetches keep failing leave one retry scheduled, and stop cancels it", async () => {
  const { chain, streams, timers, fail, onCall } = setup();
  streams.subscribe(["newHeads"], () => {});
  await settle();
  chain.build(4, 3, 0, () => false);
  fail(3);
  // A head poll arriving during each failing fetch.
  onCall(() => streams.wake());
  streams.wake();
  await settle();
  onCall(undefined);
  assert.equal(timers.length, 1, "one retry scheduled at a time");
  streams.stop();
  assert.equal(timers.length, 0);
});
