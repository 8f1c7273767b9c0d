import assert from "node:assert/strict";
import { test } from "node:test";
import {
  assessConcentration,
  CONCENTRATION_DOMINANT_SHARE,
  CONCENTRATION_FINDINGS,
  HHI_MAX,
  hhi,
  UNKNOWN_REGION,
} from "./concentration.ts";
import type { FailureDomain } from "./domain.ts";

const d = (operator: string, hosting: string, region: string): FailureDomain => ({ operator, hosting, region });
const count = (...domains: FailureDomain[]) => domains.map((domain) => ({ domain, weight: 1 }));
const codes = (report: { findings: { code: string }[] }) => report.findings.map((f) => f.code).sort();

test("hhi: one holder is HHI_MAX, equal holders 10000/n, no weight 0", () => {
  assert.equal(hhi([5]), HHI_MAX);
  assert.equal(hhi([1, 1]), 5_000);
  assert.equal(hhi([1, 1, 1, 1]), 2_500);
  assert.equal(hhi([1, 1, 1]), 3_333);
  assert.equal(hhi([3, 1]), 6_250);
  assert.equal(hhi([]), 0);
  assert.equal(hhi([0, 0]), 0);
  assert.equal(hhi(new Set([2, 6])), 6_250);
  assert.throws(() => hhi([1, -1]), RangeError);
  assert.throws(() => hhi([Number.NaN]), RangeError);
});

test("well spread upstreams: shares descending, no findings", () => {
  const report = assessConcentration(
    count(
      d("alpha-rpc", "aws", "us-east-1"),
      d("beta-nodes", "aws", "us-east-1"),
      d("gamma-cloud", "gcp", "europe-west1"),
      d("community", "hetzner", "eu-central"),
    ),
  );
  assert.deepEqual(report.byHosting, [
    { name: "aws", share: 0.5 },
    { name: "gcp", share: 0.25 },
    { name: "hetzner", share: 0.25 },
  ]);
  assert.equal(report.byOperator.length, 4);
  assert.deepEqual(report.hhi, { hosting: 3_750, operator: 2_500, region: 3_750 });
  assert.deepEqual(report.findings, []);
});

test("one hosting and one operator: single_hosting, single_operator, no_anchor, single_region", () => {
  const report = assessConcentration(count(d("acme", "aws", "us-east-1"), d("acme", "aws", "us-east-1")));
  assert.deepEqual(codes(report), ["no_anchor", "single_hosting", "single_operator", "single_region"]);
  assert.deepEqual(report.hhi, { hosting: HHI_MAX, operator: HHI_MAX, region: HHI_MAX });
  for (const f of report.findings) assert.equal(f.severity, CONCENTRATION_FINDINGS[f.code as "no_anchor"]);
  const hosting = report.findings.find((f) => f.code === "single_hosting");
  assert.match(hosting?.message ?? "", /one hosting provider \(aws\)/);
});

test("one hosting, distinct operators and regions: single_hosting only (anchoring still works)", () => {
  const report = assessConcentration(count(d("a", "aws", "us-east-1"), d("b", "aws", "eu-west-1")));
  assert.deepEqual(codes(report), ["single_hosting"]);
});

test("distinct hostings but one operator: single_operator and no_anchor", () => {
  const report = assessConcentration(count(d("acme", "aws", "us-east-1"), d("acme", "gcp", "us-east1")));
  assert.deepEqual(codes(report), ["no_anchor", "single_operator"]);
});

test("two operators in one outage domain are not independent: no_anchor", () => {
  const report = assessConcentration(count(d("a", "aws", "us-east-1"), d("b", "aws", "us-east-1")));
  assert.deepEqual(codes(report), ["no_anchor", "single_hosting", "single_region"]);
});

test("all in one region across providers: single_region warning only", () => {
  const report = assessConcentration(count(d("a", "aws", "eu"), d("b", "gcp", "eu")));
  assert.deepEqual(codes(report), ["single_region"]);
  assert.equal(report.findings[0]?.severity, "warning");
});

