/**
 * Property-based fuzzing of everything a client's bytes reach before an upstream is asked: body parsing and framing,
 * block pinning, and signed-transaction decoding. The default run is small enough for every CI run; an operator starts
 * the long run with `npm run fuzz` (or `MULTIHOME_FUZZ_RUNS=<runs per property>`). A failure prints fast-check's seed
 * and path; `MULTIHOME_FUZZ_SEED=<seed>` replays that run.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import fc from "fast-check";
import { hexToBytes, keccak256 } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEV_ACCOUNTS } from "../devnet/accounts.ts";
import { ERRORS, MultihomeError, toRpcError } from "./errors.ts";
import type { Hex } from "./hex.ts";
import { decodeRawTransaction, type SendVerdict, sendVerdict } from "./outbox/tx.ts";
import {
  type ParsedBody,
  type ParsedItem,
  type ParseLimits,
  parseRequestBody,
  type RpcId,
  scanBody,
  serializeError,
  serializeResult,
} from "./rpc/jsonrpc.ts";
import { METHODS, methodSpec, parseBlockNumber, pinBlock, toHex } from "./rpc/methods.ts";

function positiveIntegerFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${text}`);
  return n;
}

function seedFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer (a seed fast-check printed), got ${text}`);
  return n;
}

const RUNS_OVERRIDE = positiveIntegerFromEnv("MULTIHOME_FUZZ_RUNS");
const SEED = seedFromEnv("MULTIHOME_FUZZ_SEED");

/** fast-check parameters: `defaultRuns` keeps the CI run within a few seconds; the environment overrides it. */
function runs<T>(defaultRuns: number): fc.Parameters<T> {
  return { numRuns: RUNS_OVERRIDE ?? defaultRuns, ...(SEED === undefined ? {} : { seed: SEED }) };
}

const DEFAULT_LIMITS: ParseLimits = { maxBatchItems: 100, maxDepth: 64, maxMethodLength: 64 };
/** Within the bounds the config schema accepts. */
const limitsArb: fc.Arbitrary<ParseLimits> = fc.oneof(
  fc.constant(DEFAULT_LIMITS),
  fc.record({
    maxBatchItems: fc.integer({ min: 1, max: 200 }),
    maxDepth: fc.integer({ min: 4, max: 1_000 }),
    maxMethodLength: fc.integer({ min: 8, max: 256 }),
  }),
);
const WIDE_LIMITS: ParseLimits = { maxBatchItems: 100, maxDepth: 1_000, maxMethodLength: 64 };

/** The whole-body failures and the HTTP status each one must carry. */
const WHOLE_BODY_STATUS: Record<string, number> = { parse_error: 400, invalid_request: 400, limit_exceeded: 413 };

// ---------------------------------------------------------------------------------------------------------------
// Prototype pollution: snapshot the shared prototypes once, compare after every property run and at the end.

const PROTOTYPES = [Object.prototype, Array.prototype, Function.prototype, String.prototype, Number.prototype];
const prototypeSnapshot = PROTOTYPES.map((p) => Reflect.ownKeys(p).map(String).sort().join(","));

function assertPrototypesClean(): void {
  PROTOTYPES.forEach((p, i) => {
    assert.equal(Reflect.ownKeys(p).map(String).sort().join(","), prototypeSnapshot[i], "a prototype gained a key");
  });
  const probe = {} as Record<string, unknown>;
  for (const key of ["polluted", "id", "method", "jsonrpc", "params", "blockHash", "blockNumber", "fromBlock"]) {
    assert.equal(probe[key], undefined, `Object.prototype.${key} is set`);
  }
  assert.equal(Object.getPrototypeOf(probe), Object.prototype);
}

after(assertPrototypesClean);

// ---------------------------------------------------------------------------------------------------------------
// Generators of request text.

const ws = fc.constantFrom("", "", "", " ", "\n", "\t", "\r\n  ");
const methodNameArb = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,40}$/);
const POLLUTING_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf"] as const;

/** JSON text of any shape, at most a few levels deep, with unicode strings. */
const jsonTextArb = fc.json({ maxDepth: 4, stringUnit: "binary" });

