/**
 * A reorg deeper than the head tracker follows back by parent hashes (REORG_WALK_MAX_BLOCKS) but shallower than the
 * chain's finality depth, on real anvil nodes: no block, balance or receipt of the orphaned branch is served afterwards.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { REORG_WALK_MAX_BLOCKS } from "../src/engine/routing/head-tracker.ts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

const DEPTH = REORG_WALK_MAX_BLOCKS + 16;
let net: TestNetwork;

before(async () => {
  // A chain whose reorgs can be deep (finality set deeper than this one).
  net = await startTestNetwork({ config: { cache: { finalityDepth: 2 * DEPTH } } });
  await net.devnet.mine(DEPTH + 8);
  await net.synced();
});
after(() => net?.stop());

test(`a reorg of depth ${DEPTH} leaves nothing of the orphaned branch anchored or served`, async (t) => {
  const head = net.devnet.head();
  const first = head - DEPTH + 1;
  // Anchor and cache the blocks about to be orphaned, the deepest ones above all.
  const before = new Map<number, string>();
  for (let n = first; n < first + 20; n++) {
    const block = (await net.rpc("eth_getBlockByNumber", [`0x${n.toString(16)}`, false])).body.result as {
      hash: string;
    };
    before.set(n, block.hash);
  }
  // The gateway sees the switch at once, as after a deep reorg on a real chain (not the devnet replaying it block by
  // block): head polls are answered with the old head while the nodes reorganise.
  const oldHead = await net.direct("eth_getBlockByNumber", ["latest", false]);
  for (const p of net.proxies.values())
    await p.setFault({
      fault: {
        kind: "rewrite",
        fn: (request, response) =>
          (request.params as unknown[])[0] === "latest" ? { ...(response as object), result: oldHead } : response,
      },
      methods: ["eth_getBlockByNumber"],
    });
  const reorg = await net.devnet.reorg(DEPTH);
  const learned = () => net.logs.filter((l) => l.includes("reorg: learning the new branch's blocks")).length;
  const learnedBefore = learned();
  for (const p of net.proxies.values()) await p.clearFault();
  await waitFor(
    () =>
      net.app.engine.readiness().chains[0]!.head?.hash === reorg.replacements.at(-1) &&
      learned() >= learnedBefore + net.proxies.size,
    { timeoutMs: 10_000, what: "every upstream's reorg to be seen, and the new branch agreed" },
  );
  const stale: string[] = [];
  for (let n = first; n < first + 20; n++) {
    const r = await net.rpc("eth_getBlockByNumber", [`0x${n.toString(16)}`, false]);
    const hash = (r.body.result as { hash?: string } | null)?.hash;
    if (hash !== reorg.replacements[n - first]) stale.push(`${n}: ${JSON.stringify(r.body).slice(0, 160)}`);
    else assert.equal(r.headers.get("multihome-verified"), "proof");
  }
  t.diagnostic(`${before.size} deep blocks read before the reorg; ${stale.length} served wrong after it`);
  assert.ok(
    [...before.values()].every((h, i) => h === reorg.orphaned[i]),
    "the blocks read were the orphaned ones",
  );
  assert.deepEqual(stale, []);
});
