import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { quantile, runOpenLoop } from "./open-loop.ts";

test("quantile is nearest-rank over an ascending array", () => {
  const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(quantile(sorted, 0.5), 5);
  assert.equal(quantile(sorted, 0.99), 10);
  assert.equal(quantile(sorted, 0), 1);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test("the open-loop driver sends rate × duration requests on schedule and sorts answers into ok and wrong", async () => {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      // Every third answer is a JSON-RPC error with HTTP 200, every fifth an HTTP error.
      const n = received;
      if (n % 5 === 0) res.writeHead(503).end();
      else if (n % 3 === 0) res.end('{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"unavailable"}}');
      else res.end('{"jsonrpc":"2.0","id":1,"result":"0x1"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const started = performance.now();
    const r = await runOpenLoop({
      url: `http://127.0.0.1:${port}/rpc/1`,
      body: "{}",
      expect: '"result":"0x1"',
      rate: 500,
      durationMs: 1_000,
    });
    const elapsed = performance.now() - started;
    assert.equal(r.sent, 500);
    assert.equal(received, 500);
    assert.equal(r.failed, 0);
    const wrong = Array.from({ length: 500 }, (_, i) => i + 1).filter((n) => n % 5 === 0 || n % 3 === 0).length;
    assert.equal(r.wrong, wrong);
    assert.equal(r.ok, 500 - wrong);
    // Open loop: the schedule, not the answers, sets the pace.
    assert.ok(elapsed >= 990, `finished in ${elapsed} ms`);
    assert.ok(r.sentPerSecond > 450 && r.sentPerSecond < 550, `sent ${r.sentPerSecond}/s`);
    assert.ok(r.p50Ms > 0 && r.p50Ms <= r.p99Ms && r.p99Ms <= r.maxMs);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
