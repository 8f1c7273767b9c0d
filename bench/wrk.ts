/**
 * Closed-loop load with wrk: making sure it is installed, running it with post.lua (one body repeated) or cycle.lua
 * (a file of distinct bodies sent in turn), and reading its result line.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { signalPid } from "./server-process.ts";

export interface WrkResult {
  requests: number;
  durationUs: number;
  bytes: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  /** HTTP answers with a status of 400 or more (wrk counts those, not 3xx). */
  non2xx: number;
  timeouts: number;
  /** Answers whose body is not the expected JSON-RPC result (HTTP errors included). */
  wrong: number;
  wrongSample: string;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
  /** Requests per second over the measured duration. */
  rps: number;
  /** wrk's own report, as printed. */
  text: string;
}

/** What wrk sends: one body every time, or each body of a file in turn (see `bench/bodies.ts` for its format). */
export type WrkLoad =
  | {
      body: string;
      /** A substring every correct answer contains. */
      expect: string;
    }
  | {
      /** A file written by `bodiesFileText`: each body carries its own expected answer. */
      bodiesFile: string;
    };

export type WrkOptions = WrkLoad & {
  url: string;
  connections: number;
  durationS: number;
  /** @default 1 */
  threads?: number;
  /** Per-request timeout, s. @default 5 */
  timeoutS?: number;
};

const RESULT = /^BENCH_RESULT (\{.*\})$/m;
const KILL_GRACE_MS = 10_000;

export function wrkVersion(): string | undefined {
  const r = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  if (r.error) return undefined;
  // "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer": keep the name and version.
  return `${r.stdout}${r.stderr}`
    .split("\n")[0]
    ?.replace(/\s*Copyright.*$/, "")
    .trim();
}

/** wrk from Debian: installed when missing and running as root, else a clear instruction. */
export function ensureWrk(log: (line: string) => void): string {
  const found = wrkVersion();
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error("wrk is not installed: run `sudo apt-get install -y wrk`");
  log("wrk is missing: installing it with apt-get");
  for (const args of [["update"], ["install", "-y", "wrk"]]) {
    const r = spawnSync("apt-get", args, { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed; install wrk with: apt-get install -y wrk`);
  }
  const installed = wrkVersion();
  if (!installed) throw new Error("wrk still missing after apt-get install -y wrk");
  return installed;
}

/** Resolves with the exit code (null: killed, or never started), SIGKILLing the process after `timeoutMs`. */
async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  const timer = setTimeout(() => {
    if (child.exitCode === null) signalPid(child, "SIGKILL");
  }, timeoutMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const { url, connections, durationS, threads = 1, timeoutS = 5 } = options;
  const cycling = "bodiesFile" in options;
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${durationS}s`,
    `--timeout`,
    `${timeoutS}s`,
    "--latency",
    "-s",
    join(import.meta.dirname, cycling ? "cycle.lua" : "post.lua"),
    url,
    // Passed to the script's init(): cycle.lua spreads its threads over the list with it.
    ...(cycling ? ["--", String(threads)] : []),
  ];
  const child = spawn("wrk", args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      ...("bodiesFile" in options
        ? { BENCH_BODIES: options.bodiesFile }
        : { BENCH_BODY: options.body, BENCH_EXPECT: options.expect }),
    },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  child.stderr.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  // wrk ends itself after durationS; the bound only catches a wedged run.
  const code = await waitForExit(child, (durationS + timeoutS) * 1000 + KILL_GRACE_MS);
  const m = RESULT.exec(out);
  if (code !== 0 || !m) throw new Error(`wrk ${args.join(" ")} failed (exit ${code}): ${err || out}`);
  const parsed = JSON.parse(m[1]!) as Omit<WrkResult, "rps" | "text">;
  return {
    ...parsed,
    rps: parsed.requests / (parsed.durationUs / 1e6),
    text: `$ wrk ${args.join(" ")}\n${out.replace(RESULT, "").trimEnd()}\n`,
  };
}
