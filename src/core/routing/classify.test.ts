import assert from "node:assert/strict";
import { test } from "node:test";
import type { TransportFailureKind, TransportResponse } from "../ports.ts";
import { classifyResponse, classifyTransportFailure, type Outcome } from "./classify.ts";

const NOW = Date.UTC(2025, 9, 20, 7, 0, 0);

function respond(status: number, body: unknown, retryAfter?: string): Outcome {
  const response: TransportResponse = { status, body: typeof body === "string" ? body : JSON.stringify(body) };
  if (retryAfter !== undefined) response.retryAfter = retryAfter;
  return classifyResponse(response, NOW);
}

function rpcError(code: unknown, message: unknown, data?: unknown): unknown {
  return { jsonrpc: "2.0", id: 1, error: data === undefined ? { code, message } : { code, message, data } };
}

test("a result is an answer, whatever its value", () => {
  for (const result of ["0x0", null, [], { a: 1 }, false]) {
    assert.deepEqual(respond(200, { jsonrpc: "2.0", id: 1, result }), { kind: "result", decision: "answer", result });
  }
});

test("a revert (code 3) is an execution answer, data kept", () => {
  const data = "0x08c379a00000000000000000000000000000000000000000000000000000000000000020";
  const outcome = respond(200, rpcError(3, "execution reverted: Nope", data));
  assert.deepEqual(outcome, {
    kind: "execution",
    decision: "answer",
    error: { code: 3, message: "execution reverted: Nope", data },
  });
});

test("-32000 execution reverted and other chain execution errors are answers, not retried", () => {
  for (const message of [
    "execution reverted",
    "out of gas",
    "gas required exceeds allowance (50000000)",
    "insufficient funds for gas * price + value",
    "nonce too low: next nonce 5, tx nonce 4",
    "already known",
    "replacement transaction underpriced",
    "invalid opcode: INVALID",
  ]) {
    const outcome = respond(200, rpcError(-32000, message));
    assert.equal(outcome.kind, "execution", message);
    assert.equal(outcome.decision, "answer", message);
  }
});

test("anvil's EVM errors (-32603 \"EVM error OutOfGas\") are the chain's answers, not a failing node", () => {
  for (const message of ["EVM error OutOfGas", "EVM error InvalidJump", "EVM error OpcodeNotFound"]) {
    const outcome = respond(200, rpcError(-32603, message));
    assert.equal(outcome.kind, "execution", message);
  }
});

test("a revert whose reason mentions rate limits is still a revert", () => {
  const outcome = respond(200, rpcError(3, "execution reverted: rate limit exceeded"));
  assert.equal(outcome.kind, "execution");
});

test("-32602 invalid params from the node is the client's mistake: answered, not retried", () => {
  const outcome = respond(200, rpcError(-32602, "invalid argument 0: hex string has odd length"));
  assert.deepEqual(outcome, {
    kind: "execution",
    decision: "answer",
    error: { code: -32602, message: "invalid argument 0: hex string has odd length" },
  });
});

test("HTTP 429 with Retry-After is capacity with that backoff, whatever the body", () => {
  assert.deepEqual(respond(429, "Too Many Requests", "10"), { kind: "capacity", decision: "retry", backoffMs: 10_000 });
  assert.deepEqual(respond(429, "", "Mon, 20 Oct 2025 07:00:30 GMT"), {
    kind: "capacity",
    decision: "retry",
    backoffMs: 30_000,
  });
  assert.deepEqual(respond(429, "<html>slow down</html>"), {
    kind: "capacity",
    decision: "retry",
    backoffMs: undefined,
  });
  // A JSON body at 429 is capacity too, even when it looks like a result.
  assert.equal(respond(429, { jsonrpc: "2.0", id: 1, result: "0x1" }, "1").kind, "capacity");
});

test("HTTP 429 takes the longer of Retry-After and the body's hint", () => {
  const body = rpcError(-32005, "limit exceeded", { backoff_seconds: 10 });
  assert.deepEqual(respond(429, body, "2"), { kind: "capacity", decision: "retry", backoffMs: 10_000 });
  assert.deepEqual(respond(429, body, "30"), { kind: "capacity", decision: "retry", backoffMs: 30_000 });
  assert.deepEqual(respond(429, body), { kind: "capacity", decision: "retry", backoffMs: 10_000 });
});

test("-32005 with data.backoff_seconds is capacity with that backoff", () => {
  const outcome = respond(200, rpcError(-32005, "request rate exceeded", { backoff_seconds: 10 }));
  assert.deepEqual(outcome, { kind: "capacity", decision: "retry", backoffMs: 10_000 });
});

test("HTTP 200 + -32029 is a capacity error, not an execution error", () => {
  const outcome = respond(200, rpcError(-32029, "Too many requests"));
  assert.equal(outcome.kind, "capacity");
  assert.equal(outcome.decision, "retry");
  // Even when the message is unfamiliar: the code alone decides.
  assert.equal(respond(200, rpcError(-32029, "please slow down")).kind, "capacity");
});

test("vendor rate-limit messages under generic codes are capacity", () => {
  for (const [code, message] of [
    [-32000, "daily request count exceeded, request rate limited"],
    [429, "Your app has exceeded its compute units per second capacity"],
    [-32000, "Too Many Requests"],
  ] as const) {
    assert.equal(respond(200, rpcError(code, message)).kind, "capacity", message);
  }
});

test("a range complaint is a failover to a node with a bigger limit, not capacity", () => {
  const outcome = respond(200, rpcError(-32005, "query returned more than 10000 results"));
  assert.equal(outcome.kind, "unsupported");
  assert.equal(outcome.decision, "failover");
});

