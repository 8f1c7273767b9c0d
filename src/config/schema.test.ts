import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, validateConfig } from "./load.ts";

const upstream = (id: string, url = "http://127.0.0.1:18545") => ({
  id,
  url,
  domain: { operator: `${id}-op`, hosting: "aws", region: "us-east-1" },
});

function base(): Record<string, unknown> & { chains: Record<string, unknown>[] } {
  return { chains: [{ chainId: 31337, upstreams: [upstream("alpha"), upstream("beta")] }] };
}

function issuesOf(raw: unknown): string[] {
  try {
    validateConfig(raw, {});
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(error.message, /^invalid config\n/);
    for (const issue of error.issues) assert.ok(error.message.includes(`  - ${issue}`));
    return error.issues;
  }
  assert.fail("expected the config to be rejected");
}

test("the contract's example shape is valid", () => {
  const config = validateConfig(
    {
      server: { host: "127.0.0.1", port: 8545 },
      admin: { host: "127.0.0.1", port: 8546, token: "0123456789abcdef" },
      store: { kind: "sqlite", path: "./.multihome/state.db" },
      chains: [
        {
          chainId: 31337,
          upstreams: [
            {
              id: "alpha",
              url: "http://127.0.0.1:18545",
              domain: { operator: "alpha-rpc", hosting: "aws", region: "us-east-1" },
            },
            {
              id: "beta",
              url: "wss://beta.example/ws",
              domain: { operator: "beta", hosting: "gcp", region: "eu-west1" },
            },
          ],
        },
      ],
    },
    {},
  );
  assert.equal(config.chains[0]!.upstreams[1]!.url, "wss://beta.example/ws");
  assert.equal(config.admin?.token, "0123456789abcdef");
});

test("every store kind is accepted with its own fields", () => {
  assert.deepEqual(validateConfig({ ...base(), store: { kind: "memory" } }, {}).store, { kind: "memory" });
  assert.deepEqual(validateConfig({ ...base(), store: { kind: "redis", url: "rediss://r:6380" } }, {}).store, {
    kind: "redis",
    url: "rediss://r:6380",
    keyPrefix: "multihome:",
    maxAnswerBytes: 64 * 1024 * 1024,
  });
  assert.deepEqual(validateConfig({ ...base(), store: { kind: "sqlite", maxAnswerBytes: 4096 } }, {}).store, {
    kind: "sqlite",
    path: "./.multihome/state.db",
    maxAnswerBytes: 4096,
  });
});

test("unknown keys are rejected with their own path, at every level", () => {
  assert.deepEqual(issuesOf({ ...base(), bogus: 1 }), ["bogus: unknown key"]);
  assert.deepEqual(issuesOf({ ...base(), server: { prot: 1, hots: "x" } }), [
    "server.prot: unknown key",
    "server.hots: unknown key",
  ]);
  assert.deepEqual(issuesOf({ ...base(), routing: { hedgeMaxDelay: 300 } }), ["routing.hedgeMaxDelay: unknown key"]);
  assert.deepEqual(issuesOf({ ...base(), store: { kind: "memory", path: "x" } }), ["store.path: unknown key"]);
  const chain = base();
  chain.chains[0]!.upstreams = [{ ...upstream("a"), domain: { operator: "o", hosting: "h", region: "r", zone: "z" } }];
  assert.deepEqual(issuesOf(chain), ["chains.0.upstreams.0.domain.zone: unknown key"]);
  chain.chains[0]!.rpcUrl = "x";
  assert.ok(issuesOf(chain).includes("chains.0.rpcUrl: unknown key"));
});

test("a bad upstream URL names its path and what was expected", () => {
  const raw = base();
  raw.chains[0]!.upstreams = [upstream("alpha"), upstream("beta", "ftp://127.0.0.1/")];
  assert.deepEqual(issuesOf(raw), ["chains.0.upstreams.1.url: an http://, https://, ws:// or wss:// URL"]);
  raw.chains[0]!.upstreams = [upstream("alpha", "not a url")];
  assert.deepEqual(issuesOf(raw), ["chains.0.upstreams.0.url: an http://, https://, ws:// or wss:// URL"]);
});

test("a rejected URL is not echoed: it may carry an API key", () => {
  const raw = base();
  raw.chains[0]!.upstreams = [upstream("alpha", "htp://rpc.example/v2/CANARY-SECRET-KEY")];
  for (const issue of issuesOf(raw)) assert.doesNotMatch(issue, /CANARY/);
});

