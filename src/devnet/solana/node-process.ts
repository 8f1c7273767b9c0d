/**
 * One devnet Solana node as a child process (node.ts, run by this very node executable): spawned attached, known by
 * its pid, ready once it prints its URL, stopped with SIGTERM and, after a grace, SIGKILL.
 */

import { fileURLToPath } from "node:url";
import { BaseError } from "../../core/errors.ts";
import { spawnNodeProcess } from "../process.ts";
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
  const proc = spawnNodeProcess(process.execPath, args, {
    stdin: "pipe",
    stopGraceMs: SOLANA_NODE_STOP_GRACE_MS,
    // A stopped (SIGSTOP) node only acts on SIGTERM once continued.
    stopAlsoSends: "SIGCONT",
    tailChars: OUTPUT_TAIL_CHARS,
  });
  try {
    // The first `{"url":…}` line on stdout.
    const url = await proc.waitForLine({ parse: urlOf, timeoutMs: SOLANA_NODE_START_TIMEOUT_MS, what: "URL", signal });
    const { exited, hasExited, signal: send, stop } = proc;
    return {
      url,
      port: Number(new URL(url).port),
      pid: proc.child.pid as number,
      exited,
      hasExited,
      signal: send,
      stop,
    };
  } catch (error) {
    await proc.stop();
    const why = proc.exitInfo() ?? (error instanceof Error ? error.message : String(error));
    throw new SolanaNodeStartError(`solana node did not start: ${why}\n--- output (tail) ---\n${proc.outputTail()}`, {
      cause: error,
    });
  }
}

function urlOf(line: string): string | undefined {
  try {
    const value = JSON.parse(line) as { url?: unknown };
    return typeof value.url === "string" ? value.url : undefined;
  } catch {
    return undefined;
  }
}
