/**
 * Optional extra baselines: nginx `proxy_pass` and haproxy in front of the same anvil node, each with one worker and
 * keep-alive to the upstream. Used only when already installed — the benchmark never installs them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { signalPid, stopProcess } from "./server-process.ts";

export interface ExternalProxy {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 50;
const STOP_TIMEOUT_MS = 10_000;

/** The binary's path when installed (sbin included: Debian puts nginx and haproxy there). */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/** Polls until the proxy answers the JSON-RPC body, or fails after READY_TIMEOUT_MS. */
async function waitAnswering(url: string, body: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(1_000),
      });
      await res.text();
      if (res.status === 200) return;
    } catch {}
    await delay(READY_POLL_MS);
  }
  throw new Error(`${name} did not answer within ${READY_TIMEOUT_MS} ms`);
}

async function startProcess(
  name: string,
  binary: string,
  args: string[],
  url: string,
  body: string,
): Promise<ExternalProxy> {
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  child.on("error", () => {}); // a failed spawn shows up as no answer, then a clear error below
  child.stderr.resume();
  const stop = () => stopProcess(child, STOP_TIMEOUT_MS, () => signalPid(child, "SIGTERM"));
  try {
    await waitAnswering(url, body, child, name);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid: child.pid!, stop };
}

export async function startNginx(binary: string, target: string, workDir: string, body: string) {
  const dir = join(workDir, "nginx");
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const port = await freePort();
  const upstream = new URL(target).host;
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  upstream anvil { server ${upstream}; keepalive 32; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://anvil;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  return startProcess(
    "nginx",
    binary,
    ["-p", dir, "-e", `${dir}/error.log`, "-c", conf],
    `http://127.0.0.1:${port}/`,
    body,
  );
}

export async function startHaproxy(binary: string, target: string, workDir: string, body: string) {
  const dir = join(workDir, "haproxy");
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const upstream = new URL(target).host;
  const conf = join(dir, "haproxy.cfg");
  writeFileSync(
    conf,
    `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend bench
  bind 127.0.0.1:${port}
  default_backend anvil
backend anvil
  server anvil ${upstream}
`,
  );
  return startProcess("haproxy", binary, ["-db", "-f", conf], `http://127.0.0.1:${port}/`, body);
}
