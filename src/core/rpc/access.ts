/**
 * Who may call, what they may call, and what each call costs. Pure: the server supplies the presented key, the
 * client's address and a counter; nothing here reads a clock or a socket.
 *
 * API keys are stored as SHA-256 digests (`sha256:<hex>`). Keys are 32 random bytes, so a fast hash is enough: there
 * is nothing to brute-force, and a lookup costs one digest whether the key is unknown, revoked or valid.
 */

import type { ChainKey } from "../chain-key.ts";
import { MultihomeError } from "../errors.ts";
import { parseIp } from "../security/address-policy.ts";
import type { RpcCall } from "./jsonrpc.ts";
import { type MethodSpec, methodSpec } from "./methods.ts";

/** Longest API key accepted; a longer one is refused without hashing it. */
export const API_KEY_MAX_CHARS = 128;
/** Most keys one configuration (file plus keys file) may hold. */
export const API_KEYS_MAX = 100_000;

export const KEY_HASH = /^sha256:[0-9a-f]{64}$/;

/**
 * A method a config allows beyond Multihome's own set: forwarded as the client sent it (re-serialized), answered by
 * one upstream, never hedged, never cached.
 */
const PASS_THROUGH: MethodSpec = { kind: "read", heavy: true, passThrough: true };

export interface MethodRules {
  /** Methods served in addition to Multihome's own (exact names). */
  allow: readonly string[];
  /** Methods of Multihome's own set not served. */
  deny: readonly string[];
}

/** The methods a chain serves: Multihome's own set, minus `deny`, plus `allow`. Unknown names are refused. */
/** The spec of a method this deployment serves, or undefined when it does not serve it. */
export type MethodPolicy = (method: string) => MethodSpec | undefined;

export function createMethodPolicy(rules: MethodRules): MethodPolicy {
  const allow = new Set(rules.allow);
  const deny = new Set(rules.deny);
  return (method) => {
    if (deny.has(method)) return undefined;
    const spec = methodSpec(method);
    if (spec) return spec;
    return allow.has(method) ? PASS_THROUGH : undefined;
  };
}

/** What each method costs in rate-limit units. A method not listed costs `DEFAULT_METHOD_COST`. */
export const METHOD_COSTS: Readonly<Record<string, number>> = {
  eth_chainId: 1,
  net_version: 1,
  eth_blockNumber: 1,
  eth_call: 10,
  eth_estimateGas: 10,
  eth_createAccessList: 10,
  eth_getLogs: 20,
  eth_getBlockReceipts: 20,
  eth_getProof: 5,
  eth_getBlockByNumber: 2,
  eth_getBlockByHash: 2,
  eth_sendRawTransaction: 10,
};
export const DEFAULT_METHOD_COST = 2;
/** A method a config allows beyond Multihome's own set (often a trace or debug call) costs this unless listed. */
export const PASS_THROUGH_METHOD_COST = 50;

/** Units one call costs: an invalid or refused item costs the default too, so a batch of junk is not free. */
export function callCost(method: string | undefined, costs: Readonly<Record<string, number>>): number {
  if (method === undefined) return DEFAULT_METHOD_COST;
  if (Object.hasOwn(costs, method)) return costs[method]!;
  if (Object.hasOwn(METHOD_COSTS, method)) return METHOD_COSTS[method]!;
  return methodSpec(method) ? DEFAULT_METHOD_COST : PASS_THROUGH_METHOD_COST;
}

export interface RateLimit {
  /** Units allowed per window. */
  units: number;
  windowSeconds: number;
}

export interface ApiKeyConfig {
  id: string;
  hash: string;
  /** Chains and Solana clusters the key may use; absent: every one. */
  chains?: readonly ChainKey[] | undefined;
  /** Methods the key may call; absent: every method the chain serves. */
  methods?: readonly string[] | undefined;
  rateLimit?: RateLimit | undefined;
  /** Browser origins allowed to use the key (exact, scheme://host[:port]); absent: the server's `cors.origins`. */
  origins?: readonly string[] | undefined;
  /** A revoked key is refused exactly like an unknown one. */
  revoked?: boolean | undefined;
}

export interface ApiKey {
  id: string;
  chains: ReadonlySet<ChainKey> | undefined;
  methods: ReadonlySet<string> | undefined;
  rateLimit: RateLimit | undefined;
  origins: ReadonlySet<string> | undefined;
  revoked: boolean;
}

