import assert from "node:assert/strict";
import { test } from "node:test";
import { AnvilStartError, startAnvil } from "./anvil.ts";
import { createRpcClient } from "./rpc.ts";

test("startAnvil binds a free loopback port, answers with its chain id, and stop() ends it", async () => {
  const [a, b] = await Promise.all([startAnvil({ chainId: 1337, timestamp: 1_700_000_000 }), startAnvil()]);
  try {
    assert.notEqual(a.port, b.port);
    assert.equal(a.url, `http://127.0.0.1:${a.port}`);
    assert.equal(a.wsUrl, `ws://127.0.0.1:${a.port}`);
    const rpc = createRpcClient(a.url);
    assert.equal(await rpc.call("eth_chainId"), "0x539");
    const genesis = await rpc.call<{ timestamp: string }>("eth_getBlockByNumber", ["0x0", false]);
    assert.equal(Number(genesis.timestamp), 1_700_000_000);
    // --no-mining by default: a transaction does not produce a block.
    assert.equal(await rpc.call("eth_blockNumber"), "0x0");
  } finally {
    await Promise.all([a.stop(), b.stop(), a.stop()]);
  }
  for (const pid of [a.pid, b.pid]) assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
});

test("startAnvil rejects with anvil's own complaint when it cannot start", async () => {
  await assert.rejects(startAnvil({ extraArgs: ["--no-such-flag"] }), (error: unknown) => {
    assert.ok(error instanceof AnvilStartError);
    assert.match(error.message, /anvil did not start: anvil exited with code \d+/);
    assert.match(error.message, /--no-such-flag/);
    return true;
  });
});

test("startAnvil rejects when the binary does not exist", async () => {
  await assert.rejects(startAnvil({ binary: "/nonexistent/anvil" }), /could not be spawned: .*ENOENT/);
});

test("aborting the signal stops a running anvil", async () => {
  const controller = new AbortController();
  const anvil = await startAnvil({ signal: controller.signal });
  const rpc = createRpcClient(anvil.url, { timeoutMs: 500 });
  assert.equal(await rpc.call("eth_chainId"), "0x7a69");
  controller.abort();
  await anvil.stop();
  assert.throws(() => process.kill(anvil.pid, 0), { code: "ESRCH" });
  await assert.rejects(rpc.call("eth_chainId"), /DevnetUnreachableError|ECONNREFUSED|fetch failed/);
});

test("an already aborted signal rejects before spawning", async () => {
  await assert.rejects(startAnvil({ signal: AbortSignal.abort() }), { name: "AbortError" });
});
