import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import type { MemoryUsage } from "./serve.ts";
import { startServerProcess } from "./server-process.ts";

test("a server process reports its memory, collecting garbage first only when it runs with --expose-gc", async () => {
  // The bare proxy opens no upstream connection until a request comes, so any URL will do as its target.
  const spec = { kind: "bare", target: "http://127.0.0.1:9", connections: 1 } as const;
  const withGc = await startServerProcess(spec, ["--expose-gc"]);
  try {
    const usage = (await withGc.command({ type: "memory", gc: true })) as MemoryUsage;
    assert.deepEqual(Object.keys(usage).sort(), ["arrayBuffers", "external", "heapTotal", "heapUsed", "rss"]);
    assert.ok(usage.heapUsed > 0 && usage.heapUsed <= usage.heapTotal && usage.heapTotal < usage.rss);
  } finally {
    await withGc.stop();
  }
  const without = await startServerProcess(spec);
  try {
    const usage = (await without.command({ type: "memory" })) as MemoryUsage;
    assert.ok(usage.rss > 0);
    await assert.rejects(without.command({ type: "memory", gc: true }), /without --expose-gc/);
  } finally {
    await without.stop();
  }
});

test("fault proxies count the JSON-RPC items they received, all of them or one method's", async () => {
  const upstream = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.end('{"jsonrpc":"2.0","id":1,"result":"0x1"}'));
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const proxies = await startServerProcess({ kind: "fault-proxies", targets: [target] });
  try {
    const send = async (method: string) => {
      const res = await fetch(proxies.urls[0]!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
      });
      await res.text();
    };
    for (const method of ["eth_getBalance", "eth_blockNumber", "eth_getBalance"]) await send(method);
    assert.deepEqual(await proxies.command({ type: "takeCounts", method: "eth_getBalance" }), [2]);
    // Taking the counts reset them.
    assert.deepEqual(await proxies.command({ type: "takeCounts" }), [0]);
    await send("eth_blockNumber");
    await send("eth_getBalance");
    assert.deepEqual(await proxies.command({ type: "takeCounts" }), [2]);
  } finally {
    await proxies.stop();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  }
});