test("bad values name the path and the expectation", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ server: { port: 70_000 } }, /^server\.port: .*<=\s*65535/],
    [{ server: { port: "8545" } }, /^server\.port: .*expected number/],
    [{ server: { maxBatchItems: 0 } }, /^server\.maxBatchItems: .*>=\s*1/],
    [{ server: { maxJsonDepth: 1.5 } }, /^server\.maxJsonDepth: .*int/],
    [{ routing: { hedgeQuantile: 2 } }, /^routing\.hedgeQuantile: .*<=\s*0\.999/],
    [{ routing: { maxAttempts: 0 } }, /^routing\.maxAttempts: /],
    [{ health: { breakerFailureRate: 0 } }, /^health\.breakerFailureRate: .*>\s*0/],
    [{ log: { level: "loud" } }, /^log\.level: .*"info"/],
    [{ store: { kind: "postgres" } }, /^store\.kind: /],
    [{ store: { kind: "redis", url: "http://r" } }, /^store\.url: a redis:\/\/ or rediss:\/\/ URL$/],
    [{ store: { kind: "redis" } }, /^store\.url: /],
    [{ admin: { token: "short" } }, /^admin\.token: at least 16 characters$/],
    [{ upstream: { maxResponseBytes: 10 } }, /^upstream\.maxResponseBytes: .*>=\s*1024/],
  ];
  for (const [patch, pattern] of cases) {
    const issues = issuesOf({ ...base(), ...patch });
    assert.equal(issues.length, 1, `${JSON.stringify(patch)}: ${issues.join("; ")}`);
    assert.match(issues[0]!, pattern);
  }
});

test("a key's chains are chain ids or solana/{name} clusters", () => {
  const hash = `sha256:${"a".repeat(64)}`;
  const key = (chains: unknown[]) => ({ ...base(), auth: { keys: [{ id: "k", hash, chains }] } });
  assert.deepEqual(validateConfig(key([1, "solana/mainnet", "solana/dev-net-2"]), {}).auth.keys[0]!.chains, [
    1,
    "solana/mainnet",
    "solana/dev-net-2",
  ]);
  const scope = /^auth\.keys\.0\.chains\.0: a chain id, or solana\/\{name\} for a Solana cluster/;
  for (const bad of ["solana/", "solana/Main", "solana/-x", "solana/a/b", `solana/${"a".repeat(33)}`, "mainnet", "1"]) {
    const issues = issuesOf(key([bad]));
    assert.equal(issues.length, 1, `${bad}: ${issues.join("; ")}`);
    assert.match(issues[0]!, scope, bad);
  }
  assert.match(issuesOf(key([0]))[0]!, /^auth\.keys\.0\.chains\.0: .*>=\s*1/);
});

test("chain and upstream fields are checked", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ chainId: 0, upstreams: [upstream("a")] }, /^chains\.0\.chainId: /],
    [{ chainId: "1", upstreams: [upstream("a")] }, /^chains\.0\.chainId: .*expected number/],
    [{ chainId: 1, upstreams: [] }, /^chains\.0\.upstreams: .*>=\s*1/],
    [
      { chainId: 1, upstreams: [{ ...upstream("a"), id: "has space" }] },
      /^chains\.0\.upstreams\.0\.id: letters, digits/,
    ],
    [
      { chainId: 1, upstreams: [{ ...upstream("a"), domain: { operator: "o", hosting: "h" } }] },
      /^chains\.0\.upstreams\.0\.domain\.region: /,
    ],
    [{ chainId: 1, upstreams: [{ ...upstream("a"), connections: 0 }] }, /^chains\.0\.upstreams\.0\.connections: /],
  ];
  for (const [chain, pattern] of cases) {
    const issues = issuesOf({ chains: [chain] });
    assert.equal(issues.length, 1, issues.join("; "));
    assert.match(issues[0]!, pattern);
  }
  assert.match(issuesOf({})[0]!, /^chains: /);
  assert.match(issuesOf({ chains: [] })[0]!, /^chains: at least one chain or Solana cluster is served$/);
});

