/**
 * The composition root: config → telemetry → transports → engine → server, and their lifecycle.
 * The only place that names concrete implementations.
 */

import type { Socket } from "node:net";
import type { Config } from "../config/schema.ts";
import { solanaChainKey } from "../core/chain-key.ts";
import type { Clock, Logger } from "../core/ports.ts";
import type { Store } from "../core/store.ts";
import { createEngine, type Engine } from "../engine/engine.ts";
import { createAccess } from "../server/access.ts";
import type { Overview } from "../server/admin-api.ts";
import { type RunningAdminServer, startAdminServer } from "../server/admin-server.ts";
import { type RunningServer, startHttpServer } from "../server/http-server.ts";
import { createLayeredStore, type LayeredStore } from "../stores/layered-store.ts";
import { createMemoryStore } from "../stores/memory/memory-store.ts";
import { createRedisStore } from "../stores/redis/redis-store.ts";
import { openSqliteStore } from "../stores/sqlite/sqlite-store.ts";
import { systemClock, systemRandom } from "../system/system.ts";
import { createLogger } from "../telemetry/logger.ts";
import { createMetrics, type PrometheusMetrics } from "../telemetry/metrics.ts";
import { createTransportFor } from "../upstream/transport-for.ts";
import { type KeyRing, openKeyRing } from "./keys.ts";
import { type DrillRelay, relayingDrills } from "./workers/drill-relay.ts";

