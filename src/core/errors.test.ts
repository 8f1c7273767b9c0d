import assert from "node:assert/strict";
import { test } from "node:test";
import { ERRORS, type ErrorCode, MultihomeError, toRpcError } from "./errors.ts";

test("every code has a JSON-RPC code, an HTTP status from the contract and a message", () => {
  for (const [code, entry] of Object.entries(ERRORS)) {
    assert.ok(Number.isInteger(entry.rpc) && entry.rpc < 0, code);
    assert.ok([200, 400, 401, 403, 404, 413, 429, 503].includes(entry.http), code);
    assert.ok(entry.message.length > 0, code);
  }
});

test("the contract's codes and statuses", () => {
  const expected: Record<ErrorCode, [number, number]> = {
    parse_error: [-32700, 400],
    invalid_request: [-32600, 400],
    method_not_found: [-32601, 200],
    invalid_params: [-32602, 200],
    internal: [-32603, 200],
    unavailable: [-32002, 200],
    tx_rejected: [-32003, 200],
    limit_exceeded: [-32005, 413],
    rate_limited: [-32005, 429],
    unknown_chain: [-32602, 404],
    timeout: [-32002, 200],
    insufficient_evidence: [-32002, 200],
    unauthorized: [-32090, 401],
    forbidden: [-32091, 403],
  };
  assert.deepEqual(Object.fromEntries(Object.entries(ERRORS).map(([k, v]) => [k, [v.rpc, v.http]])), expected);
});

test("MultihomeError carries its codes, data and retry hint; toRpcError adds multihomeCode", () => {
  const e = new MultihomeError("rate_limited", undefined, { data: { reason: "key" }, retryAfterSeconds: 3 });
  assert.equal(e.message, "rate limited");
  assert.equal(e.name, "MultihomeError");
  assert.equal(e.rpcCode, -32005);
  assert.equal(e.httpStatus, 429);
  assert.equal(e.retryAfterSeconds, 3);
  assert.ok(e instanceof Error);
  assert.deepEqual(toRpcError(e), {
    code: -32005,
    message: "rate limited",
    data: { reason: "key", multihomeCode: "rate_limited" },
  });
  assert.deepEqual(toRpcError(new MultihomeError("internal", "internal error (id 7)")), {
    code: -32603,
    message: "internal error (id 7)",
    data: { multihomeCode: "internal" },
  });
});

test("data cannot override multihomeCode", () => {
  const e = new MultihomeError("unavailable", undefined, { data: { multihomeCode: "forged" } });
  assert.equal(toRpcError(e).data.multihomeCode, "unavailable");
});
