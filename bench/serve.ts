/**
 * One server under test in its own process, so it owns a whole event loop and the load driver, the orchestrator and
 * other servers never share it. Started with `fork` and one JSON spec argument; reports `{ type: "ready", urls }`
 * over IPC, answers commands (`setFault`, `takeCounts`, `readiness`) and stops on `{ type: "stop" }` or when the parent goes away.
 */
import type { FailureDomain } from "../src/core/domain.ts";
import type { Fault } from "../test/harness/fault-proxy.ts";

export type ServeSpec =
  | { kind: "bare"; target: string; connections: number }
  | {
      kind: "multihome";
      chainId: number;
      upstreams: { id: string; url: string; domain: FailureDomain }[];
      /** `verification.methods.eth_getBalance`: stated by every scenario, so none silently measures the other mode. */
      balances: "proof" | "single";
      /** More of `verification.methods` (e.g. `eth_getTransactionReceipt`); `balances` wins for `eth_getBalance`. */
      methods?: Record<string, "proof" | "quorum" | "single">;
      /**
       * `cache.enabled`. Off unless a scenario says so: the same body repeated would otherwise measure cache hits, not
       * routing and verification.
       */
      cache?: boolean;
    }
  | { kind: "fault-proxies"; targets: string[] };

export type ServeCommand =
  | { id: number; type: "setFault"; index: number; fault: Fault }
  | { id: number; type: "readiness" }
  /** Fault proxies: JSON-RPC items each proxy received since the last call, then reset. */
  | { id: number; type: "takeCounts" }
  | { id: number; type: "stop" };

export type ServeMessage =
  | { type: "ready"; urls: string[] }
  | { type: "failed"; message: string }
  | { type: "reply"; id: number; value?: unknown; error?: string };

interface Running {
  urls: string[];
  command(c: ServeCommand): Promise<unknown>;
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
          const counts = proxies.map((p) => p.stats().requests);
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
  const { silentLogger } = await import("../src/telemetry/logger.ts");
  const config = validateConfig({
    server: { host: "127.0.0.1", port: 0 },
    store: { kind: "memory" },
    log: { level: "silent" },
    verification: { methods: { ...spec.methods, eth_getBalance: spec.balances } },
    cache: { enabled: spec.cache ?? false },
    chains: [{ chainId: spec.chainId, upstreams: spec.upstreams }],
  });
  const app = await startApp(config, { logger: silentLogger, readyTimeoutMs: 15_000 });
  const readiness = app.gateway.readiness();
  if (!readiness.ready) {
    await app.stop();
    throw new Error(`Multihome not ready: ${JSON.stringify(readiness.chains.map((c) => c.reason))}`);
  }
  return {
    urls: [`${app.server.url}/rpc/${spec.chainId}`],
    async command(c) {
      return c.type === "readiness" ? app.gateway.readiness() : undefined;
    },
    stop: app.stop,
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
    running.command(c).then(
      (value) => send({ type: "reply", id: c.id, value }),
      (error: unknown) => send({ type: "reply", id: c.id, error: (error as Error).message }),
    );
  });
  send({ type: "ready", urls: running.urls });
}

await main();
