import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { sourceOf, summarizeProfile } from "./profile-summary.ts";

test("sources are named by repo path, package or Node internal", () => {
  assert.equal(sourceOf("file:///repo/src/engine/routing/execute.ts", "/repo"), "src/engine/routing/execute.ts");
  assert.equal(sourceOf("file:///repo/node_modules/undici/lib/x.js", "/repo"), "undici");
  assert.equal(sourceOf("file:///repo/node_modules/@scope/pkg/a.js", "/repo"), "@scope/pkg");
  assert.equal(sourceOf("node:internal/http/server", "/repo"), "node:internal");
  assert.equal(sourceOf("", "/repo"), "(native/VM)");
});

test("self time is summed per function from samples and time deltas; idle is set apart", () => {
  const dir = mkdtempSync(join(tmpdir(), "profile-"));
  try {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9, columnNumber: 0 });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame("(root)", ""), children: [2, 3, 4] },
        { id: 2, callFrame: frame("(idle)", "") },
        { id: 3, callFrame: frame("execute", "file:///repo/src/engine/routing/execute.ts") },
        { id: 4, callFrame: frame("request", "file:///repo/node_modules/undici/index.js") },
      ],
      samples: [2, 3, 3, 4, 3],
      timeDeltas: [4000, 1000, 1000, 2000, 2000],
    };
    const file = join(dir, "p.cpuprofile");
    writeFileSync(file, JSON.stringify(profile));
    const s = summarizeProfile(file, "/repo");
    assert.equal(s.totalMs, 10);
    assert.equal(s.idleShare, 0.4);
    assert.deepEqual(
      s.byFunction.map((c) => [c.name, c.ms]),
      [
        ["execute src/engine/routing/execute.ts:10", 4],
        ["request undici:10", 2],
      ],
    );
    assert.deepEqual(s.bySource[0], { name: "src/engine/routing/execute.ts", ms: 4, share: 0.4 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
