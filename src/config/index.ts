export { DEFAULTS } from "./defaults.ts";
export type { DraftChainConfig, DraftConfig, DraftUpstreamConfig, ValidateOptions } from "./load.ts";
export { ConfigError, defineConfig, loadConfigFile, substituteEnv, validateConfig } from "./load.ts";
export type { ChainConfig, Config, ConfigInput, UpstreamConfig } from "./schema.ts";