export interface App {
  engine: Engine;
  server: RunningServer;
  /** The admin listener, when `admin` is configured. */
  admin: RunningAdminServer | undefined;
  logger: Logger;
  /** This gateway's metrics (its own registry), served at the admin listener's `/metrics`. */
  metrics: PrometheusMetrics;
  /** The store it opened (closed by `stop`). */
  store: Store;
  /** Graceful stop: drain the server, then stop every background loop and close upstream pools. */
  stop(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  /** Wait up to this long for an agreed head before returning (0: do not wait). */
  readyTimeoutMs?: number;
  /** The time every part of the gateway reads. @default the system clock */
  clock?: Clock;
  /** `false`: no public listener; connections come through `server.accept` (a worker's, from the primary). */
  listen?: boolean;
  /** A request on `socket` was refused for its caller's rate (a worker reports the client to the primary). */
  onRateLimited?(socket: Socket): void;
  /** `socket`'s client belongs on another worker: close the connection after this answer (http-server.ts). */
  belongsElsewhere?(socket: Socket): boolean;
  /**
   * What the admin listener shows in place of this process's own: a worker's `/metrics` and overview are every
   * worker's, gathered by the primary.
   */
  wholeGateway?: { metrics(): Promise<string>; overview(): Promise<Overview> };
  /** Drills the admin API starts and stops here, told to the other workers (workers/drill-relay.ts). */
  drills?: DrillRelay;
  /** Opens the store in place of the configured one (a worker's: shared through the primary; workers/shared-store.ts). */
  openStore?(config: Config, logger: Logger, clock: Clock): Promise<Store>;
}

/**
 * The configured store. Redis is shared by replicas and layered over a local store, so the gateway starts and serves
 * while Redis is down and catches up when it is back.
 */
export async function openStore(
  config: Config,
  logger: Logger,
  clock: Clock = systemClock,
): Promise<Store | LayeredStore> {
  switch (config.store.kind) {
    case "memory":
      return createMemoryStore();
    case "sqlite":
      return openSqliteStore({
        path: config.store.path,
        maxAnswerBytes: config.store.maxAnswerBytes,
        clock,
        logger,
      });
    case "redis": {
      let layered: LayeredStore | undefined;
      const shared = createRedisStore({
        url: config.store.url,
        keyPrefix: config.store.keyPrefix,
        maxAnswerBytes: config.store.maxAnswerBytes,
        onConnection: (up) => {
          if (up) void layered?.catchUp();
        },
      });
      layered = createLayeredStore(createMemoryStore(), shared, logger);
      return layered;
    }
  }
}

/** What `/readyz` says about the store: a shared store that is down is reported, not hidden. */
function storeStatus(kind: Config["store"]["kind"], store: Store | LayeredStore): Record<string, unknown> {
  return "sharedUp" in store ? { kind, shared: store.sharedUp() ? "up" : "down, serving from local state" } : { kind };
}

/** Every configured URL that may carry a credential: upstreams, and the shared store's (a Redis password). */
export function upstreamSecrets(config: Config): string[] {
  const urls = config.chains.flatMap((c) => c.upstreams.map((u) => u.url));
  return config.store.kind === "redis" ? [...urls, config.store.url] : urls;
}

export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger({ level: config.log.level, secrets: upstreamSecrets(config) });
  const clock = options.clock ?? systemClock;
  const store = await (options.openStore ?? openStore)(config, logger, clock);
  const metrics = createMetrics({
    chainIds: [...config.chains.map((c) => c.chainId), ...config.solana.map((c) => solanaChainKey(c.name))],
  });
  const engine = createEngine(config, {
    metrics,
    clock,
    random: systemRandom,
    logger,
    createTransport: createTransportFor({ connectTimeoutMs: config.upstream.connectTimeoutMs }),
    store,
    storeAnswers: config.store.kind !== "memory",
  });
  metrics.watch(engine);
  engine.start();
  if (options.readyTimeoutMs) await engine.ready(options.readyTimeoutMs);
  let server: RunningServer | undefined;
  let admin: RunningAdminServer | undefined;
  let keyRing: KeyRing | undefined;
  try {
    keyRing = await openKeyRing({
      keys: config.auth.keys,
      keysFile: config.auth.keysFile,
      reloadIntervalMs: config.auth.keysReloadIntervalMs,
      logger,
    });
    const ring = keyRing;
    const access = createAccess({
      anonymous: config.auth.anonymous,
      anonymousRateLimit: config.auth.anonymousRateLimit,
      keys: () => ring.keys(),
      trustedProxies: config.server.trustedProxies,
      corsOrigins: config.server.corsOrigins,
      methodCosts: config.auth.methodCosts,
      addToCounter: (name, amount, windowMs, now) => store.addToCounter(name, amount, windowMs, now),
      now: () => clock.now(),
      logger,
    });
    server = await startHttpServer(
      engine,
      {
        ...config.server,
        websocket: config.websocket,
        access,
        metrics,
        ...(options.listen === false ? { listen: false } : {}),
        ...(options.onRateLimited ? { onRateLimited: options.onRateLimited } : {}),
        ...(options.belongsElsewhere ? { belongsElsewhere: options.belongsElsewhere } : {}),
      },
      logger,
      () => ({
        store: storeStatus(config.store.kind, store),
      }),
    );
    if (config.admin) {
      admin = await startAdminServer(
        options.drills ? relayingDrills(engine, options.drills) : engine,
        {
          ...config.admin,
          headersTimeoutMs: config.server.headersTimeoutMs,
          requestTimeoutMs: config.server.requestTimeoutMs,
          registry: options.wholeGateway
            ? { contentType: metrics.registry.contentType, scrape: options.wholeGateway.metrics }
            : metrics.registry,
          ...(options.wholeGateway ? { overview: options.wholeGateway.overview } : {}),
        },
        logger,
      );
    }
  } catch (error) {
    await server?.close();
    keyRing?.stop();
    await engine.stop();
    await store.close();
    throw error;
  }
  const listening = server;
  logger.info({ listen: listening.url, admin: admin?.url, chains: engine.chainIds() }, "multihome listening");
  let stopping: Promise<void> | undefined;
  return {
    engine,
    server: listening,
    admin,
    logger,
    metrics,
    store,
    stop() {
      stopping ??= (async () => {
        await Promise.all([listening.close(), admin?.close()]);
        keyRing?.stop();
        await engine.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}
