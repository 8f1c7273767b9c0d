import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bodiesFileText } from "./bodies.ts";
import { ensureWrk, runWrk } from "./wrk.ts";

test("wrk posts the body and post.lua counts non-2xx and unexpected answers, a non-200 as wrong", async () => {
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
      // An HTTP error echoing the expected text is still wrong.
      if (n % 4 === 0) res.writeHead(500).end('{"jsonrpc":"2.0","id":1,"result":"0x2a"}');
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

test("cycle.lua sends the bodies of a file in turn and checks each answer against its own body's case", async () => {
  ensureWrk(() => {});
  const cases = Array.from({ length: 40 }, (_, i) => ({
    id: i + 1,
    body: JSON.stringify({ jsonrpc: "2.0", id: i + 1, method: "eth_getBalance", params: [`0x${i}`, "0x1"] }),
    expect: `"result":"0x${(i + 1).toString(16)}"`,
  }));
  const dir = mkdtempSync(join(tmpdir(), "wrk-cycle-"));
  const bodiesFile = join(dir, "bodies.txt");
  writeFileSync(bodiesFile, bodiesFileText(cases));
  const received: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: number };
      received.push(id);
      // Every 8th id gets another id's result, every 5th is answered as if it were the next id: both wrong.
      if (id % 8 === 0) res.end(`{"jsonrpc":"2.0","id":${id},"result":"0x${(id + 1).toString(16)}"}`);
      else if (id % 5 === 0) res.end(`{"jsonrpc":"2.0","id":${id + 1},"result":"0x${id.toString(16)}"}`);
      else res.end(`{"jsonrpc":"2.0","id":${id},"result":"0x${id.toString(16)}"}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const r = await runWrk({ url: `http://127.0.0.1:${port}/`, bodiesFile, connections: 1, durationS: 1 });
    assert.ok(r.requests > 80, `${r.requests} requests: the list must wrap around`);
    // One connection: the bodies arrive strictly in the file's order, starting again after the last.
    assert.deepEqual(
      received.slice(1, 85),
      received.slice(0, 84).map((id) => (id % 40) + 1),
    );
    const wrongIds = (n: number) => n % 8 === 0 || n % 5 === 0;
    const expectedWrong = received.slice(0, r.requests).filter(wrongIds).length;
    assert.ok(Math.abs(r.wrong - expectedWrong) <= 1, `${r.wrong} wrong, expected ${expectedWrong}`);
    assert.ok(r.wrong > 0 && r.non2xx === 0);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test("cycle.lua keeps concurrent requests distinct: no two connections send the same body at once", async () => {
  ensureWrk(() => {});
  const cases = Array.from({ length: 64 }, (_, i) => ({
    id: i + 1,
    body: `{"jsonrpc":"2.0","id":${i + 1},"method":"m","params":[]}`,
    expect: '"result":"ok"',
  }));
  const dir = mkdtempSync(join(tmpdir(), "wrk-cycle-"));
  const bodiesFile = join(dir, "bodies.txt");
  writeFileSync(bodiesFile, bodiesFileText(cases));
  const inFlight = new Map<number, number>();
  let overlaps = 0;
  let answered = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: number };
      const n = (inFlight.get(id) ?? 0) + 1;
      if (n > 1) overlaps++;
      inFlight.set(id, n);
      // Held a little, so all connections have a request in flight together.
      setTimeout(() => {
        inFlight.set(id, (inFlight.get(id) ?? 1) - 1);
        answered++;
        res.end(`{"jsonrpc":"2.0","id":${id},"result":"ok"}`);
      }, 2);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const r = await runWrk({ url: `http://127.0.0.1:${port}/`, bodiesFile, connections: 16, threads: 2, durationS: 1 });
    assert.ok(answered > 200, `${answered} answered`);
    assert.equal(overlaps, 0);
    assert.equal(r.wrong, 0);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});
