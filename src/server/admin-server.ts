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

/** Largest admin request body, bytes. */
export const ADMIN_MAX_BODY_BYTES = 65_536;

export interface AdminServerOptions {
  host: string;
  port: number;
  token: string;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

/** An admin route: answers with a status and a JSON value, or undefined to fall through to 404. */
export type AdminRoute = (
  req: IncomingMessage,
  path: string,
  body: () => Promise<unknown>,
) => Promise<{ status: number; body: unknown } | undefined>;

export interface RunningAdminServer {
  url: string;
  close(): Promise<void>;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Constant-time comparison of the presented token with the configured one (digests: equal lengths always). */
export function tokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), digest(token));
}

function bearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return match?.[1];
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > ADMIN_MAX_BODY_BYTES) {
        req.destroy();
        reject(new RangeError(`admin request body over ${ADMIN_MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(new SyntaxError("admin request body is not JSON"));
      }
    });
    req.once("error", reject);
  });
}

export async function startAdminServer(
  gateway: Gateway,
  options: AdminServerOptions,
  logger: Logger,
  routes: AdminRoute[] = [],
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

  const builtIn: AdminRoute = async (req, path) => {
    if (req.method === "GET" && path === "/admin/api/status") return { status: 200, body: gateway.readiness() };
    return undefined;
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? "/").split("?", 1)[0]!;
    if (!tokenMatches(bearer(req), options.token)) {
      return send(
        res,
        401,
        { error: { code: "unauthorized", message: "the admin listener needs Authorization: Bearer <admin token>" } },
        { "www-authenticate": 'Bearer realm="multihome-admin"' },
      );
    }
    for (const route of [builtIn, ...routes]) {
      let answer: Awaited<ReturnType<AdminRoute>>;
      try {
        answer = await route(req, path, () => readJson(req));
      } catch (error) {
        if (error instanceof RangeError || error instanceof SyntaxError)
          return send(res, 400, { error: { code: "invalid_request", message: error.message } });
        throw error;
      }
      if (answer) return send(res, answer.status, answer.body);
    }
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
