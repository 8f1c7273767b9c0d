/**
 * `npm test`: every test file under src/, test/ and bench/, one file at a time (integration tests start real anvil nodes
 * and measure latency: running them side by side on a 2-core machine would measure the neighbours).
 * `npm test -- <path>…` runs only the files under those paths.
 * Every test file's process loads the canary guard (test/harness/canary-guard.ts): `node --test` hands `--import` on
 * to each file's process, and a file whose process served or logged the canary secret fails.
 */
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";

const root = join(import.meta.dirname, "..");
const canaryGuard = pathToFileURL(join(root, "test", "harness", "canary-guard.ts")).href;

function collect(path: string, out: string[]): void {
  const stat = statSync(path);
  if (stat.isFile()) {
    if (path.endsWith(".test.ts")) out.push(relative(root, path));
    return;
  }
  for (const entry of readdirSync(path).sort()) {
    if (entry === "node_modules" || entry.startsWith(".")) continue;
    collect(join(path, entry), out);
  }
}

const targets = process.argv.slice(2);
const files: string[] = [];
for (const t of targets.length ? targets : ["src", "test", "bench"]) collect(join(root, t), files);
if (files.length === 0) {
  process.stderr.write(`no test files under ${targets.join(" ")}\n`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  [
    "--import",
    canaryGuard,
    "--test",
    "--test-concurrency=1",
    "--test-timeout=600000",
    "--test-reporter=spec",
    ...files,
  ],
  { cwd: root, stdio: "inherit" },
);
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
