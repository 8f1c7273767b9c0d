/**
 * A rolling outage on a live Solana cluster (a slot every 200 ms): one domain killed and restarted, then the others
 * hanging in turn, while clients read and send through the gateway. Nothing may fail or be wrong, no client may see
 * the slot go back, and every transfer must land exactly.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  appendTransactionMessageInstruction,
  createSolanaRpc,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from "@solana/kit";
import { getTransferSolInstruction } from "@solana-program/system";
import { FUNDED_LAMPORTS, type SolanaTestNetwork, startSolanaTestNetwork } from "./harness/solana-network.ts";
import { waitFor } from "./harness/wait.ts";

const SLOT_MS = 200;
/** How long each step of the outage lasts. */
const STEP_MS = 2_500;
let net: SolanaTestNetwork;

before(async () => {
  net = await startSolanaTestNetwork({ slotTimeMs: SLOT_MS });
  const start = net.cluster.slot();
  await waitFor(() => (net.app.engine.solanaStatus()[0]?.slots.finalized ?? -1) > start, {
    timeoutMs: 10_000,
    what: "a finalized slot agreed on the live cluster",
  });
});
after(() => net?.stop());

interface Tally {
  reads: number;
  failed: string[];
  wrong: string[];
  backwards: string[];
}

/** A client reading in a loop until `stop`: an untouched wallet's balance (never changes) and the processed slot. */
async function reader(name: string, stop: AbortSignal, tally: Tally): Promise<void> {
  const untouched = net.wallets[1]!.address;
  let lastSlot = -1;
  while (!stop.aborted) {
    for (const [method, params] of [
      ["getBalance", [untouched, { commitment: "confirmed" }]],
      ["getSlot", [{ commitment: "processed" }]],
    ] as const) {
      const r = await net.rpc(method, [...params]);
      tally.reads++;
      if (r.body.error || r.body.result === undefined) {
        tally.failed.push(`${name} ${method}: ${JSON.stringify(r.body.error).slice(0, 160)}`);
        continue;
      }
      const slot =
        method === "getSlot"
          ? (r.body.result as number)
          : (r.body.result as { context: { slot: number } }).context.slot;
      if (method === "getBalance" && (r.body.result as { value: number }).value !== Number(FUNDED_LAMPORTS))
        tally.wrong.push(`${name}: balance ${(r.body.result as { value: number }).value} at ${slot}`);
      // Processed slots and confirmed context slots are different clocks: each is held to itself.
      if (method === "getSlot") {
        if (slot < lastSlot) tally.backwards.push(`${name}: processed slot ${lastSlot} then ${slot}`);
        lastSlot = Math.max(lastSlot, slot);
      }
    }
  }
}

test("a rolling outage under reads and sends: 0 failed, 0 wrong, the slot never backwards, every send landed", async (t) => {
  const rpc = createSolanaRpc(net.rpcUrl);
  const tally: Tally = { reads: 0, failed: [], wrong: [], backwards: [] };
  const stop = new AbortController();
  const readers = ["a", "b", "c"].map((n) => reader(n, stop.signal, tally));
  const to = (await generateKeyPairSigner()).address;
  const sent: string[] = [];
  let expected = 0;
  const sendFailures: string[] = [];
  let sending = true;
  const sender = (async () => {
    for (let i = 0; sending; i++) {
      const { value: blockhash } = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
      const message = pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(net.wallets[0]!, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
        (m) =>
          appendTransactionMessageInstruction(
            getTransferSolInstruction({
              source: net.wallets[0]!,
              destination: to,
              amount: lamports(1_000_000_000n + BigInt(i)),
            }),
            m,
          ),
      );
      const signed = await signTransactionMessageWithSigners(message);
      const r = await net.rpc("sendTransaction", [getBase64EncodedWireTransaction(signed), { encoding: "base64" }]);
      if (r.body.result === getSignatureFromTransaction(signed)) {
        sent.push(r.body.result as string);
        expected += 1_000_000_000 + i;
      } else sendFailures.push(JSON.stringify(r.body).slice(0, 200));
      // One transfer per slot or so.
      const at = net.cluster.slot();
      await waitFor(() => net.cluster.slot() > at, { timeoutMs: 5_000, what: "the next slot" });
    }
  })();
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  // The schedule: each domain's turn, one at a time. Timers here pace the faults, they synchronize nothing.
  await wait(STEP_MS);
  await net.cluster.kill("u1");
  await wait(STEP_MS);
  await net.cluster.restart("u1");
  for (const id of ["u2", "u3", "u4"]) {
    await net.proxies.get(id)!.setFault({ kind: "blackhole" });
    await wait(STEP_MS);
    await net.proxies.get(id)!.clearFault();
  }
  sending = false;
  await sender;
  stop.abort();
  await Promise.all(readers);

  const last = net.cluster.slot();
  await waitFor(
    async () => {
      const r = await net.rpc("getSignatureStatuses", [sent]);
      const value = (r.body.result as { value?: ({ confirmationStatus: string } | null)[] } | undefined)?.value;
      return value?.every((s) => s?.confirmationStatus === "finalized") === true;
    },
    { timeoutMs: 15_000, what: `every one of ${sent.length} sends finalized (cluster at slot ${last})` },
  );
  const balance = await net.rpc("getBalance", [to]);
  const summary = `${tally.reads} reads, ${tally.failed.length} failed, ${tally.wrong.length} wrong, ${tally.backwards.length} backwards; ${sent.length} sends, ${sendFailures.length} refused`;
  t.diagnostic(summary);
  assert.deepEqual(
    { failed: tally.failed.slice(0, 5), wrong: tally.wrong, backwards: tally.backwards, sendFailures },
    { failed: [], wrong: [], backwards: [], sendFailures: [] },
    summary,
  );
  assert.ok(tally.reads > 100 && sent.length > 5, summary);
  assert.equal((balance.body.result as { value: number }).value, expected);
});
