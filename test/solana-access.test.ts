/** The Solana endpoint behind the same front gate as every other: keys, their chain scope, rate limits. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { hashApiKey } from "../src/server/access.ts";
import { type SolanaTestNetwork, startSolanaTestNetwork } from "./harness/solana-network.ts";

const OPEN = "solana-open-key";
const EVM_ONLY = "evm-only-key";
const LIMITED = "limited-key";
let net: SolanaTestNetwork;

before(async () => {
  net = await startSolanaTestNetwork({
    config: {
      auth: {
        anonymous: false,
        keys: [
          { id: "open", hash: hashApiKey(OPEN) },
          { id: "evm", hash: hashApiKey(EVM_ONLY), chains: [1] },
          { id: "limited", hash: hashApiKey(LIMITED), rateLimit: { units: 3, windowSeconds: 60 } },
        ],
      },
    },
  });
});
after(() => net?.stop());

const post = (key: string | undefined) =>
  fetch(net.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getSlot", params: [] }),
  });

test("no key: 401; a key scoped to EVM chains: 403 naming Solana; an open key is served; a rate limit holds", async () => {
  assert.equal((await post(undefined)).status, 401);
  const scoped = await post(EVM_ONLY);
  assert.equal(scoped.status, 403);
  assert.match(await scoped.text(), /not allowed on Solana clusters/);
  const open = await post(OPEN);
  assert.equal(open.status, 200);
  assert.equal(typeof ((await open.json()) as { result: unknown }).result, "number");
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await post(LIMITED)).status);
  assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
  assert.equal(statuses[4], 429);
});
