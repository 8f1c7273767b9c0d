import assert from "node:assert/strict";
import { test } from "node:test";
import { areIndependent, meetsAnchorRule, outageDomainOf } from "./domain.ts";

const d = (operator: string, hosting: string, region: string) => ({ operator, hosting, region });

test("outageDomainOf is hosting/region", () => {
  assert.equal(outageDomainOf(d("alpha-rpc", "aws", "us-east-1")), "aws/us-east-1");
});

test("independent means different hosting/region AND different operator", () => {
  assert.equal(areIndependent(d("a", "aws", "us-east-1"), d("b", "gcp", "us-east-1")), true);
  assert.equal(areIndependent(d("a", "aws", "us-east-1"), d("b", "aws", "eu-west-1")), true);
  // Two vendors on one cloud region share one outage.
  assert.equal(areIndependent(d("a", "aws", "us-east-1"), d("b", "aws", "us-east-1")), false);
  // One operator can lie on all its nodes at once.
  assert.equal(areIndependent(d("a", "aws", "us-east-1"), d("a", "gcp", "europe-west1")), false);
  assert.equal(areIndependent(d("a", "self", "home"), d("a", "self", "home")), false);
});

test("the anchor rule: enough witnesses, in enough distinct outage domains, with an independent pair", () => {
  const awsA = { operator: "vendor-a", hosting: "aws", region: "us-east-1" };
  const awsB = { operator: "vendor-b", hosting: "aws", region: "us-east-1" };
  const gcpA = { operator: "vendor-a", hosting: "gcp", region: "europe-west1" };
  const gcpC = { operator: "vendor-c", hosting: "gcp", region: "europe-west1" };
  const rule = { minDomains: 2, minUpstreams: 2 };
  assert.equal(meetsAnchorRule([awsA, gcpC], rule), true);
  // Two vendors in one cloud region: one outage domain.
  assert.equal(meetsAnchorRule([awsA, awsB], rule), false);
  // Two domains but one operator, who could lie on both.
  assert.equal(meetsAnchorRule([awsA, gcpA], rule), false);
  assert.equal(meetsAnchorRule([awsA], rule), false);
  assert.equal(meetsAnchorRule([awsA, awsB, gcpC], { minDomains: 2, minUpstreams: 3 }), true);
  assert.equal(meetsAnchorRule([awsA, gcpC], { minDomains: 2, minUpstreams: 3 }), false);
  assert.equal(meetsAnchorRule([awsA, gcpC], { minDomains: 3, minUpstreams: 2 }), false);
  // An operator that anchors on its own nodes says so explicitly.
  assert.equal(meetsAnchorRule([awsA, awsB], { minDomains: 1, minUpstreams: 2 }), true);
  assert.equal(meetsAnchorRule([awsA], { minDomains: 1, minUpstreams: 1 }), true);
});
