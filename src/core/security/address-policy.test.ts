import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ADDRESS_REFUSALS,
  type AddressClass,
  addressVerdict,
  classifyAddress,
  hostnameVerdict,
  isIpAddress,
  METADATA_HOSTNAMES,
} from "./address-policy.ts";

function assertClasses(table: Record<string, AddressClass>): void {
  for (const [ip, cls] of Object.entries(table)) assert.equal(classifyAddress(ip), cls, ip);
}

test("IPv4: metadata addresses win over the ranges that contain them", () => {
  assertClasses({
    "169.254.169.254": "metadata",
    "169.254.170.2": "metadata",
    "169.254.170.23": "metadata",
    "100.100.100.200": "metadata",
    "192.0.0.192": "metadata",
    "169.254.169.253": "link-local",
    "169.254.0.1": "link-local",
    "100.100.100.201": "private",
    "192.0.0.193": "reserved",
  });
});

test("IPv4: every range at its edges", () => {
  assertClasses({
    "0.0.0.0": "unspecified",
    "0.0.0.1": "reserved",
    "0.255.255.255": "reserved",
    "1.0.0.0": "public",
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "126.255.255.255": "public",
    "128.0.0.0": "public",
    "10.0.0.0": "private",
    "10.255.255.255": "private",
    "9.255.255.255": "public",
    "11.0.0.0": "public",
    "172.16.0.0": "private",
    "172.31.255.255": "private",
    "172.15.255.255": "public",
    "172.32.0.0": "public",
    "192.168.0.1": "private",
    "192.169.0.1": "public",
    "100.64.0.0": "private",
    "100.127.255.255": "private",
    "100.63.255.255": "public",
    "100.128.0.0": "public",
    "169.253.255.255": "public",
    "169.255.0.0": "public",
    "192.0.2.1": "reserved",
    "198.51.100.7": "reserved",
    "203.0.113.9": "reserved",
    "198.18.0.1": "reserved",
    "198.19.255.255": "reserved",
    "198.20.0.0": "public",
    "192.88.99.1": "reserved",
    "224.0.0.1": "multicast",
    "239.255.255.255": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "8.8.8.8": "public",
    "1.1.1.1": "public",
  });
});

test("IPv6: ranges, metadata, and IPv4 carried inside IPv6", () => {
  assertClasses({
    "::": "unspecified",
    "::1": "loopback",
    "0:0:0:0:0:0:0:1": "loopback",
    "fd00:ec2::254": "metadata",
    "FD00:EC2:0:0:0:0:0:254": "metadata",
    "fd00:ec2::23": "metadata",
    "fd00:ec2::253": "private",
    "fc00::1": "private",
    "fdff:ffff::1": "private",
    "fe80::1": "link-local",
    "fe80::1%eth0": "link-local",
    "febf::1": "link-local",
    "fec0::1": "reserved",
    "ff02::1": "multicast",
    "2001:db8::1": "reserved",
    "3fff::1": "reserved",
    "2002:a9fe:a9fe::1": "reserved",
    "2001::1": "reserved",
    "100::1": "reserved",
    "::a9fe:a9fe": "reserved",
    "4000::1": "reserved",
    "2606:4700:4700::1111": "public",
    "2001:4860:4860::8888": "public",
    // IPv4-mapped, dotted and hex: the IPv4 host is what gets reached.
    "::ffff:169.254.169.254": "metadata",
    "::ffff:a9fe:a9fe": "metadata",
    "0:0:0:0:0:ffff:a9fe:a9fe": "metadata",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:7f00:1": "loopback",
    "::ffff:10.1.2.3": "private",
    "::ffff:0.0.0.0": "unspecified",
    "::ffff:8.8.8.8": "public",
    // The well-known NAT64 prefix reaches the embedded IPv4 host too.
    "64:ff9b::a9fe:a9fe": "metadata",
    "64:ff9b::8.8.8.8": "public",
    "64:ff9b:1::1": "private",
  });
});

test("isIpAddress accepts literal addresses only; classifyAddress refuses anything else without repeating it", () => {
  for (const ip of ["1.2.3.4", "::", "::1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::ffff:1.2.3.4", "fe80::1%lo"]) {
    assert.equal(isIpAddress(ip), true, ip);
  }
  const notIps = [
    "",
    "localhost",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "010.0.0.1",
    "0x7f.0.0.1",
    "2130706433",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "12345::",
    "::ffff:1.2.3",
    "[::1]",
    "secret-key.example",
  ];
  for (const text of notIps) {
    assert.equal(isIpAddress(text), false, text);
    assert.throws(
      () => classifyAddress(text),
      (error: Error) => error instanceof TypeError && (text === "" || !error.message.includes(text)),
    );
  }
});

