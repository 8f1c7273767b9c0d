import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalAccessList, canonicalAccessListAnswer, readAccessList } from "./access-list.ts";

const A = `0x${"aa".repeat(20)}` as const;
const B = `0x${"0b".repeat(20)}` as const;
const key = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as const;

test("a call's access list is read with 32-byte keys, duplicates kept; anything else is not one", () => {
  assert.deepEqual(readAccessList(undefined), []);
  assert.deepEqual(readAccessList([{ address: A.toUpperCase().replace("0X", "0x"), storageKeys: ["0x1", "0x1"] }]), [
    { address: A, storageKeys: [key(1), key(1)] },
  ]);
  assert.deepEqual(readAccessList([{ address: A }]), [{ address: A, storageKeys: [] }]);
  for (const bad of [
    "x",
    [1],
    [{ address: "0x12" }],
    [{ address: A, storageKeys: ["0xzz"] }],
    [{ address: A, storageKeys: "0x1" }],
  ])
    assert.equal(readAccessList(bad), undefined, JSON.stringify(bad));
});

test("the canonical list has one entry per address, addresses and keys sorted and unique", () => {
  assert.deepEqual(
    canonicalAccessList([
      { address: A, storageKeys: [key(2), key(1)] },
      { address: B, storageKeys: [] },
      { address: A, storageKeys: [key(1)] },
    ]),
    [
      { address: B, storageKeys: [] },
      { address: A, storageKeys: [key(1), key(2)] },
    ],
  );
});

test("two answers listing the same accounts in another order are the same answer once canonical", () => {
  const one = canonicalAccessListAnswer({
    accessList: [
      { address: A, storageKeys: [] },
      { address: B, storageKeys: [key(3)] },
    ],
    gasUsed: "0x05208",
  });
  const two = canonicalAccessListAnswer({
    accessList: [
      { address: B, storageKeys: [key(3)] },
      { address: A, storageKeys: [] },
    ],
    gasUsed: "0x5208",
  });
  assert.deepEqual(one, two);
  assert.equal(one?.gasUsed, "0x5208");
  assert.equal(
    canonicalAccessListAnswer({ accessList: [], gasUsed: "0x1", error: "execution reverted" })?.error,
    "execution reverted",
  );
  for (const bad of [
    null,
    "0x",
    { gasUsed: "0x1" },
    { accessList: [], gasUsed: 5 },
    { accessList: [], gasUsed: "0x1", error: 3 },
  ])
    assert.equal(canonicalAccessListAnswer(bad), undefined, JSON.stringify(bad));
});
