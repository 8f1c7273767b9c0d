/**
 * The drill that motivates Multihome: under steady load, every upstream of one hosting domain goes dark at once
 * (two vendors on the same cloud region, as in October 2025). Clients must not notice: 0 failed requests, 0 wrong
 * answers, and the head they are shown never goes backwards.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatReport, runLoad } from "./harness/load.ts";
import { FOUR_NODES_TWO_ON_AWS, startTestNetwork } from "./harness/network.ts";
import { balanceReader, truthBalances } from "./harness/reads.ts";
import { waitFor } from "./harness/wait.ts";

test("drill: a whole hosting domain (aws/us-east-1: alpha and beta) goes down under load", async (t) => {
  const net = await startTestNetwork({ nodes: FOUR_NODES_TWO_ON_AWS, blockTimeMs: 1_000 });
  t.after(() => net.stop());
  const reader = balanceReader(net, await truthBalances(net));
  const before = await runLoad({ durationMs: 1_500, concurrency: 8, request: reader.request });
  t.diagnostic(formatReport("drill before", before));
  const headBefore = net.app.engine.readiness().chains[0]!.head!.number;

  const load = runLoad({ durationMs: 6_000, concurrency: 8, request: reader.request });
  await Promise.all([
    net.proxies.get("alpha")!.setFault({ kind: "down" }),
    net.proxies.get("beta")!.setFault({ kind: "down" }),
  ]);
  const downAt = Date.now();
  await waitFor(() => net.app.engine.readiness().chains[0]!.domainsDown.includes("aws/us-east-1"), {
    timeoutMs: 3_000,
    what: "aws/us-east-1 to be judged down as a whole",
  });
  t.diagnostic(`drill: domain aws/us-east-1 judged down ${Date.now() - downAt} ms after the outage`);
  const report = await load;
  t.diagnostic(formatReport("drill during outage", report));
  assert.equal(report.failed, 0, report.failures.join("; "));
  assert.equal(reader.wrong, 0);
  assert.equal(reader.headWentBackwards, 0);

  // The chain kept moving: gamma and delta (independent domains) still anchor new heads.
  const headAfter = net.app.engine.readiness().chains[0]!.head!.number;
  t.diagnostic(`drill: agreed head ${headBefore} → ${headAfter} during the outage`);
  assert.ok(headAfter > headBefore);
  const readyz = await fetch(`${net.baseUrl}/readyz`);
  assert.equal(readyz.status, 200);
});
