/**
 * One anvil process on a free loopback port. The native binary is spawned directly (not the npm `bin.mjs` wrapper),
 * so the pid we hold is anvil's own and a SIGKILL cannot leave an orphaned node behind a dead wrapper.
 */

import { createRequire } from "node:module";
import { setTimeout as delay } from "node:timers/promises";
import { BaseError } from "../core/errors.ts";
import { spawnNodeProcess } from "./process.ts";
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

  const proc = spawnNodeProcess(binary, args, {
    stdin: "ignore",
    stopGraceMs: ANVIL_STOP_GRACE_MS,
    tailChars: OUTPUT_TAIL_CHARS,
  });
  try {
    const port = await proc.waitForLine({ parse: portOf, timeoutMs: ANVIL_START_TIMEOUT_MS, what: "port", signal });
    const url = `http://127.0.0.1:${port}`;
    await waitForChainId(url, chainId, proc.exited, signal);
    const pid = proc.child.pid;
    if (pid === undefined) throw new Error("no pid");
    const onAbort = () => void proc.stop();
    signal?.addEventListener("abort", onAbort, { once: true });
    void proc.exited.then(() => signal?.removeEventListener("abort", onAbort));
    return { url, wsUrl: `ws://127.0.0.1:${port}`, port, pid, stop: proc.stop };
  } catch (error) {
    await proc.stop();
    // Only once both pipes are drained is anvil's last complaint in the tail.
    await withinMs(proc.closed, OUTPUT_DRAIN_TIMEOUT_MS);
    const exitInfo = proc.exitInfo();
    const why = exitInfo !== undefined ? `anvil ${exitInfo}` : errorMessage(error);
    const tail = proc.outputTail() || "(no output)";
    throw new AnvilStartError(`anvil did not start: ${why}\n--- anvil output (tail) ---\n${tail}`, { cause: error });
  }
}

/** The port of anvil's `Listening on 127.0.0.1:PORT` line. */
function portOf(line: string): number | undefined {
  const match = /Listening on 127\.0\.0\.1:(\d+)/.exec(line);
  return match?.[1] ? Number(match[1]) : undefined;
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