test("config mode: loopback and public allowed, private only when allowed, the rest never", () => {
  const allowed = (cls: AddressClass, allowPrivate: boolean) => addressVerdict(cls, "config", allowPrivate).ok;
  for (const allowPrivate of [false, true]) {
    assert.equal(allowed("public", allowPrivate), true);
    assert.equal(allowed("loopback", allowPrivate), true);
    for (const cls of ["metadata", "link-local", "unspecified", "multicast", "reserved"] as const) {
      assert.equal(allowed(cls, allowPrivate), false, cls);
    }
  }
  assert.equal(allowed("private", true), true);
  assert.deepEqual(addressVerdict("private", "config", false), { ok: false, reason: ADDRESS_REFUSALS.private });
  assert.deepEqual(addressVerdict("metadata", "config", true), { ok: false, reason: ADDRESS_REFUSALS.metadata });
});

test("api mode: public only, whatever allowPrivate says", () => {
  for (const allowPrivate of [false, true]) {
    for (const cls of [
      "metadata",
      "loopback",
      "private",
      "link-local",
      "unspecified",
      "multicast",
      "reserved",
    ] as const) {
      assert.equal(addressVerdict(cls, "api", allowPrivate).ok, false, cls);
    }
    assert.equal(addressVerdict("public", "api", allowPrivate).ok, true);
  }
  assert.deepEqual(addressVerdict("loopback", "api", true), { ok: false, reason: ADDRESS_REFUSALS.loopbackApi });
  assert.deepEqual(addressVerdict("private", "api", true), { ok: false, reason: ADDRESS_REFUSALS.privateApi });
});

test("hostnameVerdict: metadata names refused by name in both modes, literals decided, other names need DNS", () => {
  for (const mode of ["config", "api"] as const) {
    for (const name of [...METADATA_HOSTNAMES, "Metadata.Google.Internal.", "metadata."]) {
      assert.deepEqual(hostnameVerdict(name, mode, true), { ok: false, reason: ADDRESS_REFUSALS.metadataHostname });
    }
    assert.equal(hostnameVerdict("eth-mainnet.example.com", mode, false), "needs-dns");
    assert.equal(hostnameVerdict("localhost", mode, false), "needs-dns");
    assert.equal(hostnameVerdict("metadata.example.com", mode, false), "needs-dns");
    assert.deepEqual(hostnameVerdict("169.254.169.254", mode, true), { ok: false, reason: ADDRESS_REFUSALS.metadata });
    assert.deepEqual(hostnameVerdict("[::ffff:a9fe:a9fe]", mode, true), {
      ok: false,
      reason: ADDRESS_REFUSALS.metadata,
    });
    assert.deepEqual(hostnameVerdict("[fd00:ec2::254]", mode, true), { ok: false, reason: ADDRESS_REFUSALS.metadata });
    assert.deepEqual(hostnameVerdict("8.8.8.8", mode, false), { ok: true });
    assert.deepEqual(hostnameVerdict("[2606:4700:4700::1111]", mode, false), { ok: true });
  }
  assert.deepEqual(hostnameVerdict("127.0.0.1", "config", false), { ok: true });
  assert.deepEqual(hostnameVerdict("[::1]", "config", false), { ok: true });
  assert.deepEqual(hostnameVerdict("[::1]", "api", false), { ok: false, reason: ADDRESS_REFUSALS.loopbackApi });
  assert.deepEqual(hostnameVerdict("10.0.0.1", "config", false), { ok: false, reason: ADDRESS_REFUSALS.private });
  assert.deepEqual(hostnameVerdict("10.0.0.1", "config", true), { ok: true });
});

test("hostnameVerdict on URL.hostname: the other spellings of an address are already canonical", () => {
  for (const spelling of [
    "http://0xa9fea9fe/",
    "http://2852039166/",
    "http://169.254.169.254./",
    "http://0251.0376.0251.0376/",
    "http://169.254.43518/",
    "http://[::ffff:169.254.169.254]/",
    "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",
  ]) {
    assert.deepEqual(
      hostnameVerdict(new URL(spelling).hostname, "config", true),
      { ok: false, reason: ADDRESS_REFUSALS.metadata },
      spelling,
    );
  }
});

test("refusal reasons name a class, never an address or a host", () => {
  for (const reason of Object.values(ADDRESS_REFUSALS)) {
    assert.doesNotMatch(reason, /[0-9]{1,3}\.[0-9]{1,3}|::|google|internal/);
  }
});