/** Integer literals beyond 2^53 (either sign), exactly at the boundary, and just inside it. */
const bigIntegerLiteralArb = fc
  .oneof(
    fc.bigInt({ min: 2n ** 53n, max: 10n ** 40n }),
    fc.bigInt({ min: -(10n ** 40n), max: -(2n ** 53n) }),
    fc.constantFrom(2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 64n, 10n ** 400n),
  )
  .map(String);

/** Any JSON number literal: signs, fractions, exponents, very long digit runs. */
const numberLiteralArb = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.constant("0"), fc.stringMatching(/^[1-9][0-9]{0,30}$/), fc.stringMatching(/^[1-9][0-9]{300,420}$/)),
    fc.option(fc.stringMatching(/^[0-9]{1,20}$/), { nil: undefined }),
    fc.option(fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), fc.stringMatching(/^[0-9]{1,4}$/)), {
      nil: undefined,
    }),
  )
  .map(
    ([negative, int, frac, exp]) =>
      `${negative ? "-" : ""}${int}${frac === undefined ? "" : `.${frac}`}${exp === undefined ? "" : exp.join("")}`,
  );

/** The id's source text exactly as it appears in the body, for an id the gateway must echo. */
const idTextArb = fc.oneof(
  fc.maxSafeInteger().map((n) => JSON.stringify(n)),
  fc.string({ unit: "binary", maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.constant("null"),
  bigIntegerLiteralArb,
);

const paramsTextArb = fc.oneof(
  fc
    .array(fc.oneof(jsonTextArb, bigIntegerLiteralArb, numberLiteralArb), { maxLength: 5 })
    .map((a) => `[${a.join(",")}]`),
  fc
    .array(fc.tuple(fc.oneof(fc.string(), fc.constantFrom(...POLLUTING_KEYS)), jsonTextArb), { maxLength: 5 })
    .map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
);

interface RequestText {
  text: string;
  /** undefined: a notification (no id member). */
  idText: string | undefined;
  method: string;
  paramsText: string | undefined;
}

/** A valid request, with members in any order, optional whitespace and a shadowed earlier `id` (last one wins). */
const requestArb: fc.Arbitrary<RequestText> = fc
  .record({
    idText: fc.option(idTextArb, { nil: undefined, freq: 8 }),
    method: methodNameArb,
    paramsText: fc.option(paramsTextArb, { nil: undefined }),
    shadowedId: fc.option(fc.oneof(numberLiteralArb, jsonTextArb), { nil: undefined }),
    order: fc.shuffledSubarray(["jsonrpc", "id", "method", "params"], { minLength: 4, maxLength: 4 }),
    spaces: fc.array(ws, { minLength: 12, maxLength: 12 }),
  })
  .map(({ idText, method, paramsText, shadowedId, order, spaces }) => {
    const values: Record<string, string | undefined> = {
      jsonrpc: '"2.0"',
      id: idText,
      method: JSON.stringify(method),
      params: paramsText,
    };
    const members: string[] = [];
    if (idText !== undefined && shadowedId !== undefined) members.push(`"id":${shadowedId}`);
    for (const key of order) {
      const value = values[key];
      if (value !== undefined) members.push(`${JSON.stringify(key)}${spaces[members.length] ?? ""}:${value}`);
    }
    const text = `${spaces[10] ?? ""}{${members.join(`,${spaces[11] ?? ""}`)}}${spaces[9] ?? ""}`;
    return { text, idText, method, paramsText };
  });

/** Splices applied to a valid body: deletions, insertions of structural characters, duplications. */
const mutatedRequestArb = fc
  .tuple(
    fc.oneof(
      requestArb.map((r) => r.text),
      fc.array(requestArb, { minLength: 1, maxLength: 4 }).map((rs) => `[${rs.map((r) => r.text).join(",")}]`),
    ),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.nat({ max: 8 }),
        fc.oneof(
          fc.constantFrom("", "{", "}", "[", "]", '"', "\\", ",", ":", "-", "0", "e", "\u0000", "\ud800", "null"),
          fc.string({ unit: "binary", maxLength: 4 }),
        ),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([text, edits]) => {
    let out = text;
    for (const [at, remove, insert] of edits) {
      const i = at % (out.length + 1);
      out = out.slice(0, i) + insert + out.slice(i + remove);
    }
    return out;
  });

/** Token soup: mostly JSON-looking, mostly invalid. */
const jsonishArb = fc
  .array(
    fc.constantFrom(
      "{",
      "}",
      "[",
      "]",
      '"',
      ":",
      ",",
      "\\",
      '"id"',
      '"jsonrpc"',
      '"2.0"',
      '"method"',
      '"params"',
      '"eth_chainId"',
      '"__proto__"',
      '"constructor"',
      "null",
      "true",
      "1",
      "-0",
      "1e400",
      "9007199254740993",
      "0.5",
      " ",
      "\n",
      "\u2028",
      '"\\u0000"',
      '"\\ud800"',
      '"\\"]}"',
    ),
    { maxLength: 60 },
  )
  .map((tokens) => tokens.join(""));

/** Deep nesting, closed or not, up to well beyond any accepted depth. */
const deepArb = fc
  .tuple(
    fc.integer({ min: 0, max: 3_000 }),
    fc.constantFrom(["[", "]"], ['{"a":', "}"], ['[{"id":', "}]"], ['{"params":[', "]}"]),
    fc.boolean(),
  )
  .map(([n, [open, close], closed]) => `${open.repeat(n)}1${closed ? close.repeat(n) : ""}`);

/** Objects with duplicate and prototype-named keys, alone or in a batch. */
const trickyObjectArb = fc
  .array(
    fc.tuple(
      fc.constantFrom("id", "jsonrpc", "method", "params", ...POLLUTING_KEYS),
      fc.oneof(
        jsonTextArb,
        numberLiteralArb,
        fc.constantFrom('"2.0"', '"eth_chainId"', '{"polluted":true}', '{"__proto__":{"polluted":true}}', "[]"),
      ),
    ),
    { maxLength: 8 },
  )
  .map((pairs) => `{${pairs.map(([k, v]) => `"${k}":${v}`).join(",")}}`);

const anyBodyArb = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  jsonishArb,
  jsonTextArb,
  requestArb.map((r) => r.text),
  mutatedRequestArb,
  deepArb,
  trickyObjectArb,
  fc.array(trickyObjectArb, { maxLength: 5 }).map((a) => `[${a.join(",")}]`),
  numberLiteralArb.map((n) => `{"jsonrpc":"2.0","id":${n},"method":"eth_chainId","params":[${n}]}`),
);

// ---------------------------------------------------------------------------------------------------------------
// Checks shared by the properties.

function isEchoableId(id: RpcId): boolean {
  if (id === null || typeof id === "string") return true;
  if (typeof id === "number") return Number.isSafeInteger(id) && !Object.is(id, -0);
  return typeof id === "object" && JSON.isRawJSON(id);
}

function checkItem(item: ParsedItem, limits: ParseLimits): void {
  if (item.ok) {
    const { call } = item;
    assert.ok(isEchoableId(call.id), "unexpected kind of id");
    assert.match(call.method, /^[A-Za-z][A-Za-z0-9_]*$/);
    assert.ok(call.method.length <= limits.maxMethodLength);
    assert.ok(typeof call.params === "object" && call.params !== null);
    JSON.parse(serializeResult(call.id, null));
  } else {
    assert.ok(item.error instanceof MultihomeError);
    assert.equal(item.error.code, "invalid_request");
    assert.equal(item.error.httpStatus, 400);
    assert.ok(isEchoableId(item.id));
    JSON.parse(serializeError(item.id, toRpcError(item.error)));
  }
}

/** Parses, and checks whatever came out; returns the thrown error, if any. */
function parseChecked(body: string, limits: ParseLimits): { parsed?: ParsedBody; error?: MultihomeError } {
  let parsed: ParsedBody;
  try {
    parsed = parseRequestBody(body, limits);
  } catch (error) {
    assert.ok(error instanceof MultihomeError, `threw ${String(error)} for ${JSON.stringify(body.slice(0, 200))}`);
    assert.ok(error.code in WHOLE_BODY_STATUS, `whole-body error with code ${error.code}`);
    assert.equal(error.httpStatus, WHOLE_BODY_STATUS[error.code]);
    assert.equal(error.httpStatus, ERRORS[error.code].http);
    assert.equal(error.rpcCode, ERRORS[error.code].rpc);
    JSON.parse(serializeError(null, toRpcError(error)));
    return { error };
  }
  if (parsed.batch) {
    assert.ok(parsed.items.length >= 1 && parsed.items.length <= limits.maxBatchItems);
    for (const item of parsed.items) checkItem(item, limits);
  } else {
    assert.ok(parsed.item.ok, "a single invalid request must be thrown, not returned");
    checkItem(parsed.item, limits);
  }
  return { parsed };
}

function calls(parsed: ParsedBody | undefined): ParsedItem[] {
  if (!parsed) return [];
  return parsed.batch ? parsed.items : [parsed.item];
}

// ---------------------------------------------------------------------------------------------------------------
// parseRequestBody

test("parseRequestBody throws nothing but whole-body MultihomeErrors with registry codes and HTTP statuses", () => {
  fc.assert(
    fc.property(anyBodyArb, limitsArb, (body, limits) => {
      parseChecked(body, limits);
    }),
    runs(3_000),
  );
});

test("a valid request's id is echoed byte-exact by serializeResult and serializeError", () => {
  const resultArb = fc.jsonValue({ maxDepth: 3 });
  fc.assert(
    fc.property(requestArb, resultArb, (request, result) => {
      const { parsed } = parseChecked(request.text, WIDE_LIMITS);
      assert.ok(parsed && !parsed.batch && parsed.item.ok, `rejected ${request.text}`);
      const { call } = parsed.item;
      assert.equal(call.method, request.method);
      assert.equal(call.notification, request.idText === undefined);
      const idText = request.idText ?? "null";
      assert.equal(
        serializeResult(call.id, result),
        `{"jsonrpc":"2.0","id":${idText},"result":${JSON.stringify(result)}}`,
      );
      const error = toRpcError(new MultihomeError("unavailable"));
      assert.equal(serializeError(call.id, error), `{"jsonrpc":"2.0","id":${idText},"error":${JSON.stringify(error)}}`);
      if (request.paramsText === undefined) assert.deepEqual(call.params, []);
      else {
        // A big-integer id makes the parser keep every big integer literal in params as raw JSON; compare values.
        assert.equal(
          JSON.stringify(JSON.parse(JSON.stringify(call.params))),
          JSON.stringify(JSON.parse(request.paramsText)),
        );
      }
    }),
    runs(1_500),
  );
});

test("in a batch every item's id is echoed byte-exact, valid items and invalid ones alike", () => {
  const itemArb = fc.oneof(
    requestArb.map((r) => ({ text: r.text, idText: r.idText ?? "null", valid: true })),
    // A wrong version keeps the id: the error must still reach the client under it.
    fc.tuple(idTextArb, methodNameArb).map(([idText, method]) => ({
      text: `{"jsonrpc":"1.0","id":${idText},"method":${JSON.stringify(method)}}`,
      idText,
      valid: false,
    })),
  );
  fc.assert(
    fc.property(fc.array(itemArb, { minLength: 1, maxLength: 20 }), (items) => {
      const { parsed } = parseChecked(`[${items.map((i) => i.text).join(",")}]`, WIDE_LIMITS);
      assert.ok(parsed?.batch);
      assert.equal(parsed.items.length, items.length);
      parsed.items.forEach((item, i) => {
        const expected = items[i];
        assert.ok(expected);
        assert.equal(item.ok, expected.valid);
        const id = item.ok ? item.call.id : item.id;
        assert.equal(serializeResult(id, 0), `{"jsonrpc":"2.0","id":${expected.idText},"result":0}`);
      });
    }),
    runs(400),
  );
});

// Regression: `{"jsonrpc":"2.0","id":0e0,...}` was answered with `"id":0` (and `1.0` → 1, `9007199254740991.4` →
// 9007199254740991): a literal whose value is a safe integer was never checked against its text.
test("a numeric id literal is either echoed byte-exact or refused", () => {
  fc.assert(
    fc.property(numberLiteralArb, (literal) => {
      let parsed: ParsedBody | undefined;
      try {
        parsed = parseRequestBody(`{"jsonrpc":"2.0","id":${literal},"method":"a"}`, DEFAULT_LIMITS);
      } catch (error) {
        assert.ok(error instanceof MultihomeError && error.code === "invalid_request");
        return;
      }
      const item = calls(parsed)[0];
      assert.ok(item?.ok);
      assert.equal(serializeResult(item.call.id, 0), `{"jsonrpc":"2.0","id":${literal},"result":0}`);
    }),
    runs(500),
  );
});

test("__proto__ and constructor keys, in params or as members, never pollute a prototype and are kept as data", () => {
  const pollutingValue = fc.constantFrom(
    '{"polluted":true}',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"toString":"0x1","blockNumber":"0x1"}',
    "null",
    "1",
  );
  const objectText = fc
    .array(fc.tuple(fc.constantFrom(...POLLUTING_KEYS, "fromBlock", "blockHash", "blockNumber"), pollutingValue), {
      minLength: 1,
      maxLength: 4,
    })
    .map((pairs) => `{${pairs.map(([k, v]) => `"${k}":${v}`).join(",")}}`);
  const paramsText = fc.oneof(
    objectText,
    fc.array(objectText, { maxLength: 3 }).map((a) => `[${a.join(",")}]`),
  );
  const methods = Object.keys(METHODS);
  fc.assert(
    fc.property(
      paramsText,
      fc.array(fc.tuple(fc.constantFrom(...POLLUTING_KEYS), pollutingValue), { maxLength: 3 }),
      fc.constantFrom(...methods),
      (params, extraMembers, method) => {
        const extra = extraMembers.map(([k, v]) => `,"${k}":${v}`).join("");
        const body = `{"jsonrpc":"2.0","id":1,"method":"${method}","params":${params}${extra}}`;
        const { parsed } = parseChecked(body, DEFAULT_LIMITS);
        const item = calls(parsed)[0];
        assert.ok(item?.ok);
        assert.equal(JSON.stringify(item.call.params), JSON.stringify(JSON.parse(params)));
        const spec = methodSpec(method);
        assert.ok(spec);
        const pinned = pinBlock(spec, item.call.params, 100);
        if (pinned.ok) JSON.parse(serializeResult(item.call.id, pinned.pinned.params));
        assertPrototypesClean();
      },
    ),
    runs(800),
  );
});

