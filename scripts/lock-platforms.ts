/**
 * Record other platforms' optional binary packages in package-lock.json.
 *
 * Biome and anvil ship one optional package per platform. A registry mirror that carries only this platform's
 * packages leaves the others out of the lock file, and `npm ci` then refuses the lock ("Missing: … from lock
 * file"). The entries below carry each package's platform constraints, so npm skips them on every other platform
 * without fetching anything. Run after `npm install` changes the lock: `node scripts/lock-platforms.ts`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const lockPath = join(import.meta.dirname, "..", "package-lock.json");
const lock = JSON.parse(readFileSync(lockPath, "utf8")) as {
  packages: Record<string, { version?: string; optionalDependencies?: Record<string, string> }>;
};

/** Platform constraints by package-name suffix (the packages' own `os`/`cpu`/`libc` fields). */
const PLATFORMS: Record<string, { os: string[]; cpu: string[]; libc?: string[] }> = {
  "android-arm64": { os: ["android"], cpu: ["arm64"] },
  "android-x64": { os: ["android"], cpu: ["x64"] },
  "darwin-arm64": { os: ["darwin"], cpu: ["arm64"] },
  "darwin-x64": { os: ["darwin"], cpu: ["x64"] },
  "darwin-amd64": { os: ["darwin"], cpu: ["x64"] },
  "linux-arm64": { os: ["linux"], cpu: ["arm64"] },
  "linux-arm64-musl": { os: ["linux"], cpu: ["arm64"], libc: ["musl"] },
  "linux-x64-musl": { os: ["linux"], cpu: ["x64"], libc: ["musl"] },
  "win32-arm64": { os: ["win32"], cpu: ["arm64"] },
  "win32-x64": { os: ["win32"], cpu: ["x64"] },
  "win32-amd64": { os: ["win32"], cpu: ["x64"] },
};

let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key]) continue;
    const suffix = Object.keys(PLATFORMS)
      .sort((a, b) => b.length - a.length)
      .find((s) => name.endsWith(`-${s}`));
    if (!suffix) throw new Error(`${name} (optional dependency of ${path}) is missing and its platform is unknown`);
    lock.packages[key] = { version, dev: true, optional: true, ...PLATFORMS[suffix] } as never;
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`recorded ${added} other-platform optional packages\n`);
