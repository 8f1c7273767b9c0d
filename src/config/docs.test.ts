// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is config syntax under test, not a template.
/**
 * Keeps docs/config.md true: every default is documented with its value, and the examples it shows load.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import { DEFAULTS } from "./defaults.ts";
import { ConfigError, loadConfigFile, validateConfig } from "./load.ts";
import { PROVIDERS, type ProviderSpec, servedChains } from "./providers.ts";
import { providerOverrideShape, shortcutEntryShape } from "./upstream-schema.ts";

const DOC_PATH = join(import.meta.dirname, "../../docs/config.md");
const doc = readFileSync(DOC_PATH, "utf8");

const dir = mkdtempSync(join(tmpdir(), "multihome-config-docs-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every leaf of DEFAULTS as [dotted path, value]. */
function leaves(value: unknown, prefix = ""): [string, unknown][] {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, value]];
}

/** The cells of the table row documenting `path`, if there is one. */
function rowOf(path: string): string[] | undefined {
  const line = doc.split("\n").find((l) => l.startsWith(`| \`${path}\``));
  return line
    ?.split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((cell) => cell.trim());
}

function codeBlocks(lang: string): string[] {
  return [...doc.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1]!);
}

const EXAMPLE_ENV = {
  MULTIHOME_ADMIN_TOKEN: "an-admin-token-of-some-length",
  VENDOR_A_KEY: "ka",
  VENDOR_B_KEY: "kb",
  VENDOR_C_KEY: "kc",
  REDIS_URL: "redis://127.0.0.1:6379",
  ALCHEMY_KEY: "alchemy-key",
  INFURA_KEY: "infura-key",
  QUICKNODE_ENDPOINT: "docs-demo",
  QUICKNODE_TOKEN: "quicknode-token",
};

test("the defaults walk finds every section", () => {
  const paths = leaves(DEFAULTS).map(([p]) => p);
  assert.ok(paths.length > 30);
  for (const p of [
    "server.port",
    "routing.hedgeMaxDelayMs",
    "health.domainDownMs",
    "upstream.connections",
    "store.path",
  ]) {
    assert.ok(paths.includes(p), p);
  }
});

