/**
 * One devnet Solana node as a child process (node.ts, run by this very node executable): spawned attached, known by
 * its pid, ready once it prints its URL, stopped with SIGTERM and, after a grace, SIGKILL.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BaseError } from "../../core/errors.ts";
import type { SolanaNodeConfig } from "./node.ts";

/** How long a node gets to print its URL, in milliseconds (loading litesvm and @solana/kit takes most of it). */
export const SOLANA_NODE_START_TIMEOUT_MS = 20_000;
/** How long `stop()` waits after SIGTERM before it sends SIGKILL, in milliseconds. */
export const SOLANA_NODE_STOP_GRACE_MS = 2_000;
/** How much of a node's output is kept for error messages, in characters. */
const OUTPUT_TAIL_CHARS = 2_000;
const NODE_ENTRY = fileURLToPath(new URL("./node.ts", import.meta.url));

/** A node could not be started; the message carries the tail of its output. */
export class SolanaNodeStartError extends BaseError<"solana_node_start"> {
  override readonly name = "SolanaNodeStartError";
  readonly code = "solana_node_start";
}

/** A started node process. */
export interface SolanaNodeProcess {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  pid: number;
  /** Resolves once the process has exited, however. */
  exited: Promise<void>;
  hasExited(): boolean;
  /** Sends a signal by pid; a no-op once it has exited. */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM (and SIGCONT, should it be stopped), SIGKILL after {@link SOLANA_NODE_STOP_GRACE_MS}; idempotent. */
  stop(): Promise<void>;
}

/** What `spawnSolanaNode` takes. */
export interface SpawnSolanaNodeOptions {
  config: SolanaNodeConfig;
  /** 0: a free port. @default 0 */
  port?: number;
  /** Aborting during start-up kills the process and rejects. */
  signal?: AbortSignal;
}

/** Starts node.ts with `process.execPath`; resolves once it listens. */
export async function spawnSolanaNode(options: SpawnSolanaNodeOptions): Promise<SolanaNodeProcess> {
  const { config, port = 0, signal } = options;
  signal?.throwIfAborted();
  const args = [NODE_ENTRY, "--port", String(port), "--config", JSON.stringify(config), "--exit-with-stdin"];
  // Its stdin is ours: should this process die without stopping it, the pipe closes and the node exits.
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"], detached: false });
  let tail = "";
  const keep = (chunk: string) => {
    tail = (tail + chunk).slice(-OUTPUT_TAIL_CHARS);
  };
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, sig) => {
      exitInfo = sig ? `killed by ${sig}` : `exited with code ${code}`;
      resolve();
    });
    child.once("error", (error) => {
      exitInfo = `could not be spawned: ${error.message}`;
      resolve();
    });
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
  const stop = () => {
    stopping ??= stopChild(send, exited, hasExited);
    return stopping;
  };

  try {
    const url = await waitForUrl(child, keep, exited, signal);
    const pid = child.pid as number;
    return { url, port: Number(new URL(url).port), pid, exited, hasExited, signal: send, stop };
  } catch (error) {
    await stop();
    const why = exitInfo ?? (error instanceof Error ? error.message : String(error));
    throw new SolanaNodeStartError(`solana node did not start: ${why}\n--- output (tail) ---\n${tail.trim()}`, {
      cause: error,
    });
  }
}

async function stopChild(
  send: (sig: NodeJS.Signals) => void,
  exited: Promise<void>,
  hasExited: () => boolean,
): Promise<void> {
  if (hasExited()) return;
  send("SIGTERM");
  // A stopped process only acts on SIGTERM once continued.
  send("SIGCONT");
  const timer = setTimeout(() => send("SIGKILL"), SOLANA_NODE_STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the URL of the first `{"url":…}` line on stdout; both pipes are drained for the process's life. */
function waitForUrl(
  child: ChildProcess,
  keep: (chunk: string) => void,
  exited: Promise<void>,
  signal: AbortSignal | undefined,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    let stdout = "";
    const timer = setTimeout(
      () => finish(new Error(`no URL printed within ${SOLANA_NODE_START_TIMEOUT_MS} ms`)),
      SOLANA_NODE_START_TIMEOUT_MS,
    );
    const onAbort = () => finish(signal?.reason ?? new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    function finish(error: unknown, url?: string) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      stdout = "";
      if (url !== undefined) resolve(url);
      else reject(error);
    }
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      keep(chunk);
      if (settled) return;
      stdout += chunk;
      for (const line of stdout.split("\n").slice(0, -1)) {
        const url = urlOf(line);
        if (url) return finish(undefined, url);
      }
    });
    child.stderr?.on("data", keep);
    void exited.then(() => finish(new Error("exited before listening")));
  });
}

function urlOf(line: string): string | undefined {
  try {
    const value = JSON.parse(line) as { url?: unknown };
    return typeof value.url === "string" ? value.url : undefined;
  } catch {
    return undefined;
  }
}
