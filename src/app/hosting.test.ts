import assert from "node:assert/strict";
import type { LookupAddress } from "node:dns";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { UNKNOWN_REGION } from "../core/domains/concentration.ts";
import type { ResolveHostname } from "../upstream/safe-lookup.ts";
import {
  AsnDatabaseUnavailableError,
  type AsnTables,
  CLOUD_ASNS,
  createAsnDatabase,
  hostingOfAddress,
  hostingOfAsn,
  inferDomain,
  inferHosting,
  operatorOfHostname,
} from "./hosting.ts";

// 1.0.0.0/24 → 13335, 8.8.8.0/24 → 15169, 203.0.113.0/24 skipped (no route), 198.51.100.0/24 → 64500.
const V4 = [
  '16777216,16777471,13335,"Cloudflare, Inc."',
  "134744064,134744319,15169,Google LLC",
  "not,a,line",
  "3325256704,3325256959,64500,Example",
  "",
].join("\n");
// 2606:4700::/32 → 13335
const V6 = "50543257672059871404715951523469721600,50543257751288033918980289117013671935,13335,Cloudflare\n";

function countingTables(): AsnTables & { reads: { ipv4: number; ipv6: number } } {
  const reads = { ipv4: 0, ipv6: 0 };
  return {
    reads,
    ipv4: async () => {
      reads.ipv4++;
      return V4;
    },
    ipv6: async () => {
      reads.ipv6++;
      return V6;
    },
  };
}

