/**
 * One server under test in its own process, so it owns a whole event loop and the load driver, the orchestrator and
 * other servers never share it. Started with `fork` and one JSON spec argument; reports `{ type: "ready", urls }`
 * over IPC, answers commands (`setFault`, `takeCounts`, `readiness`, `memory`) and stops on `{ type: "stop" }` or when the
 * parent goes away.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../src/config/schema.ts";
import type { FailureDomain } from "../src/core/domains/domain.ts";
import type { VerificationPolicy } from "../src/core/rpc/methods.ts";
import type { Fault } from "../test/harness/fault-proxy.ts";

export type MultihomeSpec = {
  kind: "multihome";
  chainId: number;
  upstreams: { id: string; url: string; domain: FailureDomain }[];
  /** `verification.methods.eth_getBalance`: stated by every scenario, so none silently measures another mode. */
  balances: VerificationPolicy;
  /** More of `verification.methods` (e.g. `eth_getTransactionReceipt`); `balances` wins for `eth_getBalance`. */
  methods?: Record<string, VerificationPolicy>;
  /**
   * `cache.enabled`. Off unless a scenario says so: the same body repeated would otherwise measure cache hits, not
   * routing and verification.
   */
  cache?: boolean;
  /** `cache.maxBytes`. @default the product default */
  cacheMaxBytes?: number;
  /** `cache.finalityDepth`, in blocks: how far below the head a block is final (cached until evicted). @default the product default */
  finalityDepth?: number;
  /** More of the config (`server` limits, `auth`), merged over the rest (a `server` given here must name host and port). */
  config?: Record<string, unknown>;
  /**
   * `server.workers`: more than one runs this process as the primary (`multihome start` does the same), the workers
   * forked from it; `readiness` and the cache counts are then unavailable. @default 1
   */
  workers?: number;
};

export type ServeSpec =
  | { kind: "bare"; target: string; connections: number }
  | MultihomeSpec
  | { kind: "fault-proxies"; targets: string[] };

export type ServeCommand =
  | { id: number; type: "setFault"; index: number; fault: Fault }
  | { id: number; type: "readiness" }
  /**
   * Fault proxies: JSON-RPC items each proxy received since the last call (only those of `method` when given), then
   * reset.
   */
  | { id: number; type: "takeCounts"; method?: string }
  /**
   * Any server: `process.memoryUsage()` of its process, after a full garbage collection when `gc` is set (the process
   * must then run with `--expose-gc`), so the heap counted is what is retained; Multihome adds its answer cache's own
   * count (`Engine.cacheStats()`) as `cache`. Replies with a {@link MemoryReport}.
   */
  | { id: number; type: "memory"; gc?: boolean }
  /**
   * Any server: starts a CPU profile of its process (`start`), or stops it and writes the `.cpuprofile` to `file`
   * (`stop`): a profile of one phase of a run rather than of the whole process, as `--cpu-prof` would take.
   */
  | { id: number; type: "cpuProfile"; action: "start" }
  | { id: number; type: "cpuProfile"; action: "stop"; file: string }
  | { id: number; type: "stop" };

export type ServeMessage =
  | { type: "ready"; urls: string[] }
  | { type: "failed"; message: string }
  | { type: "reply"; id: number; value?: unknown; error?: string };

export interface MemoryUsage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** The answer cache as Multihome counts it: the bytes it charges against `cache.maxBytes`, and its entries. */
export interface CacheStats {
  bytes: number;
  entries: number;
}

/** What the `memory` command replies: `cache` only from Multihome. */
export interface MemoryReport extends MemoryUsage {
  cache?: CacheStats;
  /** CPU time the process has used so far (user and system), µs: two replies apart say what a phase cost it. */
  cpuUs?: number;
}

function memoryUsage(gc: boolean | undefined): MemoryUsage {
  if (gc) {
    const collect = (globalThis as { gc?: () => void }).gc;
    if (!collect) throw new Error("memory: gc asked for, but the process runs without --expose-gc");
    collect();
  }
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}

function memoryReport(running: Running, gc: boolean | undefined): MemoryReport {
  const usage = memoryUsage(gc);
  const { user, system } = process.cpuUsage();
  // Read after the collection, like the heap: both describe the same moment.
  return { ...usage, ...(running.cacheStats ? { cache: running.cacheStats() } : {}), cpuUs: user + system };
}

let profiler: Session | undefined;

async function cpuProfile(c: Extract<ServeCommand, { type: "cpuProfile" }>): Promise<void> {
  if (c.action === "start") {
    if (profiler) throw new Error("cpuProfile: a profile is already running");
    profiler = new Session();
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
    return;
  }
  if (!profiler) throw new Error("cpuProfile: no profile is running");
  const session = profiler;
  profiler = undefined;
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  writeFileSync(c.file, JSON.stringify(profile));
}

