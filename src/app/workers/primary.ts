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
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../core/ports.ts";
import { noopMetrics } from "../../core/ports.ts";
import { COMMITMENTS, type Commitment } from "../../core/solana/slots.ts";
import { trustedProxyCheck } from "../../server/access.ts";
import { createFrontDoor } from "../../server/front-door.ts";
import { createLogger } from "../../telemetry/logger.ts";
import { openStore, upstreamSecrets } from "../app.ts";
import { planWorkers } from "./assign.ts";
import { createGather } from "./gather.ts";
import { createHandover } from "./handover.ts";
import { isToPrimary, type ToPrimary, type ToWorker, WORKER_INDEX_ENV, WORKER_ISOLATION_ENV } from "./protocol.ts";
import { hostStore, isStoreCall } from "./shared-store.ts";
import { broadcast, createSlots } from "./slots.ts";

/** A worker that dies is forked again after this long, doubled for each death in a row (up to the maximum), ms. */
export const WORKER_RESTART_DELAY_MS = 100;
export const WORKER_RESTART_MAX_DELAY_MS = 5_000;
/** On stop, a worker still running this long after `server.shutdownGraceMs` is killed, ms. */
export const WORKER_STOP_MARGIN_MS = 5_000;
/** How long a worker may take to say it is ready, ms. */
export const WORKER_START_TIMEOUT_MS = 60_000;
/**
 * V8's young generation per worker, MiB per semi-space (`--max-semi-space-size`), unless the operator set it: V8 grows
 * it under a burst and keeps the pages, so a worker's RSS stayed 43 % above its level before a burst (8 MiB: 7.6 %;
 * `npm run bench:soak`, docs/benchmarks.md#soak).
 */
export const WORKER_SEMI_SPACE_MB = 8;

/** The Node flags a worker runs with: the primary's (a test runner's own left behind), and the young generation's size. */
export function workerExecArgv(primary: readonly string[], nodeOptions = process.env["NODE_OPTIONS"] ?? ""): string[] {
  const own = primary.filter((arg) => !arg.startsWith("--test"));
  const set = [...own, nodeOptions].some((arg) => arg.includes("--max-semi-space-size"));
  return set ? own : [...own, `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`];
}

export interface RunningPrimary {
  url: string;
  port: number;
  /** The admin listener's URL (worker 0 runs it), when `admin` is configured. */
  adminUrl(): string | undefined;
  /** Process ids of the workers now running, by index (undefined while one is being forked again). */
  workerPids(): (number | undefined)[];
  /** Connections open on each worker, by index: how many of each client's. */
  connections(): Record<string, number>[];
  stop(): Promise<void>;
}

/** Resolves once a newly forked worker says it is ready; rejects when it exits first or takes too long. */
function started(worker: Worker, index: number): Promise<void> {
  const ready = new Promise<void>((resolve) =>
    worker.on("message", (m: unknown) => isToPrimary(m) && m.type === "ready" && resolve()),
  );
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`worker ${index} did not start`)), WORKER_START_TIMEOUT_MS).unref(),
  );
  const exited = once(worker, "exit").then(() => Promise.reject(new Error(`worker ${index} exited while starting`)));
  return Promise.race([ready, timeout, exited]);
}

