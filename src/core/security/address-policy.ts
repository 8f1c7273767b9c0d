/**
 * Which network addresses an upstream may live at (server-side request forgery protection).
 *
 * An upstream URL makes Multihome open connections on someone's behalf. Cloud metadata services hand out
 * credentials to whoever asks from inside the instance, so they are never an upstream; private ranges are an
 * upstream only when the operator allows it; loopback stays allowed for URLs from the config file, because the
 * operator's own node is the point of self-hosting. A URL that arrives through an API is checked strictly: only
 * public addresses.
 *
 * Pure: parsing and tables only. Name resolution happens in `upstream/safe-lookup.ts`.
 */

export type AddressClass =
  | "metadata"
  | "loopback"
  | "private"
  | "link-local"
  | "unspecified"
  | "multicast"
  | "reserved"
  | "public";

/** Where a URL came from: the operator's config file, or an API (strict: public addresses only). */
export type AddressPolicyMode = "config" | "api";

export interface AddressPolicy {
  mode: AddressPolicyMode;
  /** Allow private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). Ignored in `api` mode. */
  allowPrivate: boolean;
}

/** A URL from the config file, private ranges refused: what a transport enforces when told nothing. */
export const ADDRESS_POLICY_DEFAULT: Readonly<AddressPolicy> = Object.freeze({ mode: "config", allowPrivate: false });

export type AddressVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Names of cloud metadata services, refused by name before any resolution. Most resolve to a metadata address and
 * would be refused anyway; the name check also covers split-horizon DNS and metadata services on public addresses.
 */
export const METADATA_HOSTNAMES: readonly string[] = [
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.tencentyun.com",
  "metadata.platformequinix.com",
];

/**
 * Reasons, one per refused class and mode. They name the class only, never the URL (it carries API keys) nor the
 * address (a name's resolved address would tell an API caller about the internal network).
 */
export const ADDRESS_REFUSALS = {
  metadata: "a cloud metadata address is never an upstream",
  metadataHostname: "a cloud metadata host name is never an upstream",
  "link-local": "a link-local address is never an upstream",
  unspecified: "the unspecified address is never an upstream",
  multicast: "a multicast address is never an upstream",
  reserved: "a reserved or special-purpose address is never an upstream",
  private: "a private network address is refused unless private networks are allowed for this upstream",
  privateApi: "a private network address is refused for a URL from the API",
  loopbackApi: "a loopback address is refused for a URL from the API",
} as const;

// --- parsing ----------------------------------------------------------------------------------------------------

const IPV4_PART = /^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;

/**
 * Strict dotted-quad decimal only. Forms like `0x7f.1` or `010.0.0.1` are not parsed here: the resolver turns them
 * into a canonical address, and that address is what gets checked.
 */
function parseIPv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return undefined;
    bytes.push(Number(part));
  }
  return bytes;
}

const IPV6_GROUP = /^[0-9a-f]{1,4}$/;

function parseGroups(text: string): number[] | undefined {
  if (text === "") return [];
  const groups = text.split(":");
  const bytes: number[] = [];
  for (const [i, group] of groups.entries()) {
    if (i === groups.length - 1 && group.includes(".")) {
      const v4 = parseIPv4(group);
      if (v4 === undefined) return undefined;
      bytes.push(...v4);
    } else {
      if (!IPV6_GROUP.test(group)) return undefined;
      const value = Number.parseInt(group, 16);
      bytes.push(value >> 8, value & 0xff);
    }
  }
  return bytes;
}

/** Sixteen bytes, or undefined. A zone id (`fe80::1%eth0`) is dropped: it does not change the class. */
function parseIPv6(input: string): number[] | undefined {
  const percent = input.indexOf("%");
  const text = (percent >= 0 ? input.slice(0, percent) : input).toLowerCase();
  if (text === "" || !text.includes(":")) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0]!);
  if (head === undefined) return undefined;
  if (halves.length === 1) return head.length === 16 ? head : undefined;
  const tail = parseGroups(halves[1]!);
  if (tail === undefined || head.length + tail.length > 14) return undefined;
  return [...head, ...new Array<number>(16 - head.length - tail.length).fill(0), ...tail];
}

