import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Logger } from "../core/ports.ts";
import { silentLogger } from "../core/ports.ts";
import { hashApiKey } from "../server/access.ts";
import { newApiKey, openKeyRing } from "./keys.ts";

const dir = mkdtempSync(join(tmpdir(), "multihome-keys-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function recordingLogger(lines: string[]): Logger {
  const log = (_o: object, message: string) => void lines.push(message);
  return { ...silentLogger, error: log, info: log };
}

test("a new key is 256 random bits, shown once; only its digest is configured", () => {
  const a = newApiKey();
  const b = newApiKey();
  assert.match(a.key, /^mh_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.key, b.key);
  assert.equal(a.hash, hashApiKey(a.key));
});

test("a key revoked in the keys file stops working on the next reload, without a restart", async () => {
  const file = join(dir, "keys.yaml");
  const { key, hash } = newApiKey();
  writeFileSync(file, `- { id: app, hash: "${hash}" }\n`);
  const ring = await openKeyRing({ keys: [], keysFile: file, reloadIntervalMs: 60_000, logger: silentLogger });
  try {
    assert.equal(ring.keys().get(hashApiKey(key))?.revoked, false);
    writeFileSync(file, `- { id: app, hash: "${hash}", revoked: true }\n# edited\n`);
    await ring.reload();
    assert.equal(ring.keys().get(hashApiKey(key))?.revoked, true);
  } finally {
    ring.stop();
  }
});

test("a keys file broken by an edit keeps the previous keys and says so; broken at start, it stops the start", async () => {
  const file = join(dir, "keys.json");
  const { key, hash } = newApiKey();
  writeFileSync(file, JSON.stringify([{ id: "app", hash }]));
  const lines: string[] = [];
  const ring = await openKeyRing({
    keys: [],
    keysFile: file,
    reloadIntervalMs: 60_000,
    logger: recordingLogger(lines),
  });
  try {
    writeFileSync(file, '[{ "id": "app", "hash": "not a digest" }, 1]');
    await ring.reload();
    assert.equal(ring.keys().get(hashApiKey(key))?.revoked, false);
    assert.ok(lines.some((l) => /keys file is invalid/.test(l)));
  } finally {
    ring.stop();
  }
  await assert.rejects(openKeyRing({ keys: [], keysFile: file, reloadIntervalMs: 60_000, logger: silentLogger }));
});