/** `server.workers` as a count: "auto" is one per CPU the process may use. */
export function workerCount(setting: number | "auto"): number {
  return setting === "auto" ? availableParallelism() : setting;
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
    execArgv: workerExecArgv(process.execArgv),
  });
  const plan = planWorkers(count);
  // The store every worker shares (all but each worker's outbox): opened here, answered over IPC.
  const shared = await openStore(config, logger);
  const slots = createSlots(count);
  const handover = createHandover(() => door, slots, plan);
  const gathering = createGather(slots);
  const door = createFrontDoor(
    { ...config.server, isTrustedProxy: trustedProxyCheck(config.server.trustedProxies) },
    noopMetrics,
    handover.handOver,
    false,
  );
  /** The highest head any worker agreed on, per chain: told to the others when it rises, and to a worker forked again. */
  const heads = new Map<number, number>();
  /** The highest slots any worker agreed on, per Solana cluster and commitment: told as heads are. */
  const clusterSlots = new Map<string, Partial<Record<Commitment, number>>>();
  let stopping = false;
  let adminUrl: string | undefined;

  /** What worker `index` says. */
  function dispatch(index: number, worker: Worker, message: ToPrimary): void {
    const slot = slots[index]!;
    switch (message.type) {
      case "ready":
        if (message.admin) adminUrl = message.admin;
        slot.ready = true;
        slot.deaths = 0;
        for (const [chainId, number] of heads) worker.send({ type: "head", chainId, number } satisfies ToWorker);
        for (const [name, known] of clusterSlots)
          worker.send({ type: "slots", cluster: name, slots: known } satisfies ToWorker);
        return;
      case "closed":
        return void handover.release(slot, message.client);
      case "noisy":
        return void handover.noisy(message.client);
      case "head":
        if (message.number <= (heads.get(message.chainId) ?? -1)) return;
        heads.set(message.chainId, message.number);
        return void broadcast(slots, message, index);
      case "slots": {
        const known = clusterSlots.get(message.cluster) ?? {};
        const risen = COMMITMENTS.filter((c) => (message.slots[c] ?? -1) > (known[c] ?? -1));
        if (risen.length === 0) return;
        for (const c of risen) known[c] = message.slots[c];
        clusterSlots.set(message.cluster, known);
        return void broadcast(slots, { type: "slots", cluster: message.cluster, slots: { ...known } }, index);
      }
      case "drill":
        return void broadcast(slots, message, index);
      case "scraped":
        return void gathering.scraped(message.id, index, message.value);
      case "gather":
        return void gathering
          .gather(message.what)
          .then((value) => worker.send({ type: "gathered", id: message.id, value } satisfies ToWorker));
    }
  }

  /** Forks worker `index`, and again whenever it dies (after a delay that grows with deaths in a row). */
  function fork(index: number): Worker {
    const slot = slots[index]!;
    const worker = cluster.fork({
      [WORKER_INDEX_ENV]: String(index),
      ...(index === plan.isolation ? { [WORKER_ISOLATION_ENV]: "1" } : {}),
    });
    slot.worker = worker;
    slot.ready = false;
    worker.on("message", (message: unknown) => {
      if (isStoreCall(message))
        return void hostStore(shared, message).then((reply) => worker.isConnected() && worker.send(reply));
      if (isToPrimary(message)) dispatch(index, worker, message);
    });
    worker.on("exit", (code, signal) => {
      slot.ready = false;
      slot.worker = undefined;
      handover.releaseAll(slot);
      if (stopping) return;
      const delay = Math.min(WORKER_RESTART_MAX_DELAY_MS, WORKER_RESTART_DELAY_MS * 2 ** slot.deaths++);
      logger.warn({ worker: index, pid: worker.process.pid, code, signal, restartInMs: delay }, "worker exited");
      setTimeout(() => !stopping && fork(index), delay);
    });
    return worker;
  }

  await Promise.all(slots.map((_, index) => started(fork(index), index)));
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
    connections: () => slots.map((s) => Object.fromEntries(s.clients)),
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => door.server.close(() => resolve()));
      door.dropHeld();
      const exits = slots.flatMap((slot) => {
        const worker = slot.worker;
        if (!worker || worker.isDead()) return [];
        const exited = once(worker, "exit");
        worker.send({ type: "stop" } satisfies ToWorker);
        const kill = setTimeout(
          () => worker.process.kill("SIGKILL"),
          config.server.shutdownGraceMs + WORKER_STOP_MARGIN_MS,
        );
        return [exited.finally(() => clearTimeout(kill))];
      });
      await Promise.all([closed, ...exits]);
      await shared.close();
    },
  };
}
