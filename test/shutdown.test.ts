/** Graceful shutdown: the listener stops taking new connections, and calls already in flight still get answered. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

test("stop() drains in-flight calls before closing", async (t) => {
  const net = await startTestNetwork();
  let stopped = false;
  t.after(async () => {
    if (!stopped) await net.stop();
  });
  for (const p of net.proxies.values())
    await p.setFault({ fault: { kind: "latency", ms: 300 }, methods: ["eth_getProof"] });
  // Five different accounts: identical reads would share one upstream call.
  let answered = 0;
  const inFlight = Array.from({ length: 5 }, (_, i) =>
    net.rpc("eth_getBalance", [net.devnet.accounts[i]!.address, "latest"]).finally(() => answered++),
  );
  await waitFor(() => net.upstreamRequests("eth_getProof") >= 5, {
    timeoutMs: 5_000,
    what: "calls to reach upstreams",
  });
  // Drained means answered after stop() began: a call answered before proves nothing about the drain.
  assert.equal(answered, 0, "calls were answered before the stop began");
  const stopping = net.stop();
  stopped = true;
  const replies = await Promise.all(inFlight);
  await stopping;
  for (const r of replies) {
    assert.equal(r.status, 200);
    assert.match(String(r.body.result), /^0x[0-9a-f]+$/);
  }
  await assert.rejects(fetch(`${net.baseUrl}/healthz`));
});
