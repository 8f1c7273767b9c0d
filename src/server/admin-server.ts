/**
 * The admin listener: a port of its own (loopback by default, never meant to be public), where every request carries
 * `Authorization: Bearer <admin token>`. It serves the operator's view of the gateway; nothing on it reaches an
 * upstream on a client's behalf, and nothing it answers carries an upstream URL.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../core/ports.ts";
import type { Gateway } from "../engine/gateway.ts";
import { bearerToken } from "./access.ts";

export interface AdminServerOptions {
  host: string;
  port: number;
  token: string;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface RunningAdminServer {
  url: string;
  close(): Promise<void>;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Constant-time comparison of the presented token with the configured one (digests: equal lengths always). */
function tokenMatches(presented: string | undefined, token: string): boolean {
  return presented !== undefined && timingSafeEqual(digest(presented), digest(token));
}

export async function startAdminServer(
  gateway: Gateway,
  options: AdminServerOptions,
  logger: Logger,
): Promise<RunningAdminServer> {
  const send = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
    const bytes = Buffer.from(JSON.stringify(value));
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": bytes.length,
      "cache-control": "no-store",
      ...headers,
    });
    res.end(bytes);
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? "/").split("?", 1)[0]!;
    if (!tokenMatches(bearerToken(req.headers.authorization), options.token)) {
      return send(
        res,
        401,
        { error: { code: "unauthorized", message: "the admin listener needs Authorization: Bearer <admin token>" } },
        { "www-authenticate": 'Bearer realm="multihome-admin"' },
      );
    }
    if (req.method === "GET" && path === "/admin/api/status") return send(res, 200, gateway.readiness());
    send(res, 404, { error: { code: "not_found", message: "no such admin endpoint" } });
  }

  const server: Server = createServer(
    { headersTimeout: options.headersTimeoutMs, requestTimeout: options.requestTimeoutMs },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        logger.error({ err: (error as Error).message }, "admin request failed");
        if (!res.headersSent) send(res, 500, { error: { code: "internal", message: "internal error" } });
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
