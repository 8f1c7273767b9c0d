/**
 * Where an upstream is hosted, for upstreams whose config declares no `domain`: its host name → its addresses →
 * their autonomous systems (an offline IP-to-ASN table from the npm package {@link ASN_DATABASE_PACKAGE}) → a hosting
 * name (`aws`, `gcp`, … from {@link CLOUD_ASNS}, else `as<N>`). Loopback is `self`, private ranges `private-network`.
 *
 * Only `multihome doctor` needs this: the table (tens of MB of CSV) is read on first use, one address family at a
 * time, and the gateway never imports this module. The package is an optional dependency; without it, public
 * addresses stay unknown and the rest still works.
 */

import type { LookupAddress } from "node:dns";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { UNKNOWN_REGION } from "../core/domains/concentration.ts";
import type { FailureDomain } from "../core/domains/domain.ts";
import { BaseError } from "../core/errors.ts";
import { classifyAddress, ipv4Of, isIpAddress, normalizeHostname, parseIp } from "../core/security/address-policy.ts";
import { errorCodeOf } from "../core/security/redact.ts";
import { type ResolveHostname, resolveAddresses, untilAborted } from "../upstream/safe-lookup.ts";

/** The npm package holding the IP-to-ASN table (CC BY 4.0: RouteViews, the five RIRs via NRO, DB-IP). */
export const ASN_DATABASE_PACKAGE = "@ip-location-db/asn";

/** Hosting names of the autonomous systems of the large clouds, CDNs and hosters; every other ASN is `as<N>`. */
export const CLOUD_ASNS: ReadonlyMap<number, string> = new Map(
  Object.entries({
    aws: [16509, 14618, 8987, 7224],
    gcp: [15169, 396982, 19527, 16550, 139070],
    azure: [8075],
    cloudflare: [13335, 209242],
    hetzner: [24940, 213230, 212317],
    ovh: [16276],
    digitalocean: [14061],
    oracle: [31898],
    "akamai-linode": [63949, 20940, 16625],
    vultr: [20473],
    alibaba: [45102, 37963],
    fastly: [54113],
    "equinix-metal": [54825],
    scaleway: [12876],
    contabo: [51167],
    leaseweb: [60781],
    ionos: [8560],
    tencent: [132203, 45090],
    "huawei-cloud": [136907],
    "ibm-cloud": [36351],
  }).flatMap(([name, asns]) => asns.map((asn) => [asn, name] as const)),
);

/** `aws` for 16509, `as64500` for an ASN not in {@link CLOUD_ASNS}. */
export function hostingOfAsn(asn: number): string {
  return CLOUD_ASNS.get(asn) ?? `as${asn}`;
}

// --- the ASN table ---------------------------------------------------------------------------------------------

/** IP address → autonomous system number, or undefined when the table has no route for it. */
export interface AsnDatabase {
  lookup(address: string, signal?: AbortSignal): Promise<number | undefined>;
}

/**
 * The table's text, per family, in ip-location-db's numeric CSV form: `start,end,asn,organization` per line, the
 * range inclusive, addresses as decimal integers, lines sorted by start.
 */
export interface AsnTables {
  ipv4(): Promise<string>;
  ipv6(): Promise<string>;
}

/** Thrown when the table's package is not installed (`npm install --include=optional`). */
export class AsnDatabaseUnavailableError extends BaseError<"asn_database_unavailable"> {
  override readonly name = "AsnDatabaseUnavailableError";
  readonly code = "asn_database_unavailable";
  constructor(options?: { cause?: unknown }) {
    super(`the IP-to-ASN table is not installed (npm package ${ASN_DATABASE_PACKAGE})`, options);
  }
}

function packageFile(name: string): Promise<string> {
  let path: string;
  try {
    path = fileURLToPath(import.meta.resolve(`${ASN_DATABASE_PACKAGE}/${name}`));
  } catch (error) {
    return Promise.reject(new AsnDatabaseUnavailableError({ cause: error }));
  }
  return readFile(path, "utf8").catch((error: unknown) => {
    if (errorCodeOf(error) === "ENOENT") throw new AsnDatabaseUnavailableError({ cause: error });
    throw error;
  });
}

/** The installed package's tables. */
export const packageAsnTables: AsnTables = {
  ipv4: () => packageFile("asn-ipv4-num.csv"),
  ipv6: () => packageFile("asn-ipv6-num.csv"),
};

interface RangeTable<N> {
  starts: N[] | Uint32Array;
  ends: N[] | Uint32Array;
  asns: Uint32Array;
}

