import assert from "node:assert/strict";
import { test } from "node:test";
import { MultihomeError } from "../errors.ts";
import {
  type ParsedBody,
  type ParsedItem,
  type ParseLimits,
  parseRequestBody,
  type RpcCall,
  type RpcId,
  scanBody,
  serializeEncodedResult,
  serializeError,
  serializeResult,
} from "./jsonrpc.ts";

const LIMITS: ParseLimits = { maxBatchItems: 100, maxDepth: 64, maxMethodLength: 64 };

function rejects(body: string, code: MultihomeError["code"], limits: ParseLimits = LIMITS): MultihomeError {
  let caught: unknown;
  try {
    parseRequestBody(body, limits);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof MultihomeError, `expected a MultihomeError for ${body.slice(0, 60)}`);
  assert.equal(caught.code, code, `${body.slice(0, 60)}: ${caught.message}`);
  return caught;
}

function single(body: string): RpcCall {
  const parsed = parseRequestBody(body, LIMITS);
  assert.equal(parsed.batch, false);
  const item = (parsed as Extract<ParsedBody, { batch: false }>).item;
  assert.ok(item.ok, "expected a valid call");
  return item.call;
}

function batch(body: string): ParsedItem[] {
  const parsed = parseRequestBody(body, LIMITS);
  assert.equal(parsed.batch, true);
  return (parsed as Extract<ParsedBody, { batch: true }>).items;
}

function call(fields: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [], ...fields });
}

test("a valid single call parses with its id, method and params", () => {
  const c = single('{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0xabc","latest"]}');
  assert.deepEqual(c, { id: 7, method: "eth_getBalance", params: ["0xabc", "latest"], notification: false });
});

test("omitted params become an empty array; object params are kept", () => {
  assert.deepEqual(single('{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}').params, []);
  assert.deepEqual(single('{"jsonrpc":"2.0","id":1,"method":"x_y","params":{"a":1}}').params, { a: 1 });
});

test("B1: a body that is not JSON is a parse error", () => {
  const e = rejects("this ain't an RPC call", "parse_error");
  assert.equal(e.rpcCode, -32700);
  assert.equal(e.httpStatus, 400);
  rejects('{"jsonrpc":"2.0","id":1,"method":"eth_chainId"', "parse_error");
  rejects("{'jsonrpc':'2.0'}", "parse_error");
  // What a decoder leaves of invalid UTF-8 (replacement characters) is still not JSON.
  rejects("\uFFFD\uFFFD{", "parse_error");
});

test("B2: an empty or whitespace-only body is a parse error", () => {
  for (const body of ["", " ", "\n\t  \r\n"]) rejects(body, "parse_error");
});

test("B3: a JSON scalar or null is an invalid request", () => {
  for (const body of ["123", '"x"', "null", "true", "1.5"]) {
    const e = rejects(body, "invalid_request");
    assert.equal(e.rpcCode, -32600);
    assert.equal(e.httpStatus, 400);
  }
});

test('B4: jsonrpc missing or not exactly "2.0" is an invalid request', () => {
  for (const version of [undefined, "1.0", 2, "2", "2.00", null]) {
    const body = JSON.stringify({ jsonrpc: version, id: 1, method: "eth_chainId" });
    const e = rejects(body, "invalid_request");
    assert.match(e.message, /invalid JSON-RPC version/);
  }
});

test("B5: method missing, non-string, empty or too long is an invalid request", () => {
  rejects('{"jsonrpc":"2.0","id":1}', "invalid_request");
  for (const method of [42, null, ["eth_chainId"], { a: 1 }, ""]) rejects(call({ method }), "invalid_request");
  const e = rejects(call({ method: `eth_${"a".repeat(61)}` }), "invalid_request");
  assert.match(e.message, /longer than 64/);
  // Exactly at the limit is fine.
  assert.equal(single(call({ method: `eth_${"a".repeat(60)}` })).method.length, 64);
});

