/** The provider registry and the expansion of one shortcut entry: pure, no config, no network. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { chainPreset, UNKNOWN_CHAIN_PRESET } from "../core/chain-presets.ts";
import { PROVIDERS, type ProviderName, type ProviderSpec, servedChains } from "./providers.ts";
import { shortcutUrl, templateProblem, upstreamIds } from "./shortcuts.ts";

const KEY = "k3y-Secret_0123456789abcdef";
const VENDORS = Object.keys(PROVIDERS) as ProviderName[];
const spec = (name: ProviderName): ProviderSpec => PROVIDERS[name];

/** The entry a vendor's endpoint needs: a key unless its URLs take none, an endpoint where they name one. */
function entryFor(vendor: ProviderName, chainId: number) {
  const s = spec(vendor);
  const template = s.urls?.[chainId] ?? s.url;
  return {
    provider: vendor,
    ...(template.includes("{key}") ? { key: KEY } : {}),
    ...(template.includes("{endpoint}") ? { endpoint: "my-endpoint-7" } : {}),
  };
}

test("every vendor × chain of the registry yields an https URL with the key in its path or query", () => {
  let checked = 0;
  for (const vendor of VENDORS) {
    const chains = servedChains(spec(vendor));
    assert.ok(chains.length >= 7, `${vendor} serves the main chains`);
    for (const chainId of chains) {
      const result = shortcutUrl(entryFor(vendor, chainId), chainId);
      assert.ok(result.ok, `${vendor} × ${chainId}: ${result.ok ? "" : result.message}`);
      const url = new URL(result.url);
      assert.equal(url.protocol, "https:", `${vendor} × ${chainId}`);
      assert.doesNotMatch(result.url, /[{}]/, `${vendor} × ${chainId}: every placeholder is filled`);
      assert.ok(!url.host.includes(KEY), `${vendor} × ${chainId}: the key is not in the host`);
      if (vendor !== "publicnode") assert.ok(`${url.pathname}${url.search}`.includes(KEY), `${vendor} × ${chainId}`);
      checked++;
    }
  }
  assert.ok(checked > 90, `${checked} vendor × chain pairs`);
});

test("the registry lists only chains Multihome has a preset for, and its templates pass the config's own check", () => {
  for (const vendor of VENDORS) {
    const s = spec(vendor);
    for (const chainId of servedChains(s))
      assert.notEqual(chainPreset(chainId), UNKNOWN_CHAIN_PRESET, `${vendor} lists chain ${chainId}`);
    for (const template of [s.url, s.endpointUrl, ...Object.values(s.urls ?? {})]) {
      if (template !== undefined) assert.equal(templateProblem(template), undefined, `${vendor}: ${template}`);
    }
  }
});

test("known URLs come out as the vendors document them", () => {
  const url = (entry: Parameters<typeof shortcutUrl>[0], chainId: number) => {
    const result = shortcutUrl(entry, chainId);
    assert.ok(result.ok, result.ok ? "" : result.message);
    return result.url;
  };
  assert.equal(url({ provider: "alchemy", key: "K" }, 8453), "https://base-mainnet.g.alchemy.com/v2/K");
  assert.equal(url({ provider: "infura", key: "K" }, 1), "https://mainnet.infura.io/v3/K");
  assert.equal(url({ provider: "quicknode", endpoint: "a-b", key: "T" }, 1), "https://a-b.quiknode.pro/T/");
  assert.equal(url({ provider: "quicknode", endpoint: "a-b", key: "T" }, 137), "https://a-b.matic.quiknode.pro/T/");
  assert.equal(
    url({ provider: "quicknode", endpoint: "a-b", key: "T" }, 43114),
    "https://a-b.avalanche-mainnet.quiknode.pro/T/ext/bc/C/rpc/",
  );
  assert.equal(url({ provider: "ankr", key: "K" }, 11155111), "https://rpc.ankr.com/eth_sepolia/K");
  assert.equal(url({ provider: "drpc", key: "K" }, 42161), "https://lb.drpc.org/ogrpc?network=arbitrum&dkey=K");
  assert.equal(url({ provider: "chainstack", key: "K" }, 56), "https://bsc-mainnet.core.chainstack.com/K");
  assert.equal(
    url({ provider: "chainstack", endpoint: "nd-123-456-789", key: "K" }, 100),
    "https://nd-123-456-789.p2pify.com/K",
  );
  assert.equal(url({ provider: "blastapi", key: "K" }, 42161), "https://arbitrum-one.blastapi.io/K");
  assert.equal(url({ provider: "tenderly", key: "K" }, 100), "https://gnosis-chain.gateway.tenderly.co/K");
  assert.equal(url({ provider: "publicnode" }, 137), "https://polygon-bor-rpc.publicnode.com");
});

test("a key is put in encoded: it stays one path segment or query value whatever it holds", () => {
  const result = shortcutUrl({ provider: "drpc", key: "a/b?c&d=e#f" }, 1);
  assert.ok(result.ok);
  assert.equal(new URL(result.url).searchParams.get("dkey"), "a/b?c&d=e#f");
  assert.equal(new URL(result.url).searchParams.get("network"), "ethereum");
  const path = shortcutUrl({ provider: "alchemy", key: "../x y" }, 1);
  assert.ok(path.ok);
  assert.equal(new URL(path.url).pathname, "/v2/..%2Fx%20y");
});

