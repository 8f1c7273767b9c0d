import assert from "node:assert/strict";
import { test } from "node:test";
import type { Drill } from "../core/domains/drill.ts";
import type { Overview, UpstreamOverview } from "./admin-api.ts";
import { mergeOverviews } from "./overview-merge.ts";

const upstream = (id: string, over: Partial<UpstreamOverview> = {}): UpstreamOverview => ({
  id,
  hosting: id === "a" ? "aws" : "gcp",
  operator: id,
  region: "r",
  domain: id === "a" ? "aws/r" : "gcp/r",
  health: "healthy",
  drilled: false,
  breaker: "closed",
  admission: "admitted",
  head: 10,
  lag: 0,
  latencyMs: 5,
  share: 0,
  served: 0,
  ...over,
});

const drill = (startedAt: number, requests: number, p50Ms: number, p99Ms: number): Drill => ({
  id: `d${startedAt}`,
  selector: { hosting: "aws" },
  label: "hosting=aws",
  state: "running",
  startedAt,
  endsAt: startedAt + 60_000,
  afterEndsAt: startedAt + 70_000,
  upstreams: ["a"],
  during: { requests, failed: 1, p50Ms, p99Ms, servedBy: { "gcp/r": requests } },
  after: { requests: 0, failed: 0, p50Ms: null, p99Ms: null, servedBy: {} },
});

const overview = (over: {
  head: number;
  a: Partial<UpstreamOverview>;
  b: Partial<UpstreamOverview>;
  drills?: Drill[];
}) =>
  ({
    generatedAt: 0,
    chains: [
      {
        chainId: 1,
        ready: true,
        head: { number: over.head, hash: `0x${over.head}` },
        domainsDown: [],
        upstreams: [upstream("a", over.a), upstream("b", over.b)],
      },
    ],
    concentration: {} as Overview["concentration"],
    events: [
      { at: 1_000, kind: "cordon", chainId: 1, upstream: "a", message: "lied" },
      { at: 900 + over.head, kind: "breaker", chainId: 1, upstream: "b", message: `opened at ${over.head}` },
    ],
    drills: over.drills ?? [],
  }) as Overview;

test("workers' overviews merge: traffic summed and shares recomputed, the worst health, the highest head", () => {
  const merged = mergeOverviews(
    [
      overview({ head: 10, a: { served: 30 }, b: { served: 10 } }),
      overview({ head: 12, a: { served: 10, health: "down", head: 12 }, b: { served: 50, head: 9 } }),
    ],
    5_000,
    100,
  );
  const [a, b] = merged.chains[0]!.upstreams;
  assert.equal(merged.chains[0]!.head?.number, 12);
  assert.deepEqual([a!.served, b!.served], [40, 60]);
  assert.deepEqual([a!.share, b!.share], [0.4, 0.6]);
  assert.equal(a!.health, "down", "as unwell as the worst worker sees it");
  assert.deepEqual([a!.lag, b!.lag], [0, 2], "lag against the merged head, from the highest head any worker saw");
  assert.deepEqual(
    merged.concentration.traffic.byHosting.map((h) => [h.name, h.share]),
    [
      ["gcp", 0.6],
      ["aws", 0.4],
    ],
    "concentration from the merged traffic",
  );
  assert.equal(merged.generatedAt, 5_000);
});

test("an event several workers recorded is shown once; different events are all kept, newest first", () => {
  const workers = [overview({ head: 10, a: {}, b: {} }), overview({ head: 12, a: {}, b: {} })];
  assert.deepEqual(
    mergeOverviews(workers, 0, 100).events.map((e) => e.message),
    ["lied", "opened at 12", "opened at 10"],
  );
  assert.deepEqual(
    mergeOverviews(workers, 0, 2).events.map((e) => e.message),
    ["lied", "opened at 12"],
    "at most as many as asked for",
  );
});

test("a drill every worker ran is one drill: requests summed, p50 weighted, p99 the highest", () => {
  const merged = mergeOverviews(
    [
      overview({ head: 10, a: {}, b: {}, drills: [drill(100_000, 30, 2, 10)] }),
      overview({ head: 10, a: {}, b: {}, drills: [drill(100_500, 10, 6, 40)] }),
    ],
    0,
    100,
  );
  assert.equal(merged.drills.length, 1);
  const { during } = merged.drills[0]!;
  assert.deepEqual(during, { requests: 40, failed: 2, p50Ms: 3, p99Ms: 40, servedBy: { "gcp/r": 40 } });
});
