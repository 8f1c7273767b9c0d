/**
 * FAULTS C10: independent domains stop agreeing on new blocks, so the agreed head freezes while the chain (and the
 * clock) moves on. Answers about the newest block are then stale: labelled with their block's age when the client
 * opted in, otherwise refused with -32002 carrying the last-known-good value and that age. Ages come from the
 * block's timestamp, never from when a value was recorded, and a read at an old block never becomes last-known-good.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Clock } from "../src/core/ports.ts";
import type { AccountView } from "../src/engine/engine.ts";
import { systemClock } from "../src/system/system.ts";
import { type RpcReply, startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

/** The system clock, moved forward by however much the test says: time passes without the test waiting for it. */
function skewedClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    setTimer: systemClock.setTimer,
    advance(ms) {
      offset += ms;
    },
  };
}

const STALE_AFTER_MS = 60_000;

async function blockTimestamp(net: TestNetwork, number: number): Promise<number> {
  const block = (await net.direct("eth_getBlockByNumber", [`0x${number.toString(16)}`, false])) as {
    timestamp: string;
  };
  return Number(block.timestamp);
}

/** `read`, with the block's age (seconds, from `timestamp` to `clock`) just before and just after it. */
async function aged<T>(clock: Clock, timestamp: number, read: () => Promise<T>) {
  const before = Math.floor(clock.now() / 1000 - timestamp);
  const value = await read();
  return { value, before, after: Math.floor(clock.now() / 1000 - timestamp) };
}

function lastKnownGoodOf(reply: RpcReply) {
  return (reply.body.error?.data as { lastKnownGood?: Record<string, unknown> } | undefined)?.lastKnownGood;
}

async function accountView(net: TestNetwork, address: string) {
  const res = await fetch(`${net.baseUrl}/v1/chains/${net.chainId}/accounts/${address}`);
  return { status: res.status, body: (await res.json()) as AccountView };
}

test("C10: a frozen agreed head is labelled stale with its block's age, or refused with last-known-good", async (t) => {
  const clock = skewedClock();
  const net = await startTestNetwork({ clock, chain: { staleAfterMs: STALE_AFTER_MS } });
  t.after(() => net.stop());
  await net.devnet.mine(2);
  await net.synced();
  const address = net.devnet.accounts[0]!.address;

  const live = await net.rpc("eth_getBalance", [address, "latest"]);
  assert.equal(live.headers.get("multihome-verified"), "proof");
  assert.equal(live.headers.get("multihome-stale"), null, "a live head is not stale");
  const truth = live.body.result as string;
  const frozen = Number(live.headers.get("multihome-block"));
  assert.equal((await accountView(net, address)).body.freshness, "live");

  // Two of the three domains stop making blocks; the third goes on. No independent pair reports anything newer, so
  // the agreed head stays at `frozen` while the chain moves past it.
  net.devnet.pause("u2");
  net.devnet.pause("u3");
  await net.devnet.mine(3);
  await waitFor(() => net.app.engine.readiness().chains[0]!.upstreams.find((u) => u.id === "u1")!.head! > frozen, {
    timeoutMs: 5_000,
    what: "u1 to report the blocks past the frozen head",
  });
  assert.equal(net.app.engine.readiness().chains[0]!.head!.number, frozen);
  // And the clock moves past the chain's bound.
  const timestamp = await blockTimestamp(net, frozen);
  clock.advance(STALE_AFTER_MS + 60_000);

  // A proven read at the frozen head: refused, with the proven value as last-known-good and its block's age.
  const refused = await aged(clock, timestamp, () => net.rpc("eth_getBalance", [address, "latest"]));
  assert.equal(refused.value.body.result, undefined, "a stale value served as live");
  assert.equal(refused.value.body.error?.code, -32002);
  const lkg = lastKnownGoodOf(refused.value);
  assert.ok(lkg, JSON.stringify(refused.value.body));
  assert.equal(lkg.value, truth);
  assert.equal(lkg.blockNumber, frozen);
  const age = lkg.ageSeconds as number;
  assert.ok(age >= refused.before && age <= refused.after, `age ${age}, block age ${refused.before}-${refused.after}`);
  assert.ok(age * 1000 > STALE_AFTER_MS);

  // Opted in for that age: the value, labelled with it.
  const optedIn = await aged(clock, timestamp, () =>
    net.rpc("eth_getBalance", [address, "latest"], { "multihome-max-staleness": "3600" }),
  );
  assert.equal(optedIn.value.body.result, truth);
  assert.equal(optedIn.value.headers.get("multihome-block"), String(frozen));
  const stale = Number(optedIn.value.headers.get("multihome-stale"));
  assert.ok(stale >= optedIn.before && stale <= optedIn.after, `multihome-stale ${stale}`);
  // Opted in for less than that: refused all the same.
  const tooOld = await net.rpc("eth_getBalance", [address], { "multihome-max-staleness": "30" });
  assert.equal(tooOld.body.error?.code, -32002);
  assert.equal(lastKnownGoodOf(tooOld)?.value, truth);

  // Every answer about the newest block is stale, proven or not; one about a named block is not.
  const blockNumber = await net.rpc("eth_blockNumber", []);
  assert.equal(blockNumber.body.error?.code, -32002, JSON.stringify(blockNumber.body));
  const labelled = await net.rpc("eth_blockNumber", [], { "multihome-max-staleness": "3600" });
  assert.equal(labelled.body.result, `0x${frozen.toString(16)}`);
  assert.ok(labelled.headers.get("multihome-stale") !== null);
  const call = await net.rpc("eth_call", [{ to: address, data: "0x" }, "latest"]);
  assert.equal(call.body.error?.code, -32002, JSON.stringify(call.body));
  assert.equal(lastKnownGoodOf(call), undefined);
  const named = await net.rpc("eth_getBalance", [address, `0x${frozen.toString(16)}`]);
  assert.equal(named.body.result, truth);
  assert.equal(named.headers.get("multihome-stale"), null, "a block the client named is not stale");

  // The account view: stale, at the frozen block, aged like it.
  const view = await aged(clock, timestamp, () => accountView(net, address));
  assert.equal(view.value.status, 200);
  assert.equal(view.value.body.freshness, "stale");
  assert.equal(view.value.body.block.number, frozen);
  assert.equal(view.value.body.balance, BigInt(truth).toString(10));
  assert.ok(view.value.body.ageSeconds >= view.before && view.value.body.ageSeconds <= view.after);

  // Agreement resumes: live again.
  await net.devnet.resume("u2");
  await net.devnet.resume("u3");
  clock.advance(-(STALE_AFTER_MS + 60_000));
  await net.devnet.mine(1);
  await net.synced();
  const again = await net.rpc("eth_getBalance", [address, "latest"]);
  assert.equal(again.headers.get("multihome-verified"), "proof");
  assert.equal(again.headers.get("multihome-stale"), null);
});