const fixedResolver =
  (answers: Record<string, string[]>): ResolveHostname =>
  async (hostname) => {
    const list = answers[hostname];
    if (list === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return list.map((address): LookupAddress => ({ address, family: address.includes(":") ? 6 : 4 }));
  };

/**
 * For literal addresses, which must not be resolved. The code under test catches what a resolver throws, so an
 * assertion thrown here would be lost: the calls are counted and the test asserts the count.
 */
let literalLookups = 0;
const refusingResolver: ResolveHostname = async () => {
  literalLookups++;
  throw new Error("a literal address must not be resolved");
};
const signal = new AbortController().signal;

test("ASN → hosting: the clouds by name, every other ASN as as<N>", () => {
  assert.equal(hostingOfAsn(16509), "aws");
  assert.equal(hostingOfAsn(14618), "aws");
  assert.equal(hostingOfAsn(15169), "gcp");
  assert.equal(hostingOfAsn(396982), "gcp");
  assert.equal(hostingOfAsn(8075), "azure");
  assert.equal(hostingOfAsn(13335), "cloudflare");
  assert.equal(hostingOfAsn(24940), "hetzner");
  assert.equal(hostingOfAsn(63949), "akamai-linode");
  assert.equal(hostingOfAsn(64500), "as64500");
  for (const name of CLOUD_ASNS.values()) assert.match(name, /^[a-z][a-z0-9-]*$/);
});

test("the table: inclusive ranges, gaps, IPv6, IPv4-mapped and NAT64 IPv6; each family read once and only when needed", async () => {
  const tables = countingTables();
  const db = createAsnDatabase(tables);
  assert.equal(await db.lookup("1.0.0.0"), 13335);
  assert.equal(await db.lookup("1.0.0.255"), 13335);
  assert.equal(await db.lookup("1.0.1.0"), undefined);
  assert.equal(await db.lookup("8.8.8.8"), 15169);
  assert.equal(await db.lookup("198.51.100.7"), 64500);
  assert.equal(await db.lookup("0.0.0.1"), undefined);
  assert.equal(await db.lookup("255.255.255.255"), undefined);
  assert.deepEqual(tables.reads, { ipv4: 1, ipv6: 0 });
  assert.equal(await db.lookup("::ffff:8.8.8.8"), 15169);
  // The well-known NAT64 prefix reaches the IPv4 host it carries, as the address policy classifies it.
  assert.equal(await db.lookup("64:ff9b::808:808"), 15169);
  assert.equal(await db.lookup("[2606:4700:4700::1111]"), 13335);
  assert.equal(await db.lookup("2001:db8::1"), undefined);
  assert.equal(await db.lookup("not an address"), undefined);
  assert.deepEqual(tables.reads, { ipv4: 1, ipv6: 1 });
});

test("a failed table read is not remembered", async () => {
  let fail = true;
  const db = createAsnDatabase({
    ipv4: async () => {
      if (fail) throw new AsnDatabaseUnavailableError();
      return V4;
    },
    ipv6: async () => V6,
  });
  await assert.rejects(db.lookup("8.8.8.8"), AsnDatabaseUnavailableError);
  fail = false;
  assert.equal(await db.lookup("8.8.8.8"), 15169);
});

test("the installed table (offline, from the npm package) knows the big clouds", async () => {
  const db = createAsnDatabase();
  assert.equal(hostingOfAsn((await db.lookup("1.1.1.1"))!), "cloudflare");
  assert.equal(hostingOfAsn((await db.lookup("8.8.8.8"))!), "gcp");
  assert.equal(hostingOfAsn((await db.lookup("2606:4700:4700::1111"))!), "cloudflare");
  assert.equal(await db.lookup("10.0.0.1"), undefined);
});

test("an address's hosting: loopback self, private ranges private-network, public through the table", async () => {
  const db = createAsnDatabase(countingTables());
  assert.deepEqual(await hostingOfAddress("127.0.0.1", db), { hosting: "self" });
  assert.deepEqual(await hostingOfAddress("::1", db), { hosting: "self" });
  assert.deepEqual(await hostingOfAddress("[::1]", undefined), { hosting: "self" });
  assert.deepEqual(await hostingOfAddress("10.1.2.3", db), { hosting: "private-network" });
  assert.deepEqual(await hostingOfAddress("192.168.1.1", undefined), { hosting: "private-network" });
  assert.deepEqual(await hostingOfAddress("8.8.8.4", db), { hosting: "gcp", asn: 15169 });
  assert.deepEqual(await hostingOfAddress("198.51.100.1", db), {
    hosting: undefined,
    reason: "a reserved address is never an upstream",
  });
  assert.equal((await hostingOfAddress("169.254.169.254", db)).hosting, undefined);
  assert.equal((await hostingOfAddress("9.9.9.9", db)).reason, "the address is in no announced route");
  assert.equal((await hostingOfAddress("9.9.9.9", undefined)).reason, "no IP-to-ASN table");
  const missing = createAsnDatabase({
    ipv4: () => Promise.reject(new AsnDatabaseUnavailableError()),
    ipv6: () => Promise.reject(new AsnDatabaseUnavailableError()),
  });
  assert.match((await hostingOfAddress("9.9.9.9", missing)).reason ?? "", /@ip-location-db\/asn/);
});

test("a host name: resolved with the injected resolver, the majority hosting wins, reasons never name the host", async () => {
  const database = createAsnDatabase(countingTables());
  const resolve = fixedResolver({
    "rpc.example.com": ["1.0.0.1", "1.0.0.2", "8.8.8.8"],
    "node.example.org": ["127.0.0.1"],
  });
  assert.deepEqual(await inferHosting("https://rpc.example.com/v2/key-123", { signal, resolve, database }), {
    hosting: "cloudflare",
    hostings: ["cloudflare", "gcp"],
    asns: [13335, 15169],
  });
  assert.equal((await inferHosting("wss://node.example.org/ws", { signal, resolve, database })).hosting, "self");
  const unknown = await inferHosting("https://gone.example.net/v2/key-123", { signal, resolve, database });
  assert.equal(unknown.hosting, undefined);
  assert.equal(unknown.reason, "the host name could not be resolved (ENOTFOUND)");
  assert.doesNotMatch(JSON.stringify(unknown), /example|key-123/);
  literalLookups = 0;
  const literal = await inferHosting("http://127.0.0.1:8545/?apikey=x", { signal, resolve: refusingResolver });
  assert.equal(literal.hosting, "self");
  assert.equal((await inferHosting("http://[::1]:8545", { signal, resolve: refusingResolver })).hosting, "self");
  assert.equal(literalLookups, 0, "a literal address was handed to the resolver");
});

test("a resolver that hangs is abandoned when the signal aborts", async () => {
  const controller = new AbortController();
  const hanging: ResolveHostname = () => new Promise(() => {});
  const pending = inferHosting("https://slow.example.com", { signal: controller.signal, resolve: hanging });
  controller.abort(new Error("deadline"));
  await assert.rejects(pending, /deadline/);
});

test("a whole domain: self for loopback, a guessed operator and an unknown region for public hosts", async () => {
  const database = createAsnDatabase(countingTables());
  const resolve = fixedResolver({ "eth.rpc.example.com": ["8.8.8.8"], "lan.example.com": ["10.0.0.5"] });
  const local = await inferDomain({ id: "mine", url: "http://127.0.0.1:8545" }, { signal, database });
  assert.deepEqual(local.domain, { operator: "self", hosting: "self", region: "local" });
  const lan = await inferDomain({ id: "lan", url: "http://lan.example.com" }, { signal, resolve, database });
  assert.deepEqual(lan.domain, { operator: "self", hosting: "private-network", region: "private" });
  const vendor = await inferDomain({ id: "v", url: "https://eth.rpc.example.com/k" }, { signal, resolve, database });
  assert.deepEqual(vendor.domain, { operator: "example", hosting: "gcp", region: UNKNOWN_REGION });
  const byAddress = await inferDomain({ id: "bare", url: "http://8.8.8.8:8545" }, { signal, database });
  assert.deepEqual(byAddress.domain, { operator: "bare", hosting: "gcp", region: UNKNOWN_REGION });
  const none = await inferDomain({ id: "x", url: "http://9.9.9.9" }, { signal, database });
  assert.equal(none.domain, undefined);
});

test("operator from a host name: the registrable label, never the leftmost labels", () => {
  assert.equal(operatorOfHostname("eth-mainnet.g.alchemy.com"), "alchemy");
  assert.equal(operatorOfHostname("mainnet.infura.io"), "infura");
  assert.equal(operatorOfHostname("node.example.co.uk"), "example");
  assert.equal(operatorOfHostname("Example.COM."), "example");
  assert.equal(operatorOfHostname("abc123key.nodes.example.com"), "example");
  assert.equal(operatorOfHostname("localhost"), undefined);
  assert.equal(operatorOfHostname("127.0.0.1"), undefined);
  assert.equal(operatorOfHostname("[::1]"), undefined);
});

test("the gateway never loads the table: nothing start imports reaches hosting.ts statically", () => {
  const STATIC_IMPORT = /^\s*(?:import|export)\s(?!type\s)[^;]*?from\s+["'](\.[^"']+)["']/gm;
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, "utf8").matchAll(STATIC_IMPORT)) visit(resolve(dirname(file), spec!));
  };
  visit(join(import.meta.dirname, "..", "cli", "main.ts"));
  assert.ok(seen.has(join(import.meta.dirname, "app.ts")), "the walk follows main.ts into app.ts");
  assert.ok(!seen.has(join(import.meta.dirname, "hosting.ts")));
});
