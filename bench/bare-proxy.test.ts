import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { startAnvil } from "../src/devnet/anvil.ts";
import { startBareProxy } from "./bare-proxy.ts";

const post = (url: string, body: string) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });

test("the bare proxy returns anvil's answer to the forwarded body unchanged", async () => {
  const anvil = await startAnvil();
  try {
    const proxy = await startBareProxy({ target: anvil.url });
    try {
      const body = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "eth_chainId", params: [] });
      const direct = await (await post(anvil.url, body)).text();
      const res = await post(proxy.url, body);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), direct);
    } finally {
      await proxy.stop();
    }
  } finally {
    await anvil.stop();
  }
});

test("the bare proxy answers 502 when the upstream refuses connections", async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const proxy = await startBareProxy({ target: `http://127.0.0.1:${port}` });
  try {
    const res = await post(proxy.url, "{}");
    await res.arrayBuffer();
    assert.equal(res.status, 502);
  } finally {
    await proxy.stop();
  }
});
