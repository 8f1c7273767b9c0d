/**
 * The browser bundle budget: the library entry bundles for browsers (nothing Node-only reachable), keeps the proof
 * verifier, and stays within `CLIENT_BUNDLE_BUDGET_GZIP_BYTES` gzipped. Sizes are deterministic for one lockfile,
 * so the budget is a plain bound, not a timing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  BROWSER_BUNDLE_FILE,
  type BrowserBundle,
  buildBrowserBundle,
  CLIENT_BUNDLE_BUDGET_GZIP_BYTES,
  VERIFIER_FILES,
} from "../scripts/build.ts";

const dir = mkdtempSync(join(tmpdir(), "multihome-bundle-test-"));
const outfile = join(dir, BROWSER_BUNDLE_FILE);
let bundle: BrowserBundle;

before(async () => {
  bundle = await buildBrowserBundle(outfile);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("the library entry bundles for the browser platform, with no Node module reachable", async () => {
  const inputs = Object.keys(bundle.inputs);
  assert.ok(
    inputs.includes("src/client/index.ts"),
    `the entry is not among the inputs: ${inputs.slice(0, 5).join(", ")}`,
  );
  const nodeOnly = inputs.filter(
    (f) => f.startsWith("node:") || /(^|\/)node_modules\/(undici|ws|pino|ioredis)\//.test(f),
  );
  assert.deepEqual(nodeOnly, []);
  const text = readFileSync(outfile, "utf8");
  assert.doesNotMatch(text, /\bfrom\s*["']node:|\brequire\(\s*["']node:/);
  // A browser bundle is an ES module that loads anywhere fetch does: Node 24 can import it too.
  const loaded = (await import(pathToFileURL(outfile).href)) as Record<string, unknown>;
  for (const name of ["createMultihome", "multihome", "createEip1193Provider", "createFetchTransport"]) {
    assert.equal(typeof loaded[name], "function", `${name} is not exported by the bundle`);
  }
});

test("the proof verifier is kept in the bundle", () => {
  assert.ok(VERIFIER_FILES.length > 0);
  for (const file of VERIFIER_FILES) {
    const bytes = bundle.inputs[file];
    assert.ok(bytes !== undefined && bytes > 0, `${file} is not in the bundle`);
  }
});

test(`the bundle is at most CLIENT_BUNDLE_BUDGET_GZIP_BYTES (${CLIENT_BUNDLE_BUDGET_GZIP_BYTES} bytes) gzipped`, () => {
  assert.ok(bundle.bytes > bundle.gzipBytes && bundle.gzipBytes > 0, `implausible sizes: ${JSON.stringify(bundle)}`);
  assert.ok(
    bundle.gzipBytes <= CLIENT_BUNDLE_BUDGET_GZIP_BYTES,
    `the browser bundle is ${bundle.gzipBytes} bytes gzipped (${bundle.bytes} minified), over the budget of ` +
      `${CLIENT_BUNDLE_BUDGET_GZIP_BYTES}: cut what grew, or raise the budget in scripts/build.ts on purpose`,
  );
});

test("the EVM that executes calls locally is a chunk of its own, loaded only when a call needs it", (t) => {
  const inEntry = Object.keys(bundle.inputs).filter((file) => file.includes("@ethereumjs/"));
  assert.deepEqual(inEntry, [], "no EVM code in what every page loads");
  const chunkBytes = bundle.chunks.reduce((sum, c) => sum + c.gzipBytes, 0);
  assert.ok(bundle.chunks.length > 0 && chunkBytes > 0, "the EVM is bundled beside the entry");
  t.diagnostic(
    `entry ${(bundle.gzipBytes / 1024).toFixed(1)} KiB gzipped; on-demand chunks ${(chunkBytes / 1024).toFixed(1)} KiB gzipped (${bundle.chunks.length} files)`,
  );
});
