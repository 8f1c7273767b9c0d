/**
 * A worker process (forked by primary.ts): the whole gateway — engine, store, HTTP and WebSocket server — without a
 * listener of its own. Connections come from the primary over IPC; a closed one is reported back, so the front door's
 * per-client counts stay true. Worker `i` keeps its own SQLite store file (`<path>.worker-<i>`): a worker started again
 * in its place reopens it and rebroadcasts the transactions it had recorded. Only worker 0 runs the admin listener.
 */
import type { Socket } from "node:net";
import { loadConfigFile } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import { type Overview, overviewOf } from "../../server/admin-api.ts";
import { openStore, startApp } from "../app.ts";
import { belongsElsewhere, createNoisyClients } from "./assign.ts";
import { applyDrill } from "./drill-relay.ts";
import { type Gathered, isToWorker, type ToPrimary, WORKER_INDEX_ENV, WORKER_ISOLATION_ENV } from "./protocol.ts";
import { isStoreReply, type StoreReply, workerStore } from "./shared-store.ts";

/** A worker waits this long at most for an agreed head on every chain before it takes connections, ms. */
export const WORKER_READY_WAIT_MS = 10_000;

/** A worker's own config: its store file, and the admin listener on worker 0 only. */
export function workerConfig(config: Config, index: number): Config {
  const store =
    config.store.kind === "sqlite" ? { ...config.store, path: `${config.store.path}.worker-${index}` } : config.store;
  return { ...config, store, admin: index === 0 ? config.admin : undefined };
}

async function main(): Promise<void> {
  const index = Number(process.env[WORKER_INDEX_ENV]);
  const path = process.argv[process.argv.indexOf("--config") + 1];
  if (!Number.isInteger(index) || index < 0 || path === undefined || !process.send)
    throw new Error("a worker is started by the primary (multihome start with server.workers > 1)");
  const send = (message: ToPrimary) => process.connected && process.send!(message);
  const clients = new WeakMap<Socket, string>();
  const isIsolation = process.env[WORKER_ISOLATION_ENV] === "1";
  /** Noisy clients, as the primary tells them: a connection on the wrong side of isolation is sent back through it. */
  const noisy = createNoisyClients();
  /** What worker 0's admin listener asked the primary of the whole gateway, by id (its `/metrics` and overview). */
  const gathered = new Map<number, (value: unknown) => void>();
  let nextGather = 0;
  const gather = <T>(what: Gathered) =>
    new Promise<T>((resolve) => {
      const id = nextGather++;
      gathered.set(id, (value) => {
        gathered.delete(id);
        resolve(value as T);
      });
      send({ type: "gather", id, what });
    });
  let storeReply: ((reply: StoreReply) => void) | undefined;
  const app = await startApp(workerConfig(await loadConfigFile(path), index), {
    // Its clients go to the other workers until it has agreed on a head (or this long has passed).
    readyTimeoutMs: WORKER_READY_WAIT_MS,
    // Its own file for its outbox; everything else through the primary, shared by every worker.
    async openStore(config, logger, clock) {
      const composed = workerStore(
        await openStore(config, logger, clock),
        (call) => process.connected && process.send!(call),
      );
      storeReply = composed.reply;
      return composed.store;
    },
    wholeGateway: { metrics: () => gather<string>("metrics"), overview: () => gather<Overview>("overview") },
    drills: {
      started: (selector, durationMs) => send({ type: "drill", selector, durationMs }),
      stopped: (selector) => send({ type: "drill", selector }),
    },
    listen: false,
    onRateLimited: (socket) => {
      const client = clients.get(socket);
      if (client !== undefined) send({ type: "noisy", client });
    },
    belongsElsewhere: (socket) => {
      const client = clients.get(socket);
      return client !== undefined && belongsElsewhere(isIsolation, noisy.has(client), noisy.any());
    },
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= app.stop().finally(() => process.exit(0));
    return stopping;
  };
  process.on("message", (message: unknown, handle: unknown) => {
    if (isStoreReply(message)) return void storeReply?.(message);
    if (!isToWorker(message)) return;
    if (message.type === "stop") return void stop();
    if (message.type === "head") return void app.engine.siblingHead(message.chainId, message.number);
    if (message.type === "slots") return void app.engine.siblingSlots(message.cluster, message.slots);
    if (message.type === "scrape") {
      const { id } = message;
      if (message.what === "overview")
        return void send({ type: "scraped", id, value: overviewOf(app.engine, Date.now()) });
      return void app.metrics.registry.scrapeJson().then((value) => send({ type: "scraped", id, value }));
    }
    if (message.type === "gathered") return void gathered.get(message.id)?.(message.value);
    if (message.type === "drill") return void applyDrill(app.engine, message.selector, message.durationMs);
    if (message.type === "noisy") return void noisy.mark(message.client, message.until);
    const socket = handle as Socket | undefined;
    if (!socket) return;
    if (stopping) return void socket.destroy();
    const { client } = message;
    if (client !== undefined) {
      clients.set(socket, client);
      socket.once("close", () => send({ type: "closed", client }));
    }
    app.server.accept(socket);
  });
  // The primary went away (killed): nobody hands over connections any more, and nobody would restart this one.
  process.on("disconnect", () => void stop());
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => {});
  app.engine.onHead((chainId, number) => send({ type: "head", chainId, number }));
  app.engine.onSlots((cluster, slots) => send({ type: "slots", cluster, slots }));
  send(app.admin ? { type: "ready", admin: app.admin.url } : { type: "ready" });
}

await main();
