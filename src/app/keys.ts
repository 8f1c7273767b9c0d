/**
 * The API keys in force: the config's `auth.keys`, plus a keys file (JSON or YAML, a list shaped like `auth.keys`)
 * re-read whenever it changes, so a key is added or revoked without a restart — within `auth.keysReloadIntervalMs`.
 * A keys file that cannot be read or is invalid keeps the previous set and is logged as an error: a typo while
 * editing must not open the gateway nor lock every client out.
 */
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { apiKeysSchema } from "../config/schema.ts";
import type { Logger } from "../core/ports.ts";
import { type ApiKey, type ApiKeyConfig, indexApiKeys } from "../core/rpc/access.ts";
import { hashApiKey } from "../server/access.ts";

export interface KeyRing {
  keys(): ReadonlyMap<string, ApiKey>;
  /** Re-read the keys file now if it changed (the interval does this on its own). */
  reload(): Promise<void>;
  stop(): void;
}

/** A new key and the line that configures it: the key is shown once and only its digest is kept. */
export function newApiKey(): { key: string; hash: string } {
  const key = `mh_${randomBytes(32).toString("base64url")}`;
  return { key, hash: hashApiKey(key) };
}

export async function openKeyRing(options: {
  keys: readonly ApiKeyConfig[];
  keysFile: string | undefined;
  reloadIntervalMs: number;
  logger: Logger;
}): Promise<KeyRing> {
  const { keysFile, logger } = options;
  let current = indexApiKeys(options.keys);
  let seen: string | undefined;

  /** False when the file could not be read or is invalid (the previous keys stay). */
  async function load(): Promise<boolean> {
    if (keysFile === undefined) return true;
    try {
      const info = await stat(keysFile);
      const version = `${info.mtimeMs}:${info.size}:${info.ino}`;
      if (version === seen) return true;
      const text = await readFile(keysFile, "utf8");
      const parsed = apiKeysSchema.safeParse(keysFile.endsWith(".json") ? JSON.parse(text) : parseYaml(text));
      if (!parsed.success) {
        const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".")}: ${i.message}`);
        logger.error({ issues }, "keys file is invalid; the previous keys stay in force");
        seen = version;
        return false;
      }
      current = indexApiKeys([...options.keys, ...parsed.data]);
      if (seen !== undefined) logger.info({ keys: current.size }, "keys file reloaded");
      seen = version;
      return true;
    } catch (error) {
      logger.error({ err: (error as Error).message }, "keys file not read; the previous keys stay in force");
      return false;
    }
  }

  // At start there is no previous set to keep: a broken keys file stops the gateway from starting.
  if (!(await load())) throw new Error("auth.keysFile could not be loaded (see the log)");
  const timer = keysFile === undefined ? undefined : setInterval(() => void load(), options.reloadIntervalMs);
  timer?.unref();
  return {
    keys: () => current,
    reload: async () => {
      await load();
    },
    stop: () => clearInterval(timer),
  };
}