test("duplicate upstream ids within a chain are rejected; the same id in another chain is fine", () => {
  const raw = { chains: [{ chainId: 1, upstreams: [upstream("alpha"), upstream("beta"), upstream("alpha")] }] };
  assert.deepEqual(issuesOf(raw), ['chains.0.upstreams.2.id: duplicate upstream id "alpha"']);
  const ok = {
    chains: [
      { chainId: 1, upstreams: [upstream("alpha")] },
      { chainId: 2, upstreams: [upstream("alpha")] },
    ],
  };
  assert.equal(validateConfig(ok, {}).chains.length, 2);
});

test("duplicate chain ids are rejected", () => {
  const raw = {
    chains: [
      { chainId: 1, upstreams: [upstream("a")] },
      { chainId: 1, upstreams: [upstream("b")] },
    ],
  };
  assert.deepEqual(issuesOf(raw), ["chains.1.chainId: duplicate chainId 1"]);
});

test("nonsense combinations are rejected when the config loads", () => {
  assert.deepEqual(issuesOf({ ...base(), routing: { hedgeMinDelayMs: 500 } }), [
    "routing: hedgeMinDelayMs must be ≤ hedgeMaxDelayMs",
  ]);
  assert.deepEqual(issuesOf({ ...base(), routing: { attemptTimeoutMs: 6_000 } }), [
    "routing: attemptTimeoutMs must be ≤ requestTimeoutMs",
  ]);
});

test("several problems are all reported at once", () => {
  const issues = issuesOf({ server: { port: -1 }, chains: [], extra: true });
  assert.equal(issues.length, 3, issues.join("; "));
});

test("a config that is not an object is rejected", () => {
  for (const raw of [[], "chains", 42]) assert.ok(issuesOf(raw).length > 0);
});

test("SSRF: a metadata, link-local or private literal address is refused at load; private only when allowed", () => {
  const withUrl = (url: string, allowPrivateNetwork?: boolean) => {
    const raw = base();
    const chain = raw.chains[0] as { upstreams: Record<string, unknown>[] };
    chain.upstreams[0] = { ...chain.upstreams[0], url, ...(allowPrivateNetwork ? { allowPrivateNetwork } : {}) };
    try {
      validateConfig(raw, {});
      return [];
    } catch {
      return issuesOf(raw);
    }
  };
  for (const url of ["http://169.254.169.254/latest", "http://[fd00:ec2::254]/", "http://169.254.1.1/"]) {
    assert.equal(withUrl(url, true).length, 1, url);
    assert.equal(withUrl(url, true)[0]!.includes("169.254"), false, "the reason names a class, not the address");
  }
  assert.equal(withUrl("http://10.0.0.5:8545").length, 1);
  assert.deepEqual(withUrl("http://10.0.0.5:8545", true), []);
  assert.deepEqual(withUrl("http://127.0.0.1:8545"), []);
  assert.deepEqual(withUrl("https://node.example/v3/key"), []);
});

test("a chain's fork schedule may be set, or turned off with false; its forks must come in order", () => {
  const withForks = (forks: unknown) => ({ ...base(), chains: [{ ...base().chains[0], forks }] });
  const forks = { london: 0, shanghai: 100, cancun: 200, prague: 200 };
  assert.deepEqual(validateConfig(withForks(forks), {}).chains[0]!.forks, forks);
  assert.equal(validateConfig(withForks(false), {}).chains[0]!.forks, false);
  assert.deepEqual(validateConfig(withForks({}), {}).chains[0]!.forks, {});
  assert.equal(validateConfig(base(), {}).chains[0]!.forks, undefined);
  // London is a block number, the rest timestamps: a London block above Shanghai's timestamp is fine.
  assert.ok(validateConfig(withForks({ london: 12_965_000, shanghai: 1_681_338_455 }), {}));
  const issues = (f: unknown) => issuesOf(withForks(f)).join("\n");
  assert.match(issues({ london: 0, cancun: 10 }), /chains\.0\.forks\.cancun.*needs shanghai/);
  assert.match(issues({ shanghai: 0 }), /forks\.shanghai.*needs london/);
  assert.match(issues({ london: 0, shanghai: 10, cancun: 5 }), /forks\.cancun.*cannot take effect before shanghai/);
  assert.match(issues({ london: -1 }), /forks\.london/);
  assert.match(issues({ london: 0, osaka: 1 }), /osaka/);
  assert.match(issues(true), /forks/);
});
