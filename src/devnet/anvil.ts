/**
 * One anvil process on a free loopback port. The native binary is spawned directly (not the npm `bin.mjs` wrapper),
 * so the pid we hold is anvil's own and a SIGKILL cannot leave an orphaned node behind a dead wrapper.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { setTimeout as delay } from "node:timers/promises";
import { BaseError } from "../core/errors.ts";
import { createRpcClient, errorMessage } from "./rpc.ts";

/** How long anvil gets to print its port and answer `eth_chainId`, in milliseconds. */
export const ANVIL_START_TIMEOUT_MS = 10_000;
/** How long `stop()` waits after SIGTERM before it sends SIGKILL, in milliseconds. */
export const ANVIL_STOP_GRACE_MS = 2_000;
/** Pause between `eth_chainId` probes while anvil is coming up, in milliseconds. */
const READY_PROBE_INTERVAL_MS = 20;
/** How long a failed start waits for anvil's last output after it exited, in milliseconds. */
const OUTPUT_DRAIN_TIMEOUT_MS = 500;
/** How much of anvil's output is kept for error messages, in characters. */
const OUTPUT_TAIL_CHARS = 2_000;

export interface AnvilOptions {
  /** Chain id. @default 31337 */
  chainId?: number;
  /** Genesis block timestamp, in seconds since the Unix epoch. @default anvil's own (wall clock) */
  timestamp?: number;
  /** Start with `--no-mining`: blocks only come from `evm_mine`. @default true */
  noMining?: boolean;
  /** More anvil arguments, appended last. */
  extraArgs?: string[];
  /** Aborting stops the process (during start-up: start-up rejects). */
  signal?: AbortSignal;
  /** Path of the anvil executable. @default the native binary of `@foundry-rs/anvil` for this platform */
  binary?: string;
}

export interface AnvilProcess {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `ws://127.0.0.1:PORT` */
  wsUrl: string;
  port: number;
  pid: number;
  /** SIGTERM by pid, SIGKILL after {@link ANVIL_STOP_GRACE_MS}; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/** anvil could not be started; the message carries the tail of its output. */
export class AnvilStartError extends BaseError<"anvil_start"> {
  override readonly name = "AnvilStartError";
  readonly code = "anvil_start";
}

const require = createRequire(import.meta.url);

/** The native anvil executable shipped by `@foundry-rs/anvil` for this platform. */
export function anvilBinaryPath(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const name = process.platform === "win32" ? "anvil.exe" : "anvil";
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    return require.resolve(`${pkg}/bin/${name}`);
  } catch (error) {
    throw new AnvilStartError(`anvil binary not found: install @foundry-rs/anvil (looked for ${pkg})`, {
      cause: error,
    });
  }
}