test("a batch of up to the limit yields one item per element; beyond it, limit_exceeded before any item is read", () => {
  // Elements of every shape, including ones that are not requests at all: the count alone decides.
  const elementArb = fc.oneof(
    jsonTextArb,
    requestArb.map((r) => r.text),
    trickyObjectArb,
    numberLiteralArb,
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.array(elementArb, { minLength: 1, maxLength: 80 }),
      (maxBatchItems, elements) => {
        const limits = { ...WIDE_LIMITS, maxBatchItems };
        const { parsed, error } = parseChecked(`[${elements.join(",")}]`, limits);
        if (elements.length <= maxBatchItems) {
          assert.ok(parsed?.batch, error?.message);
          assert.equal(parsed.items.length, elements.length);
        } else {
          assert.equal(error?.code, "limit_exceeded");
          assert.equal(error.httpStatus, 413);
          assert.equal(error.data?.limit, maxBatchItems);
        }
      },
    ),
    runs(400),
  );
});

// ---------------------------------------------------------------------------------------------------------------
// scanBody

/** Depth as JSON.parse sees it: a scalar is 0, `[]` and `{}` are 1. */
function referenceDepth(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((max, child) => Math.max(max, referenceDepth(child)), 0);
}

test("scanBody agrees with the depth of the parsed value and the length of a parsed array, strings full of brackets notwithstanding", () => {
  const trickyString = fc.oneof(
    fc.string({
      unit: fc.constantFrom("[", "]", "{", "}", '"', "\\", "\\\\", '\\"', "a", " ", "\u2028"),
      maxLength: 12,
    }),
    fc.string({ unit: "binary", maxLength: 8 }),
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      trickyString,
      fc.integer(),
      fc.constantFrom(null, true, false),
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(trickyString, tie("value"), { maxKeys: 4 }),
    ),
  }));
  const deepValue = fc
    .tuple(value, fc.array(fc.tuple(fc.boolean(), trickyString), { maxLength: 150 }))
    .map(([inner, wraps]) =>
      wraps.reduce<unknown>((v, [asArray, key]) => (asArray ? [key, v] : { [key]: v, "]]]": "[[[" }), inner),
    );
  fc.assert(
    fc.property(fc.oneof(value, deepValue), fc.nat({ max: 3 }), fc.integer({ min: -3, max: 3 }), (v, indent, delta) => {
      const text = JSON.stringify(v, null, indent);
      const depth = referenceDepth(JSON.parse(text));
      for (const maxDepth of [0, 1, Math.max(0, depth + delta), depth - 1, depth, depth + 1].filter((d) => d >= 0)) {
        assert.equal(scanBody(text, maxDepth).tooDeep, depth > maxDepth, `maxDepth ${maxDepth}, depth ${depth}`);
      }
      const parsed: unknown = JSON.parse(text);
      assert.equal(scanBody(text, depth).batchItems, Array.isArray(parsed) ? parsed.length : 0);
      // The parser applies the same rule to a whole body.
      const body = `{"jsonrpc":"2.0","id":1,"method":"a","params":[${text}]}`;
      const limits = { ...WIDE_LIMITS, maxDepth: Math.max(4, depth + delta) };
      const { error } = parseChecked(body, limits);
      const tooDeep = error?.message.startsWith("invalid request: nesting deeper") ?? false;
      assert.equal(tooDeep, depth + 2 > limits.maxDepth);
    }),
    runs(1_500),
  );
});

