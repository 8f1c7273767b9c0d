/**
 * `npm run build`: the published package's JavaScript (Node will not strip types inside node_modules).
 * - `dist/**`: every source file as JavaScript with its declarations (tsc), plus the dashboard's static files, so the
 *   CLI (`npm i -g multihome`) and the library entry (`import { createMultihome } from "multihome"`) run from dist;
 * - `dist/multihome.browser.js`: the library entry bundled for browsers (an ES module, minified, viem and the proof
 *   verifier inside), for a page without a bundler and as the measure of the bundle budget; what it loads only on
 *   demand (the EVM that executes calls locally) sits beside it as `multihome.chunk-*.js`.
 */
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
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
  "src/core/verification/proof.ts",
  "src/core/verification/header.ts",
  "src/core/verification/roots.ts",
  "src/core/encodings/encode.ts",
] as const;

/** The browser bundle's file name, in `dist/` and wherever else it is built. */
export const BROWSER_BUNDLE_FILE = "multihome.browser.js";

export interface BrowserBundle {
  /** Minified bytes of the entry module: what every page loads. */
  bytes: number;
  /** The same, gzip level 9: what a page downloads. */
  gzipBytes: number;
  /** Source files inside the entry module, relative to the repository, with their minified bytes. */
  inputs: Record<string, number>;
  /**
   * Modules loaded only when needed (the EVM that executes calls locally), beside the entry: file name, minified and
   * gzipped bytes.
   */
  chunks: { file: string; bytes: number; gzipBytes: number }[];
}

/**
 * Bundles the library entry for browsers into `outfile`, with what it imports on demand split into chunks beside it.
 * It fails when anything reachable needs a Node module: esbuild's browser platform cannot resolve `node:*`.
 */
export async function buildBrowserBundle(outfile: string): Promise<BrowserBundle> {
  const result = await build({
    entryPoints: [CLIENT_ENTRY],
    // Input paths are relative to this directory: the repository, wherever the build is started from.
    absWorkingDir: root,
    outdir: dirname(outfile),
    entryNames: basename(outfile, ".js"),
    chunkNames: "multihome.chunk-[hash]",
    splitting: true,
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
  const gzip = (file: string) => gzipSync(readFileSync(join(root, file)), { level: 9 }).length;
  const outputs = Object.entries(result.metafile.outputs);
  const [entryFile, entry] = outputs.find(([, o]) => o.entryPoint !== undefined)!;
  return {
    bytes: entry.bytes,
    gzipBytes: gzip(entryFile),
    inputs: Object.fromEntries(Object.entries(entry.inputs).map(([file, v]) => [file, v.bytesInOutput])),
    chunks: outputs
      .filter(([file]) => file !== entryFile)
      .map(([file, o]) => ({ file: basename(file), bytes: o.bytes, gzipBytes: gzip(file) })),
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
