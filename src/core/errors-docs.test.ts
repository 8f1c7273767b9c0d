/**
 * Keeps docs/errors.md true: every code in the registry has a row with its JSON-RPC code and HTTP status, and the
 * table documents no code that does not exist.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ERRORS } from "./errors.ts";

const doc = readFileSync(join(import.meta.dirname, "../../docs/errors.md"), "utf8");

/** Rows of the codes table, by the backticked Multihome code in their first cell, whatever the other cells hold. */
function codeRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  const codes = doc.split("\n## Codes")[1]?.split("\n## ")[0] ?? "";
  for (const line of codes.split("\n")) {
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    const code = /^`([a-z_]+)`$/.exec(cells[0] ?? "")?.[1];
    if (code) rows.set(code, cells);
  }
  // A table that moved or changed shape would leave nothing to compare, and every check below would pass.
  assert.ok(rows.has("unavailable"), "docs/errors.md has a ## Codes table with a row for `unavailable`");
  return rows;
}

test("every code in ERRORS is documented in docs/errors.md with its JSON-RPC code and HTTP status", () => {
  const rows = codeRows();
  const problems: string[] = [];
  for (const [code, entry] of Object.entries(ERRORS)) {
    const row = rows.get(code);
    if (!row) {
      problems.push(`${code}: no row "| \`${code}\` | ${entry.rpc} | ${entry.http} | when | what to do |"`);
      continue;
    }
    if (row[1] !== String(entry.rpc)) problems.push(`${code}: JSON-RPC code ${row[1]}, registry says ${entry.rpc}`);
    if (row[2] !== String(entry.http)) problems.push(`${code}: HTTP ${row[2]}, registry says ${entry.http}`);
    if (row.length < 5 || !row[3] || !row[4]) problems.push(`${code}: "when" and "what to do" must not be empty`);
  }
  assert.deepEqual(problems, []);
});

test("docs/errors.md documents no code that is not in ERRORS", () => {
  const extra = [...codeRows().keys()].filter((code) => !Object.hasOwn(ERRORS, code));
  assert.deepEqual(extra, []);
});

test("docs/errors.md states the pass-through rule and the multihomeCode field", () => {
  assert.match(doc, /## Pass-through/);
  assert.match(doc, /\*\*unchanged\*\*/);
  assert.match(doc, /\*\*not retried\s+elsewhere\*\*/);
  assert.match(doc, /error\.data\.multihomeCode/);
  assert.match(doc, /data\.lastKnownGood/);
});

test("every error code the REST endpoints and WebSocket upgrades answer is documented in docs/errors.md", () => {
  const section = doc.split("## Errors of the REST endpoints and WebSocket upgrades")[1]?.split("\n## ")[0] ?? "";
  const server = join(import.meta.dirname, "../server");
  const missing: string[] = [];
  const answered = new Set<string>();
  for (const file of ["http-server.ts", "ws-server.ts", "ws-upgrade.ts"]) {
    const source = readFileSync(join(server, file), "utf8");
    const codes = [...source.matchAll(/\bcode:\s*"([a-z_]+)"/g)].map(([, code]) => code!);
    // A scan that finds nothing proves nothing: each file answers REST errors, so the pattern must find them.
    assert.ok(codes.length > 0, `no \`code: "…"\` found in ${file}: the scan no longer reads how it answers errors`);
    for (const code of codes) {
      answered.add(code);
      if (!section.includes(`| \`${code}\` |`)) missing.push(`${code} (${file})`);
    }
  }
  for (const known of ["not_found", "unknown_chain", "method_not_allowed", "limit_exceeded"])
    assert.ok(answered.has(known), `the scan found ${[...answered].join(", ")}, not ${known}`);
  assert.deepEqual(missing, []);
});

test("every error class in src/ extends BaseError and is listed in docs/errors.md", () => {
  const section = doc.split("\n## Errors thrown inside Multihome")[1] ?? "";
  const listed = new Set([...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]));
  assert.ok(listed.has("MultihomeError"), "docs/errors.md has the table of error classes");
  const src = join(import.meta.dirname, "..");
  const problems: string[] = [];
  const found = new Set<string>();
  for (const file of readdirSync(src, { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".ts") || file.endsWith(".test.ts")) continue;
    const text = readFileSync(join(src, file), "utf8");
    for (const [, name, parent] of text.matchAll(/class (\w+) extends (\w+)/g)) {
      if (!name!.endsWith("Error")) continue;
      found.add(name!);
      if (parent === "Error") problems.push(`${file}: ${name} extends Error, not BaseError (src/core/errors.ts)`);
      if (!listed.has(name)) problems.push(`${file}: ${name} has no row in docs/errors.md's table of error classes`);
    }
  }
  for (const name of listed) if (!found.has(name!)) problems.push(`docs/errors.md lists ${name}, which src/ lacks`);
  assert.deepEqual(problems, []);
});