interface Running {
  urls: string[];
  command(c: ServeCommand): Promise<unknown>;
  /** Multihome only. */
  cacheStats?(): CacheStats;
  stop(): Promise<void>;
}

async function start(spec: ServeSpec): Promise<Running> {
  if (spec.kind === "bare") {
    const { startBareProxy } = await import("./bare-proxy.ts");
    const proxy = await startBareProxy({ target: spec.target, connections: spec.connections });
    return { urls: [proxy.url], command: async () => undefined, stop: proxy.stop };
  }
  if (spec.kind === "fault-proxies") {
    const { startFaultProxy } = await import("../test/harness/fault-proxy.ts");
    const proxies: Awaited<ReturnType<typeof startFaultProxy>>[] = [];
    const stop = async () => {
      await Promise.all(proxies.map((p) => p.close()));
    };
    try {
      for (const target of spec.targets) proxies.push(await startFaultProxy({ target }));
    } catch (error) {
      await stop();
      throw error;
    }
    return {
      urls: proxies.map((p) => p.url),
      async command(c) {
        if (c.type === "takeCounts") {
          const counts = proxies.map((p) => {
            const stats = p.stats();
            return c.method === undefined ? stats.requests : (stats.byMethod[c.method] ?? 0);
          });
          for (const p of proxies) p.resetStats();
          return counts;
        }
        if (c.type !== "setFault") return undefined;
        const proxy = proxies[c.index];
        if (!proxy) throw new Error(`no fault proxy #${c.index}`);
        await proxy.setFault(c.fault);
        return undefined;
      },
      stop,
    };
  }
  const { startApp } = await import("../src/app/app.ts");
  const { validateConfig } = await import("../src/config/load.ts");
  const { silentLogger } = await import("../src/core/ports.ts");
  const config = validateConfig({
    server: { host: "127.0.0.1", port: 0 },
    store: { kind: "memory" },
    log: { level: "silent" },
    verification: { methods: { ...spec.methods, eth_getBalance: spec.balances } },
    cache: {
      enabled: spec.cache ?? false,
      ...(spec.cacheMaxBytes !== undefined ? { maxBytes: spec.cacheMaxBytes } : {}),
      ...(spec.finalityDepth !== undefined ? { finalityDepth: spec.finalityDepth } : {}),
    },
    chains: [{ chainId: spec.chainId, upstreams: spec.upstreams }],
    ...spec.config,
  });
  if ((spec.workers ?? 1) > 1) return startWorkers(config, spec.workers!);
  const app = await startApp(config, { logger: silentLogger, readyTimeoutMs: 15_000 });
  const readiness = app.engine.readiness();
  if (!readiness.ready) {
    await app.stop();
    throw new Error(`Multihome not ready: ${JSON.stringify(readiness.chains.map((c) => c.reason))}`);
  }
  return {
    urls: [`${app.server.url}/rpc/${spec.chainId}`],
    async command(c) {
      return c.type === "readiness" ? app.engine.readiness() : undefined;
    },
    cacheStats: () => app.engine.cacheStats(),
    stop: app.stop,
  };
}

/** Multihome as `multihome start` runs it with workers: this process the primary, the config read from a file. */
async function startWorkers(config: Config, count: number): Promise<Running> {
  const { startPrimary } = await import("../src/app/workers/primary.ts");
  const { silentLogger } = await import("../src/core/ports.ts");
  const dir = mkdtempSync(join(tmpdir(), "multihome-bench-workers-"));
  const file = join(dir, "multihome.json");
  writeFileSync(file, JSON.stringify({ ...config, server: { ...config.server, workers: count } }));
  const primary = await startPrimary(config, file, count, silentLogger);
  const chainId = config.chains[0]!.chainId;
  return {
    urls: [`${primary.url}/rpc/${chainId}`],
    command: async () => undefined,
    async stop() {
      await primary.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function send(message: ServeMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "null") as ServeSpec;
  let running: Running;
  try {
    running = await start(spec);
  } catch (error) {
    send({ type: "failed", message: (error as Error).message });
    process.disconnect?.();
    return;
  }
  let stopping: Promise<void> | undefined;
  const stop = () => {
    // Exit explicitly: a lingering handle must not keep a server under test alive (a CPU profile is still written).
    stopping ??= running.stop().finally(() => process.exit(0));
    return stopping;
  };
  // The orchestrator died or closed the channel: nothing may outlive it.
  process.once("disconnect", () => void stop());
  process.on("message", (c: ServeCommand) => {
    if (c.type === "stop") {
      void stop();
      return;
    }
    const answer =
      c.type === "memory"
        ? Promise.resolve().then(() => memoryReport(running, c.gc))
        : c.type === "cpuProfile"
          ? cpuProfile(c)
          : running.command(c);
    answer.then(
      (value) => send({ type: "reply", id: c.id, value }),
      (error: unknown) => send({ type: "reply", id: c.id, error: (error as Error).message }),
    );
  });
  send({ type: "ready", urls: running.urls });
}

await main();