test("C10: last-known-good ages are block ages, only head reads seed it, and the account view keeps to one block", async (t) => {
  // The chain's blocks are two hours old (a chain id without a staleness bound: nothing live is refused for it).
  const startTimestamp = Math.floor(Date.now() / 1000) - 7_200;
  const net = await startTestNetwork({ startTimestamp });
  t.after(() => net.stop());
  await net.devnet.mine(2);
  await net.synced();
  const [viewed, historic, mixed] = [1, 2, 3].map((i) => net.devnet.accounts[i]!.address);

  const head = Number((await net.rpc("eth_getBalance", [viewed!, "latest"])).headers.get("multihome-block"));
  assert.equal((await accountView(net, viewed!)).body.freshness, "live");
  // An explicit old block, proven: not a last-known-good value (it says nothing of the present).
  const old = await net.rpc("eth_getBalance", [historic!, "0x1"]);
  assert.equal(old.headers.get("multihome-verified"), "proof");
  // Balance and nonce last proven at different blocks.
  await net.rpc("eth_getBalance", [mixed!, "latest"]);
  await net.devnet.mine(1);
  await net.synced();
  await net.rpc("eth_getTransactionCount", [mixed!, "latest"]);

  for (const p of net.proxies.values()) await p.setFault({ kind: "down" });
  await waitFor(async () => (await fetch(`${net.baseUrl}/readyz`)).status === 503, {
    timeoutMs: 5_000,
    what: "not ready",
  });

  const timestamp = await blockTimestamp(net, head);
  const refused = await aged(systemClock, timestamp, () => net.rpc("eth_getBalance", [viewed!, "latest"]));
  assert.equal(refused.value.body.error?.code, -32002);
  const lkg = lastKnownGoodOf(refused.value);
  assert.ok(lkg, JSON.stringify(refused.value.body));
  assert.equal(lkg.blockNumber, head);
  const age = lkg.ageSeconds as number;
  assert.ok(age >= refused.before && age <= refused.after, `age ${age}, block age ${refused.before}-${refused.after}`);
  assert.ok(age >= 7_000, "the age of a value recorded seconds ago about a two-hour-old block");

  const view = await aged(systemClock, timestamp, () => accountView(net, viewed!));
  assert.equal(view.value.body.freshness, "stale");
  assert.equal(view.value.body.block.number, head);
  assert.ok(view.value.body.ageSeconds >= view.before && view.value.body.ageSeconds <= view.after);

  const never = await net.rpc("eth_getBalance", [historic!, "latest"]);
  assert.equal(never.body.error?.code, -32002);
  assert.equal(lastKnownGoodOf(never), undefined, "a read at block 1 became the last known balance");

  // No one block holds both a balance and a nonce for this account: no view rather than a mixed one.
  const noMix = await accountView(net, mixed!);
  assert.equal(noMix.status, 503, JSON.stringify(noMix.body));
});
