/**
 * The public listener's front gate: who the client is (its address, through trusted proxies only), which key it
 * presents, whether its browser origin may call, and whether it has units left. Rate limits count in the store's
 * counters, so replicas sharing Redis share them; a client over its limit is remembered locally until its window
 * ends, so a flood is refused before its bodies are read and without a store round trip each.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { BlockList, isIP } from "node:net";
import type { ChainKey } from "../core/chain-key.ts";
import { MultihomeError } from "../core/errors.ts";
import type { Logger } from "../core/ports.ts";
import {
  type ApiKey,
  authenticate,
  type Caller,
  callerMayCall,
  callerRateLimit,
  clientAddressKey,
  keyCaller,
  type RateLimit,
} from "../core/rpc/access.ts";
import type { RpcGate } from "./rpc-handler.ts";

/** An API key's digest as the config stores it (`sha256:<hex>`). */
export function hashApiKey(key: string): string {
  return `sha256:${createHash("sha256").update(key).digest("hex")}`;
}

/** How long a browser may keep a CORS preflight's answer, seconds. */
export const CORS_MAX_AGE_SECONDS = 600;
/** Clients remembered as over their limit (the oldest forgotten first beyond it). */
export const MAX_BLOCKED_CLIENTS = 100_000;
/**
 * How long the refusal of a client already over its limit is held back, at most (until its window ends if sooner),
 * ms: a client that keeps sending gets one answer per connection per hold, so a flood costs the event loop next to
 * nothing instead of one immediate 429 per request.
 */
export const RATE_LIMIT_HOLD_MS = 1_000;
/** At most this many whole windows of overdraft keep a client refused after the window it overspent in. */
export const RATE_LIMIT_MAX_DEBT_WINDOWS = 60;

export interface AccessOptions {
  anonymous: boolean;
  anonymousRateLimit: RateLimit | undefined;
  /** The keys in force now, by digest (reloaded from a keys file by the app). */
  keys: () => ReadonlyMap<string, ApiKey>;
  trustedProxies: readonly string[];
  corsOrigins: readonly string[];
  /** Rate-limit units per method, over the built-in table. */
  methodCosts: Readonly<Record<string, number>>;
  /** The store's fixed-window counter: adds `amount` and returns the window's total. */
  addToCounter: (name: string, amount: number, windowMs: number, now: number) => Promise<number>;
  now: () => number;
  logger: Logger;
}

export interface Access {
  /** The client's address as rate limits and connection caps count it (an IPv6 client by its /64). */
  clientOf(req: IncomingMessage): string;
  /** Whether connections from this peer are capped per client (a trusted proxy carries many clients). */
  isTrustedProxy(address: string | undefined): boolean;
  /** `chain`: the chain id, or `solana/{name}` for a Solana cluster (what a key's `chains` lists). */
  authenticate(req: IncomingMessage, chain: ChainKey, pathKey: string | undefined): Caller | MultihomeError;
  /**
   * CORS: whether a browser origin may call at all, and the headers to answer with (never a wildcard, never
   * credentials). A request without `Origin` (not from a browser) is always let through.
   */
  cors(req: IncomingMessage, caller: Caller | undefined): { allowed: boolean; headers: Record<string, string> };
  /** Milliseconds until a client remembered as over its limit may call again; undefined when it may call now. */
  blocked(caller: Caller): number | undefined;
  /**
   * What a caller's calls may do and cost, checked at every use: the key again (revoked or re-scoped since: refused),
   * a client already over its limit (refused without asking the store), then the units debited. HTTP, WebSocket
   * messages and the REST views all pay through this one gate.
   */
  gate(caller: Caller, chain: ChainKey): RpcGate;
}

function rangeList(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [address, bits] = range.split("/");
    const type = isIP(address!) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, Number(bits), type);
  }
  return list;
}

function contains(list: BlockList, address: string): boolean {
  const version = isIP(address);
  if (version === 0) return false;
  if (list.check(address, version === 6 ? "ipv6" : "ipv4")) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? list.check(mapped[1]!, "ipv4") : false;
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
}

/** Open connections per client, for the caps of the HTTP and WebSocket listeners. */
export function createClientCounts() {
  const open = new Map<string, number>();
  return {
    count: (client: string) => open.get(client) ?? 0,
    add(client: string) {
      open.set(client, (open.get(client) ?? 0) + 1);
    },
    remove(client: string) {
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    },
  };
}
const CORS_ALLOW_HEADERS = "content-type, authorization, x-api-key, multihome-max-staleness, multihome-min-evidence";
const CORS_EXPOSE_HEADERS =
  "multihome-block, multihome-slot, multihome-verified, multihome-stale, x-request-id, retry-after";

/** Whether a peer is one of `server.trustedProxies` (addresses or CIDR ranges). */
export function trustedProxyCheck(trustedProxies: readonly string[]): (address: string | undefined) => boolean {
  const proxies = rangeList(trustedProxies);
  return (address) => address !== undefined && trustedProxies.length > 0 && contains(proxies, address);
}

