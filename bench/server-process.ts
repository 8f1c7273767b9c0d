/** Starting and stopping one `bench/serve.ts` process, by its pid, with bounded waits. */
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import type { ServeCommand, ServeMessage, ServeSpec } from "./serve.ts";

export interface ServerProcess {
  urls: string[];
  pid: number;
  command(c: DistributiveOmit<ServeCommand, "id">): Promise<unknown>;
  stop(): Promise<void>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const START_TIMEOUT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;

/** Signals one process by its pid; a process that already exited is not an error. */
export function signalPid(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    // ESRCH: it exited between the check and the signal.
  }
}

export async function stopProcess(child: ChildProcess, timeoutMs: number, ask: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, "exit");
  ask();
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) signalPid(child, "SIGKILL");
  }, timeoutMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `root`: the checkout whose `bench/serve.ts` (and so whose Multihome) is started. @default this one
 */
export async function startServerProcess(
  spec: ServeSpec,
  execArgv: string[] = [],
  root: string = join(import.meta.dirname, ".."),
): Promise<ServerProcess> {
  const child = fork(join(root, "bench", "serve.ts"), [JSON.stringify(spec)], {
    execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // A failed spawn or a failed IPC send is reported through the calls below; unhandled it would end the run before
  // the other processes are stopped.
  child.on("error", () => {});
  const stop = () =>
    stopProcess(child, STOP_TIMEOUT_MS, () => {
      if (child.connected) child.send({ id: 0, type: "stop" } satisfies ServeCommand);
      else signalPid(child, "SIGTERM");
    });
  try {
    const urls = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${spec.kind} did not start in time`)), START_TIMEOUT_MS);
      const onMessage = (m: ServeMessage) => {
        if (m.type === "ready") done(undefined, m.urls);
        else if (m.type === "failed") done(new Error(`${spec.kind} failed to start: ${m.message}`));
      };
      const onExit = (code: number | null) => done(new Error(`${spec.kind} exited with ${code} before it was ready`));
      const onError = (error: Error) => done(new Error(`${spec.kind} could not be started: ${error.message}`));
      const done = (error: Error | undefined, urls?: string[]) => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
        child.off("error", onError);
        if (error) reject(error);
        else resolve(urls!);
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
      child.once("error", onError);
    });
    let nextId = 1;
    return {
      urls,
      pid: child.pid!,
      command(c) {
        const id = nextId++;
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => finish(new Error(`${spec.kind}: ${c.type} timed out`)), COMMAND_TIMEOUT_MS);
          const onMessage = (m: ServeMessage) => {
            if (m.type !== "reply" || m.id !== id) return;
            finish(m.error === undefined ? undefined : new Error(m.error), m.value);
          };
          const finish = (error: Error | undefined, value?: unknown) => {
            clearTimeout(timer);
            child.off("message", onMessage);
            if (error) reject(error);
            else resolve(value);
          };
          child.on("message", onMessage);
          child.send({ ...c, id } as ServeCommand);
        });
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
