// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is config syntax under test, not a template.
/** Provider shortcuts in a whole config: validation, expansion into plain upstreams, and what errors may say. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, validateConfig } from "./load.ts";
import { SHORTCUT_DOMAIN_REQUIRED } from "./schema.ts";

const KEY = "s3cret-key-that-must-not-leak";
const where = (hosting: string, region = "r1") => ({ hosting, region });

function issuesOf(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    validateConfig(raw, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.ok(!error.message.includes(KEY), `the key is in the error:\n${error.message}`);
    return error.issues;
  }
  assert.fail("expected the config to be rejected");
}

test("shortcuts expand to plain upstreams: the vendor's URL, its name as id and operator, and nothing else kept", () => {
  const config = validateConfig(
    {
      providers: { ankr: { key: "${ANKR_KEY}" } },
      chains: [
        {
          chainId: 8453,
          upstreams: [
            { provider: "alchemy", key: "${ALCHEMY_KEY}", domain: where("gcp", "us-east1") },
            { provider: "ankr", domain: where("ovh") },
            { provider: "quicknode", endpoint: "blue-sky", key: "t1", domain: where("aws", "us-east-1") },
            { provider: "quicknode", endpoint: "red-sky", key: "t2", domain: { operator: "qn-eu", ...where("aws") } },
            { provider: "publicnode", id: "pn", domain: where("cloudflare"), connections: 4 },
            { id: "mine", url: "http://127.0.0.1:8545", domain: { operator: "me", hosting: "self", region: "home" } },
          ],
        },
        { chainId: 1, upstreams: [{ provider: "alchemy", key: "${ALCHEMY_KEY}", domain: where("gcp") }] },
      ],
    },
    { ALCHEMY_KEY: KEY, ANKR_KEY: "ankr-k" },
  );
  assert.ok(!("providers" in config), "the providers section is consumed");
  const [base, mainnet] = config.chains;
  assert.deepEqual(base!.upstreams[0], {
    id: "alchemy",
    url: `https://base-mainnet.g.alchemy.com/v2/${KEY}`,
    domain: { operator: "alchemy", hosting: "gcp", region: "us-east1" },
    connections: 32,
    allowPrivateNetwork: false,
    provider: "alchemy",
  });
  assert.deepEqual(
    base!.upstreams.map((u) => [u.id, u.url, u.domain.operator]),
    [
      ["alchemy", `https://base-mainnet.g.alchemy.com/v2/${KEY}`, "alchemy"],
      ["ankr", "https://rpc.ankr.com/base/ankr-k", "ankr"],
      ["quicknode", "https://blue-sky.base-mainnet.quiknode.pro/t1/", "quicknode"],
      ["quicknode-2", "https://red-sky.base-mainnet.quiknode.pro/t2/", "qn-eu"],
      ["pn", "https://base-rpc.publicnode.com", "publicnode"],
      ["mine", "http://127.0.0.1:8545", "me"],
    ],
  );
  assert.equal(base!.upstreams[4]!.connections, 4);
  assert.ok(!("provider" in base!.upstreams[5]!), "a plain upstream names no provider");
  for (const u of base!.upstreams) assert.ok(!("key" in u) && !("endpoint" in u));
  assert.equal(mainnet!.upstreams[0]!.url, `https://eth-mainnet.g.alchemy.com/v2/${KEY}`);
});

test("every shortcut problem is reported at its entry, naming the vendor and the chain, never the key", () => {
  const issues = issuesOf({
    chains: [
      {
        chainId: 31337,
        upstreams: [
          { provider: "alchemy", key: KEY, domain: where("a") },
          { provider: "nope", key: KEY, domain: where("b") },
        ],
      },
      {
        chainId: 10,
        upstreams: [
          { provider: "publicnode", key: KEY, domain: where("c") },
          { provider: "quicknode", key: KEY, domain: where("d") },
          { provider: "tenderly", domain: where("e") },
        ],
      },
    ],
  });
  assert.deepEqual(
    issues.map((i) => i.slice(0, i.indexOf(":", i.indexOf(":") + 1))),
    [
      "chains.0.upstreams.0.provider: alchemy does not serve chain 31337 in Multihome's provider registry",
      'chains.0.upstreams.1.provider: unknown provider "nope"',
      "chains.1.upstreams.0.key: publicnode on chain 10 takes no key",
      "chains.1.upstreams.1.endpoint: quicknode on chain 10 needs endpoint",
      "chains.1.upstreams.2.key: tenderly on chain 10 needs a key",
    ],
  );
  assert.match(issues[0]!, /use a plain upstream \{ id, url, domain \} for it/);
});

test("a shortcut needs where it runs (the operator defaults to the vendor); a draft may leave the domain out", () => {
  const shortcut = { provider: "alchemy", key: KEY };
  assert.deepEqual(issuesOf({ chains: [{ chainId: 1, upstreams: [shortcut] }] }), [
    `chains.0.upstreams.0.domain: ${SHORTCUT_DOMAIN_REQUIRED}`,
  ]);
  assert.deepEqual(issuesOf({ chains: [{ chainId: 1, upstreams: [{ ...shortcut, domain: { hosting: "aws" } }] }] }), [
    "chains.0.upstreams.0.domain.region: Invalid input: expected string, received undefined",
  ]);
  const draft = validateConfig({ chains: [{ chainId: 1, upstreams: [shortcut] }] }, {}, { requireDomains: false });
  assert.equal(draft.chains[0]!.upstreams[0]!.domain, undefined);
  assert.equal(draft.chains[0]!.upstreams[0]!.provider, "alchemy");
  assert.equal(draft.chains[0]!.upstreams[0]!.id, "alchemy");
});

test("shortcut entries and the providers section take only their own fields", () => {
  const issues = issuesOf({
    providers: {
      alchemy: { url: "https://{key}.example.com/", networks: { eth: "x" }, token: KEY },
      "bad name!": {},
    },
    chains: [
      {
        chainId: 1,
        upstreams: [
          { provider: "alchemy", url: "http://127.0.0.1:1", key: KEY, domain: where("a") },
          { provider: "quicknode", endpoint: "not.one.label", key: KEY, domain: where("b") },
          { provider: "infura", key: "", domain: where("c") },
        ],
      },
    ],
  });
  assert.deepEqual(issues.sort(), [
    "chains.0.upstreams.0.url: unknown key",
    "chains.0.upstreams.1.endpoint: one host name label: letters, digits and '-'",
    "chains.0.upstreams.2.key: Too small: expected string to have >=1 characters",
    "providers.alchemy.networks.eth: a chain id",
    "providers.alchemy.token: unknown key",
    "providers.alchemy.url: {key} goes in the path or the query (which are redacted), not the host",
    "providers.bad name!: letters, digits, '.', '_' or '-'",
  ]);
});

test("ids: given ones must be unique, derived ones avoid them", () => {
  const plain = (id: string) => ({ id, url: "http://127.0.0.1:1", domain: { operator: id, ...where(id) } });
  const config = validateConfig(
    { chains: [{ chainId: 1, upstreams: [{ provider: "drpc", key: "k", domain: where("a") }, plain("drpc")] }] },
    {},
  );
  assert.deepEqual(
    config.chains[0]!.upstreams.map((u) => u.id),
    ["drpc-2", "drpc"],
  );
  assert.deepEqual(
    issuesOf({
      chains: [{ chainId: 1, upstreams: [plain("x"), { provider: "drpc", key: "k", id: "x", domain: where("a") }] }],
    }),
    ['chains.0.upstreams.1.id: duplicate upstream id "x"'],
  );
});

test("an overridden template is held to the address policy like any upstream URL, named by vendor and chain", () => {
  const raw = (allowPrivateNetwork: boolean) => ({
    providers: { drpc: { url: "http://10.1.2.3:8545/{network}/{key}" } },
    chains: [{ chainId: 1, upstreams: [{ provider: "drpc", key: KEY, domain: where("lan"), allowPrivateNetwork }] }],
  });
  const [issue] = issuesOf(raw(false));
  assert.match(issue ?? "", /^chains\.0\.upstreams\.0\.provider: drpc on chain 1: /);
  const allowed = validateConfig(raw(true), {});
  assert.equal(allowed.chains[0]!.upstreams[0]!.url, `http://10.1.2.3:8545/ethereum/${KEY}`);
});

test("a missing key variable names where it was used, as for any string", () => {
  assert.throws(
    () =>
      validateConfig(
        { chains: [{ chainId: 1, upstreams: [{ provider: "infura", key: "${INFURA_KEY}", domain: where("a") }] }] },
        {},
      ),
    { message: "environment variable INFURA_KEY is not set (used at chains[0].upstreams[0].key)" },
  );
});
