import assert from "node:assert/strict";
import { test } from "node:test";
import { hashApiKey } from "../../server/access.ts";
import { solanaChainKey } from "../chain-key.ts";
import {
  authenticate,
  bodyCost,
  callCost,
  callerMayCall,
  clientAddressKey,
  createMethodPolicy,
  DEFAULT_METHOD_COST,
  indexApiKeys,
  keyCaller,
  PASS_THROUGH_METHOD_COST,
} from "./access.ts";
import type { RpcCall } from "./jsonrpc.ts";

const keys = indexApiKeys([
  { id: "a", hash: hashApiKey("mh_a"), chains: [1], methods: ["eth_chainId"] },
  { id: "r", hash: hashApiKey("mh_r"), revoked: true },
]);
const settings = (allowed: boolean) => ({
  keys,
  digest: hashApiKey,
  anonymous: { allowed, rateLimit: { units: 5, windowSeconds: 1 } },
});

test("keys are kept as sha256 digests; unknown and revoked keys get the same refusal, never anonymous access", () => {
  assert.match(hashApiKey("mh_a"), /^sha256:[0-9a-f]{64}$/);
  const unknown = authenticate(settings(true), "mh_x", () => "1.2.3.4", 1);
  const revoked = authenticate(settings(true), "mh_r", () => "1.2.3.4", 1);
  assert.ok(unknown instanceof Error && revoked instanceof Error);
  assert.equal(unknown.message, revoked.message);
  assert.equal(unknown.httpStatus, 401);
  const tooLong = authenticate(settings(true), "x".repeat(10_000), () => "1.2.3.4", 1);
  assert.ok(tooLong instanceof Error && tooLong.httpStatus === 401);
});

test("scopes: another chain is 403; the key's methods bound what it may call; anonymous only when allowed", () => {
  const other = authenticate(settings(true), "mh_a", () => "1.2.3.4", 5);
  assert.ok(other instanceof Error && other.httpStatus === 403);
  const caller = authenticate(settings(true), "mh_a", () => "1.2.3.4", 1);
  assert.ok(!(caller instanceof Error) && caller.kind === "key");
  assert.equal(callerMayCall(caller, "eth_chainId"), true);
  assert.equal(callerMayCall(caller, "eth_call"), false);
  const anonymous = authenticate(settings(true), undefined, () => "1.2.3.4", 1);
  assert.ok(!(anonymous instanceof Error) && anonymous.kind === "anonymous");
  assert.equal(anonymous.limitName, "ip:1.2.3.4");
  const refused = authenticate(settings(false), undefined, () => "1.2.3.4", 1);
  assert.ok(refused instanceof Error && refused.httpStatus === 401);
});

test("scopes name Solana clusters as solana/{name}: exactly those listed; the refusal names the cluster", () => {
  const scoped = indexApiKeys([
    { id: "s", hash: hashApiKey("mh_s"), chains: [1, "solana/devnet"] },
    { id: "e", hash: hashApiKey("mh_e"), chains: [1] },
    { id: "o", hash: hashApiKey("mh_o") },
  ]);
  const as = (key: string, chain: Parameters<typeof keyCaller>[2]) => keyCaller(scoped, hashApiKey(key), chain);
  assert.equal(solanaChainKey("devnet"), "solana/devnet");
  const devnet = as("mh_s", solanaChainKey("devnet"));
  const one = as("mh_s", 1);
  assert.ok(!(devnet instanceof Error) && !(one instanceof Error));
  // One key, one limit: its rate limit counts across every chain and cluster it reaches.
  assert.equal(devnet.limitName, "key:s");
  assert.equal(one.limitName, "key:s");
  const mainnet = as("mh_s", "solana/mainnet");
  assert.ok(mainnet instanceof Error && mainnet.httpStatus === 403);
  assert.equal(mainnet.message, "forbidden: this API key is not allowed on solana/mainnet");
  const evm = as("mh_s", 5);
  assert.ok(evm instanceof Error && evm.message === "forbidden: this API key is not allowed on chain 5");
  // A key scoped to chain ids reaches no cluster; an unscoped key reaches every chain and cluster.
  const evmOnly = as("mh_e", "solana/devnet");
  assert.ok(evmOnly instanceof Error && evmOnly.message === "forbidden: this API key is not allowed on solana/devnet");
  for (const chain of [1, 5, "solana/devnet", "solana/mainnet"] as const)
    assert.ok(!(as("mh_o", chain) instanceof Error), `an unscoped key reaches ${chain}`);
  // The cluster's label is exact: a chain id is never a cluster.
  assert.ok(as("mh_s", solanaChainKey("1")) instanceof Error);
});

test("method policy: Multihome's set, minus deny; dangerous methods only when named in allow", () => {
  const serves = createMethodPolicy({ allow: ["debug_traceTransaction"], deny: ["eth_getLogs"] });
  assert.equal(serves("eth_getLogs"), undefined);
  assert.equal(serves("eth_getBalance")?.kind, "read");
  assert.equal(serves("debug_traceTransaction")?.passThrough, true);
  assert.equal(serves("debug_traceCall"), undefined);
  assert.equal(serves("admin_addPeer"), undefined);
  assert.equal(createMethodPolicy({ allow: [], deny: [] })("eth_sendTransaction"), undefined);
});

test("costs: every batch item counts, invalid ones too; overrides win; pass-through methods cost more", () => {
  assert.equal(callCost("eth_call", {}), 10);
  assert.equal(callCost("eth_call", { eth_call: 3 }), 3);
  assert.equal(callCost(undefined, {}), DEFAULT_METHOD_COST);
  assert.equal(callCost("debug_traceTransaction", {}), PASS_THROUGH_METHOD_COST);
  const call = (method: string): RpcCall => ({ id: 1, method, params: [], notification: false });
  assert.equal(bodyCost([call("eth_chainId"), undefined, call("eth_call")], {}), 1 + DEFAULT_METHOD_COST + 10);
});

test("client addresses: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64", () => {
  assert.equal(clientAddressKey("203.0.113.9"), "203.0.113.9");
  assert.equal(clientAddressKey("::ffff:203.0.113.9"), "203.0.113.9");
  assert.equal(clientAddressKey("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  assert.equal(clientAddressKey("2001:0db8:0001:0002:ffff:1:2:3"), "2001:db8:1:2::/64");
  assert.equal(clientAddressKey("::1"), "0:0:0:0::/64");
});
