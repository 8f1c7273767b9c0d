/** `multihome doctor` on a Solana cluster: slots per commitment, minContextSlot, and an upstream on another cluster. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { runDoctor } from "../src/app/doctor.ts";
import { formatReport } from "../src/cli/doctor.ts";
import { validateConfig } from "../src/config/load.ts";
import { type SolanaCluster, startSolanaCluster } from "../src/devnet/solana/cluster.ts";
import { FOUR_DOMAINS, THREE_DOMAINS } from "./harness/network.ts";

let cluster: SolanaCluster;
let other: SolanaCluster;
before(async () => {
  cluster = await startSolanaCluster({ name: "doctor", nodes: THREE_DOMAINS, finalizedDepth: 2, accounts: [] });
  other = await startSolanaCluster({ name: "elsewhere", nodes: [FOUR_DOMAINS[3]!], accounts: [] });
  await cluster.produceSlots(4);
});
after(async () => {
  await cluster?.stop();
  await other?.stop();
});

test("doctor: every Solana upstream's slots and minContextSlot; one on another cluster is critical", async () => {
  const config = validateConfig({
    chains: [
      {
        family: "solana",
        name: "doctor",
        upstreams: [...cluster.nodes, ...other.nodes].map((n) => ({ id: n.id, url: n.url, domain: n.domain })),
      },
    ],
  });
  const report = await runDoctor(config, { timeoutMs: 5_000 });
  const honest = report.solana.filter((p) => p.id !== "u4");
  assert.deepEqual(
    honest.map((p) => [p.genesisMatches, p.slots, p.lagSlots, p.minContextSlot]),
    honest.map(() => [true, { processed: 4, confirmed: 3, finalized: 2 }, 0, true]),
  );
  const stranger = report.solana.find((p) => p.id === "u4")!;
  assert.equal(stranger.genesisMatches, false);
  assert.ok(
    report.findings.some((f) => f.code === "wrong_cluster" && f.upstream === "u4" && f.severity === "critical"),
  );
  assert.equal(report.critical, true);
  assert.match(formatReport(report), /Solana doctor\n\s+UPSTREAM\s+REACHABLE\s+GENESIS/);
});