test("more than half on one hosting / operator: dominant warnings; exactly half is not dominant", () => {
  const report = assessConcentration(count(d("a", "aws", "r1"), d("a", "aws", "r2"), d("b", "gcp", "r3")));
  assert.deepEqual(codes(report), ["dominant_hosting", "dominant_operator"]);
  assert.match(report.findings[0]?.message ?? "", /67%/);
  assert.equal(CONCENTRATION_DOMINANT_SHARE, 0.5);
  const half = assessConcentration(count(d("a", "aws", "r1"), d("b", "gcp", "r2")));
  assert.deepEqual(codes(half), []);
});

test("traffic weights: shares follow weight, zero-weight items carry nothing", () => {
  const report = assessConcentration(
    [
      { domain: d("a", "aws", "r1"), weight: 90 },
      { domain: d("b", "gcp", "r2"), weight: 10 },
      { domain: d("c", "hetzner", "r3"), weight: 0 },
    ],
    "traffic",
  );
  assert.deepEqual(report.byHosting, [
    { name: "aws", share: 0.9 },
    { name: "gcp", share: 0.1 },
    { name: "hetzner", share: 0 },
  ]);
  assert.equal(report.hhi.hosting, 8_200);
  assert.deepEqual(codes(report), ["dominant_hosting", "dominant_operator"]);
  assert.match(report.findings[0]?.message ?? "", /90% of the traffic/);

  const oneCarrier = assessConcentration(
    [
      { domain: d("a", "aws", "r1"), weight: 5 },
      { domain: d("b", "gcp", "r2"), weight: 0 },
    ],
    "traffic",
  );
  assert.deepEqual(codes(oneCarrier), ["no_anchor", "single_hosting", "single_operator", "single_region"]);
});

test("no weight at all: no division by zero; no traffic is nothing to judge, no upstreams is critical", () => {
  const idle = assessConcentration([{ domain: d("a", "aws", "r1"), weight: 0 }], "traffic");
  assert.deepEqual(idle.byHosting, [{ name: "aws", share: 0 }]);
  assert.deepEqual(idle.hhi, { hosting: 0, operator: 0, region: 0 });
  assert.deepEqual(idle.findings, []);

  const empty = assessConcentration([]);
  assert.deepEqual(empty.byHosting, []);
  assert.deepEqual(empty.hhi, { hosting: 0, operator: 0, region: 0 });
  assert.deepEqual(codes(empty), ["no_anchor", "single_hosting", "single_operator"]);
  assert.ok(empty.findings.every((f) => f.severity === "critical"));
  assert.throws(() => assessConcentration([{ domain: d("a", "b", "c"), weight: -1 }]), RangeError);
});

test("an unknown region is no region: out of the region shares and single_region, and no independence on one hosting", () => {
  // Two inferred public upstreams: two operators, two hostings, both regions unknown.
  const inferred = assessConcentration(count(d("a", "aws", UNKNOWN_REGION), d("b", "gcp", UNKNOWN_REGION)));
  assert.deepEqual(codes(inferred), []);
  assert.deepEqual(inferred.byRegion, []);
  assert.equal(inferred.hhi.region, 0);

  // One region known, the other not: the shares are of the known weight, and one region is not everything.
  const mixed = assessConcentration(count(d("a", "aws", "us-east-1"), d("b", "gcp", UNKNOWN_REGION)));
  assert.deepEqual(mixed.byRegion, [{ name: "us-east-1", share: 1 }]);
  assert.deepEqual(codes(mixed), []);

  // aws/unknown may be aws/us-east-1: two operators on one hosting with an unknown region cannot anchor.
  const oneCloud = assessConcentration(count(d("a", "aws", "us-east-1"), d("b", "aws", UNKNOWN_REGION)));
  assert.deepEqual(codes(oneCloud), ["no_anchor", "single_hosting"]);
  const bothUnknown = assessConcentration(count(d("a", "aws", UNKNOWN_REGION), d("b", "aws", UNKNOWN_REGION)));
  assert.deepEqual(codes(bothUnknown), ["no_anchor", "single_hosting"]);
});
