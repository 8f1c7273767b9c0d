import assert from "node:assert/strict";
import { test } from "node:test";
import { logsBreakFilter } from "./log-filter.ts";

const A = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const T0 = `0x${"11".repeat(32)}`;
const T1 = `0x${"22".repeat(32)}`;
const log = { address: A, blockNumber: "0x5", blockHash: `0x${"aa".repeat(32)}`, topics: [T0, T1] };
const filter = { fromBlock: "0x4", toBlock: "0x6", address: A, topics: [T0] };

test("logs inside the range, from the address and with the topics asked for pass", () => {
  assert.equal(logsBreakFilter([log], filter), undefined);
  assert.equal(
    logsBreakFilter([log], { ...filter, address: [A.toUpperCase().replace("0X", "0x")], topics: [null, [T0, T1]] }),
    undefined,
  );
  assert.equal(logsBreakFilter([], filter), undefined);
});

test("a log outside the range, from another address, without a topic, or in another block is named", () => {
  assert.match(String(logsBreakFilter([{ ...log, blockNumber: "0x9" }], filter)), /outside the range/);
  assert.match(String(logsBreakFilter([{ ...log, address: `0x${"01".repeat(20)}` }], filter)), /address/);
  assert.match(String(logsBreakFilter([{ ...log, topics: [T1] }], filter)), /topic 0/);
  assert.match(String(logsBreakFilter([log], { blockHash: `0x${"bb".repeat(32)}` })), /another block/);
  assert.match(String(logsBreakFilter({}, filter)), /not a list/);
});
