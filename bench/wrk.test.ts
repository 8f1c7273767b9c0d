import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { ensureWrk, runWrk } from "./wrk.ts";

test("wrk posts the body and post.lua counts non-2xx and unexpected answers", async () => {
  // Installs wrk when missing and running as root; otherwise fails naming the install command (never skips).
  ensureWrk(() => {});
  let n = 0;
  const bodies = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bodies.add(`${req.method} ${req.headers["content-type"]} ${Buffer.concat(chunks).toString()}`);
      n++;
      if (n % 4 === 0) res.writeHead(500).end("oops");
      else if (n % 4 === 1) res.end('{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"unavailable"}}');
      else res.end('{"jsonrpc":"2.0","id":1,"result":"0x2a"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const body = '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}';
    const r = await runWrk({
      url: `http://127.0.0.1:${port}/`,
      body,
      expect: '"result":"0x2a"',
      connections: 1,
      durationS: 1,
    });
    assert.deepEqual([...bodies], [`POST application/json ${body}`]);
    assert.ok(r.requests > 10, `${r.requests} requests`);
    // One connection answers strictly in turn, so the shares are exact up to the requests cut off at the end.
    assert.ok(Math.abs(r.non2xx - r.requests / 4) <= 2, `${r.non2xx} non-2xx of ${r.requests}`);
    assert.ok(Math.abs(r.wrong - r.requests / 2) <= 2, `${r.wrong} wrong of ${r.requests}`);
    assert.match(r.wrongSample, /^(200|500) /);
    assert.ok(r.rps > 0 && r.p50Us > 0 && r.p50Us <= r.p99Us);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
