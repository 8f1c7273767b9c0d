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

test("the YAML example loads", async () => {
  const blocks = codeBlocks("yaml");
  assert.equal(blocks.length, 1);
  const file = join(dir, "example.yaml");
  writeFileSync(file, blocks[0]!);
  const config = await loadConfigFile(file, EXAMPLE_ENV);
  assert.equal(config.admin?.token, EXAMPLE_ENV.MULTIHOME_ADMIN_TOKEN);
  assert.equal(config.chains[0]!.upstreams.length, 4);
  assert.equal(config.chains[0]!.upstreams[2]!.url, "http://10.0.0.5:8545");
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