test("method names are letters, digits and underscores starting with a letter", () => {
  for (const method of ["eth_chainId", "net_version", "web3_clientVersion", "a", "A1_b2"]) {
    assert.equal(single(call({ method })).method, method);
  }
  for (const method of [
    "rpc.discover",
    "1eth",
    "_eth",
    "eth chainId",
    "eth-chainId",
    "eth_chainId\n",
    "éth_x",
    "eth/x",
  ]) {
    const e = rejects(call({ method }), "invalid_request");
    assert.match(e.message, /method name/);
  }
});

test("params that are not an array or object are an invalid request", () => {
  for (const params of [1, "x", true]) rejects(call({ params }), "invalid_request");
});

test("B7: ids beyond 2^53 are echoed byte-exact", () => {
  for (const digits of ["9007199254740993", "1755648000000000123", "-9007199254740993"]) {
    const c = single(`{"jsonrpc":"2.0","id":${digits},"method":"eth_chainId"}`);
    assert.equal(serializeResult(c.id, "0x1"), `{"jsonrpc":"2.0","id":${digits},"result":"0x1"}`);
    assert.equal(
      serializeError(c.id, { code: -32601, message: "m" }),
      `{"jsonrpc":"2.0","id":${digits},"error":{"code":-32601,"message":"m"}}`,
    );
  }
});

test("B7: big ids are echoed byte-exact inside a batch too", () => {
  const items = batch(
    '[{"jsonrpc":"2.0","id":1755648000000000123,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_chainId"}]',
  );
  const out = items.map((i) => (i.ok ? serializeResult(i.call.id, null) : ""));
  assert.deepEqual(out, [
    '{"jsonrpc":"2.0","id":1755648000000000123,"result":null}',
    '{"jsonrpc":"2.0","id":2,"result":null}',
  ]);
});

test("B7: string, safe-integer and null ids are kept as they are", () => {
  assert.equal(single(call({ id: "abc" })).id, "abc");
  assert.equal(serializeResult(single(call({ id: "abc" })).id, 1), '{"jsonrpc":"2.0","id":"abc","result":1}');
  assert.equal(single(call({ id: 0 })).id, 0);
  assert.equal(single(call({ id: -5 })).id, -5);
  assert.equal(single(call({ id: Number.MAX_SAFE_INTEGER })).id, Number.MAX_SAFE_INTEGER);
  assert.equal(single(call({ id: null })).id, null);
  assert.equal(single(call({ id: "" })).id, "");
});

test("B7: -0 and fractional ids are invalid requests, answered with id null", () => {
  for (const id of ["-0", "1.5", "-0.0", "1e-3", "9007199254740993.5"]) {
    const body = `{"jsonrpc":"2.0","id":${id},"method":"eth_chainId"}`;
    const e = rejects(body, "invalid_request");
    assert.equal(e.rpcCode, -32600);
    assert.match(e.message, /id must be/);
    const items = batch(`[${body}]`);
    assert.equal(items.length, 1);
    assert.equal(items[0]!.ok, false);
    assert.equal(items[0]!.ok ? "" : items[0]!.id, null);
  }
});

test("B7: an integral value written as a fraction or exponent is refused, whatever the key's spelling", () => {
  for (const body of [
    '{"jsonrpc":"2.0","id":1.0,"method":"eth_chainId"}',
    '{"jsonrpc":"2.0","id":0e0,"method":"eth_chainId"}',
    '{"jsonrpc":"2.0","\\u0069d":1.0,"method":"eth_chainId"}',
  ])
    assert.match(rejects(body, "invalid_request").message, /id must be/, body);
});

test("ids that are objects, arrays or booleans are invalid requests", () => {
  for (const id of [{}, [1], true]) rejects(call({ id }), "invalid_request");
});

test("a call without an id is a notification; an explicit null id is not", () => {
  const n = single('{"jsonrpc":"2.0","method":"eth_chainId","params":[]}');
  assert.equal(n.notification, true);
  assert.equal(n.id, null);
  assert.equal(single(call({ id: null })).notification, false);
  const items = batch('[{"jsonrpc":"2.0","method":"eth_chainId"},{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}]');
  assert.deepEqual(
    items.map((i) => i.ok && i.call.notification),
    [true, false],
  );
});

