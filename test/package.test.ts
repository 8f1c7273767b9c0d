/**
 * The package as npm ships it: built as `prepack` builds it, packed by `npm pack`, unpacked under a consumer's
 * node_modules — where Node will not strip types, so only the built JavaScript can run. The consumer imports
 * `multihome`, reads a verified balance from real anvil nodes, type-checks against the shipped declarations, and runs
 * the CLI. Offline: the package's dependencies are linked from this repository's node_modules, not downloaded.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { buildPackage } from "../scripts/build.ts";
import { type Devnet, startDevnet } from "../src/devnet/devnet.ts";
import { THREE_DOMAINS } from "./harness/network.ts";

const root = join(import.meta.dirname, "..");
/** The tools (npm, tsc) run on this Node, not whatever `node` PATH finds first; npm stays offline. */
const toolEnv = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
  npm_config_offline: "true",
  npm_config_update_notifier: "false",
  npm_config_fund: "false",
};
/** A bound on each tool run: they are synchronous, so the test runner's own timeout could not stop a hang, ms. */
const TOOL_TIMEOUT_MS = 120_000;

let work: string;
let consumer: string;
let packed: string[];
let devnet: Devnet;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "multihome-pack-"));
  // What `prepack` runs, run here so that npm's own output stays the JSON it is asked for.
  await buildPackage();
  const [info] = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], {
      cwd: root,
      env: toolEnv,
      encoding: "utf8",
      timeout: TOOL_TIMEOUT_MS,
    }),
  ) as { filename: string; files: { path: string }[] }[];
  packed = info!.files.map((f) => f.path);
  consumer = join(work, "consumer");
  const installed = join(consumer, "node_modules", "multihome");
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["-xzf", join(work, info!.filename), "-C", installed, "--strip-components=1"], {
    timeout: TOOL_TIMEOUT_MS,
  });
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  for (const dep of [...Object.keys(manifest.dependencies), "@types/node"]) {
    const target = join(consumer, "node_modules", dep);
    mkdirSync(join(target, ".."), { recursive: true });
    symlinkSync(join(root, "node_modules", dep), target);
  }
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", type: "module", private: true }));
  devnet = await startDevnet({ nodes: THREE_DOMAINS });
  await devnet.mine(2);
});

after(async () => {
  await devnet?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the tarball holds the built entry, the browser bundle, the dashboard and the CLI, and no tests", () => {
  for (const file of [
    "dist/client/index.js",
    "dist/client/index.d.ts",
    "dist/multihome.browser.js",
    "dist/dashboard/index.html",
    "dist/cli/main.js",
    "bin/multihome.js",
  ]) {
    assert.ok(packed.includes(file), `${file} is in the package`);
  }
  assert.deepEqual(
    packed.filter((f) => /\.test\.|(^|\/)test\//.test(f)),
    [],
  );
});

test('import { createMultihome } from "multihome" reads a verified balance from real anvil nodes', () => {
  const script = `
    import { createMultihome } from "multihome";
    const [chainId, address, ...nodes] = process.argv.slice(2);
    const mh = createMultihome({ chainId: Number(chainId), upstreams: JSON.parse(nodes[0]) });
    const { ready } = await mh.ready();
    const answer = await mh.call({ method: "eth_getBalance", params: [address, "latest"] });
    await mh.close();
    process.stdout.write(JSON.stringify({ ready, answer }));
  `;
  writeFileSync(join(consumer, "read.mjs"), script);
  const upstreams = devnet.nodes.map((n) => ({ url: n.url, domain: n.domain }));
  const address = devnet.accounts[0]!.address;
  const out = execFileSync(process.execPath, ["read.mjs", String(devnet.chainId), address, JSON.stringify(upstreams)], {
    cwd: consumer,
    encoding: "utf8",
    timeout: 30_000,
  });
  const { ready, answer } = JSON.parse(out) as {
    ready: boolean;
    answer: { ok: boolean; result: string; evidence: { verified: string; blockNumber: number } };
  };
  assert.equal(ready, true);
  assert.equal(answer.ok, true);
  assert.equal(BigInt(answer.result), 10_000n * 10n ** 18n);
  assert.equal(answer.evidence.verified, "proof");
  assert.equal(answer.evidence.blockNumber, devnet.head());
});

test("a TypeScript consumer type-checks against the shipped declarations", () => {
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, types: [] },
      files: ["use.ts"],
    }),
  );
  writeFileSync(
    join(consumer, "use.ts"),
    `import { type Answer, createEip1193Provider, createMultihome, multihome } from "multihome";
import { createPublicClient } from "viem";
const mh = createMultihome({
  chainId: 1,
  upstreams: [{ url: "https://example.invalid", domain: { operator: "a", hosting: "b", region: "c" } }],
});
const answer: Promise<Answer> = mh.call({ method: "eth_blockNumber" });
const client = createPublicClient({ transport: multihome(mh) });
const provider = createEip1193Provider(mh);
// @ts-expect-error an upstream needs its domain
createMultihome({ chainId: 1, upstreams: [{ url: "https://example.invalid" }] });
export { answer, client, provider };
`,
  );
  const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["-p", consumer], {
    encoding: "utf8",
    env: toolEnv,
    timeout: TOOL_TIMEOUT_MS,
  });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});

test("the installed CLI runs from dist/ (no type stripping under node_modules)", () => {
  const run = spawnSync(
    process.execPath,
    [join(consumer, "node_modules", "multihome", "bin", "multihome.js"), "--help"],
    { encoding: "utf8", timeout: TOOL_TIMEOUT_MS },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /Usage: multihome/);
});
