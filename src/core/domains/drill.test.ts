import assert from "node:assert/strict";
import { test } from "node:test";
import { drillLabel, drillSelects, parseDrillSelector } from "./drill.ts";

test("selectors parse strictly", () => {
  assert.deepEqual(parseDrillSelector("hosting=aws"), { hosting: "aws" });
  assert.deepEqual(parseDrillSelector("hosting=aws, region=us-east-1"), { hosting: "aws", region: "us-east-1" });
  for (const bad of ["", "aws", "cloud=aws", "hosting=", "hosting=aws,hosting=gcp", "hosting=a=b"]) {
    assert.equal(parseDrillSelector(bad), undefined, bad);
  }
});

test("a selector names its domain in a fixed field order and selects the domains it matches on every field it sets", () => {
  assert.equal(drillLabel({ region: "us-east-1", operator: "alpha-rpc" }), "operator=alpha-rpc,region=us-east-1");
  const aws = { hosting: "aws", operator: "alpha-rpc", region: "us-east-1" };
  assert.equal(drillSelects({ hosting: "aws" }, aws), true);
  assert.equal(drillSelects({ hosting: "aws", region: "eu-west-1" }, aws), false);
});