test("an invalid request keeps its id when the id itself is valid", () => {
  const items = batch('[{"jsonrpc":"1.0","id":"k","method":"eth_chainId"}]');
  assert.equal(items[0]!.ok, false);
  assert.equal(items[0]!.ok ? undefined : items[0]!.id, "k");
});

test("B12: deep nesting (10,000 and 1,000,000 '[') is rejected fast, before parsing", () => {
  for (const depth of [10_000, 1_000_000]) {
    const params = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const body = `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":${params}}`;
    const started = performance.now();
    const e = rejects(body, "invalid_request");
    const elapsed = performance.now() - started;
    assert.match(e.message, /nesting deeper than 64/);
    assert.equal(e.httpStatus, 400);
    assert.ok(elapsed < 50, `depth ${depth} took ${elapsed.toFixed(1)} ms`);
  }
  // Unbalanced, never closed: the same.
  rejects("[".repeat(1_000_000), "invalid_request");
  rejects('{"a":'.repeat(100_000), "invalid_request");
});

test("B12: nesting at the limit is accepted, one deeper is not", () => {
  const limits: ParseLimits = { ...LIMITS, maxDepth: 8 };
  // The request object is depth 1, so params may nest 7 deep.
  const ok = `{"jsonrpc":"2.0","id":1,"method":"x_y","params":${"[".repeat(7)}${"]".repeat(7)}}`;
  assert.equal(parseRequestBody(ok, limits).batch, false);
  const deep = `{"jsonrpc":"2.0","id":1,"method":"x_y","params":${"[".repeat(8)}${"]".repeat(8)}}`;
  rejects(deep, "invalid_request", limits);
});

test("scanBody's depth ignores brackets inside strings, including escaped quotes", () => {
  assert.equal(scanBody(JSON.stringify({ a: "[".repeat(1000) }), 4).tooDeep, false);
  assert.equal(scanBody(JSON.stringify({ a: "{{{{{{{{{{" }), 2).tooDeep, false);
  assert.equal(scanBody(JSON.stringify({ a: 'x"[[[[[[[[[["y' }), 2).tooDeep, false);
  assert.equal(scanBody(JSON.stringify({ a: "\\", b: "[[[[[[[[" }), 2).tooDeep, false);
  assert.equal(scanBody("[[[[[[", 5).tooDeep, true);
  assert.equal(scanBody("[[[[[]]]]]", 5).tooDeep, false);
  assert.equal(scanBody('[{"a":[{"b":[1]}]}]', 5).tooDeep, false);
  assert.equal(scanBody('[{"a":[{"b":[[1]]}]}]', 5).tooDeep, true);
  // Closing brackets do not buy depth back for later siblings beyond the limit.
  assert.equal(scanBody("[[[]],[[]],[[]]]", 3).tooDeep, false);
  assert.equal(scanBody("[[[]],[[[]]]]", 3).tooDeep, true);
});

test("scanBody counts a batch's items outside nested values and strings; anything but an array has none", () => {
  assert.equal(scanBody("[]", 10).batchItems, 0);
  assert.equal(scanBody(" [ ] ", 10).batchItems, 0);
  assert.equal(scanBody("[1]", 10).batchItems, 1);
  assert.equal(scanBody('[ {"a":[1,2,3]} , "x,y" , [4,5] ]', 10).batchItems, 3);
  assert.equal(scanBody(JSON.stringify(["\\", ",", { '"': "," }]), 10).batchItems, 3);
  assert.equal(scanBody('{"a":[1,2,3]}', 10).batchItems, 0);
  assert.equal(scanBody('"[1,2,3]"', 10).batchItems, 0);
  // Invalid JSON: what the text claims (the parser refuses it anyway when it is within the limit).
  assert.equal(scanBody("[,,,]", 10).batchItems, 4);
});