/** Parses the numeric CSV; lines that do not parse are skipped (a damaged line must not hide the rest). */
function parseTable<N extends number | bigint>(text: string, toNumber: (digits: string) => N): RangeTable<N> {
  const starts: N[] = [];
  const ends: N[] = [];
  const asns: number[] = [];
  let at = 0;
  while (at < text.length) {
    let eol = text.indexOf("\n", at);
    if (eol < 0) eol = text.length;
    const c1 = text.indexOf(",", at);
    const c2 = c1 < 0 ? -1 : text.indexOf(",", c1 + 1);
    const c3 = c2 < 0 ? -1 : text.indexOf(",", c2 + 1);
    if (c1 > at && c2 > c1 + 1 && c2 < eol) {
      const asnText = text.slice(c2 + 1, c3 > c2 && c3 < eol ? c3 : eol).trim();
      const startText = text.slice(at, c1);
      const endText = text.slice(c1 + 1, c2);
      if (/^\d+$/.test(asnText) && /^\d+$/.test(startText) && /^\d+$/.test(endText)) {
        starts.push(toNumber(startText));
        ends.push(toNumber(endText));
        asns.push(Number(asnText));
      }
    }
    at = eol + 1;
  }
  return { starts, ends, asns: Uint32Array.from(asns) };
}

function findAsn<N extends number | bigint>(table: RangeTable<N>, value: N): number | undefined {
  let lo = 0;
  let hi = table.starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((table.starts[mid] as N) <= value) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (found < 0 || value > (table.ends[found] as N)) return undefined;
  return table.asns[found];
}

/**
 * An ASN table read from `tables` on first use, per family, and kept by the returned object only (no process-wide
 * cache: whoever holds it decides how long the memory stays taken).
 */
export function createAsnDatabase(tables: AsnTables = packageAsnTables): AsnDatabase {
  let v4: Promise<RangeTable<number>> | undefined;
  let v6: Promise<RangeTable<bigint>> | undefined;
  return {
    async lookup(address, signal) {
      const parsed = parseIp(normalizeHostname(address));
      if (parsed === undefined) return undefined;
      // An IPv4-mapped or NAT64 address reaches an IPv4 host: that host's route is the one that counts.
      const ipv4 = ipv4Of(parsed);
      if (ipv4 !== undefined) {
        const [a = 0, b = 0, c = 0, d = 0] = ipv4;
        // A failed read is not remembered: the next lookup tries again.
        // Shared by concurrent lookups, so one caller's signal must not cancel the read: it only stops the wait.
        v4 ??= tables.ipv4().then((text) => parseTable(text, Number));
        const table = await untilAborted(v4, signal).catch((error: unknown) => {
          if (!signal?.aborted) v4 = undefined;
          throw error;
        });
        return findAsn(table, ((a << 24) | (b << 16) | (c << 8) | d) >>> 0);
      }
      v6 ??= tables.ipv6().then((text) => parseTable(text, BigInt));
      const table = await untilAborted(v6, signal).catch((error: unknown) => {
        if (!signal?.aborted) v6 = undefined;
        throw error;
      });
      return findAsn(
        table,
        parsed.bytes.reduce((n, byte) => (n << 8n) | BigInt(byte), 0n),
      );
    },
  };
}

// --- addresses and names ---------------------------------------------------------------------------------------

/** What one address says about where an upstream is hosted. */
export interface AddressHosting {
  /** A hosting label (`self`, `private-network`, `aws`, `as64500`), or undefined when it cannot be told. */
  hosting: string | undefined;
  /** The autonomous system, for public addresses found in the table. */
  asn?: number;
  /** Why `hosting` is undefined. */
  reason?: string;
}

/** The hosting of one literal address: loopback and private ranges by class, public ones through `database`. */
export async function hostingOfAddress(
  address: string,
  database: AsnDatabase | undefined,
  signal?: AbortSignal,
): Promise<AddressHosting> {
  const host = normalizeHostname(address);
  if (!isIpAddress(host)) return { hosting: undefined, reason: "not an IP address" };
  const cls = classifyAddress(host);
  if (cls === "loopback") return { hosting: "self" };
  if (cls === "private") return { hosting: "private-network" };
  if (cls !== "public") return { hosting: undefined, reason: `a ${cls} address is never an upstream` };
  if (database === undefined) return { hosting: undefined, reason: "no IP-to-ASN table" };
  let asn: number | undefined;
  try {
    asn = await database.lookup(host, signal);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof AsnDatabaseUnavailableError) return { hosting: undefined, reason: error.message };
    throw error;
  }
  if (asn === undefined) return { hosting: undefined, reason: "the address is in no announced route" };
  return { hosting: hostingOfAsn(asn), asn };
}

