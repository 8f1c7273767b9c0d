/**
 * A real redis-server for tests, on a free loopback port, stopped by its own pid. When the binary is missing and the
 * tests run as root, the Debian package is installed; otherwise the error names the command that installs it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { waitFor } from "./wait.ts";

const INSTALL = "apt-get install -y redis-server";
const CANDIDATES = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"];

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  /** SIGKILL, as a crash would; `start()` again brings it back on the same port. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function findRedis(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p));
}

function redisBinary(): string {
  const found = findRedis();
  if (found) return found;
  if (process.getuid?.() === 0) {
    execFileSync("apt-get", ["update", "-qq"], { stdio: "ignore" });
    execFileSync("apt-get", ["install", "-y", "-qq", "redis-server"], {
      stdio: "ignore",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    const installed = findRedis();
    if (installed) return installed;
  }
  throw new Error(`redis-server is not installed; install it with: ${INSTALL}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("error", () => done(false));
    socket.once("data", (d) => done(d.toString().startsWith("+PONG")));
    socket.connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
  });
}

export async function startRedis(): Promise<RedisServer> {
  const binary = redisBinary();
  const port = await freePort();
  let child: ChildProcess | undefined;
  const exited = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
  const start = async () => {
    child = spawn(
      binary,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
      { stdio: "ignore" },
    );
    await waitFor(() => answersPing(port), { timeoutMs: 10_000, what: "redis-server to answer PING" });
  };
  const signal = async (name: NodeJS.Signals) => {
    const wait = exited();
    child?.kill(name);
    await wait;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child!.pid!;
    },
    kill: () => signal("SIGKILL"),
    start,
    stop: () => signal("SIGTERM"),
  };
}
