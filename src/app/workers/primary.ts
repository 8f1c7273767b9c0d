/**
 * `server.workers` > 1: this process is the primary. It holds the one listening socket (the front door: connection
 * caps counted here, so they hold across workers) and forks the workers (worker-main.ts), each a whole gateway without
 * a listener of its own. Every accepted connection is handed to a worker over IPC — all of one client's to the same
 * worker (assign.ts), a noisy client's to a worker of its own — and the worker reports when it closes. A worker that
 * dies is forked again with the same index (so it reopens its own store and rebroadcasts what it recorded); until it is
 * back, its clients go to the next worker.
 */
import cluster, { type Worker } from "node:cluster";
import { once } from "node:events";
import type { AddressInfo, Socket } from "node:net";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../core/ports.ts";
import { noopMetrics } from "../../core/ports.ts";
import { trustedProxyCheck } from "../../server/access.ts";
import { createFrontDoor } from "../../server/front-door.ts";
import { createLogger } from "../../telemetry/logger.ts";
import { aggregateMetrics } from "../../telemetry/metrics-aggregate.ts";
import { openStore, upstreamSecrets } from "../app.ts";
import { NOISY_CLIENT_CONNECTIONS, NOISY_CLIENT_MEMORY_MS, planWorkers, workerFor } from "./assign.ts";
import { isToPrimary, type ToWorker, WORKER_INDEX_ENV } from "./protocol.ts";
import { hostStore, isStoreCall } from "./shared-store.ts";

/** A worker that dies is forked again after this long, doubled for each death in a row (up to the maximum), ms. */
export const WORKER_RESTART_DELAY_MS = 100;
export const WORKER_RESTART_MAX_DELAY_MS = 5_000;
/** How long the primary waits for each worker's metrics when the gateway is scraped, ms. */
export const WORKER_SCRAPE_TIMEOUT_MS = 2_000;
/** How long a worker may take to say it is ready, ms. */
export const WORKER_START_TIMEOUT_MS = 60_000;

export interface RunningPrimary {
  url: string;
  port: number;
  /** The admin listener's URL (worker 0 runs it), when `admin` is configured. */
  adminUrl(): string | undefined;
  /** Process ids of the workers now running, by index (undefined while one is being forked again). */
  workerPids(): (number | undefined)[];
  stop(): Promise<void>;
}

/** `server.workers` as a count: "auto" is one per CPU the process may use. */
export function workerCount(setting: number | "auto"): number {
  return setting === "auto" ? availableParallelism() : setting;
}

interface Slot {
  worker: Worker | undefined;
  ready: boolean;
  /** Connections handed to this worker and not reported closed, by client. */
  clients: Map<string, number>;
  /** Deaths in a row, for the restart delay. */
  deaths: number;
}