export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilProcess> {
  const { chainId = 31337, timestamp, noMining = true, extraArgs = [], signal } = options;
  signal?.throwIfAborted();
  const binary = options.binary ?? anvilBinaryPath();
  // `--port 0` lets anvil bind a free port itself and print it: no window in which another process takes it.
  const args = ["--host", "127.0.0.1", "--port", "0", "--chain-id", String(chainId)];
  if (timestamp !== undefined) args.push("--timestamp", String(timestamp));
  if (noMining) args.push("--no-mining");
  args.push(...extraArgs);

  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  const output = createOutputTail();
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

  // `close` comes after `exit` once both pipes are drained: only then is anvil's last complaint in the tail.
  const closed = new Promise<void>((resolve) => {
    child.once("close", () => resolve());
    child.once("error", () => resolve());
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= stopChild(child, exited, () => exitInfo !== undefined);
    return stopping;
  };

  try {
    const port = await waitForPort(child, output, exited, signal);
    const url = `http://127.0.0.1:${port}`;
    await waitForChainId(url, chainId, exited, signal);
    const pid = child.pid;
    if (pid === undefined) throw new Error("no pid");
    const onAbort = () => void stop();
    signal?.addEventListener("abort", onAbort, { once: true });
    void exited.then(() => signal?.removeEventListener("abort", onAbort));
    return { url, wsUrl: `ws://127.0.0.1:${port}`, port, pid, stop };
  } catch (error) {
    await stop();
    await withinMs(closed, OUTPUT_DRAIN_TIMEOUT_MS);
    const why = exitInfo !== undefined ? `anvil ${exitInfo}` : errorMessage(error);
    throw new AnvilStartError(`anvil did not start: ${why}\n--- anvil output (tail) ---\n${output.tail()}`, {
      cause: error,
    });
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>, hasExited: () => boolean): Promise<void> {
  if (hasExited() || child.pid === undefined) return;
  const pid = child.pid;
  const signalPid = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // ESRCH: it exited between our check and the signal.
    }
  };
  signalPid("SIGTERM");
  const timer = setTimeout(() => signalPid("SIGKILL"), ANVIL_STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

interface OutputTail {
  /** Everything seen on stdout until the port was found (then no longer kept). */
  stdoutHead: () => string;
  append(stream: "stdout" | "stderr", chunk: string): void;
  tail(): string;
  stopKeepingHead(): void;
}

function createOutputTail(): OutputTail {
  let head = "";
  let keepHead = true;
  let tail = "";
  return {
    stdoutHead: () => head,
    append(stream, chunk) {
      if (stream === "stdout" && keepHead) head += chunk;
      tail = (tail + chunk).slice(-OUTPUT_TAIL_CHARS);
    },
    tail: () => tail.trim() || "(no output)",
    stopKeepingHead() {
      keepHead = false;
      head = "";
    },
  };
}

/** Resolves with the port anvil prints (`Listening on 127.0.0.1:PORT`). Keeps draining output afterwards. */
function waitForPort(
  child: ChildProcess,
  output: OutputTail,
  exited: Promise<void>,
  signal: AbortSignal | undefined,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(
      () => finish(new Error(`no port printed within ${ANVIL_START_TIMEOUT_MS} ms`)),
      ANVIL_START_TIMEOUT_MS,
    );
    const onAbort = () => finish(signal?.reason ?? new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    function finish(error: unknown, port?: number) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      output.stopKeepingHead();
      if (port !== undefined) resolve(port);
      else reject(error);
    }
    // Both pipes are drained for the whole life of the process: a full pipe would block anvil's logging.
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      output.append("stdout", chunk);
      if (settled) return;
      const match = /Listening on 127\.0\.0\.1:(\d+)/.exec(output.stdoutHead());
      if (match?.[1]) finish(undefined, Number(match[1]));
    });
    child.stderr?.on("data", (chunk: string) => output.append("stderr", chunk));
    void exited.then(() => finish(new Error("exited before listening")));
  });
}

async function waitForChainId(
  url: string,
  chainId: number,
  exited: Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = AbortSignal.timeout(ANVIL_START_TIMEOUT_MS);
  const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const rpc = createRpcClient(url, { timeoutMs: ANVIL_START_TIMEOUT_MS });
  let lastError: unknown;
  while (!combined.aborted && !hasExited) {
    try {
      const answer = await rpc.call<string>("eth_chainId", [], combined);
      if (Number(answer) !== chainId) throw new Error(`eth_chainId answered ${answer}, expected ${chainId}`);
      return;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("eth_chainId answered")) throw error;
      lastError = error;
    }
    await delay(READY_PROBE_INTERVAL_MS, undefined, { signal: combined }).catch(() => {});
  }
  if (hasExited) throw new Error("exited before answering eth_chainId");
  throw new Error(`no eth_chainId answer within ${ANVIL_START_TIMEOUT_MS} ms: ${errorMessage(lastError)}`);
}

/** Waits for `promise`, but no longer than `ms`. */
async function withinMs(promise: Promise<void>, ms: number): Promise<void> {
  const timer = new AbortController();
  try {
    await Promise.race([promise, delay(ms, undefined, { signal: timer.signal }).catch(() => {})]);
  } finally {
    timer.abort();
  }
}
