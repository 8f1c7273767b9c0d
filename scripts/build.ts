/**
 * `npm run build`: the published package's JavaScript (Node will not strip types inside node_modules).
 * - `dist/**`: every source file as JavaScript with its declarations (tsc), plus the dashboard's static files, so the
 *   CLI (`npm i -g multihome`) and the library entry (`import { createMultihome } from "multihome"`) run from dist;
 * - `dist/multihome.browser.js`: the library entry bundled for browsers (one ES module, minified, viem and the proof
 *   verifier inside), for a page without a bundler and as the measure of the bundle budget.
 */
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..");

/** The library entry every bundle starts from. */
export const CLIENT_ENTRY = join(root, "src", "client", "index.ts");

/**
 * The most the browser bundle may weigh gzipped (level 9), bytes: `test/client-bundle.test.ts` holds it to this.
 * Set about a fifth above what it weighed when set (102 KiB), so growth is a decision rather than an accident.
 */
export const CLIENT_BUNDLE_BUDGET_GZIP_BYTES = 120 * 1024;

/** Source files the proof verifier is made of: the browser bundle must keep them. */
export const VERIFIER_FILES = [
  "src/core/proof.ts",
  "src/core/header.ts",
  "src/core/roots.ts",
  "src/core/encodings/encode.ts",
] as const;

/** The browser bundle's file name, in `dist/` and wherever else it is built. */
export const BROWSER_BUNDLE_FILE = "multihome.browser.js";

export interface BrowserBundle {
  /** Minified bytes. */
  bytes: number;
  /** The same, gzip level 9: what a page downloads. */
  gzipBytes: number;
  /** Source files inside the bundle, relative to the repository, with their minified bytes. */
  inputs: Record<string, number>;
}

/**
 * Bundles the library entry for browsers into `outfile`. It fails when anything reachable needs a Node module:
 * esbuild's browser platform cannot resolve `node:*`.
 */
export async function buildBrowserBundle(outfile: string): Promise<BrowserBundle> {
  const result = await build({
    entryPoints: [CLIENT_ENTRY],
    // Input paths are relative to this directory: the repository, wherever the build is started from.
    absWorkingDir: root,
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    metafile: true,
    logLevel: "silent",
    legalComments: "none",
  });
  const output = Object.values(result.metafile.outputs)[0]!;
  return {
    bytes: output.bytes,
    gzipBytes: gzipSync(readFileSync(outfile), { level: 9 }).length,
    inputs: Object.fromEntries(Object.entries(output.inputs).map(([file, v]) => [file, v.bytesInOutput])),
  };
}

export async function buildPackage(): Promise<BrowserBundle> {
  const dist = join(root, "dist");
  rmSync(dist, { recursive: true, force: true });
  const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(root, "tsconfig.build.json")], {
    stdio: "inherit",
  });
  if (tsc.status !== 0) throw new Error(`tsc failed (exit ${tsc.status})`);
  cpSync(join(root, "src", "dashboard"), join(dist, "dashboard"), { recursive: true });
  return buildBrowserBundle(join(dist, BROWSER_BUNDLE_FILE));
}

if (import.meta.main) {
  const bundle = await buildPackage();
  process.stdout.write(
    `dist/ built; dist/${BROWSER_BUNDLE_FILE}: ${(bundle.bytes / 1024).toFixed(1)} KiB minified, ` +
      `${(bundle.gzipBytes / 1024).toFixed(1)} KiB gzip\n`,
  );
}
