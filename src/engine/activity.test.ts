import assert from "node:assert/strict";
import { test } from "node:test";
import { createFakeClock } from "../../test/harness/fake-clock.ts";
import type { Drill } from "../core/domains/drill.ts";
import {
  createActivity,
  DRILL_MAX_RECOVERY_MS,
  drillable,
  EVENT_COALESCE_MS,
  MAX_EVENTS,
  TRAFFIC_WINDOW_MS,
} from "./activity.ts";

const AWS = { hosting: "aws", operator: "alpha-rpc", region: "us-east-1" };
const GCP = { hosting: "gcp", operator: "gamma-cloud", region: "europe-west1" };
const UPSTREAMS = [
  { id: "alpha", domain: AWS },
  { id: "beta", domain: { ...AWS, operator: "beta-nodes" } },
  { id: "gamma", domain: GCP },
];

test("a drill takes its domain down while it runs, counts requests during and after, then ends", () => {
  const clock = createFakeClock();
  const activity = createActivity(clock);
  const drill = activity.startDrill({ hosting: "aws" }, 10_000, UPSTREAMS) as Drill;
  assert.equal(drill.state, "running");
  assert.deepEqual(drill.upstreams, ["alpha", "beta"]);
  assert.equal(activity.drilled(AWS), true);
  assert.equal(activity.drilled(GCP), false);
  for (let i = 1; i <= 100; i++) {
    activity.served({
      upstream: { id: "gamma", outageDomain: "gcp/europe-west1" },
      failed: false,
      latencyMs: i,
      arrivedAt: clock.now(),
    });
  }
  activity.served({ failed: true, latencyMs: 5_000, arrivedAt: clock.now() });
  // A request that arrived before the drill is not the drill's, whenever it is answered.
  activity.served({
    upstream: { id: "alpha", outageDomain: "aws/us-east-1" },
    failed: false,
    latencyMs: 9,
    arrivedAt: drill.startedAt - 1,
  });
  clock.advance(10_000);
  assert.equal(activity.drilled(AWS), false, "over at its end");
  activity.served({
    upstream: { id: "alpha", outageDomain: "aws/us-east-1" },
    failed: false,
    latencyMs: 1,
    arrivedAt: clock.now(),
  });
  const [d] = activity.drills();
  assert.equal(d!.state, "recovering");
  assert.equal(d!.during.requests, 101);
  assert.equal(d!.during.failed, 1);
  assert.deepEqual(d!.during.servedBy, { "gcp/europe-west1": 100 });
  // Quantiles within the buckets' 2 %.
  assert.ok(Math.abs(d!.during.p50Ms! - 51) / 51 < 0.03, String(d!.during.p50Ms));
  assert.ok(Math.abs(d!.during.p99Ms! - 100) / 100 < 0.03, String(d!.during.p99Ms));
  assert.deepEqual(d!.after.servedBy, { "aws/us-east-1": 1 });
  clock.advance(Math.min(10_000, DRILL_MAX_RECOVERY_MS));
  assert.equal(activity.drills()[0]!.state, "done");
  assert.deepEqual(
    activity.events().map((e) => e.kind),
    ["drill_ended", "drill_started"],
  );
});

test("drills are refused when malformed, matching nothing, or already running; a stopped drill says so", () => {
  const clock = createFakeClock();
  const activity = createActivity(clock);
  assert.equal((activity.startDrill({}, 10_000, UPSTREAMS) as { code: string }).code, "invalid_drill");
  assert.equal(
    (activity.startDrill({ hosting: "azure" }, 10_000, UPSTREAMS) as { code: string }).code,
    "invalid_drill",
  );
  assert.equal((activity.startDrill({ hosting: "aws" }, 10, UPSTREAMS) as { code: string }).code, "invalid_drill");
  const drill = activity.startDrill({ hosting: "aws" }, 10_000, UPSTREAMS) as Drill;
  assert.equal((activity.startDrill({ hosting: "aws" }, 10_000, UPSTREAMS) as { code: string }).code, "drill_running");
  clock.advance(2_000);
  const stopped = activity.stopDrill(drill.id)!;
  assert.equal(stopped.state, "recovering");
  assert.equal(activity.drilled(AWS), false);
  assert.equal(activity.stopDrill("drill-404"), undefined);
  clock.advance(2_000);
  assert.equal(activity.drills()[0]!.state, "stopped");
});

test("events are coalesced per kind and subject, newest first, and bounded", () => {
  const clock = createFakeClock();
  const activity = createActivity(clock);
  activity.record({ kind: "failover", upstream: "alpha", message: "a" });
  activity.record({ kind: "failover", upstream: "alpha", message: "again" });
  activity.record({ kind: "failover", upstream: "beta", message: "b" });
  assert.deepEqual(
    activity.events().map((e) => e.message),
    ["b", "a"],
  );
  clock.advance(EVENT_COALESCE_MS);
  activity.record({ kind: "failover", upstream: "alpha", message: "later" });
  assert.equal(activity.events()[0]!.message, "later");
  for (let i = 0; i < MAX_EVENTS * 2; i++) activity.record({ kind: "dispute", upstream: `u${i}`, message: String(i) });
  assert.equal(activity.events().length, MAX_EVENTS);
});

test("traffic counts what each upstream answered over the last window only", () => {
  const clock = createFakeClock();
  const activity = createActivity(clock);
  const alpha = { id: "alpha", outageDomain: "aws/us-east-1" };
  activity.served({ upstream: alpha, failed: false, latencyMs: 1, arrivedAt: clock.now() });
  clock.advance(TRAFFIC_WINDOW_MS / 2);
  activity.served({ upstream: alpha, failed: false, latencyMs: 1, arrivedAt: clock.now() });
  activity.served({ failed: false, latencyMs: 1, arrivedAt: clock.now() });
  assert.equal(activity.traffic().get("alpha"), 2);
  clock.advance(TRAFFIC_WINDOW_MS / 2);
  assert.equal(activity.traffic().get("alpha"), 1);
  clock.advance(TRAFFIC_WINDOW_MS);
  assert.equal(activity.traffic().get("alpha"), 0);
});

test("a drilled transport refuses to connect without sending; otherwise it passes through", async () => {
  let down = true;
  let sent = 0;
  const transport = drillable(
    {
      send: async () => {
        sent++;
        return { status: 200, body: "{}", headers: {} } as never;
      },
      close: async () => {},
    },
    () => down,
  );
  await assert.rejects(transport.send("{}", { signal: new AbortController().signal, maxResponseBytes: 1 }), {
    name: "TransportError",
    code: "connect",
  });
  assert.equal(sent, 0);
  down = false;
  await transport.send("{}", { signal: new AbortController().signal, maxResponseBytes: 1 });
  assert.equal(sent, 1);
});

test("a drill's end is an event as soon as events are read, and drill events are never coalesced", () => {
  const clock = createFakeClock();
  const activity = createActivity(clock);
  const first = activity.startDrill({ hosting: "aws" }, 1_000, UPSTREAMS) as Drill;
  clock.advance(1_000);
  assert.equal(activity.events()[0]!.kind, "drill_ended", "without asking for the drills first");
  assert.equal(activity.events()[0]!.at, first.endsAt);
  activity.startDrill({ hosting: "aws" }, 1_000, UPSTREAMS);
  clock.advance(1_000);
  assert.deepEqual(
    activity.events().map((e) => e.kind),
    ["drill_ended", "drill_started", "drill_ended", "drill_started"],
  );
});
