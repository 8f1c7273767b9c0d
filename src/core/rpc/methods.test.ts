import assert from "node:assert/strict";
import { test } from "node:test";
import { METHODS, type MethodSpec, methodSpec, type PinResult, parseBlockNumber, pinBlock, toHex } from "./methods.ts";

const HEAD = 0x1234;
const ADDR = "0x00000000000000000000000000000000000000aa";
const HASH = `0x${"ab".repeat(32)}`;

function spec(method: string): MethodSpec {
  const s = methodSpec(method);
  assert.ok(s, `${method} is served`);
  return s;
}

function pinned(result: PinResult) {
  assert.ok(result.ok, result.ok ? "" : result.message);
  return result.pinned;
}

function refused(result: PinResult, pattern: RegExp): void {
  assert.equal(result.ok, false);
  if (!result.ok) assert.match(result.message, pattern);
}

/** pinBlock on a frozen copy, to prove the caller's params are never written to. */
function pin(method: string, params: unknown[] | Record<string, unknown>, head = HEAD): PinResult {
  const frozen = structuredClone(params);
  deepFreeze(frozen);
  const result = pinBlock(spec(method), frozen, head);
  assert.deepEqual(frozen, params, "params were mutated");
  return result;
}

function deepFreeze(value: unknown): void {
  if (value && typeof value === "object") {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
}

test("methodSpec knows served methods and nothing else, including prototype names", () => {
  assert.equal(spec("eth_sendRawTransaction").kind, "write");
  assert.equal(spec("eth_chainId").kind, "local");
  assert.equal(spec("eth_getBalance").kind, "read");
  for (const name of [
    "admin_addPeer",
    "debug_traceTransaction",
    "personal_unlockAccount",
    "eth_sign",
    "eth_sendTransaction",
    "miner_start",
    "txpool_content",
    "engine_newPayloadV3",
    "toString",
    "__proto__",
    "constructor",
    "hasOwnProperty",
  ]) {
    assert.equal(methodSpec(name), undefined, name);
  }
});

test("every block parameter position is consistent with its optional flag", () => {
  for (const [name, s] of Object.entries(METHODS)) {
    if (s.blockOptional) assert.notEqual(s.blockParam, undefined, name);
    if (s.logFilter) assert.equal(s.blockParam, undefined, name);
  }
});

test("parseBlockNumber takes canonical hex quantities only", () => {
  assert.equal(parseBlockNumber("0x0"), 0);
  assert.equal(parseBlockNumber("0x1"), 1);
  assert.equal(parseBlockNumber("0xAbC"), 0xabc);
  assert.equal(parseBlockNumber("0x1fffffffffffff"), undefined); // too long to be a block number
  assert.equal(parseBlockNumber("0xfffffffffffff"), 0xfffffffffffff);
  for (const bad of ["0x", "0x01", "1", "12", "0xg", " 0x1", "0x1 ", "-0x1", "latest", 16, null, undefined, {}]) {
    assert.equal(parseBlockNumber(bad), undefined, String(bad));
  }
});

test("toHex writes minimal hex quantities", () => {
  assert.equal(toHex(0), "0x0");
  assert.equal(toHex(255), "0xff");
});

test("an omitted optional block parameter means the agreed head", () => {
  const p = pinned(pin("eth_getBalance", [ADDR]));
  assert.deepEqual(p, { params: [ADDR, "0x1234"], blockNumber: HEAD, minBlock: HEAD });
  const s = pinned(pin("eth_getStorageAt", [ADDR, "0x0"]));
  assert.deepEqual(s.params, [ADDR, "0x0", "0x1234"]);
  const c = pinned(pin("eth_call", [{ to: ADDR }]));
  assert.deepEqual(c.params, [{ to: ADDR }, "0x1234"]);
});

test("a missing required block parameter is refused", () => {
  refused(pin("eth_getProof", [ADDR, []]), /missing block parameter at position 2/);
  refused(pin("eth_getBlockByNumber", []), /missing block parameter at position 0/);
});

test("too few params before the block parameter are refused", () => {
  refused(pin("eth_getBalance", []), /expected at least 1 params/);
  refused(pin("eth_getStorageAt", [ADDR]), /expected at least 2 params/);
});

test("object params are refused for methods with a block parameter", () => {
  refused(pin("eth_getBalance", { address: ADDR }), /params must be an array/);
});

test("latest becomes the agreed head in hex; earliest becomes 0x0", () => {
  assert.deepEqual(pinned(pin("eth_getBalance", [ADDR, "latest"])), {
    params: [ADDR, "0x1234"],
    blockNumber: HEAD,
    minBlock: HEAD,
  });
  assert.deepEqual(pinned(pin("eth_getBlockByNumber", ["latest", false])), {
    params: ["0x1234", false],
    blockNumber: HEAD,
    minBlock: HEAD,
  });
  assert.deepEqual(pinned(pin("eth_getBalance", [ADDR, "earliest"])), {
    params: [ADDR, "0x0"],
    blockNumber: 0,
    minBlock: 0,
  });
});

test("pending, safe and finalized pass through untouched, with no block pinned", () => {
  for (const tag of ["pending", "safe", "finalized"]) {
    const params = [ADDR, tag];
    const p = pinned(pin("eth_getBalance", params));
    assert.equal(p.blockNumber, undefined);
    assert.equal(p.minBlock, undefined);
    assert.deepEqual(p, { params });
  }
});

test("a hex block number is kept and sets the block the answer needs", () => {
  const params = [ADDR, "0x10"];
  assert.deepEqual(pinned(pin("eth_getBalance", params)), { params, blockNumber: 16, minBlock: 16 });
  // Ahead of the agreed head is not refused here: selection finds an upstream that has it or none.
  assert.equal(pinned(pin("eth_getBalance", [ADDR, "0x99999"])).minBlock, 0x99999);
});

test("EIP-1898: {blockHash} passes through, asked only of upstreams at the head; {blockNumber} pins the number", () => {
  const byHash = [ADDR, { blockHash: HASH, requireCanonical: true }];
  assert.deepEqual(pinned(pin("eth_getBalance", byHash)), { params: byHash, minBlock: HEAD });
  // A bare block hash where a block is expected (eth_getBlockReceipts) is a hash too, not an invalid number.
  assert.deepEqual(pinned(pin("eth_getBlockReceipts", [HASH])), { params: [HASH], minBlock: HEAD });
  const byNumber = [ADDR, { blockNumber: "0x20" }];
  assert.deepEqual(pinned(pin("eth_call", byNumber)), { params: byNumber, blockNumber: 32, minBlock: 32 });
});

test("invalid block parameters are refused with a message", () => {
  for (const bad of [
    "0x01",
    "0x",
    "12",
    "Latest",
    "",
    "0xzz",
    12,
    null,
    true,
    [],
    {},
    { blockNumber: "latest" },
    { blockNumber: 5 },
    { blockHash: 5 },
  ]) {
    const result = pin("eth_getBalance", [ADDR, bad]);
    assert.equal(result.ok, false, JSON.stringify(bad));
    if (!result.ok) assert.match(result.message, /invalid (block parameter|blockNumber)/);
  }
  // A long invalid value is cut in the message.
  const long = pin("eth_getBalance", [ADDR, "x".repeat(10_000)]);
  assert.ok(!long.ok && long.message.length < 200);
});

test("methods without a block parameter pass through; those addressing data by hash need an upstream at the head", () => {
  const params = [HASH];
  // A node behind the head answers null for a receipt it has not seen yet: only upstreams at the head are asked.
  assert.deepEqual(pinned(pin("eth_getTransactionReceipt", params)), { params, minBlock: HEAD });
  assert.deepEqual(pinned(pin("web3_clientVersion", [])), { params: [] });
  assert.deepEqual(pinned(pin("eth_sendRawTransaction", ["0x02"])), { params: ["0x02"] });
});

test("eth_getLogs: missing fromBlock/toBlock default to latest and are pinned to the head", () => {
  const p = pinned(pin("eth_getLogs", [{ address: ADDR }]));
  assert.deepEqual(p, {
    params: [{ address: ADDR, fromBlock: "0x1234", toBlock: "0x1234" }],
    blockNumber: HEAD,
    minBlock: HEAD,
  });
});

test("eth_getLogs: tags are rewritten, hex numbers normalized, toBlock sets the block needed", () => {
  const p = pinned(pin("eth_getLogs", [{ fromBlock: "earliest", toBlock: "0x100", topics: [null] }]));
  assert.deepEqual(p, {
    params: [{ fromBlock: "0x0", toBlock: "0x100", topics: [null] }],
    blockNumber: 256,
    minBlock: 256,
  });
  const q = pinned(pin("eth_getLogs", [{ fromBlock: "0x1000", toBlock: "latest" }]));
  assert.deepEqual(q.params, [{ fromBlock: "0x1000", toBlock: "0x1234" }]);
  assert.equal(q.minBlock, HEAD);
});

test("eth_getLogs: pending/safe/finalized are left as they are", () => {
  const p = pinned(pin("eth_getLogs", [{ fromBlock: "0x1", toBlock: "finalized" }]));
  assert.deepEqual(p.params, [{ fromBlock: "0x1", toBlock: "finalized" }]);
});

test("eth_getLogs: blockHash is exclusive with fromBlock/toBlock", () => {
  const params = [{ blockHash: HASH, address: ADDR }];
  assert.deepEqual(pinned(pin("eth_getLogs", params)), { params, minBlock: HEAD });
  refused(pin("eth_getLogs", [{ blockHash: HASH, fromBlock: "0x1" }]), /blockHash cannot be combined/);
  refused(pin("eth_getLogs", [{ blockHash: HASH, toBlock: "latest" }]), /blockHash cannot be combined/);
});

test("eth_getLogs: fromBlock after toBlock is refused, also after rewriting latest", () => {
  refused(pin("eth_getLogs", [{ fromBlock: "0x10", toBlock: "0xf" }]), /fromBlock is after toBlock/);
  refused(pin("eth_getLogs", [{ fromBlock: "latest", toBlock: "0x1" }]), /fromBlock is after toBlock/);
  refused(pin("eth_getLogs", [{ fromBlock: "0x2000" }]), /fromBlock is after toBlock/);
  assert.ok(pin("eth_getLogs", [{ fromBlock: "0x10", toBlock: "0x10" }]).ok);
});

test("eth_getLogs: bad filters and bad block values are refused", () => {
  for (const params of [[], [null], ["x"], [{}, {}]] as unknown[][]) {
    refused(pin("eth_getLogs", params), /one filter object/);
  }
  refused(pin("eth_getLogs", { fromBlock: "0x1" }), /one filter object/);
  refused(pin("eth_getLogs", [{ fromBlock: "0x01" }]), /^fromBlock: invalid block parameter/);
  refused(pin("eth_getLogs", [{ toBlock: 7 }]), /^toBlock: invalid block parameter/);
});

test("the params array is never mutated in place, and the rewrite is a copy", () => {
  const params = [ADDR, "latest"];
  const p = pinned(pinBlock(spec("eth_getBalance"), params, HEAD));
  assert.deepEqual(params, [ADDR, "latest"]);
  assert.notEqual(p.params, params);
  const filter = { fromBlock: "latest" };
  const logs = [filter];
  const q = pinned(pinBlock(spec("eth_getLogs"), logs, HEAD));
  assert.deepEqual(logs, [{ fromBlock: "latest" }]);
  assert.notEqual((q.params as unknown[])[0], filter);
});