test("an unknown vendor, a chain the vendor does not serve, and a missing or extra part are errors without the key", () => {
  const cases: [Parameters<typeof shortcutUrl>[0], number, string, RegExp][] = [
    [
      { provider: "nope", key: KEY },
      1,
      "provider",
      /unknown provider "nope": Multihome knows alchemy, ankr, .* and tenderly/,
    ],
    [
      { provider: "alchemy", key: KEY },
      31337,
      "provider",
      /alchemy does not serve chain 31337 .*providers\.alchemy\.networks\.31337/,
    ],
    [{ provider: "infura", key: KEY }, 17000, "provider", /infura does not serve chain 17000/],
    [
      { provider: "alchemy" },
      1,
      "key",
      /alchemy on chain 1 needs a key: set key on this entry or on providers\.alchemy/,
    ],
    [{ provider: "publicnode", key: KEY }, 1, "key", /publicnode on chain 1 takes no key/],
    [{ provider: "quicknode", key: KEY }, 8453, "endpoint", /quicknode on chain 8453 needs endpoint/],
    [{ provider: "alchemy", key: KEY, endpoint: "x" }, 1, "endpoint", /alchemy takes no endpoint/],
  ];
  for (const [entry, chainId, field, message] of cases) {
    const result = shortcutUrl(entry, chainId);
    assert.ok(!result.ok, `${entry.provider} × ${chainId} is refused`);
    assert.equal(result.field, field);
    assert.match(result.message, message);
    assert.ok(!result.message.includes(KEY), "no message holds the key");
  }
});

test("the config's providers section: a template of its own, network names, a shared key, a vendor of its own", () => {
  const local = { url: "http://127.0.0.1:9000/{network}/{key}", networks: { "31337": "devnet" } };
  const overridden = shortcutUrl({ provider: "alchemy", key: "K" }, 31337, { alchemy: local });
  assert.deepEqual(overridden, { ok: true, url: "http://127.0.0.1:9000/devnet/K" });
  // The template replaces the vendor's for every chain; the built-in network names still apply.
  assert.deepEqual(shortcutUrl({ provider: "alchemy", key: "K" }, 8453, { alchemy: local }), {
    ok: true,
    url: "http://127.0.0.1:9000/base-mainnet/K",
  });
  // Network names alone move a vendor onto another chain.
  assert.deepEqual(
    shortcutUrl({ provider: "infura", key: "K" }, 17000, { infura: { networks: { "17000": "holesky" } } }),
    {
      ok: true,
      url: "https://holesky.infura.io/v3/K",
    },
  );
  assert.deepEqual(shortcutUrl({ provider: "ankr" }, 1, { ankr: { key: "shared" } }), {
    ok: true,
    url: "https://rpc.ankr.com/eth/shared",
  });
  assert.deepEqual(shortcutUrl({ provider: "ankr", key: "own" }, 1, { ankr: { key: "shared" } }), {
    ok: true,
    url: "https://rpc.ankr.com/eth/own",
  });
  const mine = { url: "https://rpc.example.org/{network}?token={key}", networks: { "1": "eth" } };
  assert.deepEqual(shortcutUrl({ provider: "mine", key: "K" }, 1, { mine }), {
    ok: true,
    url: "https://rpc.example.org/eth?token=K",
  });
  const unserved = shortcutUrl({ provider: "mine", key: KEY }, 10, { mine });
  assert.ok(!unserved.ok);
  assert.match(unserved.message, /^mine does not serve chain 10: .*providers\.mine\.networks\.10$/);
  // A template without {network} is one endpoint: it serves whatever chain its node is on (the gateway checks).
  assert.deepEqual(shortcutUrl({ provider: "one" }, 999, { one: { url: "http://127.0.0.1:8545/" } }), {
    ok: true,
    url: "http://127.0.0.1:8545/",
  });
});

test("templates: known placeholders only, a URL, and never the key in the host", () => {
  assert.equal(templateProblem("https://{network}.example.com/v1/{key}"), undefined);
  assert.equal(templateProblem("wss://{endpoint}.example.com/?k={key}"), undefined);
  assert.match(templateProblem("https://x/{apikey}") ?? "", /unknown placeholder \{apikey\}/);
  assert.match(templateProblem("ftp://x/{key}") ?? "", /an http:\/\/, https:\/\/, ws:\/\/ or wss:\/\/ URL/);
  assert.match(templateProblem("{network}/{key}") ?? "", /URL/);
  assert.match(templateProblem("https://{key}.example.com/") ?? "", /\{key\} goes in the path or the query/);
  assert.match(templateProblem("https://u:{key}@example.com/") ?? "", /not the host/);
});

test("derived ids: the vendor's name, numbered when taken, never a given id", () => {
  assert.deepEqual(
    upstreamIds([
      { provider: "alchemy" },
      { provider: "quicknode" },
      { provider: "quicknode" },
      { id: "quicknode-2", provider: "x" },
      { id: "alchemy-node" },
      { provider: "quicknode", id: "mine" },
    ]),
    ["alchemy", "quicknode", "quicknode-3", "quicknode-2", "alchemy-node", "mine"],
  );
  const many = upstreamIds(Array.from({ length: 64 }, () => ({ provider: "v".repeat(64) })));
  assert.equal(new Set(many).size, 64);
  for (const id of many) assert.ok(id.length <= 64, id);
});
