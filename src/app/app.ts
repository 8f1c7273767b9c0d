/**
 * The composition root: config → telemetry → transports → engine → server, and their lifecycle.
 * The only place that names concrete implementations.
 */
import { ConfigError } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { Logger, Transport } from "../core/ports.ts";
import type { Store } from "../core/store.ts";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { type RunningServer, startHttpServer } from "../server/http-server.ts";
import { createMemoryStore } from "../stores/memory/memory-store.ts";
import { openSqliteStore } from "../stores/sqlite/sqlite-store.ts";
import { createLogger } from "../telemetry/logger.ts";
import { createHttpTransport } from "../upstream/http-transport.ts";
import { createWsTransport } from "../upstream/ws-transport.ts";
import { systemClock, systemRandom } from "./system.ts";

export interface App {
  gateway: Gateway;
  server: RunningServer;
  logger: Logger;
  /** Graceful stop: drain the server, then stop every background loop and close upstream pools. */
  stop(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  /** Wait up to this long for an agreed head before returning (0: do not wait). */
  readyTimeoutMs?: number;
}

/** The configured store. Redis arrives with replica support; until then it is refused at startup, not ignored. */
export async function openStore(config: Config, logger: Logger): Promise<Store> {
  switch (config.store.kind) {
    case "memory":
      return createMemoryStore();
    case "sqlite":
      return openSqliteStore({ path: config.store.path, clock: systemClock, logger });
    case "redis":
      throw new ConfigError("store.kind redis is not supported yet: use sqlite (the default) or memory");
  }
}

export function upstreamSecrets(config: Config): string[] {
  return config.chains.flatMap((c) => c.upstreams.map((u) => u.url));
}

export function createTransportFor(config: Config) {
  return (upstream: { url: string; connections: number }): Transport =>
    upstream.url.startsWith("ws")
      ? createWsTransport({ url: upstream.url, connectTimeoutMs: config.upstream.connectTimeoutMs })
      : createHttpTransport({
          url: upstream.url,
          connections: upstream.connections,
          connectTimeoutMs: config.upstream.connectTimeoutMs,
        });
}

export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger({ level: config.log.level, secrets: upstreamSecrets(config) });
  const store = await openStore(config, logger);
  const gateway = createGateway(config, {
    clock: systemClock,
    random: systemRandom,
    logger,
    createTransport: createTransportFor(config),
    store,
  });
  gateway.start();
  if (options.readyTimeoutMs) await gateway.ready(options.readyTimeoutMs);
  let server: RunningServer;
  try {
    server = await startHttpServer(gateway, config.server, logger);
  } catch (error) {
    await gateway.stop();
    await store.close();
    throw error;
  }
  logger.info({ listen: server.url, chains: gateway.chainIds() }, "multihome listening");
  let stopping: Promise<void> | undefined;
  return {
    gateway,
    server,
    logger,
    stop() {
      stopping ??= (async () => {
        await server.close();
        await gateway.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}
