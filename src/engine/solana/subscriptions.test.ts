import assert from "node:assert/strict";
import { test } from "node:test";
import type { RpcCall } from "../../core/rpc/jsonrpc.ts";
import type { Commitment } from "../../core/solana/slots.ts";
import type { SolanaAnswer } from "./answer.ts";
import { createSolanaSubscriptions, SOLANA_MAX_ACCOUNT_WATCHERS } from "./subscriptions.ts";

/** Subscriptions over a fake agreed view: slots moved by hand, reads answered by `answer`. */
function view(answer: (call: RpcCall) => unknown) {
  const listeners = new Set<(slots: Partial<Record<Commitment, number>>) => void>();
  const reads: RpcCall[] = [];
  let slot = 10;
  const subs = createSolanaSubscriptions({
    onSlots(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    slots: () => ({ processed: slot, confirmed: slot, finalized: slot - 4 }),
    async read(call): Promise<SolanaAnswer> {
      reads.push(call);
      return { ok: true, result: answer(call), evidence: { verified: "quorum" } };
    },
  });
  return {
    subs,
    reads,
    listeners,
    async move() {
      slot++;
      for (const l of [...listeners]) l({ processed: slot, confirmed: slot, finalized: slot - 4 });
      // The checks run on the microtask queue: let them finish.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

test("signatureSubscribe: every signature of the cluster is asked in one read a slot; each hears once, at its commitment", async () => {
  const status = new Map<string, string>();
  const v = view((call) => ({
    context: { slot: 11 },
    value: ((call.params as string[][])[0] ?? []).map((sig) =>
      status.has(sig) ? { err: null, confirmationStatus: status.get(sig) } : null,
    ),
  }));
  const heard: string[] = [];
  for (const [sig, commitment] of [
    ["a", "confirmed"],
    ["b", "finalized"],
    ["b", "processed"],
  ] as const) {
    const made = v.subs.subscribe("signatureSubscribe", [sig, { commitment }], (_r, last) => {
      assert.equal(last, true);
      heard.push(`${sig}@${commitment}`);
    });
    assert.equal(made.ok, true);
  }
  await v.move();
  assert.equal(v.reads.length, 1, "one read for every signature");
  assert.deepEqual(v.reads[0]!.params, [["a", "b"]]);
  status.set("a", "processed");
  status.set("b", "confirmed");
  await v.move();
  assert.deepEqual(heard, ["b@processed"]);
  status.set("a", "confirmed");
  status.set("b", "finalized");
  await v.move();
  assert.deepEqual(heard.sort(), ["a@confirmed", "b@finalized", "b@processed"]);
  const before = v.reads.length;
  await v.move();
  assert.equal(v.reads.length, before, "nobody left: no more reads");
  assert.equal(v.listeners.size, 0);
});

test("accountSubscribe: accounts of one config are read together, a hundred a read; each hears its own changes", async () => {
  const lamports = new Map<string, number>();
  const v = view((call) => {
    const [addresses] = call.params as [string[]];
    return {
      context: { slot: 11 },
      value: addresses.map((a) => (lamports.has(a) ? { lamports: lamports.get(a) } : null)),
    };
  });
  const heard: string[] = [];
  for (let i = 0; i < 150; i++)
    assert.ok(
      v.subs.subscribe("accountSubscribe", [`acct${i}`, { commitment: "confirmed" }], (r) =>
        heard.push(`${i}:${JSON.stringify((r as { value: unknown }).value)}`),
      ).ok,
    );
  // A second subscriber of one account shares its watch; another config is a group of its own.
  assert.ok(v.subs.subscribe("accountSubscribe", ["acct7", { commitment: "confirmed" }], () => heard.push("again")).ok);
  assert.ok(v.subs.subscribe("accountSubscribe", ["acct7", { commitment: "finalized" }], () => heard.push("final")).ok);
  await v.move();
  const confirmed = v.reads.filter(
    (r) => (r.params as [string[], { commitment: string }])[1].commitment === "confirmed",
  );
  assert.deepEqual(
    confirmed.map((r) => (r.params as [string[]])[0].length),
    [100, 50],
    "150 accounts of one config: two reads",
  );
  assert.ok(v.reads.every((r) => r.method === "getMultipleAccounts"));
  assert.deepEqual(heard, [], "the first agreed value is where subscribers start from");
  lamports.set("acct7", 5);
  await v.move();
  assert.deepEqual(heard.sort(), ['7:{"lamports":5}', "again", "final"].sort());
  await v.move();
  assert.equal(heard.length, 3, "no change: nothing sent");
});

test("accountSubscribe: an answer without one entry per account asked tells no subscriber anything", async () => {
  let short = false;
  const v = view((call) => {
    const [addresses] = call.params as [string[]];
    const value = addresses.map(() => ({ lamports: 1 }));
    return { context: { slot: 11 }, value: short ? value.slice(1) : value };
  });
  const heard: unknown[] = [];
  for (const a of ["a", "b"])
    assert.ok(v.subs.subscribe("accountSubscribe", [a, { commitment: "confirmed" }], (r) => heard.push(r)).ok);
  await v.move();
  short = true;
  await v.move();
  await v.move();
  assert.deepEqual(heard, [], "no account reported gone (null) for an entry the answer left out");
});

test("signatureSubscribe: a status answer without one entry per signature asked tells no subscriber anything", async () => {
  const v = view((call) => {
    const [signatures] = call.params as [string[]];
    // The first signature's status left out: read by position, the second's would be taken for the first's.
    return {
      context: { slot: 11 },
      value: signatures.slice(1).map(() => ({ err: null, confirmationStatus: "finalized" })),
    };
  });
  const heard: unknown[] = [];
  for (const sig of ["s1", "s2"])
    assert.ok(v.subs.subscribe("signatureSubscribe", [sig, { commitment: "confirmed" }], (r) => heard.push(r)).ok);
  await v.move();
  await v.move();
  assert.deepEqual(heard, []);
});

test("accountSubscribe: one watch per account however many subscribe; one distinct account past the bound is refused", async () => {
  const v = view((call) => ({ context: { slot: 11 }, value: (call.params as [string[]])[0].map(() => null) }));
  const offs: (() => void)[] = [];
  for (let i = 0; i < SOLANA_MAX_ACCOUNT_WATCHERS; i++) {
    const made = v.subs.subscribe("accountSubscribe", [`acct${i}`], () => {});
    assert.ok(made.ok);
    offs.push(made.unsubscribe);
  }
  const again = v.subs.subscribe("accountSubscribe", ["acct0"], () => {});
  assert.ok(again.ok, "an account already watched is shared");
  const refused = v.subs.subscribe("accountSubscribe", ["one-more"], () => {});
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.error.code, "limit_exceeded");
  offs[1]!();
  assert.ok(v.subs.subscribe("accountSubscribe", ["one-more"], () => {}).ok, "room again once one is gone");
  for (const off of offs) off();
  if (again.ok) again.unsubscribe();
});