export type ParsedIp = { version: 4; bytes: number[] } | { version: 6; bytes: number[] };

/** An IPv4 (dotted quad) or IPv6 literal as its bytes; undefined for anything else. */
export function parseIp(text: string): ParsedIp | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { version: 4, bytes: v4 };
  const v6 = parseIPv6(text);
  return v6 === undefined ? undefined : { version: 6, bytes: v6 };
}

/** True for a literal IPv4 (dotted-quad decimal) or IPv6 address, without brackets; a zone id is allowed. */
export function isIpAddress(text: string): boolean {
  return parseIp(text) !== undefined;
}

// --- classification ---------------------------------------------------------------------------------------------

interface Rule {
  prefix: number[];
  bits: number;
  cls: AddressClass;
}

function rule(address: string, bits: number, cls: AddressClass): Rule {
  const parsed = parseIp(address);
  if (parsed === undefined) throw new TypeError("address table entry is not an IP address");
  return { prefix: parsed.bytes, bits, cls };
}

function matches(bytes: readonly number[], { prefix, bits }: Rule): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const left = Math.min(8, bits - bit);
    const mask = (0xff << (8 - left)) & 0xff;
    const i = bit / 8;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** First match wins, so exact metadata addresses come before the ranges that contain them. */
const IPV4_RULES: readonly Rule[] = [
  rule("169.254.169.254", 32, "metadata"), // AWS, GCP, Azure, OCI, DigitalOcean, OpenStack, ...
  rule("169.254.170.2", 32, "metadata"), // AWS ECS task metadata and credentials
  rule("169.254.170.23", 32, "metadata"), // AWS EKS Pod Identity
  rule("100.100.100.200", 32, "metadata"), // Alibaba Cloud
  rule("192.0.0.192", 32, "metadata"), // Oracle Cloud
  rule("0.0.0.0", 32, "unspecified"),
  rule("0.0.0.0", 8, "reserved"), // "this network"
  rule("127.0.0.0", 8, "loopback"),
  rule("169.254.0.0", 16, "link-local"),
  rule("10.0.0.0", 8, "private"),
  rule("172.16.0.0", 12, "private"),
  rule("192.168.0.0", 16, "private"),
  rule("100.64.0.0", 10, "private"), // carrier-grade NAT, also used inside clouds and VPN meshes
  rule("192.0.0.0", 24, "reserved"), // IETF protocol assignments
  rule("192.0.2.0", 24, "reserved"), // TEST-NET-1
  rule("192.88.99.0", 24, "reserved"), // 6to4 relay anycast (deprecated)
  rule("198.18.0.0", 15, "reserved"), // benchmarking
  rule("198.51.100.0", 24, "reserved"), // TEST-NET-2
  rule("203.0.113.0", 24, "reserved"), // TEST-NET-3
  rule("224.0.0.0", 4, "multicast"),
  rule("240.0.0.0", 4, "reserved"), // future use, and 255.255.255.255 broadcast
];

const IPV6_RULES: readonly Rule[] = [
  rule("fd00:ec2::254", 128, "metadata"), // AWS instance metadata over IPv6
  rule("fd00:ec2::23", 128, "metadata"), // AWS EKS Pod Identity over IPv6
  rule("::", 128, "unspecified"),
  rule("::1", 128, "loopback"),
  rule("64:ff9b:1::", 48, "private"), // local-use NAT64 (RFC 8215): its mapping is site-specific
  rule("::", 8, "reserved"), // IPv4-compatible (deprecated) and other unassigned
  rule("100::", 64, "reserved"), // discard-only
  rule("2001:db8::", 32, "reserved"), // documentation
  rule("2001::", 23, "reserved"), // IETF protocol assignments, Teredo (embeds an obfuscated IPv4 address)
  rule("2002::", 16, "reserved"), // 6to4 (deprecated; embeds an IPv4 address)
  rule("3fff::", 20, "reserved"), // documentation
  rule("fc00::", 7, "private"), // unique local
  rule("fe80::", 10, "link-local"),
  rule("fec0::", 10, "reserved"), // site-local (deprecated)
  rule("ff00::", 8, "multicast"),
  rule("2000::", 3, "public"),
];

