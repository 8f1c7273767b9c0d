import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { MemoryReport, MemoryUsage } from "./serve.ts";
import { startServerProcess } from "./server-process.ts";

test("a server process reports its memory, collecting garbage first only when it runs with --expose-gc", async () => {
  // The bare proxy opens no upstream connection until a request comes, so any URL will do as its target.
  const spec = { kind: "bare", target: "http://127.0.0.1:9", connections: 1 } as const;
  const withGc = await startServerProcess(spec, ["--expose-gc"]);
  try {
    const usage = (await withGc.command({ type: "memory", gc: true })) as MemoryReport;
    assert.deepEqual(Object.keys(usage).sort(), ["arrayBuffers", "cpuUs", "external", "heapTotal", "heapUsed", "rss"]);
    assert.ok(usage.cpuUs! > 0, "the CPU time it used so far");
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

test("a server process writes a CPU profile of what it did between start and stop", async () => {
  const dir = mkdtempSync(join(tmpdir(), "serve-profile-"));
  const server = await startServerProcess({ kind: "bare", target: "http://127.0.0.1:9", connections: 1 });
  try {
    await assert.rejects(server.command({ type: "cpuProfile", action: "stop", file: join(dir, "x") }), /no profile/);
    await server.command({ type: "cpuProfile", action: "start" });
    await server.command({ type: "memory" });
    const file = join(dir, "p.cpuprofile");
    await server.command({ type: "cpuProfile", action: "stop", file });
    const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: unknown[]; samples: unknown[] };
    assert.ok(profile.nodes.length > 0 && Array.isArray(profile.samples));
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
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
