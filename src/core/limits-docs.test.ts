/** Every exported numeric constant of the serving path has a row in docs/limits.md (or is a config default). */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const root = join(import.meta.dirname, "..", "..");
const LAYERS = ["core", "engine", "server", "upstream", "stores", "client"];
const CONSTANT = /^export const ([A-Z][A-Z0-9_]*) = [0-9]/gm;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") && !p.endsWith(".test.ts") ? [p] : [];
  });
}

test("every numeric constant of the serving path is documented in docs/limits.md", () => {
  const docs = readFileSync(join(root, "docs", "limits.md"), "utf8");
  const missing: string[] = [];
  const found = new Set<string>();
  for (const layer of LAYERS) {
    for (const file of sources(join(root, "src", layer))) {
      for (const [, name] of readFileSync(file, "utf8").matchAll(CONSTANT)) {
        found.add(name!);
        if (!docs.includes(`\`${name}\``)) missing.push(`${name} (${file.slice(root.length + 1)})`);
      }
    }
  }
  // A pattern that matched nothing would find nothing missing: it must find constants known to exist.
  for (const known of ["STORE_MAX_ENTRIES", "MAX_DRAINED_BODY_BYTES", "WS_RECONNECT_DELAY_MIN_MS"])
    assert.ok(found.has(known), `the scan found ${found.size} constants, not ${known}`);
  assert.deepEqual(missing, []);
});
