/**
 * The layering rules of the design, checked on every run:
 * - core/ imports no I/O module and reads no clock, randomness or environment directly;
 * - engine/ never imports server/, stores/, app/ or cli/;
 * - nothing in src/ imports test/;
 * - there are no import cycles.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const root = join(import.meta.dirname, "..");
const src = join(root, "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") && !p.endsWith(".test.ts") ? [p] : [];
  });
}

const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/gm;
const sources = files(src);
const imports = new Map<string, string[]>(
  sources.map((f) => {
    const text = readFileSync(f, "utf8");
    return [f, [...text.matchAll(IMPORT)].map((m) => m[1]!)];
  }),
);
const layer = (f: string) => relative(src, f).split("/")[0]!;

/** The rules below hold vacuously of a scan that read no import: it must see imports known to be there. */
function assertImportsScanned(): void {
  assert.ok(imports.get(join(src, "upstream", "http-transport.ts"))?.includes("undici"), "a package import is seen");
  assert.ok(imports.get(join(src, "engine", "gateway.ts"))?.includes("../core/errors.ts"), "a relative import is seen");
}

test("core/ is pure: no I/O modules, no direct clock, randomness, timers or environment", () => {
  assertImportsScanned();
  const io =
    /^(node:(fs|net|http|https|dns|child_process|worker_threads|dgram|tls|os)|undici|ws|pino|ioredis|iovalkey|prom-client)/;
  const offences: string[] = [];
  for (const [f, specs] of imports) {
    if (layer(f) !== "core") continue;
    for (const s of specs) if (io.test(s)) offences.push(`${relative(root, f)} imports ${s}`);
    const text = readFileSync(f, "utf8");
    for (const banned of ["Date.now(", "Math.random(", "setTimeout(", "setInterval(", "process.env"]) {
      if (text.includes(banned)) offences.push(`${relative(root, f)} uses ${banned}`);
    }
  }
  assert.deepEqual(offences, []);
});

test("engine/ depends on no outer layer; src/ never imports test/", () => {
  assertImportsScanned();
  const offences: string[] = [];
  for (const [f, specs] of imports) {
    for (const s of specs) {
      if (!s.startsWith(".")) continue;
      const target = resolve(dirname(f), s);
      if (!target.startsWith(src)) offences.push(`${relative(root, f)} imports ${s} (outside src/)`);
      else if (layer(f) === "engine" && ["server", "stores", "app", "cli"].includes(layer(target))) {
        offences.push(`${relative(root, f)} imports ${s}`);
      } else if (layer(f) === "core" && layer(target) !== "core") offences.push(`${relative(root, f)} imports ${s}`);
    }
  }
  assert.deepEqual(offences, []);
});

test("no import cycles", () => {
  assertImportsScanned();
  const graph = new Map<string, string[]>();
  for (const [f, specs] of imports) {
    graph.set(
      f,
      specs.filter((s) => s.startsWith(".")).map((s) => resolve(dirname(f), s)),
    );
  }
  const state = new Map<string, "visiting" | "done">();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "visiting") {
      cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(src, p)).join(" → "));
      return;
    }
    state.set(f, "visiting");
    for (const next of graph.get(f) ?? []) visit(next, [...path, f]);
    state.set(f, "done");
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
});

test("the library entry (src/client/index.ts) reaches no Node-only module, so it runs in a browser", () => {
  const nodeOnly = /^(node:|undici$|ws$|pino$|ioredis$|prom-client$|yaml$|commander$)/;
  const offences: string[] = [];
  const seen = new Set<string>();
  const visit = (f: string, path: string[]) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const s of imports.get(f) ?? []) {
      if (s.startsWith(".")) visit(resolve(dirname(f), s), [...path, relative(src, f)]);
      else if (nodeOnly.test(s)) offences.push(`${[...path, relative(src, f)].join(" → ")} imports ${s}`);
    }
  };
  visit(join(src, "client", "index.ts"), []);
  assert.ok(seen.size > 20, "the walk reached the engine");
  assert.deepEqual(offences, []);
});
