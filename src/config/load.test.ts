// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is config syntax under test, not a template.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import { ConfigError, loadConfigFile, substituteEnv, validateConfig } from "./load.ts";
import { DOMAIN_REQUIRED } from "./schema.ts";

const dir = mkdtempSync(join(tmpdir(), "multihome-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function write(ext: string, text: string): string {
  const file = join(dir, `config-${++files}${ext}`);
  writeFileSync(file, text);
  return file;
}

async function loadFails(file: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigError> {
  try {
    await loadConfigFile(file, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail(`expected ${file} to be rejected`);
}

const YAML = `
server: { host: 127.0.0.1, port: 9545 }
admin:  { host: 127.0.0.1, port: 9546, token: \${MULTIHOME_ADMIN_TOKEN} }
store:  { kind: memory }
routing:
  hedgeMaxDelayMs: 250
chains:
  - chainId: 31337
    upstreams:
      - id: alpha
        url: http://127.0.0.1:18545
        domain: { operator: alpha-rpc, hosting: aws, region: us-east-1 }
      - id: beta
        url: \${BETA_URL:-ws://127.0.0.1:18546}
        domain: { operator: beta-nodes, hosting: gcp, region: europe-west1 }
`;

test("a YAML file loads, with ${ENV} and ${ENV:-fallback} substituted and defaults applied", async () => {
  const config = await loadConfigFile(write(".yaml", YAML), { MULTIHOME_ADMIN_TOKEN: "t0ken-t0ken-t0ken" });
  assert.equal(config.server.port, 9545);
  assert.equal(config.server.maxBatchItems, 100);
  assert.deepEqual(config.admin, { host: "127.0.0.1", port: 9546, token: "t0ken-t0ken-t0ken" });
  assert.deepEqual(config.store, { kind: "memory" });
  assert.equal(config.routing.hedgeMaxDelayMs, 250);
  assert.equal(config.routing.hedgeMinDelayMs, 50);
  assert.equal(config.chains[0]!.upstreams[1]!.url, "ws://127.0.0.1:18546");
  assert.equal(config.chains[0]!.upstreams[1]!.connections, 32);
});

test("regression: the contract's example, with ${ENV} inside a YAML flow mapping, loads", async () => {
  const file = write(
    ".yaml",
    `server: { host: 127.0.0.1, port: 8545 }                 # public JSON-RPC, WebSocket, REST
admin:  { host: 127.0.0.1, port: 8546, token: \${MULTIHOME_ADMIN_TOKEN} }   # metrics, dashboard, drills
store:  { kind: sqlite, path: ./.multihome/state.db }    # memory | sqlite | redis (url: redis://...)
chains:
  - chainId: 31337
    upstreams:
      - id: alpha
        url: http://127.0.0.1:18545                       # ws:// or wss:// also accepted
        domain: { operator: alpha-rpc, hosting: aws, region: us-east-1 }
`,
  );
  const config = await loadConfigFile(file, { MULTIHOME_ADMIN_TOKEN: "a-long-enough-admin-token" });
  assert.equal(config.admin?.token, "a-long-enough-admin-token");
  assert.equal(config.chains[0]!.upstreams[0]!.domain.operator, "alpha-rpc");
});

test("fallback text is never read as YAML, in flow or block style", async () => {
  const file = write(
    ".yaml",
    `log: { level: \${LEVEL:-warn} }
store: { kind: sqlite, path: \${DB:-./a, b #c.db} }
chains: [{ chainId: 1, upstreams: [{ id: a, url: "\${URL:-http://127.0.0.1:1}", domain: { operator: o, hosting: h, region: r } }] }]
`,
  );
  const config = await loadConfigFile(file, {});
  assert.equal(config.log.level, "warn");
  assert.deepEqual(config.store, { kind: "sqlite", path: "./a, b #c.db", maxAnswerBytes: 64 * 1024 * 1024 });
  assert.equal(config.chains[0]!.upstreams[0]!.url, "http://127.0.0.1:1");
});

test("the .yml extension and any unknown extension are read as YAML", async () => {
  const env = { MULTIHOME_ADMIN_TOKEN: "t0ken-t0ken-t0ken", BETA_URL: "https://beta.example/rpc" };
  for (const ext of [".yml", ".conf"]) {
    const config = await loadConfigFile(write(ext, YAML), env);
    assert.equal(config.chains[0]!.upstreams[1]!.url, "https://beta.example/rpc");
  }
});

test("a JSON file loads", async () => {
  const file = write(
    ".json",
    JSON.stringify({
      log: { level: "warn" },
      chains: [
        {
          chainId: 1,
          upstreams: [
            { id: "a", url: "https://${HOST}/v2/${KEY}", domain: { operator: "o", hosting: "h", region: "r" } },
          ],
        },
      ],
    }),
  );
  const config = await loadConfigFile(file, { HOST: "rpc.example", KEY: "k" });
  assert.equal(config.log.level, "warn");
  assert.equal(config.chains[0]!.upstreams[0]!.url, "https://rpc.example/v2/k");
  assert.equal(config.store.kind, "sqlite");
});

test("a .ts file exporting defineConfig({...}) loads, with ${ENV} substituted", async () => {
  const loadModule = pathToFileURL(join(import.meta.dirname, "load.ts")).href;
  const file = write(
    ".ts",
    `import { defineConfig } from ${JSON.stringify(loadModule)};
const port: number = 7545;
export default defineConfig({
  server: { port },
  chains: [{ chainId: 10, upstreams: [{ id: "own", url: "\${OWN_URL}", domain: { operator: "me", hosting: "self", region: "home" } }] }],
});
`,
  );
  const config = await loadConfigFile(file, { OWN_URL: "http://127.0.0.1:8000" });
  assert.equal(config.server.port, 7545);
  assert.equal(config.chains[0]!.chainId, 10);
  assert.equal(config.chains[0]!.upstreams[0]!.url, "http://127.0.0.1:8000");
  assert.equal(config.routing.requestTimeoutMs, 5_000);
});

test("an invalid .ts config is rejected like any other", async () => {
  const file = write(".ts", "export default { chains: [], extra: 1 };\n");
  const error = await loadFails(file);
  assert.deepEqual(error.issues, ["extra: unknown key", "chains: at least one chain or Solana cluster is served"]);
});

test("a missing variable names itself and where it was used", async () => {
  const error = await loadFails(write(".yaml", YAML), {});
  assert.equal(error.message, "environment variable MULTIHOME_ADMIN_TOKEN is not set (used at admin.token)");
  assert.throws(
    () => substituteEnv({ chains: [{ upstreams: [{}, { url: "http://${RPC_HOST}/" }] }] }, {}),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === "environment variable RPC_HOST is not set (used at chains[0].upstreams[1].url)",
  );
});

test("an empty variable counts as unset: the fallback applies, or it is an error", () => {
  assert.equal(substituteEnv("${X:-dflt}", { X: "" }), "dflt");
  assert.equal(substituteEnv("${X:-}", {}), "");
  assert.throws(() => substituteEnv("${X}", { X: "" }), /environment variable X is not set \(used at <root>\)/);
});

test("substitution covers every string, several references per string, and leaves other values alone", () => {
  const env = { A: "1", B: "two" };
  assert.deepEqual(substituteEnv({ s: "${A}-${B}-${C:-3}", n: 5, b: true, z: null, l: ["${B}"] }, env), {
    s: "1-two-3",
    n: 5,
    b: true,
    z: null,
    l: ["two"],
  });
  // Keys are not substituted; a value is not re-scanned; text that is not a reference is kept.
  assert.deepEqual(substituteEnv({ "${A}": "${B}" }, env), { "${A}": "two" });
  assert.equal(substituteEnv("${A}", { A: "${B}" }), "${B}");
  assert.equal(substituteEnv("$A ${ 1A} ${}", env), "$A ${ 1A} ${}");
});

test("substituted values are strings: a number field from the environment is rejected", () => {
  assert.throws(
    () => validateConfig({ server: { port: "${PORT}" }, chains: [] }, { PORT: "8545" }),
    (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.startsWith("server.port: ")),
  );
});

test("an unreadable, unparseable or empty file is a ConfigError naming the file", async () => {
  const missing = join(dir, "nope.yaml");
  assert.match((await loadFails(missing)).message, /^cannot read config .*nope\.yaml/);
  assert.match((await loadFails(write(".json", "{ not json"))).message, /^cannot read config .*\.json: /);
  assert.match((await loadFails(write(".yaml", "a: [unclosed"))).message, /^cannot read config .*\.yaml: /);
  assert.match((await loadFails(write(".yaml", ""))).message, /^config .* is empty$/);
  assert.match((await loadFails(write(".ts", "export const x = 1;\n"))).message, /^config .* is empty$/);
});

test("the process environment is the default", async () => {
  const name = `MULTIHOME_TEST_URL_${process.pid}`;
  process.env[name] = "http://127.0.0.1:1234";
  try {
    const config = validateConfig({
      chains: [
        {
          chainId: 1,
          upstreams: [{ id: "a", url: `\${${name}}`, domain: { operator: "o", hosting: "h", region: "r" } }],
        },
      ],
    });
    assert.equal(config.chains[0]!.upstreams[0]!.url, "http://127.0.0.1:1234");
  } finally {
    delete process.env[name];
  }
});

test("a missing domain: the gateway refuses it and points at multihome doctor; the doctor's lenient load accepts it", async () => {
  const file = write(
    ".yaml",
    `
chains:
  - chainId: 1
    upstreams:
      - { id: declared, url: http://127.0.0.1:1, domain: { operator: o, hosting: h, region: r } }
      - { id: bare, url: http://127.0.0.1:2 }
`,
  );
  const error = await loadFails(file);
  assert.deepEqual(error.issues, [`chains.0.upstreams.1.domain: ${DOMAIN_REQUIRED}`]);
  assert.match(DOMAIN_REQUIRED, /multihome doctor --config <file>/);
  const draft = await loadConfigFile(file, {}, { requireDomains: false });
  const [declared, bare] = draft.chains[0]!.upstreams;
  assert.deepEqual(declared?.domain, { operator: "o", hosting: "h", region: "r" });
  assert.equal(bare?.id, "bare");
  assert.ok(!("domain" in bare!), "no placeholder domain is left behind");
  assert.equal(bare?.connections, 32, "defaults still apply");
});

test("the lenient load still checks everything else, a present domain included", () => {
  const base = { id: "a", url: "http://127.0.0.1:1" };
  const fails = (upstream: object, pattern: RegExp) =>
    assert.throws(
      () => validateConfig({ chains: [{ chainId: 1, upstreams: [upstream] }] }, {}, { requireDomains: false }),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => pattern.test(i)),
    );
  fails({ ...base, domain: { operator: "o", hosting: "h" } }, /^chains\.0\.upstreams\.0\.domain\.region: /);
  fails({ ...base, domain: null }, /^chains\.0\.upstreams\.0\.domain: /);
  fails({ ...base, url: "ftp://127.0.0.1" }, /^chains\.0\.upstreams\.0\.url: /);
  fails({ ...base, extra: 1 }, /^chains\.0\.upstreams\.0\.extra: unknown key/);
});
