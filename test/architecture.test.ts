/**
 * The layering rules of the design, checked on every run:
 * - each folder of src/ imports only what the Layers table of docs/architecture.md says it may (the table is read
 *   here, so the rule and its documentation cannot drift apart), and every folder of src/ has a row;
 * - core/ imports no I/O module and reads no clock, randomness or environment directly;
 * - nothing in src/ imports test/;
 * - there are no import cycles.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";

const root = join(import.meta.dirname, "..");
const src = join(root, "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") && !p.endsWith(".test.ts") ? [p] : [];
  });
}

const IMPORT = /^\s*(import|export)\s(type\s)?[^;]*?from\s+["']([^"']+)["']/gm;
const sources = files(src);
/** Every import of each source file, and whether the statement brings in types only (`import type`). */
const statements = new Map<string, { spec: string; typesOnly: boolean }[]>(
  sources.map((f) => {
    const text = readFileSync(f, "utf8");
    return [f, [...text.matchAll(IMPORT)].map((m) => ({ spec: m[3]!, typesOnly: m[2] !== undefined }))];
  }),
);
const imports = new Map<string, string[]>([...statements].map(([f, list]) => [f, list.map((i) => i.spec)]));
const layer = (f: string) => relative(src, f).split("/")[0]!;

/** The rules below hold vacuously of a scan that read no import: it must see imports known to be there. */
function assertImportsScanned(): void {
  assert.ok(imports.get(join(src, "upstream", "http-transport.ts"))?.includes("undici"), "a package import is seen");
  assert.ok(imports.get(join(src, "engine", "engine.ts"))?.includes("../core/errors.ts"), "a relative import is seen");
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

/**
 * The Layers table of docs/architecture.md, row by row: the folder, and what it may import. A "may import" cell is
 * `everything`, `nothing`, or a list of backticked paths under src/ (a folder ending in `/`, or one file), each
 * optionally followed by `(types only)`. A folder's imports of its own files are always allowed.
 */
interface Allowance {
  path: string;
  typesOnly: boolean;
}
function layersTable(): Map<string, Allowance[] | "everything"> {
  const doc = readFileSync(join(root, "docs", "architecture.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Layers"), doc.indexOf("\n## ", doc.indexOf("## Layers") + 1));
  const rows = new Map<string, Allowance[] | "everything">();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const folder = /^`src\/([^`]+)\/`$/.exec(cells[1] ?? "")?.[1];
    if (folder === undefined) continue;
    const cell = cells[3] ?? "";
    if (cell === "everything") {
      rows.set(folder, "everything");
      continue;
    }
    const allowed = [...cell.matchAll(/`([^`]+)`(\s*\(types only\))?/g)].map((m) => ({
      path: m[1]!,
      typesOnly: m[2] !== undefined,
    }));
    assert.ok(allowed.length > 0 || cell === "nothing", `the Layers row of src/${folder}/ is read: "${cell}"`);
    rows.set(folder, allowed);
  }
  return rows;
}

test("every folder of src/ has a row in the Layers table, and every row a folder", () => {
  const table = layersTable();
  const folders = readdirSync(src).filter((e) => statSync(join(src, e)).isDirectory());
  assert.deepEqual([...table.keys()].sort(), folders.sort());
});

test("each folder of src/ imports only what the Layers table allows; src/ never imports test/", () => {
  assertImportsScanned();
  const table = layersTable();
  assert.deepEqual(table.get("core"), [{ path: "core/", typesOnly: false }], "the table is read");
  assert.ok(
    [...table.values()].some((a) => a !== "everything" && a.some((r) => r.typesOnly)),
    "(types only) is read",
  );
  const offences: string[] = [];
  for (const [f, list] of statements) {
    const from = layer(f);
    const allowed = table.get(from);
    for (const { spec, typesOnly } of list) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(f), spec);
      const where = `${relative(root, f)} imports ${spec}`;
      if (!target.startsWith(src + sep)) offences.push(`${where} (outside src/)`);
      else if (layer(target) === from || allowed === "everything") continue;
      else {
        const path = relative(src, target);
        const rule = allowed?.find((a) => (a.path.endsWith("/") ? path.startsWith(a.path) : path === a.path));
        if (rule === undefined) offences.push(`${where} (src/${from}/ may not import ${path})`);
        else if (rule.typesOnly && !typesOnly) offences.push(`${where} (src/${from}/ may import only types of it)`);
      }
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
