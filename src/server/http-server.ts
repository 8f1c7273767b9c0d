/**
 * The public listener: JSON-RPC over HTTP and WebSocket (ws-server.ts), health and readiness. Bodies are read with a hard byte cap (a declared
 * Content-Length over the cap is refused before a byte of the body is read, and the connection is closed).
 */
import { isUtf8 } from "node:buffer";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { MultihomeError } from "../core/errors.ts";
import { ADDRESS_HEX, HASH_HEX } from "../core/hex.ts";
import type { Logger } from "../core/ports.ts";
import type { Gateway } from "../engine/gateway.ts";
import { createRequestIds, handleRpcBody, wholeBodyError } from "./rpc-handler.ts";
import { createWsServer, refuseUpgrade, type WsServerOptions } from "./ws-server.ts";

export interface HttpServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  maxBatchItems: number;
  maxJsonDepth: number;
  maxMethodLength: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  shutdownGraceMs: number;
  /** JSON-RPC over WebSocket (`websocket` in the config); messages are limited to `maxBodyBytes`. */
  websocket: Omit<WsServerOptions, "maxPayload" | "limits">;
}

export interface RunningServer {
  url: string;
  port: number;
  /** WebSocket connections open now. */
  webSocketConnections(): number;
  /**
   * Stop accepting, close WebSocket connections (1001), let in-flight requests finish (up to the grace period), then
   * close every socket.
   */
  close(): Promise<void>;
}

const RPC_PATH = /^\/rpc\/(\d{1,16})\/?$/;

const ACCOUNT_PATH = /^\/v1\/chains\/(\d{1,16})\/accounts\/([^/]{1,64})\/?$/;
const TRANSACTION_PATH = /^\/v1\/chains\/(\d{1,16})\/transactions\/([^/]{1,80})\/?$/;

/** The largest `multihome-max-staleness` a client may ask for: 30 days, in seconds. */
export const MAX_STALENESS_SECONDS = 2_592_000;

function parseMaxStaleness(value: string | string[] | undefined): number | undefined | "invalid" {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d{1,7}$/.test(value.trim())) return "invalid";
  const seconds = Number(value.trim());
  return seconds <= MAX_STALENESS_SECONDS ? seconds : "invalid";
}

