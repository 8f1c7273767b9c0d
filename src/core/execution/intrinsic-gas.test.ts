import assert from "node:assert/strict";
import { test } from "node:test";
import { initCodeTooLarge, intrinsicGas } from "./intrinsic-gas.ts";

const none: never[] = [];

test("a call pays 21,000; a creation 53,000 and, since Shanghai, 2 per word of init code", () => {
  assert.deepEqual(intrinsicGas({ data: "0x", creation: false, accessList: none }, "cancun"), {
    gas: 21_000n,
    floor: 0n,
  });
  // 33 bytes of init code: 2 words; one zero byte (4), 32 others (16 each).
  const init = `0x00${"ab".repeat(32)}` as const;
  assert.equal(intrinsicGas({ data: init, creation: true, accessList: none }, "london").gas, 53_000n + 4n + 512n);
  assert.equal(
    intrinsicGas({ data: init, creation: true, accessList: none }, "shanghai").gas,
    53_000n + 4n + 512n + 4n,
  );
});

test("calldata costs 4 a zero byte and 16 another (EIP-2028); an access list 2,400 an address and 1,900 a key", () => {
  const accessList = [
    {
      address: `0x${"11".repeat(20)}` as const,
      storageKeys: [`0x${"0".repeat(64)}` as const, `0x${"1".padStart(64, "0")}` as const],
    },
    { address: `0x${"22".repeat(20)}` as const, storageKeys: [] },
  ];
  assert.equal(
    intrinsicGas({ data: "0x0000ff", creation: false, accessList }, "cancun").gas,
    21_000n + 8n + 16n + 4_800n + 3_800n,
  );
});

test("since Prague a transaction pays at least 21,000 plus 10 a calldata token (a zero byte 1 token, another 4)", () => {
  const data = `0x${"00".repeat(10)}${"ff".repeat(100)}` as const;
  const prague = intrinsicGas({ data, creation: false, accessList: none }, "prague");
  assert.equal(prague.gas, 21_000n + 40n + 1_600n);
  assert.equal(prague.floor, 21_000n + (10n + 400n) * 10n);
  assert.equal(intrinsicGas({ data, creation: false, accessList: none }, "osaka").floor, prague.floor);
  assert.equal(intrinsicGas({ data, creation: false, accessList: none }, "cancun").floor, 0n);
  // The floor ignores what a creation and an access list add.
  assert.equal(intrinsicGas({ data, creation: true, accessList: none }, "prague").floor, prague.floor);
});

test("init code over 49,152 bytes is refused since Shanghai, and only for creations", () => {
  const big = `0x${"00".repeat(49_153)}` as const;
  assert.equal(initCodeTooLarge({ data: big, creation: true }, "shanghai"), true);
  assert.equal(initCodeTooLarge({ data: big, creation: true }, "london"), false);
  assert.equal(initCodeTooLarge({ data: big, creation: false }, "prague"), false);
  assert.equal(initCodeTooLarge({ data: `0x${"00".repeat(49_152)}`, creation: true }, "prague"), false);
});