/** ::ffff:0:0/96: an IPv4 address written as IPv6 reaches the IPv4 host, so it takes that host's class. */
const IPV4_MAPPED = rule("::ffff:0:0", 96, "reserved");
/** 64:ff9b::/96, the well-known NAT64 prefix: the gateway connects to the embedded IPv4 address. */
const NAT64_WELL_KNOWN = rule("64:ff9b::", 96, "reserved");

function classifyIPv4(bytes: readonly number[]): AddressClass {
  return IPV4_RULES.find((r) => matches(bytes, r))?.cls ?? "public";
}

/**
 * The IPv4 address a connection to `ip` reaches, as four bytes: an IPv4 address itself, or the one an IPv4-mapped
 * IPv6 address or the well-known NAT64 prefix carries; undefined for any other IPv6 address.
 */
export function ipv4Of(ip: ParsedIp): number[] | undefined {
  if (ip.version === 4) return ip.bytes;
  if (matches(ip.bytes, IPV4_MAPPED) || matches(ip.bytes, NAT64_WELL_KNOWN)) return ip.bytes.slice(12);
  return undefined;
}

/**
 * The class of a literal IPv4 or IPv6 address (no brackets; a zone id is allowed). IPv4-mapped IPv6 addresses
 * (`::ffff:169.254.169.254`, `::ffff:a9fe:a9fe`) and the well-known NAT64 prefix take the class of the IPv4 address
 * they carry. IPv6 outside 2000::/3 and the listed ranges is `reserved`. Throws a TypeError for anything that is not
 * a literal address (the message does not repeat the input).
 */
export function classifyAddress(ip: string): AddressClass {
  const parsed = parseIp(ip);
  if (parsed === undefined) throw new TypeError("not a literal IP address");
  const ipv4 = ipv4Of(parsed);
  if (ipv4 !== undefined) return classifyIPv4(ipv4);
  return IPV6_RULES.find((r) => matches(parsed.bytes, r))?.cls ?? "reserved";
}

// --- verdicts ---------------------------------------------------------------------------------------------------

/**
 * Whether an upstream may be at an address of class `cls`. `config`: loopback and public allowed, private only with
 * `allowPrivate`, everything else refused. `api`: public only (`allowPrivate` is ignored).
 */
export function addressVerdict(cls: AddressClass, mode: AddressPolicyMode, allowPrivate: boolean): AddressVerdict {
  switch (cls) {
    case "public":
      return { ok: true };
    case "loopback":
      return mode === "config" ? { ok: true } : { ok: false, reason: ADDRESS_REFUSALS.loopbackApi };
    case "private":
      if (mode === "api") return { ok: false, reason: ADDRESS_REFUSALS.privateApi };
      return allowPrivate ? { ok: true } : { ok: false, reason: ADDRESS_REFUSALS.private };
    default:
      return { ok: false, reason: ADDRESS_REFUSALS[cls] };
  }
}

/** Lower case, brackets and trailing dots removed: `[::1]` → `::1`, `Metadata.Google.Internal.` → `metadata.google.internal`. */
export function normalizeHostname(hostname: string): string {
  let host = hostname.trim().toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  while (host.endsWith(".")) host = host.slice(0, -1);
  return host;
}

/**
 * What can be decided about a URL's hostname without DNS: metadata names are refused, literal addresses (IPv6 in
 * brackets or not) get `addressVerdict`, any other name needs resolving (`"needs-dns"`). Pass `URL.hostname`: the
 * WHATWG parser has already turned `0xa9fea9fe`, `2852039166` and `169.254.169.254.` into `169.254.169.254`.
 */
export function hostnameVerdict(
  hostname: string,
  mode: AddressPolicyMode,
  allowPrivate: boolean,
): AddressVerdict | "needs-dns" {
  const host = normalizeHostname(hostname);
  if (METADATA_HOSTNAMES.includes(host)) return { ok: false, reason: ADDRESS_REFUSALS.metadataHostname };
  if (!isIpAddress(host)) return "needs-dns";
  return addressVerdict(classifyAddress(host), mode, allowPrivate);
}
