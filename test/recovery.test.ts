/**
 * Coming back as fast as the providers do, on real anvil nodes behind fault proxies: after a total outage long enough
 * for every breaker's backoff to grow, traffic returns as soon as the head polls find the upstreams answering again,
 * not when the backoff runs out.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

let net: TestNetwork;
/** Far longer than the test waits for recovery: an upstream that waited out its backoff would fail the test. */
const OPEN_MS = 60_000;

before(async () => {
  net = await startTestNetwork({
    config: { health: { breakerOpenMs: OPEN_MS, breakerMaxOpenMs: 4 * OPEN_MS, breakerFailureThreshold: 2 } },
  });
  await net.devnet.mine();
  await net.synced();
});
after(() => net?.stop());

const breakers = () => net.app.gateway.readiness().chains[0]!.upstreams.map((u) => u.breaker);

test("after a total outage, proven reads come back with the first upstreams, whatever their breakers' backoff", async (t) => {
  const address = net.devnet.accounts[1]!.address;
  for (const p of net.proxies.values()) await p.setFault({ kind: "down" });
  // Reads fail until every breaker is open (with a 60 s backoff) and the gateway counts on no upstream.
  await waitFor(
    async () => {
      await net.rpc("eth_getBalance", [address, "latest"]);
      return breakers().every((b) => b === "open") && !net.app.gateway.readiness().ready;
    },
    { timeoutMs: 15_000, what: "every breaker to open and readiness to flip" },
  );
  const truth = await net.direct("eth_getBalance", [address, "latest"]);
  const back = Date.now();
  let last = "";
  t.after(() => t.diagnostic(`last answer before recovery was seen: ${last}`));
  for (const p of net.proxies.values()) await p.clearFault();
  await waitFor(
    async () => {
      const r = await net.rpc("eth_getBalance", [address, "latest"]);
      last = `${JSON.stringify(r.body).slice(0, 200)} ${r.headers.get("multihome-verified")} ${breakers().join(",")}`;
      return r.body.result === truth && r.headers.get("multihome-verified") === "proof";
    },
    { timeoutMs: 10_000, what: "a proven balance once the upstreams answer again" },
  );
  t.diagnostic(`proven reads back ${Date.now() - back} ms after the upstreams (breakers opened for ${OPEN_MS} ms)`);
  assert.ok(
    breakers().some((b) => b !== "open"),
    `breakers: ${breakers().join(", ")}`,
  );
});
