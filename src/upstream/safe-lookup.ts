/**
 * Name resolution that enforces the address policy at connect time.
 *
 * The check sits inside the `lookup` that `net.connect` and `tls.connect` call, so the addresses checked are exactly
 * the addresses connected to: a name cannot pass a check and then resolve somewhere else for the connection (DNS
 * rebinding). Every address of an answer must pass, not just the first, because the socket may try any of them.
 * Literal IP hosts never reach a `lookup`; callers check those with `hostnameVerdict` when they are created.
 */
import type { LookupAddress } from "node:dns";
import { lookup as dnsLookup } from "node:dns/promises";
import type { LookupFunction } from "node:net";
import {
  type AddressPolicy,
  type AddressVerdict,
  addressVerdict,
  classifyAddress,
  hostnameVerdict,
  isIpAddress,
} from "../core/security/address-policy.ts";
import { errorCodeOf } from "../core/security/redact.ts";
import { AddressBlockedError } from "./failures.ts";

/** Resolves a host name to every address it has. Tests inject one; production uses `dns.lookup` (getaddrinfo). */
export type ResolveHostname = (
  hostname: string,
  options: { family: 0 | 4 | 6; hints: number },
) => Promise<LookupAddress[]>;

/** getaddrinfo, as `net.connect` itself would use it (hosts file included), asking for every address. */
export const systemResolve: ResolveHostname = (hostname, { family, hints }) =>
  dnsLookup(hostname, { all: true, family, hints });

export interface SafeLookupOptions extends AddressPolicy {
  /** @default systemResolve */
  resolve?: ResolveHostname;
}

function familyOf(family: unknown): 0 | 4 | 6 {
  if (family === 4 || family === "IPv4") return 4;
  if (family === 6 || family === "IPv6") return 6;
  return 0;
}

/** The verdict on every resolved address: refused when any one of them is refused. */
function verdictOnAll(addresses: readonly LookupAddress[], policy: AddressPolicy): AddressVerdict {
  for (const { address } of addresses) {
    if (!isIpAddress(address)) return { ok: false, reason: "the resolver returned something that is not an address" };
    const verdict = addressVerdict(classifyAddress(address), policy.mode, policy.allowPrivate);
    if (!verdict.ok) return verdict;
  }
  return { ok: true };
}

function notFound(): NodeJS.ErrnoException {
  return Object.assign(new Error("host name resolved to no address"), { code: "ENOTFOUND" });
}

/** Resolves and checks; rejects with the resolver's own error or an `AddressBlockedError`. */
async function resolveChecked(
  hostname: string,
  family: 0 | 4 | 6,
  hints: number,
  policy: AddressPolicy,
  resolve: ResolveHostname,
): Promise<LookupAddress[]> {
  const named = hostnameVerdict(hostname, policy.mode, policy.allowPrivate);
  if (named !== "needs-dns") {
    if (!named.ok) throw new AddressBlockedError(named.reason);
    const address = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
    return [{ address, family: address.includes(":") ? 6 : 4 }];
  }
  const addresses = await resolve(hostname, { family, hints });
  if (addresses.length === 0) throw notFound();
  const verdict = verdictOnAll(addresses, policy);
  if (!verdict.ok) throw new AddressBlockedError(verdict.reason);
  return addresses;
}

/**
 * A `lookup` for `net.connect`, `tls.connect`, `http.request` and undici's `connect` options. It resolves every
 * address of the name and calls back with an `AddressBlockedError` (code `EADDRBLOCKED`) when any of them is
 * refused by the policy; otherwise it answers like `dns.lookup` (one address, or all with `options.all`).
 */
export function createSafeLookup(options: SafeLookupOptions): LookupFunction {
  const { mode, allowPrivate, resolve = systemResolve } = options;
  const policy: AddressPolicy = { mode, allowPrivate };
  return (hostname, lookupOptions, callback) => {
    const all = lookupOptions.all === true;
    resolveChecked(hostname, familyOf(lookupOptions.family), lookupOptions.hints ?? 0, policy, resolve).then(
      (addresses) => {
        const [first] = addresses as [LookupAddress];
        // Off the promise chain: a throwing callback must surface as it would from dns.lookup, not as a rejection.
        process.nextTick(() => (all ? callback(null, addresses) : callback(null, first.address, first.family)));
      },
      (error: NodeJS.ErrnoException) => process.nextTick(() => callback(error, all ? [] : "")),
    );
  };
}

const URL_SCHEMES = new Set(["http:", "https:", "ws:", "wss:"]);

/**
 * Waits for `promise` until `signal` aborts, then rejects with the signal's reason (getaddrinfo and a shared file
 * read cannot be cancelled; the wait can). Without a signal it is `promise` itself.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Every address `hostname` resolves to now, or why there is none (`the host name could not be resolved (ENOTFOUND)`;
 * the reason never names the host). Rejects only with the signal's reason, as soon as it aborts.
 */
export async function resolveAddresses(
  hostname: string,
  options: { signal: AbortSignal; resolve?: ResolveHostname },
): Promise<{ ok: true; addresses: LookupAddress[] } | { ok: false; reason: string }> {
  const { signal, resolve = systemResolve } = options;
  let addresses: LookupAddress[];
  try {
    addresses = await untilAborted(resolve(hostname, { family: 0, hints: 0 }), signal);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const code = errorCodeOf(error);
    return { ok: false, reason: `the host name could not be resolved${code === undefined ? "" : ` (${code})`}` };
  }
  if (addresses.length === 0) return { ok: false, reason: "the host name resolved to no address" };
  return { ok: true, addresses };
}

export interface CheckUrlOptions extends AddressPolicy {
  /** Stops waiting for name resolution; the returned promise rejects with the signal's reason. */
  signal: AbortSignal;
  /** @default systemResolve */
  resolve?: ResolveHostname;
}

/**
 * The whole check for an upstream URL before it is accepted (the strict check, with mode `api`, for URLs that arrive
 * through an API): scheme http, https, ws or wss; no metadata host name; a literal address, or every address the
 * name resolves to now, allowed by the policy. A name that does not resolve is refused: it cannot be vouched for.
 * Reasons never contain the URL, host or address. Connections must still use `createSafeLookup`, because the name
 * may resolve differently by the time they are opened.
 */
export async function checkUrl(url: string, options: CheckUrlOptions): Promise<AddressVerdict> {
  const { mode, allowPrivate, signal, resolve } = options;
  signal.throwIfAborted();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: "not a valid URL" };
  }
  if (!URL_SCHEMES.has(parsed.protocol)) return { ok: false, reason: "the scheme must be http, https, ws or wss" };
  const named = hostnameVerdict(parsed.hostname, mode, allowPrivate);
  if (named !== "needs-dns") return named;
  const resolved = await resolveAddresses(parsed.hostname, { signal, resolve });
  return resolved.ok ? verdictOnAll(resolved.addresses, { mode, allowPrivate }) : resolved;
}