export async function startPrimary(
  config: Config,
  configPath: string,
  count: number,
  logger: Logger = createLogger({ level: config.log.level, secrets: upstreamSecrets(config) }),
): Promise<RunningPrimary> {
  // Built (dist/) the workers run worker-main.js, from source worker-main.ts; a test runner's own flags stay behind.
  const entry = new URL(`./worker-main${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url);
  cluster.setupPrimary({
    exec: fileURLToPath(entry),
    args: ["--config", configPath],
    execArgv: process.execArgv.filter((arg) => !arg.startsWith("--test")),
  });
  const plan = planWorkers(count);
  // The store every worker shares (all but each worker's outbox): opened here, answered over IPC.
  const shared = await openStore(config, logger);
  const slots: Slot[] = Array.from({ length: count }, () => ({
    worker: undefined,
    ready: false,
    clients: new Map(),
    deaths: 0,
  }));
  const noisyUntil = new Map<string, number>();
  let stopping = false;
  let adminUrl: string | undefined;
  let turn = 0;

  const door = createFrontDoor(
    { ...config.server, isTrustedProxy: trustedProxyCheck(config.server.trustedProxies) },
    noopMetrics,
    (socket, client) => handOver(socket, client),
    false,
  );

  function handOver(socket: Socket, client: string | undefined): void {
    const noisy =
      client !== undefined &&
      (door.connectionsOf(client) >= NOISY_CLIENT_CONNECTIONS || (noisyUntil.get(client) ?? 0) > Date.now());
    const index = workerFor(client, plan, noisy, (i) => slots[i]!.ready, turn++);
    if (index === undefined) {
      if (client !== undefined) door.closed(client);
      return void socket.destroy();
    }
    const slot = slots[index]!;
    if (client !== undefined) slot.clients.set(client, (slot.clients.get(client) ?? 0) + 1);
    const message: ToWorker = client === undefined ? { type: "connection" } : { type: "connection", client };
    slot.worker!.send(message, socket, { keepOpen: false }, (error) => {
      if (!error) return;
      socket.destroy();
      if (client !== undefined) release(slot, client);
    });
  }

  /** The highest head any worker agreed on, per chain: told to every other worker when it rises. */
  const heads = new Map<number, number>();
  function relayHead(from: number, chainId: number, number: number): void {
    if (number <= (heads.get(chainId) ?? -1)) return;
    heads.set(chainId, number);
    for (const [index, slot] of slots.entries())
      if (index !== from && slot.ready) slot.worker!.send({ type: "head", chainId, number } satisfies ToWorker);
  }

  /** Scrapes in progress: each worker's answer, by scrape id. */
  const scrapes = new Map<number, (index: number, metrics: object[]) => void>();
  let nextScrape = 0;
  /** Every serving worker's metrics, aggregated (a worker that does not answer in time is left out). */
  async function gatherMetrics(): Promise<string> {
    const id = nextScrape++;
    const serving = slots.flatMap((slot, index) => (slot.ready ? [index] : []));
    const answers = new Map<number, object[]>();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, WORKER_SCRAPE_TIMEOUT_MS);
      scrapes.set(id, (index, metrics) => {
        answers.set(index, metrics);
        if (answers.size < serving.length) return;
        clearTimeout(timer);
        resolve();
      });
      for (const index of serving) slots[index]!.worker!.send({ type: "scrape", id } satisfies ToWorker);
    });
    scrapes.delete(id);
    return (await aggregateMetrics([...answers.values()])).text;
  }

  function release(slot: Slot, client: string): void {
    const open = slot.clients.get(client) ?? 0;
    if (open <= 0) return;
    if (open === 1) slot.clients.delete(client);
    else slot.clients.set(client, open - 1);
    door.closed(client);
  }

  function fork(index: number): Worker {
    const slot = slots[index]!;
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    slot.worker = worker;
    slot.ready = false;
    worker.on("message", (message: unknown) => {
      if (isStoreCall(message))
        return void hostStore(shared, message).then((reply) => worker.isConnected() && worker.send(reply));
      if (!isToPrimary(message)) return;
      if (message.type === "ready") {
        if (message.admin) adminUrl = message.admin;
        slot.ready = true;
        slot.deaths = 0;
        // A worker forked again catches up with the heads its siblings served before it serves anyone.
        for (const [chainId, number] of heads) worker.send({ type: "head", chainId, number } satisfies ToWorker);
      } else if (message.type === "closed") release(slot, message.client);
      else if (message.type === "noisy") noisyUntil.set(message.client, Date.now() + NOISY_CLIENT_MEMORY_MS);
      else if (message.type === "head") relayHead(index, message.chainId, message.number);
      else if (message.type === "scraped") scrapes.get(message.id)?.(index, message.metrics);
      else if (message.type === "drill") {
        for (const [other, s] of slots.entries())
          if (other !== index && s.ready) s.worker!.send({ ...message } satisfies ToWorker);
      } else
        void gatherMetrics().then((text) => worker.send({ type: "metrics", id: message.id, text } satisfies ToWorker));
    });
    worker.on("exit", (code, signal) => {
      slot.ready = false;
      slot.worker = undefined;
      // Its connections died with it.
      for (const [client, open] of slot.clients) for (let i = 0; i < open; i++) door.closed(client);
      slot.clients.clear();
      if (stopping) return;
      const delay = Math.min(WORKER_RESTART_MAX_DELAY_MS, WORKER_RESTART_DELAY_MS * 2 ** slot.deaths++);
      logger.warn({ worker: index, pid: worker.process.pid, code, signal, restartInMs: delay }, "worker exited");
      setTimeout(() => !stopping && fork(index), delay);
    });
    return worker;
  }

  await Promise.all(
    slots.map(async (_, index) => {
      const worker = fork(index);
      const ready = new Promise<void>((resolve) =>
        worker.on("message", (m: unknown) => isToPrimary(m) && m.type === "ready" && resolve()),
      );
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`worker ${index} did not start`)), WORKER_START_TIMEOUT_MS).unref(),
      );
      await Promise.race([
        ready,
        timeout,
        once(worker, "exit").then(() => Promise.reject(new Error(`worker ${index} exited while starting`))),
      ]);
    }),
  );

  await new Promise<void>((resolve, reject) => {
    door.server.once("error", reject);
    door.server.listen(config.server.port, config.server.host, () => resolve());
  });
  const address = door.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  logger.info({ listen: `http://${host}:${address.port}`, workers: count }, "multihome listening with workers");

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    adminUrl: () => adminUrl,
    workerPids: () => slots.map((s) => s.worker?.process.pid),
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => door.server.close(() => resolve()));
      door.dropHeld();
      const exits = slots.flatMap((slot) => {
        const worker = slot.worker;
        if (!worker || worker.isDead()) return [];
        const exited = once(worker, "exit");
        worker.send({ type: "stop" } satisfies ToWorker);
        const kill = setTimeout(() => worker.process.kill("SIGKILL"), config.server.shutdownGraceMs + 5_000);
        return [exited.finally(() => clearTimeout(kill))];
      });
      await Promise.all([closed, ...exits]);
      await shared.close();
    },
  };
}
