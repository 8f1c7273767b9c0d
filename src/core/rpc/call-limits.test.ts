import assert from "node:assert/strict";
import { test } from "node:test";
import { limitCall, MAX_CALL_PARAMS } from "./call-limits.ts";

const LIMITS = { maxGas: 50_000_000, maxDataBytes: 4, maxLogAddresses: 2, maxLogTopicValues: 3 };

test("B24: eth_call gas above the cap runs with the cap; at or below it, or absent, the params are untouched", () => {
  const to = "0x00000000000000000000000000000000000000aa";
  const capped = limitCall("eth_call", [{ to, gas: "0xffffffffffffffff" }, "latest"], LIMITS);
  assert.ok(capped.ok);
  assert.deepEqual(capped.params, [{ to, gas: "0x2faf080" }, "latest"]);
  for (const params of [[{ to, gas: "0x2faf080" }, "latest"], [{ to }, "latest"], [{ to, gas: "0x05" }]]) {
    const r = limitCall("eth_estimateGas", params, LIMITS);
    assert.ok(r.ok);
    assert.equal(r.params, params);
  }
  const bad = limitCall("eth_call", [{ to, gas: "lots" }], LIMITS);
  assert.equal(bad.ok, false);
});

test("call data over the limit, too many params, too many log addresses or topic values are invalid params", () => {
  for (const [method, params] of [
    ["eth_call", [{ data: "0x0102030405" }]],
    ["eth_createAccessList", [{ input: "0x0102030405" }]],
    ["eth_getBalance", Array.from({ length: MAX_CALL_PARAMS + 1 }, () => "0x0")],
    ["eth_getLogs", [{ address: ["0x1", "0x2", "0x3"] }]],
    ["eth_getLogs", [{ topics: [["0x1", "0x2"], "0x3", ["0x4"]] }]],
  ] as const) {
    const r = limitCall(method, params as unknown as unknown[], LIMITS);
    assert.equal(r.ok, false, method);
    if (!r.ok) assert.equal(r.error.code, "invalid_params");
  }
  for (const [method, params] of [
    ["eth_call", [{ data: "0x01020304" }]],
    ["eth_getLogs", [{ address: ["0x1", "0x2"], topics: [null, ["0x1", "0x2"]] }]],
    ["eth_getLogs", [{ address: "0x1" }]],
  ] as const)
    assert.equal(limitCall(method, params as unknown as unknown[], LIMITS).ok, true, method);
});