export interface HostingInference {
  /** The hosting most of the host's addresses are in; undefined when none could be told. */
  hosting: string | undefined;
  /** Every hosting seen, most addresses first (more than one: the name spreads over several providers). */
  hostings: string[];
  /** Autonomous systems seen, ascending. */
  asns: number[];
  /** Why `hosting` is undefined. Never names the host or an address (the host name may identify an account). */
  reason?: string;
}

export interface InferHostingOptions {
  signal: AbortSignal;
  /** Host name resolver. @default dns.lookup, every address */
  resolve?: ResolveHostname;
  /** @default none: public addresses stay unknown */
  database?: AsnDatabase;
}

/** Where the upstream at `url` is hosted, from every address its host name resolves to now. */
export async function inferHosting(url: string, options: InferHostingOptions): Promise<HostingInference> {
  const { signal, resolve, database } = options;
  signal.throwIfAborted();
  let hostname: string;
  try {
    hostname = normalizeHostname(new URL(url).hostname);
  } catch {
    return { hosting: undefined, hostings: [], asns: [], reason: "not a valid URL" };
  }
  let addresses: LookupAddress[];
  if (isIpAddress(hostname)) {
    addresses = [{ address: hostname, family: hostname.includes(":") ? 6 : 4 }];
  } else {
    const resolved = await resolveAddresses(hostname, { signal, resolve });
    if (!resolved.ok) return { hosting: undefined, hostings: [], asns: [], reason: resolved.reason };
    addresses = resolved.addresses;
  }
  const counts = new Map<string, number>();
  const asns = new Set<number>();
  let reason: string | undefined;
  for (const { address } of addresses) {
    const found = await hostingOfAddress(address, database, signal);
    if (found.asn !== undefined) asns.add(found.asn);
    if (found.hosting === undefined) reason ??= found.reason;
    else counts.set(found.hosting, (counts.get(found.hosting) ?? 0) + 1);
  }
  const hostings = [...counts].sort((a, b) => b[1] - a[1]).map(([name]) => name);
  const result: HostingInference = { hosting: hostings[0], hostings, asns: [...asns].sort((a, b) => a - b) };
  if (result.hosting === undefined) result.reason = reason ?? "the host name resolved to no address";
  return result;
}

// --- a whole failure domain ------------------------------------------------------------------------------------

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A guess at the operator from the host name: the label left of the public suffix (`eth.rpc.example.com` →
 * `example`, `node.example.co.uk` → `example`). A name's leftmost labels may identify an account, so they are
 * never used.
 */
export function operatorOfHostname(hostname: string): string | undefined {
  const host = normalizeHostname(hostname);
  if (host === "" || isIpAddress(host)) return undefined;
  const labels = host.split(".");
  if (labels.length < 2) return undefined;
  const last = labels.at(-1)!;
  const second = labels.at(-2)!;
  // `co.uk`, `com.au`, `ne.jp`: a short second-level label under a country code is part of the suffix.
  const suffixLabels = labels.length >= 3 && last.length === 2 && second.length <= 3 ? 2 : 1;
  const label = labels.at(-1 - suffixLabels);
  return label !== undefined && LABEL.test(label) && label.length <= 64 ? label : undefined;
}

export interface DomainInference extends HostingInference {
  /** Undefined when the hosting could not be told. */
  domain: FailureDomain | undefined;
}

/**
 * A failure domain for an upstream that declares none. `self` hosting (loopback) is the operator's own node:
 * operator `self`, region `local`; a private network is also run by the operator (region `private`). For a public
 * host the operator is guessed from its name (else the upstream id) and the region is {@link UNKNOWN_REGION}: the
 * table holds no locations, so the operator fills it in before pasting (until then the concentration assessment
 * leaves the region out).
 */
export async function inferDomain(
  upstream: { id: string; url: string },
  options: InferHostingOptions,
): Promise<DomainInference> {
  const found = await inferHosting(upstream.url, options);
  const { hosting } = found;
  if (hosting === undefined) return { ...found, domain: undefined };
  if (hosting === "self") return { ...found, domain: { operator: "self", hosting, region: "local" } };
  if (hosting === "private-network") return { ...found, domain: { operator: "self", hosting, region: "private" } };
  let operator: string | undefined;
  try {
    operator = operatorOfHostname(new URL(upstream.url).hostname);
  } catch {
    operator = undefined;
  }
  return { ...found, domain: { operator: operator ?? upstream.id, hosting, region: UNKNOWN_REGION } };
}
