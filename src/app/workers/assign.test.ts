import assert from "node:assert/strict";
import { test } from "node:test";
import {
  addressHash,
  belongsElsewhere,
  createNoisyClients,
  NOISY_CLIENTS_MAX,
  type Placement,
  planWorkers,
  workerFor,
} from "./assign.ts";

const quiet = (over: Partial<Placement> = {}): Placement => ({
  noisy: false,
  isolating: false,
  live: () => true,
  held: () => 0,
  turn: 0,
  ...over,
});

test("a client's first connection goes to the worker its address hashes to, stable across calls", () => {
  const plan = planWorkers(4);
  assert.equal(addressHash("203.0.113.9"), addressHash("203.0.113.9"));
  assert.equal(workerFor("203.0.113.9", plan, quiet()), addressHash("203.0.113.9") % 4);
});

test("a client's next connections go where it holds fewest: its connections are spread over every worker", () => {
  const plan = planWorkers(3);
  const held = [0, 0, 0];
  for (let i = 0; i < 9; i++) {
    const w = workerFor("198.51.100.7", plan, quiet({ held: (i) => held[i]! }))!;
    held[w] = held[w]! + 1;
  }
  assert.deepEqual(held, [3, 3, 3]);
});

test("a noisy client goes to the isolation worker, and while one is noisy no quiet client does", () => {
  const plan = planWorkers(2);
  assert.equal(plan.isolation, 1);
  assert.equal(workerFor("a", plan, quiet({ noisy: true, isolating: true })), 1);
  for (const client of ["a", "b", "c", "d", "e"]) assert.equal(workerFor(client, plan, quiet({ isolating: true })), 0);
  assert.equal(workerFor("a", plan, quiet({ isolating: true, live: (w) => w === 1 })), 1, "rather than no one");
  assert.equal(planWorkers(1).isolation, undefined);
  assert.equal(workerFor("a", planWorkers(1), quiet({ noisy: true })), 0, "one worker serves everyone");
});

test("while a worker is forked again its clients go to the others; with none live, none", () => {
  const plan = planWorkers(3);
  const home = workerFor("192.0.2.1", plan, quiet())!;
  assert.notEqual(workerFor("192.0.2.1", plan, quiet({ live: (w) => w !== home })), home);
  assert.equal(workerFor("192.0.2.1", plan, quiet({ live: () => false })), undefined);
});

test("a trusted proxy's connections (no client) are spread in turn", () => {
  const plan = planWorkers(3);
  assert.deepEqual(
    [0, 1, 2, 3].map((turn) => workerFor(undefined, plan, quiet({ turn }))),
    [0, 1, 2, 0],
  );
});

test("a connection belongs elsewhere: a noisy client's off a regular worker, a quiet one's off an isolating worker", () => {
  assert.equal(belongsElsewhere(false, true, true), true);
  assert.equal(belongsElsewhere(false, false, true), false);
  assert.equal(belongsElsewhere(true, false, true), true);
  assert.equal(belongsElsewhere(true, true, true), false);
  assert.equal(belongsElsewhere(true, false, false), false, "an isolation worker with no noisy client serves anyone");
});

test("noisy clients are remembered until their time, and at most NOISY_CLIENTS_MAX of them", () => {
  let now = 1_000;
  const noisy = createNoisyClients(() => now);
  assert.equal(noisy.any(), false);
  noisy.mark("a", 2_000);
  assert.equal(noisy.has("a"), true);
  assert.equal(noisy.has("b"), false);
  assert.equal(noisy.any(), true);
  now = 2_000;
  assert.equal(noisy.has("a"), false);
  assert.equal(noisy.any(), false);
  for (let i = 0; i <= NOISY_CLIENTS_MAX; i++) noisy.mark(`c${i}`, 3_000 + i);
  assert.equal(noisy.has("c0"), false, "the oldest forgotten past the bound");
  assert.equal(noisy.has(`c${NOISY_CLIENTS_MAX}`), true);
});
