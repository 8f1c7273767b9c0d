/**
 * Loading a config file: YAML, JSON, or a TypeScript/JavaScript module exporting `defineConfig({...})`.
 * `${NAME}` (or `${NAME:-fallback}`) in any string is replaced from the environment before validation; a missing
 * variable is an error that names it and where it was used.
 */
import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import {
  type ChainConfig,
  type Config,
  type ConfigInput,
  configSchemaOf,
  type SolanaClusterConfig,
  type UpstreamConfig,
} from "./schema.ts";
import { ConfigError, parseWith } from "./validate.ts";

export { ConfigError };

/** Identity with types: lets a `.ts` config file be checked by the editor. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path = ""): unknown {
  if (typeof value === "string") {
    return value.replace(ENV_REF, (_match, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`environment variable ${name} is not set (used at ${path || "<root>"})`);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, path ? `${path}.${k}` : k)]),
    );
  }
  return value;
}

const ENV_PLACEHOLDER = "__multihome_env_";
const ENV_PLACEHOLDER_REF = /__multihome_env_(\d+)__/g;

/**
 * YAML with `${NAME}` references. A reference is not valid YAML inside a flow mapping (`{ token: ${TOKEN} }`, the
 * documented shape), so each one is swapped for a plain word before parsing and put back afterwards: a reference may
 * then appear wherever a scalar may, and its fallback text is never read as YAML.
 */
function parseYamlWithEnvRefs(text: string): unknown {
  if (text.includes(ENV_PLACEHOLDER)) return parseYaml(text);
  const refs: string[] = [];
  const shielded = text.replace(ENV_REF, (ref) => `${ENV_PLACEHOLDER}${refs.push(ref) - 1}__`);
  if (refs.length === 0) return parseYaml(text);
  const restoreText = (s: string) => s.replace(ENV_PLACEHOLDER_REF, (m, i: string) => refs[Number(i)] ?? m);
  const restore = (value: unknown): unknown => {
    if (typeof value === "string") return restoreText(value);
    if (Array.isArray(value)) return value.map(restore);
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [restoreText(k), restore(v)]));
    }
    return value;
  };
  return restore(parseYaml(shielded));
}

/** An upstream as `multihome doctor` reads it: `domain` may be left out (the doctor infers one). */
export type DraftUpstreamConfig = Omit<UpstreamConfig, "domain"> & { domain?: UpstreamConfig["domain"] };
export type DraftChainConfig = Omit<ChainConfig, "upstreams"> & { upstreams: DraftUpstreamConfig[] };
/** A config whose upstreams may lack `domain`: for `multihome doctor` only, never for the gateway. */
export type DraftConfig = Omit<Config, "chains" | "solana"> & {
  chains: DraftChainConfig[];
  solana: (Omit<SolanaClusterConfig, "upstreams"> & { upstreams: DraftUpstreamConfig[] })[];
};

export interface ValidateOptions {
  /** `false`: upstreams may leave out `domain` (`multihome doctor`); everything else is checked as usual. @default true */
  requireDomains?: boolean;
}

/** Validate an already-parsed config object. */
export function validateConfig(raw: unknown, env?: NodeJS.ProcessEnv, options?: { requireDomains?: true }): Config;
export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv | undefined, options: ValidateOptions): DraftConfig;
export function validateConfig(
  raw: unknown,
  env: NodeJS.ProcessEnv = process.env,
  options: ValidateOptions = {},
): Config | DraftConfig {
  const schema = configSchemaOf({ requireDomains: options.requireDomains !== false });
  return parseWith(schema, substituteEnv(raw, env));
}

export async function loadConfigFile(
  file: string,
  env?: NodeJS.ProcessEnv,
  options?: { requireDomains?: true },
): Promise<Config>;
export async function loadConfigFile(
  file: string,
  env: NodeJS.ProcessEnv | undefined,
  options: ValidateOptions,
): Promise<DraftConfig>;
export async function loadConfigFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: ValidateOptions = {},
): Promise<Config | DraftConfig> {
  const path = resolve(file);
  const ext = extname(path).toLowerCase();
  let raw: unknown;
  try {
    if ([".ts", ".mts", ".js", ".mjs"].includes(ext)) {
      const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
      raw = mod.default;
    } else {
      const text = await readFile(path, "utf8");
      raw = ext === ".json" ? JSON.parse(text) : parseYamlWithEnvRefs(text);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read config ${file}: ${(error as Error).message}`);
  }
  if (raw === undefined || raw === null) throw new ConfigError(`config ${file} is empty`);
  return validateConfig(raw, env, options);
}
