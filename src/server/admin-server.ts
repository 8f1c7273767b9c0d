/**
 * The admin listener: a port of its own (loopback by default, never meant to be public), where every request carries
 * `Authorization: Bearer <admin token>`. It serves the operator's view of the gateway; nothing on it reaches an
 * upstream on a client's behalf, and nothing it answers carries an upstream URL.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../core/ports.ts";
import type { Engine } from "../engine/engine.ts";
import { bearerToken } from "./access.ts";
import { handleAdminApi, type Overview, overviewOf } from "./admin-api.ts";

export interface AdminServerOptions {
  host: string;
  port: number;
  token: string;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Served as `GET /metrics` (Prometheus text): the gateway's own registry, scraped once per request. */
  registry?: { contentType: string; scrape(): Promise<string> };
  /** Served as `GET /admin/api/overview` in place of this engine's own (a worker's: the whole gateway's). */
  overview?(): Promise<Overview>;
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

/** The dashboard's static files (src/dashboard/): they carry no data, so they are served without the token. */
const DASHBOARD_FILES: Record<string, { file: string; type: string }> = {
  "/dashboard": { file: "index.html", type: "text/html; charset=utf-8" },
  "/dashboard/dashboard.js": { file: "dashboard.js", type: "text/javascript; charset=utf-8" },
  "/dashboard/dashboard.css": { file: "dashboard.css", type: "text/css; charset=utf-8" },
  "/dashboard/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
};
// The first URL carries the token: no referrer may repeat it, and nothing but the page's own files may run or load.
const DASHBOARD_HEADERS = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

async function loadDashboard(): Promise<Map<string, { type: string; body: Buffer }>> {
  const dir = new URL("../dashboard/", import.meta.url);
  const entries = Object.entries(DASHBOARD_FILES).map(
    async ([route, { file, type }]) => [route, { type, body: await readFile(new URL(file, dir)) }] as const,
  );
  return new Map(await Promise.all(entries));
}

export async function startAdminServer(
  engine: Engine,
  options: AdminServerOptions,
  logger: Logger,
): Promise<RunningAdminServer> {
  const dashboard = await loadDashboard();
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
    const asset = req.method === "GET" || req.method === "HEAD" ? dashboard.get(path) : undefined;
    if (asset) {
      res.writeHead(200, { ...DASHBOARD_HEADERS, "content-type": asset.type, "content-length": asset.body.length });
      return void res.end(req.method === "HEAD" ? undefined : asset.body);
    }
    if (!tokenMatches(bearerToken(req.headers.authorization), options.token)) {
      return send(
        res,
        401,
        { error: { code: "unauthorized", message: "the admin listener needs Authorization: Bearer <admin token>" } },
        { "www-authenticate": 'Bearer realm="multihome-admin"' },
      );
    }
    if (req.method === "GET" && path === "/admin/api/status") return send(res, 200, engine.readiness());
    if (req.method === "GET" && path === "/metrics" && options.registry) {
      const text = Buffer.from(await options.registry.scrape());
      res.writeHead(200, {
        "content-type": options.registry.contentType,
        "content-length": text.length,
        "cache-control": "no-store",
      });
      return void res.end(text);
    }
    const overview = options.overview ?? (async () => overviewOf(engine, Date.now()));
    if (await handleAdminApi(engine, overview, req, res, path, send)) return;
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
