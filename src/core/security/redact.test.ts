import assert from "node:assert/strict";
import { test } from "node:test";
import { INVALID_URL, REDACTED, redactError, redactSecrets, redactUrl } from "./redact.ts";

const KEY = "k3y-5ecret-canary";

test("redactUrl keeps scheme, host and port and hides everything after them", () => {
  assert.equal(redactUrl(`https://eth-mainnet.example.com/v2/${KEY}`), "https://eth-mainnet.example.com/…");
  assert.equal(redactUrl(`https://rpc.example.com:8443/?apikey=${KEY}`), "https://rpc.example.com:8443/…");
  assert.equal(redactUrl(`wss://user:${KEY}@node.example.com/ws#${KEY}`), "wss://node.example.com/…");
  assert.equal(redactUrl(`http://${KEY}@127.0.0.1:8545`), "http://127.0.0.1:8545/…");
  assert.equal(redactUrl("http://[::1]:8545/rpc"), "http://[::1]:8545/…");
  assert.equal(redactUrl("http://127.0.0.1:8545"), "http://127.0.0.1:8545/");
  assert.equal(redactUrl("http://127.0.0.1:8545/"), "http://127.0.0.1:8545/");
});

test("redactUrl never throws on garbage", () => {
  for (const garbage of [
    "",
    "not a url",
    "http://",
    "://x",
    "abc:def",
    `mailto:${KEY}@x`,
    "file:///etc/passwd",
    "\u0000",
  ]) {
    assert.equal(redactUrl(garbage), INVALID_URL, garbage);
  }
  for (const wrong of [undefined, null, 42, {}] as unknown as string[]) assert.equal(redactUrl(wrong), INVALID_URL);
});

test("redactSecrets replaces plain secrets everywhere, longest first, and ignores empty ones", () => {
  assert.equal(redactSecrets(`a ${KEY} b ${KEY}`, [KEY]), `a ${REDACTED} b ${REDACTED}`);
  assert.equal(redactSecrets("abcdef", ["abc", "abcdef"]), REDACTED);
  assert.equal(redactSecrets("nothing here", ["", "zzz"]), "nothing here");
  assert.equal(redactSecrets("a.b*c(d)", ["b*c("]), `a.${REDACTED}d)`);
  // A replacement is never matched again by a shorter secret.
  assert.equal(redactSecrets("xredactedx", ["redacted", "dact"]), `x${REDACTED}x`);
});

test("redactSecrets removes every credential-bearing part of a URL secret", () => {
  const url = `https://alice:${KEY}-pw@rpc.example.com/v2/${KEY}?apikey=${KEY}-q&chain=1#${KEY}-frag`;
  const texts = [
    `request to ${url} failed`,
    `path /v2/${KEY} not found`,
    `bad key ${KEY}`,
    `query apikey=${KEY}-q&chain=1`,
    `decoded ${decodeURIComponent(KEY)}`,
    `password ${KEY}-pw`,
    `fragment ${KEY}-frag`,
  ];
  for (const text of texts) {
    const redacted = redactSecrets(text, [url]);
    assert.ok(!redacted.includes(KEY), redacted);
    assert.ok(redacted.includes(REDACTED), redacted);
  }
  // The host is not a credential; short path segments are left alone so messages stay readable.
  assert.equal(
    redactSecrets("connect ECONNREFUSED rpc.example.com v2", [url]),
    "connect ECONNREFUSED rpc.example.com v2",
  );
});

test("redactSecrets matches percent-encoded and decoded forms of URL parts", () => {
  const url = "https://rpc.example.com/v2/key%2Fwith%20space?token=a%26b%3Dc";
  assert.ok(!redactSecrets("key/with space", [url]).includes("with space"));
  assert.ok(!redactSecrets("token a&b=c", [url]).includes("a&b=c"));
});

test("redactError keeps name and code, redacts message, stack and causes, and drops everything else", () => {
  const inner = Object.assign(new Error(`inner ${KEY}`), { code: "ECONNRESET", url: `http://h/${KEY}` });
  const outer = Object.assign(new TypeError(`outer http://h/v2/${KEY}`, { cause: inner }), {
    code: "UND_ERR_SOCKET",
    request: { path: `/v2/${KEY}` },
  });
  const aggregate = new AggregateError([outer], `many ${KEY}`);
  const copy = redactError(aggregate, [`http://h/v2/${KEY}`]) as Error & { errors: Error[] };
  const text = JSON.stringify({ m: copy.message, s: copy.stack, e: copy.errors.map((e) => [e.message, e.stack]) });
  assert.ok(!text.includes(KEY), text);
  const first = copy.errors[0] as Error & { code?: string; request?: unknown };
  assert.equal(first.name, "TypeError");
  assert.equal(first.code, "UND_ERR_SOCKET");
  assert.equal(first.request, undefined);
  assert.equal((first.cause as Error & { code?: string }).code, "ECONNRESET");
  assert.equal(redactError("plain string", []).message, "plain string");
});