test("-32601 method not found is unsupported: fail over", () => {
  const error = { code: -32601, message: "the method eth_foo does not exist/is not available" };
  assert.deepEqual(respond(200, { jsonrpc: "2.0", id: 1, error }), {
    kind: "unsupported",
    decision: "failover",
    error,
  });
  assert.equal(respond(200, rpcError(-32000, "method not supported")).kind, "unsupported");
});

test("HTTP 5xx with a non-JSON body is a server failure", () => {
  assert.deepEqual(respond(500, "Internal Server Error"), { kind: "server", decision: "failover", status: 500 });
  assert.deepEqual(respond(502, "<html>Bad Gateway</html>"), { kind: "server", decision: "failover", status: 502 });
  assert.deepEqual(respond(503, ""), { kind: "server", decision: "failover", status: 503 });
});

test("HTTP 500 with a JSON-RPC error and HTTP 5xx with a result are server failures", () => {
  const error = { code: -32603, message: "internal error" };
  assert.deepEqual(respond(500, { jsonrpc: "2.0", id: 1, error }), {
    kind: "server",
    decision: "failover",
    status: 500,
    error,
  });
  assert.deepEqual(respond(500, { jsonrpc: "2.0", id: 1, result: "0x1" }), {
    kind: "server",
    decision: "failover",
    status: 500,
  });
  assert.deepEqual(respond(503, { jsonrpc: "2.0", id: 1 }), { kind: "server", decision: "failover", status: 503 });
  // An unknown error shape at 5xx is a server failure, not an unknown one.
  assert.equal(respond(500, rpcError(-32099, "whatever")).kind, "server");
});

test("-32603 at HTTP 200 is a server failure", () => {
  assert.deepEqual(respond(200, rpcError(-32603, "internal error")), {
    kind: "server",
    decision: "failover",
    status: 200,
    error: { code: -32603, message: "internal error" },
  });
});

test("a node without the block fails over even when it says -32602 (anvil: BlockOutOfRangeError)", () => {
  const outcome = respond(200, rpcError(-32602, "BlockOutOfRangeError: block height is 0 but requested was 1"));
  assert.equal(outcome.kind, "server");
  assert.equal(outcome.decision, "failover");
});

test("missing state (header not found, pruned) fails over to a node that has it", () => {
  for (const message of [
    "header not found",
    "missing trie node 0xabc (path )",
    "unknown block",
    "historical state not available",
  ]) {
    const outcome = respond(200, rpcError(-32000, message));
    assert.equal(outcome.kind, "server", message);
    assert.equal(outcome.decision, "failover", message);
  }
});

test("truncated, unparseable or empty bodies are malformed: fail over", () => {
  const full = JSON.stringify({ jsonrpc: "2.0", id: 1, result: `0x${"ab".repeat(100)}` });
  for (const body of [full.slice(0, full.length / 2), full.slice(0, -1), "", "not json", "\u0000"]) {
    const outcome = respond(200, body);
    assert.equal(outcome.kind, "malformed", JSON.stringify(body.slice(0, 20)));
    assert.equal(outcome.decision, "failover");
    assert.ok(outcome.kind === "malformed" && outcome.reason === "unparseable body (HTTP 200)");
  }
  assert.equal(respond(404, "Not Found").kind, "malformed");
});

test("JSON that is not a JSON-RPC response object is malformed", () => {
  for (const body of [
    "null",
    "123",
    '"x"',
    "[]",
    '[{"jsonrpc":"2.0","id":1,"result":"0x1"}]',
    "{}",
    '{"jsonrpc":"2.0","id":1}',
  ]) {
    const outcome = respond(200, body);
    assert.equal(outcome.kind, "malformed", body);
    assert.equal(outcome.decision, "failover", body);
  }
});

test("an unknown vendor error shape takes the documented default: failover, kind unknown", () => {
  const outcome = respond(200, rpcError(-32099, "The backend is having a moment", { trace: "abc" }));
  assert.deepEqual(outcome, {
    kind: "unknown",
    decision: "failover",
    error: { code: -32099, message: "The backend is having a moment", data: { trace: "abc" } },
  });
  assert.equal(respond(200, rpcError(-32000, "something unexpected happened")).kind, "unknown");
  // A non-string message is treated as empty rather than trusted.
  assert.deepEqual(respond(200, rpcError(-32001, { nested: true })), {
    kind: "unknown",
    decision: "failover",
    error: { code: -32001, message: "" },
  });
});

test("an error object without a numeric code is not an answer: fail over", () => {
  for (const error of ["boom", { message: "boom" }, { code: "-32000", message: "execution reverted" }, null]) {
    const outcome = respond(200, { jsonrpc: "2.0", id: 1, error });
    assert.equal(outcome.decision, "failover", JSON.stringify(error));
    assert.notEqual(outcome.kind, "execution");
  }
});

test("only code, message and data of an upstream error are kept", () => {
  const body = {
    jsonrpc: "2.0",
    id: 1,
    error: { code: 3, message: "execution reverted", data: "0x", stack: "at x", url: "https://secret" },
  };
  const outcome = respond(200, body);
  assert.ok(outcome.kind === "execution");
  assert.deepEqual(Object.keys(outcome.error).sort(), ["code", "data", "message"]);
});

test("transport failures fail over, except a too-large answer which is fatal", () => {
  for (const failure of ["connect", "reset", "timeout", "aborted"] as TransportFailureKind[]) {
    assert.deepEqual(classifyTransportFailure(failure), { kind: "transport", decision: "failover", failure });
  }
  assert.deepEqual(classifyTransportFailure("too_large"), { kind: "too_large", decision: "fatal" });
});
