/**
 * A devnet node as a child process (anvil.ts, solana/node-process.ts): spawned attached and known by its pid, both
 * pipes drained for its whole life (a full pipe would block its logging) with the tail of its output kept for error
 * messages, ready once it prints a line that says where it listens, stopped with SIGTERM and, after a grace, SIGKILL.
 */

import { type ChildProcess, spawn } from "node:child_process";

/** What `spawnNodeProcess` takes. */
export interface NodeProcessOptions {
  /** `"pipe"`: the child's stdin is ours, so it can exit when this process dies and the pipe closes. */
  stdin: "ignore" | "pipe";
  /** How long `stop()` waits after SIGTERM before it sends SIGKILL, in milliseconds. */
  stopGraceMs: number;
  /** Also sent right after SIGTERM: `SIGCONT` for a process that may be stopped (it only acts on SIGTERM once continued). */
  stopAlsoSends?: NodeJS.Signals;
  /** How much of the output (stdout and stderr together) is kept for error messages, in characters. */
  tailChars: number;
}

/** What `waitForLine` takes. */
export interface WaitForLineOptions<T> {
  /** The value a complete stdout line announces, or undefined for any other line. */
  parse: (line: string) => T | undefined;
  /** How long the line may take, in milliseconds. */
  timeoutMs: number;
  /** What the line tells, for the timeout's message: `no ${what} printed within N ms`. */
  what: string;
  /** Aborting rejects with its reason. */
  signal: AbortSignal | undefined;
}

/** A spawned child process, watched from spawn to exit. */
export interface NodeProcessHandle {
  child: ChildProcess;
  /** Resolves once the process has exited, however, or could not be spawned. */
  exited: Promise<void>;
  /** Resolves after `exited` once both pipes are drained (only then is its last complaint in the tail). */
  closed: Promise<void>;
  /** How it ended (`exited with code 1`, `killed by SIGTERM`, `could not be spawned: …`); undefined while it runs. */
  exitInfo(): string | undefined;
  hasExited(): boolean;
  /** The last characters of its output, trimmed ("" when it printed nothing). */
  outputTail(): string;
  /** Sends a signal by pid; a no-op once it has exited. */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, SIGKILL after the grace; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** Resolves with what the first matching stdout line announces; rejects on a timeout, an abort or an early exit. */
  waitForLine<T>(options: WaitForLineOptions<T>): Promise<T>;
}

/** Spawns `command` with stdout and stderr piped and starts watching it; never throws (a spawn failure is an exit). */
export function spawnNodeProcess(command: string, args: string[], options: NodeProcessOptions): NodeProcessHandle {
  const child = spawn(command, args, { stdio: [options.stdin, "pipe", "pipe"], detached: false });
  let tail = "";
  const keep = (chunk: string) => {
    tail = (tail + chunk).slice(-options.tailChars);
  };
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, sig) => {
      exitInfo = sig ? `killed by ${sig}` : `exited with code ${code}`;
      resolve();
    });
    // A spawn failure (ENOENT, EACCES) emits `error` and never `exit`.
    child.once("error", (error) => {
      exitInfo = `could not be spawned: ${error.message}`;
      resolve();
    });
  });
  // `close` comes after `exit` once both pipes are drained.
  const closed = new Promise<void>((resolve) => {
    child.once("close", () => resolve());
    child.once("error", () => resolve());
  });
  const hasExited = () => exitInfo !== undefined;
  const send = (sig: NodeJS.Signals) => {
    if (hasExited() || child.pid === undefined) return;
    try {
      process.kill(child.pid, sig);
    } catch {
      // ESRCH: it exited between the check and the signal.
    }
  };
  let stopping: Promise<void> | undefined;
  return {
    child,
    exited,
    closed,
    exitInfo: () => exitInfo,
    hasExited,
    outputTail: () => tail.trim(),
    signal: send,
    stop() {
      stopping ??= stopChild(send, exited, hasExited, options);
      return stopping;
    },
    waitForLine: (wait) => waitForLine(child, exited, wait),
  };
}

async function stopChild(
  send: (sig: NodeJS.Signals) => void,
  exited: Promise<void>,
  hasExited: () => boolean,
  options: NodeProcessOptions,
): Promise<void> {
  if (hasExited()) return;
  send("SIGTERM");
  if (options.stopAlsoSends) send(options.stopAlsoSends);
  const timer = setTimeout(() => send("SIGKILL"), options.stopGraceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

function waitForLine<T>(child: ChildProcess, exited: Promise<void>, options: WaitForLineOptions<T>): Promise<T> {
  const { parse, timeoutMs, what, signal } = options;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let partial = "";
    const timer = setTimeout(() => finish(new Error(`no ${what} printed within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => finish(signal?.reason ?? new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    const onData = (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const value = parse(line);
        if (value !== undefined) return finish(undefined, value);
      }
    };
    child.stdout?.on("data", onData);
    function finish(error: unknown, value?: T) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      child.stdout?.off("data", onData);
      partial = "";
      if (value !== undefined) resolve(value);
      else reject(error);
    }
    void exited.then(() => finish(new Error("exited before listening")));
  });
}
