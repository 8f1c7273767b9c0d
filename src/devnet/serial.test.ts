import assert from "node:assert/strict";
import { test } from "node:test";
import { DevnetUnreachableError } from "./rpc.ts";
import { createSerialDriver } from "./serial.ts";

interface Node {
  id: string;
  down: boolean;
  behind: boolean;
}

function driver(onError?: (error: Error) => void) {
  return createSerialDriver<Error, Node>({
    onError,
    stoppedError: () => new Error("stopped"),
    flags: {
      unreachable: (s) => s.down,
      setUnreachable: (s, value) => {
        s.down = value;
      },
      fellBehind: (s) => {
        s.behind = true;
      },
    },
    errorOf: (s, what, error) => new Error(`${s.id} ${what}: ${(error as Error).message}`),
  });
}

test("serial runs operations one at a time, in order, a failed one not blocking the next", async () => {
  const d = driver();
  const order: string[] = [];
  const slow = d.serial(async () => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    order.push("slow");
  });
  const failing = d.serial(async () => {
    order.push("failing");
    throw new Error("no");
  });
  const fast = d.serial(async () => {
    order.push("fast");
    return 7;
  });
  await slow;
  await assert.rejects(failing, /no/);
  assert.equal(await fast, 7);
  assert.deepEqual(order, ["slow", "failing", "fast"]);
});

test("once stopped, nothing more is queued and nothing is reported", async () => {
  const heard: Error[] = [];
  const d = driver((e) => heard.push(e));
  d.report(new Error("before"));
  d.markStopped();
  assert.equal(d.stopped(), true);
  d.report(new Error("after"));
  await assert.rejects(
    d.serial(async () => 1),
    /stopped/,
  );
  await d.settled();
  assert.deepEqual(
    heard.map((e) => e.message),
    ["before"],
  );
});

test("a listener that throws never throws into the driver", () => {
  const d = driver(() => {
    throw new Error("faulty listener");
  });
  assert.doesNotThrow(() => d.report(new Error("x")));
});

test("attempt marks the node, reports a transport failure once per outage and every other failure", async () => {
  const heard: string[] = [];
  const d = driver((e) => heard.push(e.message));
  const s: Node = { id: "a", down: false, behind: false };
  const unreachable = () => Promise.reject(new DevnetUnreachableError("refused"));
  assert.equal(await d.attempt(s, "reading", unreachable), undefined);
  assert.equal(await d.attempt(s, "reading", unreachable), undefined);
  assert.deepEqual([s.down, s.behind], [true, true]);
  assert.equal(await d.attempt(s, "reading", async () => 5), 5);
  assert.equal(s.down, false);
  await d.attempt(s, "mining", () => Promise.reject(new Error("bad block")));
  await d.attempt(s, "reading", unreachable);
  assert.deepEqual(heard, ["a reading: refused", "a mining: bad block", "a reading: refused"]);
});
