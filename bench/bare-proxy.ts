/**
 * The honest minimal baseline: a node:http server that reads the body, forwards it unchanged with an undici Pool to
 * one upstream and returns the answer. No parsing, no validation, no routing — what any Node JSON-RPC proxy pays
 * at the least, so Multihome's own cost shows as the ratio against it.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Pool } from "undici";

export interface BareProxy {
  url: string;
  stop(): Promise<void>;
}

export interface BareProxyOptions {
  /** Upstream base URL (http). */
  target: string;
  /** Connections in the upstream pool, the same as a Multihome upstream's. @default 32 */
  connections?: number;
  /** Upstream headers/body deadline, ms. @default 5_000 */
  timeoutMs?: number;
}

export async function startBareProxy(options: BareProxyOptions): Promise<BareProxy> {
  const { target, connections = 32, timeoutMs = 5_000 } = options;
  const pool = new Pool(target, { connections });
  const path = new URL(target).pathname;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      pool
        .request({
          method: "POST",
          path,
          headers: { "content-type": "application/json" },
          body: Buffer.concat(chunks),
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        })
        .then(async (answer) => {
          const body = Buffer.from(await answer.body.arrayBuffer());
          res.writeHead(answer.statusCode, { "content-type": "application/json", "content-length": body.length });
          res.end(body);
        })
        .catch(() => {
          if (res.headersSent) res.destroy();
          else {
            res.writeHead(502, { "content-length": 0 });
            res.end();
          }
        });
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      await pool.destroy();
    },
  };
}
