/**
 * The randomized fault test: four independent domains of real anvil nodes behind fault proxies, a seeded schedule of
 * node crashes (in-flight requests die, the node falls behind and resyncs), hangs, HTTP 500s, 2 s stalls, truncated
 * bodies, resets, one domain that lies for a while and one blackout of every domain, while readers (balances, the head,
 * receipts, transaction statuses) and a sender use the gateway. Every answer is judged afterwards against the chain.
 *
 * MULTIHOME_CHAOS_SEEDS=7,8,9 runs other schedules (default 1,2,3); MULTIHOME_CHAOS_SECONDS sets the faulty part's
 * length (default 30); MULTIHOME_CHAOS_DUMP=/tmp/chaos writes each run's schedule, history and report to
 * /tmp/chaos-<seed>.json.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { DEFAULTS as CONFIG_DEFAULTS } from "../src/config/defaults.ts";
import { type ChaosReport, judge } from "./harness/chaos/oracle.ts";
import { runSchedule } from "./harness/chaos/run.ts";
import { makeSchedule } from "./harness/chaos/schedule.ts";
import { FOUR_DOMAINS, startTestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

const SEEDS = (process.env.MULTIHOME_CHAOS_SEEDS ?? "1,2,3").split(",").map((s) => Number(s.trim()));
const SECONDS = Number(process.env.MULTIHOME_CHAOS_SECONDS ?? 30);
const STALE_AFTER_MS = 5_000;
const MAX_FAILED_COVERED_PCT = 1;
/**
 * Back to serving within one head poll interval of the upstreams' return (plus the probe and a read), never after a
 * breaker's backoff: a node back from a crash or a blip is polled every 250 ms, one down for longer once per interval
 * (at most one probe per second, FAULTS A16), so the target of p99 ≤ 1 s is reported over many runs (resilience.md),
 * and each run is held to the bound that rule gives.
 */
const POLL_MS = CONFIG_DEFAULTS.health.headPollIntervalMs;
const MAX_RECOVERY_MS = POLL_MS + 500;

describe("randomized faults over four domains", () => {
  for (const seed of SEEDS) {
    test(`seed ${seed}: every answer right, ≤ ${MAX_FAILED_COVERED_PCT} % failed while two honest domains are up, back within a poll interval`, async (t) => {
      const net = await startTestNetwork({
        nodes: FOUR_DOMAINS,
        blockTimeMs: 1_000,
        chain: { staleAfterMs: STALE_AFTER_MS },
        // The default head poll interval, not the suite's faster one: recovery is measured as deployed.
        config: { health: { headPollIntervalMs: POLL_MS } },
      });
      t.after(() => net.stop());
      const schedule = makeSchedule({ seed, nodes: FOUR_DOMAINS.map((n) => n.id), durationMs: SECONDS * 1_000 });
      t.diagnostic(
        `schedule: liar ${schedule.liar}; ${schedule.episodes.map((e) => `${e.node} ${e.kind} ${e.startMs}-${e.endMs}`).join(", ")}`,
      );
      const history = await runSchedule(net, schedule);
      const accepted = history.sends.filter((s) => s.acceptedAtMs !== undefined).map((s) => s.hash);
      // Every accepted transaction is mined once the faults are over (the outbox rebroadcasts what did not get out).
      await waitFor(
        async () => {
          for (const h of accepted) if (!(await net.direct("eth_getTransactionReceipt", [h]))) return false;
          return true;
        },
        { timeoutMs: 20_000, what: "every accepted transaction to be mined" },
      ).catch(() => {});
      const report = await judge(net, history, STALE_AFTER_MS);
      if (process.env.MULTIHOME_CHAOS_DUMP) {
        writeFileSync(
          `${process.env.MULTIHOME_CHAOS_DUMP}-${seed}.json`,
          JSON.stringify({ schedule, history, report }),
        );
      }
      t.diagnostic(summary(report));
      const correctness = {
        wrongBalances: report.wrongBalances,
        fakeZeros: report.fakeZeros,
        headsBackwards: report.headsBackwards,
        headsAhead: report.headsAhead,
        unlabelledStale: report.unlabelledStale,
        wrongReceipts: report.wrongReceipts,
        wrongStatuses: report.wrongStatuses,
        lost: report.lost,
      };
      assert.deepEqual(
        correctness,
        Object.fromEntries(Object.keys(correctness).map((k) => [k, 0])),
        report.wrongExamples.join("\n"),
      );
      assert.ok(report.covered > 0, "no read was asked while two honest domains were up");
      assert.ok(
        report.failedCoveredPct <= MAX_FAILED_COVERED_PCT,
        `${report.failedCovered} of ${report.covered} reads failed while two honest domains were up: ${JSON.stringify(report.coveredErrors)}`,
      );
      assert.ok(
        report.recoveries.every((r) => r.ms <= MAX_RECOVERY_MS),
        `back to serving: ${report.recoveries.map((r) => `${r.ms} ms at ${r.atMs}`).join(", ")}`,
      );
    });
  }
});

function summary(r: ChaosReport): string {
  return [
    `reads ${r.reads}, failed ${r.failed}; while two honest domains up ≥3 s: ${r.failedCovered}/${r.covered} failed (${r.failedCoveredPct.toFixed(2)} %)`,
    `wrong: balances ${r.wrongBalances} (and ${r.onForkedBlocks} at heights a node briefly forked: ${r.onForkedBlocks > 0 ? "not judged" : "none"}), fake zeros ${r.fakeZeros}, heads backwards ${r.headsBackwards}, ahead ${r.headsAhead}, unlabelled stale ${r.unlabelledStale}, receipts ${r.wrongReceipts}, statuses ${r.wrongStatuses}`,
    `sends ${r.sends}, accepted ${r.accepted}, mined ${r.minedOnce}, lost ${r.lost}`,
    `back to serving after two domains return (ms): ${r.recoveries.map((x) => `${x.ms}@${x.atMs}`).join(" ")}; p50 ${r.recoveryP50Ms}, p99 ${r.recoveryP99Ms}`,
    `failed reads by honest domains up: ${JSON.stringify(r.failedByUp)}; covered errors: ${JSON.stringify(r.coveredErrors)}`,
  ].join("\n");
}