// ---------------------------------------------------------------------------------------------------------------
// methods: pinBlock, parseBlockNumber, methodSpec

const hashArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString("hex")}`);
const hexQuantityArb = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 64n }).map((n) => `0x${n.toString(16)}`),
  fc.nat().map((n) => `0x${n.toString(16).toUpperCase()}`),
  fc.nat().map((n) => `0x00${n.toString(16)}`),
  fc.stringMatching(/^0x[0-9a-fA-F]{0,20}$/),
);
const blockParamArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom("latest", "earliest", "pending", "safe", "finalized", "Latest", "", "0x", "-0x1"),
  hexQuantityArb,
  hashArb,
  fc.record({ blockHash: fc.oneof(hashArb, fc.jsonValue()), requireCanonical: fc.boolean() }, { requiredKeys: [] }),
  fc.record({ blockNumber: fc.oneof(hexQuantityArb, fc.jsonValue()) }, { requiredKeys: [] }),
  fc.string({ unit: "binary", maxLength: 20 }),
  // Long enough that echoing it whole would break the message bound.
  fc.string({ unit: "binary", minLength: 150, maxLength: 600 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const filterArb = fc.oneof(
  fc.record(
    {
      fromBlock: blockParamArb,
      toBlock: blockParamArb,
      blockHash: fc.oneof(hashArb, fc.jsonValue({ maxDepth: 1 })),
      address: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  ),
  fc.constantFrom(
    JSON.parse('{"__proto__":{"fromBlock":"0x5"},"toBlock":"latest"}'),
    JSON.parse('{"constructor":{"prototype":{"polluted":1}},"fromBlock":"earliest"}'),
  ),
);
const positionalParamsArb = fc.array(fc.oneof(blockParamArb, fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 });
const pinParamsArb: fc.Arbitrary<unknown[] | Record<string, unknown>> = fc.oneof(
  positionalParamsArb,
  fc.tuple(filterArb).map((t): unknown[] => [...t]),
  fc.array(filterArb, { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);

test("pinBlock never throws, keeps messages short, leaves params untouched, and pins latest to the head", () => {
  const methods = Object.keys(METHODS);
  fc.assert(
    fc.property(
      fc.constantFrom(...methods),
      pinParamsArb,
      fc.oneof(fc.nat({ max: 1_000 }), fc.maxSafeInteger().map(Math.abs)),
      (method, params, head) => {
        const spec = methodSpec(method);
        assert.ok(spec);
        const before = JSON.stringify(params);
        const out = pinBlock(spec, params, head);
        assert.equal(JSON.stringify(params), before, "pinBlock changed the caller's params");
        if (!out.ok) {
          assert.equal(typeof out.message, "string");
          assert.ok(out.message.length > 0 && out.message.length <= 200, `message of ${out.message.length} chars`);
          return;
        }
        const { pinned } = out;
        assert.ok(typeof pinned.params === "object" && pinned.params !== null);
        JSON.stringify(pinned.params);
        for (const n of [pinned.blockNumber, pinned.minBlock]) {
          if (n !== undefined) assert.ok(Number.isSafeInteger(n) && n >= 0, `block number ${n}`);
        }
        if (spec.logFilter) {
          const filter = (params as unknown[])[0] as Record<string, unknown>;
          const toBlock = filter.toBlock ?? "latest";
          if (filter.blockHash === undefined && toBlock === "latest") assert.equal(pinned.blockNumber, head);
          if (pinned.blockNumber !== undefined && pinned.blockNumber > head) assert.notEqual(toBlock, "latest");
        } else if (spec.blockParam !== undefined) {
          const tag = (params as unknown[])[spec.blockParam];
          if (tag === "latest" || tag === undefined) {
            assert.equal(pinned.blockNumber, head);
            assert.equal((pinned.params as unknown[])[spec.blockParam], toHex(head));
          }
        } else {
          assert.equal(pinned.blockNumber, undefined);
        }
      },
    ),
    runs(3_000),
  );
});

test("parseBlockNumber reads exactly the hex quantities it can hold; methodSpec knows only listed methods", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.jsonValue({ maxDepth: 1 }),
        hexQuantityArb,
        fc.string({ maxLength: 20 }),
        fc.constantFrom(...POLLUTING_KEYS),
      ),
      fc.nat({ max: 2 ** 52 - 1 }),
      (value, n) => {
        assert.equal(parseBlockNumber(toHex(n)), n);
        const parsed = parseBlockNumber(value);
        if (parsed !== undefined) {
          assert.ok(Number.isSafeInteger(parsed) && parsed >= 0);
          assert.equal(parsed, Number.parseInt(value as string, 16));
        }
        if (typeof value === "string") {
          const spec = methodSpec(value);
          assert.equal(spec, Object.hasOwn(METHODS, value) ? METHODS[value] : undefined);
        }
      },
    ),
    runs(1_000),
  );
});

// ---------------------------------------------------------------------------------------------------------------
// tx: decodeRawTransaction, sendVerdict

const CHAIN_ID = 31337;
const signers = DEV_ACCOUNTS.slice(0, 3).map((a) => privateKeyToAccount(a.privateKey));
const recipient = DEV_ACCOUNTS[9]?.address ?? "0x0000000000000000000000000000000000000001";

interface SignedRaw {
  raw: Hex;
  from: string;
  chainId: number | undefined;
}

const validRaws: SignedRaw[] = [];
for (const [i, signer] of signers.entries()) {
  const base = { to: recipient, value: 10n ** 18n + BigInt(i), gas: 21_000n, nonce: i * 1_000 } as const;
  const bodies = [
    { ...base, chainId: CHAIN_ID, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n },
    { ...base, chainId: CHAIN_ID, gasPrice: 1n, type: "legacy" as const },
    { ...base, chainId: CHAIN_ID, gasPrice: 1n, type: "eip2930" as const, accessList: [] },
    { ...base, chainId: 1, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, data: "0xdeadbeef" as const },
    { ...base, gasPrice: 1n, type: "legacy" as const },
  ];
  for (const body of bodies) {
    validRaws.push({
      raw: await signer.signTransaction(body),
      from: signer.address.toLowerCase(),
      chainId: "chainId" in body ? body.chainId : undefined,
    });
  }
}

const hexChars = "0123456789abcdefABCDEF";
const rawArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...`${hexChars}xX`), maxLength: 300 }).map((s) => `0x${s}`),
  fc.uint8Array({ maxLength: 200 }).map((b) => `0x${Buffer.from(b).toString("hex")}`),
  fc
    .tuple(fc.constantFrom("01", "02", "03", "04", "7e", "c0", "f8", "f9"), fc.uint8Array({ maxLength: 200 }))
    .map(([prefix, b]) => `0x${prefix}${Buffer.from(b).toString("hex")}`),
  fc.string({ unit: "binary", maxLength: 80 }),
  // Mutations of real signed transactions: nibble flips, splices, truncation, extension, case and prefix changes.
  fc
    .tuple(
      fc.constantFrom(...validRaws.map((r) => r.raw)),
      fc.array(
        fc.tuple(fc.nat(), fc.nat({ max: 6 }), fc.string({ unit: fc.constantFrom(...hexChars), maxLength: 6 })),
        { minLength: 1, maxLength: 3 },
      ),
    )
    .map(([raw, edits]) => {
      let out: string = raw;
      for (const [at, remove, insert] of edits) {
        const i = 2 + (at % (out.length - 1));
        out = out.slice(0, i) + insert + out.slice(i + remove);
      }
      return out;
    }),
  fc
    .constantFrom(...validRaws.map((r) => r.raw))
    .chain((raw) =>
      fc.constantFrom(raw.toUpperCase(), `0X${raw.slice(2)}`, raw.slice(2), `${raw}00`, `${raw}0`, raw.slice(0, -2)),
    ),
);

async function checkDecode(raw: string, chainId: number, allowUnprotected: boolean): Promise<void> {
  const out = await decodeRawTransaction(raw, chainId, { allowUnprotected });
  if (!out.ok) {
    assert.ok(out.code === "invalid_params" || out.code === "tx_rejected", `code ${out.code}`);
    assert.ok(typeof out.message === "string" && out.message.length > 0 && out.message.length <= 300, out.message);
    return;
  }
  const { tx } = out;
  assert.match(raw, /^0x(?:[0-9a-fA-F]{2})+$/, "accepted a raw transaction that is not even-length 0x hex");
  assert.match(tx.hash, /^0x[0-9a-f]{64}$/);
  assert.equal(tx.hash, keccak256(hexToBytes(raw as Hex)));
  assert.match(tx.from, /^0x[0-9a-f]{40}$/);
  assert.ok(Number.isSafeInteger(tx.nonce) && tx.nonce >= 0);
  if (tx.chainId === undefined) assert.ok(allowUnprotected, "accepted an unprotected transaction");
  else assert.equal(tx.chainId, chainId);
}

test("the signed transactions built for fuzzing decode as themselves", async () => {
  for (const { raw, from, chainId } of validRaws) {
    const out = await decodeRawTransaction(raw, chainId ?? CHAIN_ID, { allowUnprotected: true });
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(out.tx.from, from);
    assert.equal(out.tx.chainId, chainId);
    await checkDecode(raw, CHAIN_ID, false);
  }
});

test("decodeRawTransaction always resolves to its outcome type, for any text and any mutated signed transaction", async () => {
  await fc.assert(
    fc.asyncProperty(
      rawArb,
      fc.oneof(fc.constant(CHAIN_ID), fc.constant(1), fc.integer({ min: 0, max: 2 ** 32 })),
      fc.boolean(),
      checkDecode,
    ),
    runs(1_500),
  );
});

test("sendVerdict reads any answer into one of its four verdicts, recognising our own hash and 'already known'", () => {
  const verdicts: readonly SendVerdict[] = ["accepted", "wrong_hash", "nonce_used", "rejected"];
  fc.assert(
    fc.property(
      hashArb,
      fc.oneof(
        fc.record({ ok: fc.constant(true as const), result: fc.jsonValue({ maxDepth: 1 }) }),
        fc.record({ ok: fc.constant(false as const), message: fc.string({ unit: "binary", maxLength: 300 }) }),
      ),
      fc.string({ maxLength: 40 }),
      (hash, answer, noise) => {
        assert.ok(verdicts.includes(sendVerdict(hash, answer)));
        assert.equal(sendVerdict(hash, { ok: true, result: hash.toUpperCase().replace("0X", "0x") }), "accepted");
        assert.equal(sendVerdict(hash, { ok: false, message: `${noise}already known${noise}` }), "accepted");
        if (answer.ok && answer.result !== hash && typeof answer.result !== "string") {
          assert.equal(sendVerdict(hash, answer), "wrong_hash");
        }
      },
    ),
    runs(1_000),
  );
});