export async function startHttpServer(
  gateway: Gateway,
  options: HttpServerOptions,
  logger: Logger,
  /** More for `/readyz` to report (e.g. the shared store's state); never a reason to be unready. */
  details: () => Record<string, unknown> = () => ({}),
): Promise<RunningServer> {
  const limits = {
    maxBatchItems: options.maxBatchItems,
    maxDepth: options.maxJsonDepth,
    maxMethodLength: options.maxMethodLength,
  };
  const newRequestId = createRequestIds();
  /** The chain a JSON-RPC path names: `/rpc/{chainId}`, or `/` when exactly one chain is served. */
  const chainIdFor = (path: string): number | undefined => {
    const match = RPC_PATH.exec(path);
    const chains = gateway.chainIds();
    return match ? Number(match[1]) : path === "/" && chains.length === 1 ? chains[0] : undefined;
  };
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const send = (res: ServerResponse, status: number, headers: Record<string, string>, body: string) => {
    if (res.headersSent || res.destroyed) return;
    const bytes = Buffer.from(body);
    res.writeHead(status, { ...headers, "content-length": bytes.length });
    res.end(bytes);
  };
  const sendJson = (res: ServerResponse, status: number, value: unknown) =>
    send(res, status, { "content-type": "application/json" }, JSON.stringify(value));

  function readBody(req: IncomingMessage): Promise<Buffer | "too_large"> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBodyBytes) {
          req.off("data", onData);
          req.pause();
          resolve("too_large");
          return;
        }
        chunks.push(chunk);
      };
      req.on("data", onData);
      req.once("end", () => resolve(Buffer.concat(chunks, size)));
      req.once("error", reject);
    });
  }

  const tooLarge = (res: ServerResponse, requestId: string) => {
    const r = wholeBodyError(
      new MultihomeError("limit_exceeded", `request body too large (limit ${options.maxBodyBytes} bytes)`, {
        data: { reason: "request body too large", limit: options.maxBodyBytes },
      }),
      requestId,
    );
    res.shouldKeepAlive = false;
    send(res, r.status, { ...r.headers, connection: "close" }, r.body);
  };

  async function handleRpc(req: IncomingMessage, res: ServerResponse, chainId: number) {
    const requestId = newRequestId();
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > options.maxBodyBytes) return tooLarge(res, requestId);
    const body = await readBody(req);
    if (body === "too_large") return tooLarge(res, requestId);
    if (!isUtf8(body)) {
      const r = wholeBodyError(new MultihomeError("parse_error", "parse error: body is not valid UTF-8"), requestId);
      return send(res, r.status, r.headers, r.body);
    }
    const text = body.toString("utf8");
    const staleness = parseMaxStaleness(req.headers["multihome-max-staleness"]);
    if (staleness === "invalid") {
      const r = wholeBodyError(
        new MultihomeError(
          "invalid_request",
          `invalid request: multihome-max-staleness must be whole seconds from 0 to ${MAX_STALENESS_SECONDS}`,
        ),
        requestId,
      );
      return send(res, r.status, r.headers, r.body);
    }
    // A client that disconnects does not cancel its call: every call is bounded by routing.requestTimeoutMs anyway,
    // and not tracking disconnects keeps the hot path free of per-request listeners.
    const r = await handleRpcBody(gateway, chainId, text, {
      limits,
      logger,
      requestId,
      ...(staleness !== undefined ? { maxStalenessSeconds: staleness } : {}),
    });
    send(res, r.status, r.headers, r.body);
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? "/";
    const path = url.split("?", 1)[0]!;
    if (req.method === "GET" && path === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (req.method === "GET" && path === "/readyz") {
      const r = gateway.readiness();
      return sendJson(res, r.ready ? 200 : 503, {
        ready: r.ready,
        chains: r.chains.map((c) => ({ ...c, head: c.head ? { number: c.head.number, hash: c.head.hash } : null })),
        ...details(),
      });
    }
    const account = ACCOUNT_PATH.exec(path);
    if (account) {
      if (req.method !== "GET") {
        res.setHeader("allow", "GET");
        return sendJson(res, 405, { error: { code: "method_not_allowed", message: "the account view uses GET" } });
      }
      const [, chain, address] = account;
      if (!ADDRESS_HEX.test(address!)) {
        return sendJson(res, 400, { error: { code: "invalid_params", message: "expected a 20-byte hex address" } });
      }
      const answer = await gateway.account(Number(chain), address!);
      if (!answer)
        return sendJson(res, 404, { error: { code: "unknown_chain", message: `chain ${chain} is not served here` } });
      if (!answer.ok) return sendJson(res, 503, { error: { code: "unavailable", message: answer.message } });
      return sendJson(res, 200, answer.view);
    }
    const transaction = TRANSACTION_PATH.exec(path);
    if (transaction) {
      if (req.method !== "GET") {
        res.setHeader("allow", "GET");
        return sendJson(res, 405, { error: { code: "method_not_allowed", message: "transaction status uses GET" } });
      }
      const [, chain, hash] = transaction;
      if (!gateway.chainIds().includes(Number(chain)))
        return sendJson(res, 404, { error: { code: "unknown_chain", message: `chain ${chain} is not served here` } });
      if (!HASH_HEX.test(hash!))
        return sendJson(res, 400, { error: { code: "invalid_params", message: "expected a 32-byte hex hash" } });
      const status = await gateway.transaction(Number(chain), hash!);
      if (!status)
        return sendJson(res, 404, {
          error: { code: "not_found", message: "no such transaction in the outbox, and none mined with this hash" },
        });
      return sendJson(res, 200, status);
    }
    const chainId = chainIdFor(path);
    if (chainId === undefined) {
      return sendJson(res, 404, {
        error: { code: "not_found", message: "no such endpoint; JSON-RPC is served at POST /rpc/{chainId}" },
      });
    }
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return sendJson(res, 405, { error: { code: "method_not_allowed", message: "JSON-RPC requests use POST" } });
    }
    return handleRpc(req, res, chainId);
  }

  const server: Server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
    },
    (req, res) => {
      inFlight++;
      route(req, res)
        .catch((error: unknown) => {
          logger.error({ err: (error as Error).message }, "request handling failed");
          sendJson(res, 500, { error: { code: "internal", message: "internal error" } });
        })
        .finally(() => {
          if (--inFlight === 0) drained?.();
        });
    },
  );
  const websockets = createWsServer(
    gateway,
    { ...options.websocket, maxPayload: options.maxBodyBytes, limits },
    logger,
    newRequestId,
  );
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const chainId = chainIdFor((req.url ?? "/").split("?", 1)[0]!);
    if (req.method !== "GET" || String(req.headers.upgrade).toLowerCase() !== "websocket") {
      return refuseUpgrade(socket, 400, "Bad Request", {
        error: { code: "invalid_request", message: "only GET with Upgrade: websocket is accepted" },
      });
    }
    if (chainId === undefined || !gateway.chainIds().includes(chainId)) {
      return refuseUpgrade(socket, 404, "Not Found", {
        error: { code: "unknown_chain", message: "no such chain; JSON-RPC over WebSocket is served at /rpc/{chainId}" },
      });
    }
    websockets.upgrade(req, socket, head, chainId);
  });
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else socket.destroy();
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await websockets.close(0);
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    webSocketConnections: () => websockets.connections(),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // WebSockets close while HTTP requests drain: both within the one grace period, not one after the other.
      const websocketsClosed = websockets.close(options.shutdownGraceMs);
      server.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.shutdownGraceMs);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      server.closeAllConnections();
      await Promise.all([closed, websocketsClosed]);
    },
  };
}
