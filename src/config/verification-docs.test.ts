/**
 * Keeps docs/verification.md's table true: every served method has a row, and the row's default is the configured one
 * (`—` for what no provider is asked: the chain id, the head, a write).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { METHODS } from "../core/rpc/methods.ts";
import { DEFAULTS } from "./defaults.ts";

const doc = readFileSync(join(import.meta.dirname, "../../docs/verification.md"), "utf8");

/** The table's rows: each backticked method of a row's first cell, with that row's default cell. */
function rows(): Map<string, string> {
  const table = doc.split("\n## ")[0]!;
  const found = new Map<string, string>();
  for (const line of table.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4) continue;
    for (const [, method] of cells[1]!.matchAll(/`([a-z0-9_]+)`/gi)) found.set(method!, cells[2]!.replaceAll("`", ""));
  }
  assert.ok(found.has("eth_call"), "the table is read");
  return found;
}

test("docs/verification.md has a row for every served method, with its default policy", () => {
  const table = rows();
  const problems: string[] = [];
  for (const [method, spec] of Object.entries(METHODS)) {
    const documented = table.get(method);
    const expected = spec.kind === "read" ? (DEFAULTS.verification.methods[method] ?? "single") : "—";
    if (documented === undefined) problems.push(`${method}: no row`);
    else if (documented !== expected) problems.push(`${method}: documented ${documented}, configured ${expected}`);
  }
  for (const method of table.keys()) if (!(method in METHODS)) problems.push(`${method}: documented, not served`);
  assert.deepEqual(problems, []);
});