export function createAccess(options: AccessOptions): Access {
  const anyOrigin = options.corsOrigins.includes("*");
  const origins = new Set(options.corsOrigins.filter((o) => o !== "*"));
  /** Limit name → when its window ends (ms). */
  const blockedUntil = new Map<string, number>();
  const trusted = trustedProxyCheck(options.trustedProxies);

  /** A direct client's key, by connection: its address does not change while the connection lives. */
  const direct = new WeakMap<object, string>();

  function clientOf(req: IncomingMessage): string {
    const known = direct.get(req.socket);
    if (known !== undefined) return known;
    const peer = req.socket.remoteAddress ?? "unknown";
    if (!trusted(peer)) {
      const key = clientAddressKey(peer);
      if (req.socket.remoteAddress !== undefined) direct.set(req.socket, key);
      return key;
    }
    // Walk X-Forwarded-For from the nearest hop: the first address that is not a trusted proxy is the client. Hops
    // further left were written by the client itself and prove nothing.
    const header = req.headers["x-forwarded-for"];
    const hops = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",");
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!.trim();
      if (isIP(hop) === 0) break;
      if (!trusted(hop)) return clientAddressKey(hop);
    }
    return clientAddressKey(peer);
  }

  function presentedKey(req: IncomingMessage, pathKey: string | undefined): string | undefined {
    if (pathKey !== undefined) return pathKey;
    const authorization = req.headers.authorization;
    if (authorization !== undefined) return bearerToken(authorization) ?? authorization;
    const header = req.headers["x-api-key"];
    return Array.isArray(header) ? header[0] : header;
  }

  function blocked(caller: Caller): number | undefined {
    const until = blockedUntil.get(caller.limitName);
    if (until === undefined) return undefined;
    const now = options.now();
    if (until <= now) {
      blockedUntil.delete(caller.limitName);
      return undefined;
    }
    return until - now;
  }

  async function charge(caller: Caller, units: number): Promise<MultihomeError | undefined> {
    const limit = callerRateLimit(caller);
    if (!limit || units === 0) return undefined;
    const windowMs = limit.windowSeconds * 1000;
    const now = options.now();
    let total: number;
    try {
      total = await options.addToCounter(`rate:${caller.limitName}`, units, windowMs, now);
    } catch (error) {
      // A store that cannot count does not take the gateway down with it: the request is served.
      options.logger.warn({ err: (error as Error).message }, "rate limit not counted");
      return undefined;
    }
    if (total <= limit.units) return undefined;
    // An overdraft is paid off in the windows after this one: a client that spends many windows' worth at once
    // (an oversized batch costs every item) stays refused that many windows, up to RATE_LIMIT_MAX_DEBT_WINDOWS, so a
    // huge body is read and parsed once per debt rather than once per window.
    const debtWindows = Math.min(RATE_LIMIT_MAX_DEBT_WINDOWS, Math.floor((total - limit.units) / limit.units));
    const until = (Math.floor(now / windowMs) + 1 + debtWindows) * windowMs;
    blockedUntil.delete(caller.limitName);
    blockedUntil.set(caller.limitName, until);
    if (blockedUntil.size > MAX_BLOCKED_CLIENTS) blockedUntil.delete(blockedUntil.keys().next().value!);
    return rateLimited(Math.max(1, Math.ceil((until - now) / 1000)), limit);
  }

  return {
    clientOf,
    isTrustedProxy: trusted,
    authenticate(req, chain, pathKey) {
      return authenticate(
        {
          keys: options.keys(),
          digest: hashApiKey,
          anonymous: { allowed: options.anonymous, rateLimit: options.anonymousRateLimit },
        },
        presentedKey(req, pathKey),
        () => clientOf(req),
        chain,
      );
    },
    cors(req, caller) {
      const origin = req.headers.origin;
      if (origin === undefined) return { allowed: true, headers: {} };
      // A keyed caller's origins are its key's, or the listed ones; "*" never covers a key (a key usable from any
      // page is a key anyone can spend). `null` (sandboxed pages, files) is never an allowed origin.
      const keyOrigins = caller?.kind === "key" ? caller.key.origins : undefined;
      const allowed =
        origin !== "null" &&
        (keyOrigins ? keyOrigins.has(origin) : origins.has(origin) || (anyOrigin && caller?.kind !== "key"));
      if (!allowed) return { allowed: false, headers: { vary: "Origin" } };
      const headers: Record<string, string> = {
        vary: "Origin",
        "access-control-allow-origin": origin,
        "access-control-expose-headers": CORS_EXPOSE_HEADERS,
      };
      if (req.method === "OPTIONS") {
        headers["access-control-allow-methods"] = "POST, GET, OPTIONS";
        headers["access-control-allow-headers"] = CORS_ALLOW_HEADERS;
        headers["access-control-max-age"] = String(CORS_MAX_AGE_SECONDS);
      }
      return { allowed: true, headers };
    },
    blocked,
    gate(caller, chain) {
      const current = () => (caller.kind === "key" ? keyCaller(options.keys(), caller.hash, chain) : caller);
      return {
        costs: options.methodCosts,
        client: caller.kind === "key" ? caller.key.id : "anonymous",
        mayCall(method) {
          const now = current();
          return !(now instanceof MultihomeError) && callerMayCall(now, method);
        },
        async charge(units) {
          const now = current();
          if (now instanceof MultihomeError) return now;
          const blockedMs = blocked(now);
          if (blockedMs !== undefined) return rateLimited(Math.max(1, Math.ceil(blockedMs / 1000)));
          return charge(now, units);
        },
      };
    },
  };
}

export function rateLimited(retryAfterSeconds: number, limit?: RateLimit): MultihomeError {
  return new MultihomeError("rate_limited", "rate limited: too many cost units in this window", {
    retryAfterSeconds,
    ...(limit ? { data: { limit: limit.units, windowSeconds: limit.windowSeconds } } : {}),
  });
}
