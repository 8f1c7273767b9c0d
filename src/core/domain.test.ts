import assert from "node:assert/strict";
import { test } from "node:test";
import { areIndependent, failureDomainOf } from "./domain.ts";

const d = (operator: string, hosting: string, region: string) => ({ operator, hosting, region });

test("failureDomainOf is hosting/region", () => {
  assert.equal(failureDomainOf(d("alpha-rpc", "aws", "us-east-1")), "aws/us-east-1");
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
