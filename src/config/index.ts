export { DEFAULTS } from "./defaults.ts";
export { ConfigError, defineConfig, loadConfigFile, substituteEnv, validateConfig } from "./load.ts";
export type { ChainConfig, Config, ConfigInput, UpstreamConfig } from "./schema.ts";