/** Keys by digest. A later entry with the same digest replaces an earlier one (a keys file overrides the config). */
export function indexApiKeys(keys: readonly ApiKeyConfig[]): Map<string, ApiKey> {
  const byHash = new Map<string, ApiKey>();
  for (const k of keys) {
    byHash.set(k.hash, {
      id: k.id,
      chains: k.chains ? new Set(k.chains) : undefined,
      methods: k.methods ? new Set(k.methods) : undefined,
      rateLimit: k.rateLimit,
      origins: k.origins ? new Set(k.origins) : undefined,
      revoked: k.revoked ?? false,
    });
  }
  return byHash;
}

/** Who a request is from, after authentication. */
export type Caller =
  /** `hash`: the key's digest, to look it up again (a key revoked while a WebSocket is open stops working). */
  | { kind: "key"; key: ApiKey; hash: string; limitName: string }
  | { kind: "anonymous"; limitName: string; rateLimit: RateLimit | undefined };

export interface AuthSettings {
  keys: ReadonlyMap<string, ApiKey>;
  /** A presented key's digest (`sha256:<hex>`), computed by the platform (node:crypto on the server). */
  digest: (key: string) => string;
  anonymous: { allowed: boolean; rateLimit: RateLimit | undefined };
}

/**
 * Authenticate. `presented` is the key the request carries (header or path), `clientId` the client's address as the
 * trusted-proxy rules found it. An unknown or revoked key is refused with the same message — and never falls back to
 * anonymous access, so a mistyped key fails loudly instead of quietly sharing the anonymous limit.
 */
export function authenticate(
  settings: AuthSettings,
  presented: string | undefined,
  /** The client's address: asked only of anonymous callers. */
  clientId: () => string,
  chain: ChainKey,
): Caller | MultihomeError {
  if (presented === undefined) {
    if (!settings.anonymous.allowed)
      return new MultihomeError("unauthorized", "unauthorized: an API key is required (Authorization: Bearer <key>)");
    return { kind: "anonymous", limitName: `ip:${clientId()}`, rateLimit: settings.anonymous.rateLimit };
  }
  if (presented.length > API_KEY_MAX_CHARS) return unknownKey();
  return keyCaller(settings.keys, settings.digest(presented), chain);
}

const unknownKey = () => new MultihomeError("unauthorized", "unauthorized: unknown or revoked API key");

/**
 * The caller a key digest names now, on this chain or cluster: the same checks at every use, so a key revoked or
 * re-scoped in the keys file stops working for a connection that is already open too. The rate limit is the key's
 * across every chain (`limitName` does not name the chain).
 */
export function keyCaller(keys: ReadonlyMap<string, ApiKey>, hash: string, chain: ChainKey): Caller | MultihomeError {
  const key = keys.get(hash);
  if (!key || key.revoked) return unknownKey();
  if (key.chains && !key.chains.has(chain)) {
    const where = typeof chain === "number" ? `chain ${chain}` : chain;
    return new MultihomeError("forbidden", `forbidden: this API key is not allowed on ${where}`);
  }
  return { kind: "key", key, hash, limitName: `key:${key.id}` };
}

/** Whether the caller's key lets it call this method (the chain's method policy applies on top). */
export function callerMayCall(caller: Caller, method: string): boolean {
  return caller.kind === "anonymous" || !caller.key.methods || caller.key.methods.has(method);
}

export function callerRateLimit(caller: Caller): RateLimit | undefined {
  return caller.kind === "key" ? caller.key.rateLimit : caller.rateLimit;
}

/**
 * The address a rate limit counts: an IPv4 address as it is, an IPv6 address by its /64 (one subscriber usually holds
 * a whole /64, so rotating within it must not reset the limit). IPv4-mapped IPv6 counts as the IPv4 address.
 */
export function clientAddressKey(address: string): string {
  const ip = parseIp(address);
  if (ip === undefined || ip.version === 4) return address;
  const b = ip.bytes;
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return b.slice(12).join(".");
  const groups = [0, 2, 4, 6].map((i) => ((b[i]! << 8) | b[i + 1]!).toString(16));
  return `${groups.join(":")}::/64`;
}

/** The cost of a parsed body: every item, valid or not. */
export function bodyCost(methods: readonly (RpcCall | undefined)[], costs: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const call of methods) total += callCost(call?.method, costs);
  return total;
}
