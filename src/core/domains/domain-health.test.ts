import assert from "node:assert/strict";
import { test } from "node:test";
import { createDomainHealth, DOMAIN_HEALTH_DEFAULTS } from "./domain-health.ts";

const AWS = "aws/us-east-1";
const GCP = "gcp/europe-west1";

test("defaults: two upstreams within 3 s demote a domain for 5 s", () => {
  assert.deepEqual(DOMAIN_HEALTH_DEFAULTS, { minFailedUpstreams: 2, windowMs: 3_000, downMs: 5_000 });
});

test("one upstream failing, however often, does not demote its domain", () => {
  const health = createDomainHealth();
  for (let t = 0; t < 1_000; t += 10) health.onFailure(AWS, "alpha", t);
  assert.equal(health.isDown(AWS, 1_000), false);
  assert.deepEqual(health.downDomains(1_000), []);
});

test("two upstreams of one domain failing within the window demote it", () => {
  const health = createDomainHealth();
  health.onFailure(AWS, "alpha", 0);
  health.onFailure(AWS, "beta", 3_000);
  assert.equal(health.isDown(AWS, 3_000), true);
  assert.equal(health.isDown(GCP, 3_000), false);
  assert.deepEqual(health.downDomains(3_000), [AWS]);
  // Down for downMs after the failure that demoted it, then back without further evidence.
  assert.equal(health.isDown(AWS, 7_999), true);
  assert.equal(health.isDown(AWS, 8_000), false);
  assert.deepEqual(health.downDomains(8_000), []);
});

test("failures further apart than the window do not add up", () => {
  const health = createDomainHealth();
  health.onFailure(AWS, "alpha", 0);
  health.onFailure(AWS, "beta", 3_001);
  assert.equal(health.isDown(AWS, 3_001), false);
});

test("failures in different domains do not add up", () => {
  const health = createDomainHealth();
  health.onFailure(AWS, "alpha", 0);
  health.onFailure(GCP, "beta", 1);
  assert.deepEqual(health.downDomains(1), []);
});

test("a success of one upstream clears its failure and lifts the domain", () => {
  const health = createDomainHealth();
  health.onFailure(AWS, "alpha", 0);
  health.onSuccess(AWS, "alpha", 100);
  health.onFailure(AWS, "beta", 200);
  assert.equal(health.isDown(AWS, 200), false);
  health.onFailure(AWS, "gamma", 300);
  assert.equal(health.isDown(AWS, 300), true);
  health.onSuccess(AWS, "gamma", 400);
  assert.equal(health.isDown(AWS, 400), false);
  // beta's failure is still recent: one more upstream failing demotes the domain again.
  health.onFailure(AWS, "gamma", 500);
  assert.equal(health.isDown(AWS, 500), true);
});

test("thresholds are options", () => {
  const health = createDomainHealth({ minFailedUpstreams: 3, windowMs: 100, downMs: 50 });
  health.onFailure(AWS, "a", 0);
  health.onFailure(AWS, "b", 10);
  assert.equal(health.isDown(AWS, 10), false);
  health.onFailure(AWS, "c", 20);
  assert.equal(health.isDown(AWS, 20), true);
  assert.equal(health.isDown(AWS, 70), false);
});