test("every default in defaults.ts is documented in docs/config.md with its value", () => {
  const problems: string[] = [];
  for (const [path, value] of leaves(DEFAULTS)) {
    if (!doc.includes(`\`${path}\``)) {
      problems.push(`${path}: not mentioned as \`${path}\``);
      continue;
    }
    const row = rowOf(path);
    if (!row || row.length < 4) {
      problems.push(`${path}: no table row "| \`${path}\` | type | default | meaning |"`);
      continue;
    }
    const defaultCell = row[2]!.replaceAll("`", "").replaceAll(",", "");
    const escaped = String(value).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    if (!new RegExp(`(?<![\\w.])${escaped}(?![\\w.])`).test(defaultCell)) {
      problems.push(`${path}: default cell "${row[2]}" does not show ${String(value)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test("every YAML example loads", async () => {
  const blocks = codeBlocks("yaml");
  assert.ok(blocks.length >= 3, "the full example and the provider shortcut examples");
  for (const [i, block] of blocks.entries()) {
    const file = join(dir, `example-${i}.yaml`);
    writeFileSync(file, block);
    await loadConfigFile(file, EXAMPLE_ENV);
  }
  const full = join(dir, "example-full.yaml");
  writeFileSync(full, blocks.find((b) => b.includes("multihome start --config multihome.yaml"))!);
  const config = await loadConfigFile(full, EXAMPLE_ENV);
  assert.equal(config.admin?.token, EXAMPLE_ENV.MULTIHOME_ADMIN_TOKEN);
  assert.equal(config.chains[0]!.upstreams.length, 4);
  assert.equal(config.chains[0]!.upstreams[2]!.url, "http://10.0.0.5:8545");
});

test("the provider shortcut example expands to the URLs its comments show", async () => {
  const file = join(dir, "shortcuts.yaml");
  writeFileSync(file, codeBlocks("yaml").find((b) => b.includes("# Provider shortcuts"))!);
  const config = await loadConfigFile(file, EXAMPLE_ENV);
  assert.deepEqual(
    config.chains.flatMap((c) => c.upstreams.map((u) => [c.chainId, u.id, u.url, u.domain.operator])),
    [
      [8453, "alchemy", "https://base-mainnet.g.alchemy.com/v2/alchemy-key", "alchemy"],
      [8453, "quicknode", "https://docs-demo.base-mainnet.quiknode.pro/quicknode-token/", "quicknode"],
      [8453, "publicnode", "https://base-rpc.publicnode.com", "publicnode"],
      [8453, "own-node", "http://10.0.0.5:8545", "me"],
      [1, "alchemy", "https://eth-mainnet.g.alchemy.com/v2/alchemy-key", "alchemy"],
      [1, "infura", "https://mainnet.infura.io/v3/infura-key", "infura"],
    ],
  );
});

test("the registry table shows exactly the registry: every vendor × chain with its network name", () => {
  const lines = doc.split("\n");
  const at = lines.findIndex((l) => l.startsWith("| Chain | `alchemy`"));
  assert.ok(at > 0, "docs/config.md has the registry table");
  const vendors = lines[at]!.split("|")
    .slice(2, -1)
    .map((c) => c.trim().replaceAll("`", ""));
  assert.deepEqual([...vendors].sort(), Object.keys(PROVIDERS).sort());
  const shown: string[] = [];
  const expected: string[] = [];
  for (const line of lines.slice(at + 2)) {
    if (!line.startsWith("|")) break;
    const [chain, ...cells] = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    const chainId = Number(/\((\d+)\)$/.exec(chain!)?.[1]);
    for (const [i, vendor] of vendors.entries()) {
      if (cells[i]) shown.push(`${vendor} × ${chainId}: ${cells[i]}`);
      const spec: ProviderSpec = PROVIDERS[vendor as keyof typeof PROVIDERS];
      const network = spec.networks[chainId];
      if (network !== undefined) expected.push(`${vendor} × ${chainId}: \`${network}\``);
      else if (spec.urls?.[chainId] !== undefined) expected.push(`${vendor} × ${chainId}: (none)`);
    }
  }
  assert.deepEqual(shown.sort(), expected.sort());
  const registry = Object.entries(PROVIDERS).flatMap(([v, spec]) => servedChains(spec).map((c) => `${v} × ${c}`));
  assert.deepEqual(
    shown.map((s) => s.slice(0, s.indexOf(":"))).sort(),
    registry.sort(),
    "every served chain has a row",
  );
});

test("every field of a provider shortcut and of the providers section has a row", () => {
  const paths = [
    ...Object.keys(shortcutEntryShape).map((k) => `chains[].upstreams[].${k}`),
    "providers",
    ...Object.keys(providerOverrideShape).map((k) => `providers.<name>.${k}`),
  ];
  assert.ok(paths.includes("chains[].upstreams[].endpoint") && paths.includes("providers.<name>.networks"));
  assert.deepEqual(
    paths.filter((p) => (rowOf(p)?.length ?? 0) < 4),
    [],
  );
});

test("the TypeScript example with defineConfig loads", async () => {
  const blocks = codeBlocks("ts");
  assert.equal(blocks.length, 1);
  const index = pathToFileURL(join(import.meta.dirname, "index.ts")).href;
  const source = blocks[0]!.replace('"./src/config/index.ts"', JSON.stringify(index));
  assert.notEqual(source, blocks[0], "the example imports defineConfig from ./src/config/index.ts");
  const file = join(dir, "example.config.ts");
  writeFileSync(file, source);
  const config = await loadConfigFile(file, EXAMPLE_ENV);
  assert.deepEqual(config.store, {
    kind: "redis",
    url: EXAMPLE_ENV.REDIS_URL,
    keyPrefix: "multihome:",
    maxAnswerBytes: 64 * 1024 * 1024,
  });
  assert.equal(config.chains[0]!.chainId, 8453);
});

test("the error output shown in the docs is what validation prints", () => {
  const shown = doc.match(/```\n(invalid config\n[\s\S]*?)```/)?.[1];
  assert.ok(shown, "docs/config.md shows an example of invalid config output");
  const raw = {
    server: { port: 70_000 },
    routing: { hedgeMaxDelay: 1 },
    chains: [
      {
        chainId: 1,
        upstreams: [
          { id: "a", url: "http://127.0.0.1:1", domain: { operator: "o", hosting: "h", region: "r" } },
          { id: "b", url: "ftp://127.0.0.1:1", domain: { operator: "p", hosting: "i", region: "s" } },
        ],
      },
    ],
  };
  let error: unknown;
  try {
    validateConfig(raw, {});
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConfigError);
  for (const line of shown.trim().split("\n"))
    assert.ok(error.message.split("\n").includes(line), `"${line}" is not printed`);
});

test("the missing-variable message shown in the docs is what loading prints", () => {
  assert.throws(
    () => validateConfig({ admin: { token: "${MULTIHOME_ADMIN_TOKEN}" }, chains: [] }, {}),
    (e: unknown) => e instanceof ConfigError && doc.includes(`\`${e.message}\``),
  );
});