test("a batch over the item limit is refused with its item count before it is parsed", () => {
  // Invalid past the limit's worth of items: parsing would fail, so the refusal can only come from the scan.
  const text = `[${Array.from({ length: 5 }, (_, i) => JSON.stringify({ jsonrpc: "2.0", id: i, method: "eth_chainId" })).join(",")},}`;
  assert.throws(
    () => parseRequestBody(text, { maxBatchItems: 4, maxDepth: 10, maxMethodLength: 64 }),
    (e: unknown) =>
      e instanceof MultihomeError && e.code === "limit_exceeded" && (e.data as { items: number }).items === 6,
  );
});

test("a body with strings full of brackets parses normally", () => {
  const c = single(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_call", params: ["[".repeat(10_000)] }));
  assert.equal((c.params as string[])[0]!.length, 10_000);
});

test("B16: a batch over the limit is limit_exceeded with a reason, before any item is looked at", () => {
  const item = '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}';
  const body = `[${Array.from({ length: 10_000 }, () => item).join(",")}]`;
  const e = rejects(body, "limit_exceeded");
  assert.equal(e.rpcCode, -32005);
  assert.equal(e.httpStatus, 413);
  assert.equal(e.data?.reason, "too many calls in batch");
  assert.equal(e.data?.limit, 100);
  // Exactly at the limit is accepted; one more is not.
  assert.equal(batch(`[${Array.from({ length: 100 }, () => item).join(",")}]`).length, 100);
  rejects(`[${Array.from({ length: 101 }, () => item).join(",")}]`, "limit_exceeded");
  // The limit also applies to batches of garbage items.
  rejects(`[${Array.from({ length: 101 }, () => "1").join(",")}]`, "limit_exceeded");
});

test("B17: an empty batch is one invalid_request, not an array", () => {
  for (const body of ["[]", " [ ] "]) {
    const e = rejects(body, "invalid_request");
    assert.match(e.message, /empty batch/);
  }
});

test("B18: a mixed batch gives one result per item, in order", () => {
  const items = batch(
    '[{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1},{"jsonrpc":"2.0","method":"eth_chainId","id":2},123,{"jsonrpc":"2.0","id":4},[]]',
  );
  assert.equal(items.length, 5);
  // "subtract" is a syntactically valid call: refusing it (-32601) is the method policy's job, not the parser's.
  assert.ok(items[0]!.ok && items[0]!.call.method === "subtract" && items[0]!.call.id === 1);
  assert.ok(items[1]!.ok && items[1]!.call.method === "eth_chainId" && items[1]!.call.id === 2);
  for (const [index, id] of [
    [2, null],
    [3, 4],
    [4, null],
  ] as const) {
    const item = items[index]!;
    assert.equal(item.ok, false, `item ${index}`);
    if (!item.ok) {
      assert.equal(item.id, id);
      assert.equal(item.error.code, "invalid_request");
    }
  }
});

test("serializeResult and serializeError write JSON-RPC 2.0 response objects", () => {
  assert.equal(serializeResult(1, { a: [1, "x"] }), '{"jsonrpc":"2.0","id":1,"result":{"a":[1,"x"]}}');
  assert.equal(serializeResult(null, null), '{"jsonrpc":"2.0","id":null,"result":null}');
  assert.equal(
    serializeError("q", { code: -32602, message: "bad", data: { x: 1 } }),
    '{"jsonrpc":"2.0","id":"q","error":{"code":-32602,"message":"bad","data":{"x":1}}}',
  );
});

test("an encoded result is written as serializeResult writes it, whatever the id", () => {
  const results: unknown[] = ["0x", "0x1", false, 0, [], [{ a: 1, b: [null, "x"] }], { number: "0x1", hash: "0xab" }];
  const ids: RpcId[] = [1, 0, 2 ** 53 - 1, "a", 'quo"ted\\', null, { nested: [1, "2"] }];
  for (const result of results)
    for (const id of ids) assert.equal(serializeEncodedResult(id, JSON.stringify(result)), serializeResult(id, result));
});
