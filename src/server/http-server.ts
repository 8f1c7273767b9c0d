/**
 * The public listener: JSON-RPC over HTTP and WebSocket (ws-server.ts), health and readiness. Bodies are read with a hard byte cap (a declared
 * Content-Length over the cap is refused before a byte of the body is read, and the connection is closed).
 */
import { isUtf8 } from "node:buffer";
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type ChainKey, solanaChainKey } from "../core/chain-key.ts";
import { MultihomeError } from "../core/errors.ts";
import { type Logger, type Metrics, noopMetrics } from "../core/ports.ts";
import { type Caller, callCost } from "../core/rpc/access.ts";
import type { Engine } from "../engine/engine.ts";
import { type Access, RATE_LIMIT_HOLD_MS, rateLimited } from "./access.ts";
import { createAdmission } from "./admission.ts";
import { createEvmViews, TRANSACTION_VIEW_COST } from "./evm-views.ts";
import { createFrontDoor } from "./front-door.ts";
import {
  createRequestIds,
  handleRpcBody,
  MAX_STALENESS_SECONDS,
  MIN_EVIDENCE_HEADER,
  minEvidenceOf,
  parseMaxStaleness,
  type RpcGate,
  refuseBody,
  wholeBodyError,
} from "./rpc-handler.ts";
import { createSolanaRoutes, SOLANA_PATH } from "./solana-routes.ts";
import { createTurnWriter } from "./turn-writes.ts";
import { createWsServer, type WsServerOptions } from "./ws-server.ts";
import { createUpgradeHandler } from "./ws-upgrade.ts";

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
  /** Open connections on the listener, and from one client address. */
  maxConnections: number;
  maxConnectionsPerClient: number;
  /** A connection over the per-client cap is held unread for between this and twice this, ms, then closed. */
  overCapHoldMs: number;
  /** JSON-RPC over WebSocket (`websocket` in the config); messages are limited to `maxBodyBytes`. */
  websocket: Omit<WsServerOptions, "maxPayload" | "limits" | "access">;
  /** Keys, client addresses, CORS and rate limits. */
  access: Access;
  /** Requests and refusals are counted here. @default noopMetrics */
  metrics?: Metrics;
  /**
   * `false`: no listener of its own — connections come through `accept` (a worker, handed them by the primary's front
   * door, which has already counted them against their client's cap). @default true
   */
  listen?: boolean;
  /** A request on `socket` was refused for its caller's rate (a worker tells the primary: the client is noisy). */
  onRateLimited?(socket: Socket): void;
  /**
   * True: `socket`'s client belongs on another worker now — the connection is closed after this answer
   * (`Connection: close`), and the client's next one comes through the front door to the right worker.
   */
  belongsElsewhere?(socket: Socket): boolean;
}

export interface RunningServer {
  /** The listener's URL and port (empty and 0 without a listener of its own). */
  url: string;
  port: number;
  /** Serves a connection accepted elsewhere (a worker's, from the primary). */
  accept(socket: Socket): void;
  /** WebSocket connections open now. */
  webSocketConnections(): number;
  /**
   * Stop accepting, close WebSocket connections (1001), let in-flight requests finish (up to the grace period), then
   * close every socket.
   */
  close(): Promise<void>;
}

/** `/rpc/{chainId}`, optionally followed by an API key for clients that can only be given a URL (wallets). */
const RPC_PATH = /^\/rpc\/(\d{1,16})(?:\/([A-Za-z0-9_-]{1,128}))?\/?$/;

/** How often the listener checks header and request deadlines, ms (at most the headers deadline). */
export const SERVER_TIMEOUT_CHECK_MS = 1_000;

export async function startHttpServer(
  engine: Engine,
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
  const rpcTarget = (path: string): { chainId: number; pathKey: string | undefined } | undefined => {
    const match = RPC_PATH.exec(path);
    if (match) return { chainId: Number(match[1]), pathKey: match[2] };
    const chains = engine.chainIds();
    return path === "/" && chains.length === 1 ? { chainId: chains[0]!, pathKey: undefined } : undefined;
  };
  const { access } = options;
  const metrics = options.metrics ?? noopMetrics;
  /** A refusal as the JSON-RPC routes answer it: a JSON-RPC error object, id null. */
  const refuseRpc = (res: ServerResponse) => (error: MultihomeError) => {
    const r = wholeBodyError(error, newRequestId());
    send(res, r.status, r.headers, r.body);
  };
  /** A refusal as the REST views answer it: `{ error: { code, message } }`. */
  const refuseRest = (res: ServerResponse) => (error: MultihomeError) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
    send(res, error.httpStatus, headers, JSON.stringify({ error: { code: error.code, message: error.message } }));
  };
  const { checkCaller, admit } = createAdmission({
    access,
    metrics,
    ...(options.onRateLimited ? { onRateLimited: options.onRateLimited } : {}),
  });
  let inFlight = 0;
  let drained: (() => void) | undefined;
  /** A request handled (one promise reaction per request, not a catch and a finally). */
  const settled = () => {
    if (--inFlight === 0) drained?.();
  };

  const writes = createTurnWriter((error) =>
    logger.error({ err: (error as Error).message }, "a response could not be written"),
  );
  /** Answers `res` at the end of this turn (turn-writes.ts); the first answer given wins. */
  const send = (res: ServerResponse, status: number, headers: Record<string, string>, body: string) => {
    if (res.headersSent || res.destroyed) return;
    writes.write(() => {
      if (res.headersSent || res.destroyed) return;
      const bytes = Buffer.from(body);
      try {
        res.writeHead(status, { ...headers, "content-length": bytes.length });
      } catch (error) {
        res.destroy();
        throw error;
      }
      res.end(bytes);
    });
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

  async function handleRpc(req: IncomingMessage, res: ServerResponse, chainId: number, gate: RpcGate) {
    const requestId = newRequestId();
    const log = { logger, requestId, chainId, client: gate.client, startedAt: performance.now() };
    /** A request refused as a whole is paid for too, so sending junk runs into the limit like anything else. */
    const refuse = async (error: MultihomeError) => {
      const refused = await gate.charge(callCost(undefined, gate.costs));
      const r = refuseBody(refused ?? error, log, metrics);
      send(res, r.status, r.headers, r.body);
    };
    const declared = Number(req.headers["content-length"]);
    const body = Number.isFinite(declared) && declared > options.maxBodyBytes ? "too_large" : await readBody(req);
    if (body === "too_large") {
      // The 413 stands even over the limit (the connection is closed either way), but the units are debited.
      await gate.charge(callCost(undefined, gate.costs));
      metrics.refused("too_large");
      const limit = options.maxBodyBytes;
      const r = refuseBody(
        new MultihomeError("limit_exceeded", `request body too large (limit ${limit} bytes)`, {
          data: { reason: "request body too large", limit },
        }),
        log,
        metrics,
      );
      res.shouldKeepAlive = false;
      return send(res, r.status, { ...r.headers, connection: "close" }, r.body);
    }
    if (!isUtf8(body)) return refuse(new MultihomeError("parse_error", "parse error: body is not valid UTF-8"));
    const text = body.toString("utf8");
    const staleness = parseMaxStaleness(req.headers["multihome-max-staleness"]);
    if (staleness === "invalid") {
      return refuse(
        new MultihomeError(
          "invalid_request",
          `invalid request: multihome-max-staleness must be whole seconds from 0 to ${MAX_STALENESS_SECONDS}`,
        ),
      );
    }
    const minEvidence = minEvidenceOf(req.headers[MIN_EVIDENCE_HEADER]);
    if (minEvidence instanceof MultihomeError) return refuse(minEvidence);
    // A client that disconnects does not cancel its call: every call is bounded by routing.requestTimeoutMs anyway,
    // and not tracking disconnects keeps the hot path free of per-request listeners.
    const r = await handleRpcBody(engine, chainId, text, {
      limits,
      logger,
      requestId,
      gate,
      metrics,
      ...(staleness !== undefined ? { maxStalenessSeconds: staleness } : {}),
      ...(minEvidence !== undefined ? { minEvidence } : {}),
    });
    send(res, r.status, r.headers, r.body);
  }

  /** A CORS preflight: allowed origins get the headers (no credentials, ever), others a 403. */
  function preflight(req: IncomingMessage, res: ServerResponse) {
    const cors = access.cors(req, undefined);
    if (req.headers.origin === undefined || !cors.allowed) {
      return sendJson(res, 403, { error: { code: "forbidden", message: "this origin may not call this endpoint" } });
    }
    res.writeHead(204, { ...cors.headers, "content-length": 0 });
    res.end();
  }

  /** The REST views pay like the JSON-RPC calls behind them; false when refused (and answered). */
  async function admitView(req: IncomingMessage, res: ServerResponse, chain: ChainKey, cost: number) {
    const refuse = refuseRest(res);
    const gate = admit(req, res, chain, undefined, refuse);
    if (!gate) return false;
    const refused = await gate.charge(cost);
    if (refused) refuse(refused);
    return refused === undefined;
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? "/";
    const path = url.split("?", 1)[0]!;
    if (req.method === "GET" && path === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (req.method === "GET" && path === "/readyz") {
      const r = engine.readiness();
      return sendJson(res, r.ready ? 200 : 503, {
        ready: r.ready,
        chains: r.chains.map((c) => ({ ...c, head: c.head ? { number: c.head.number, hash: c.head.hash } : null })),
        ...details(),
      });
    }
    const view = evmViews.route(req, res, path) ?? solanaRoutes.route(req, res, path);
    if (view) return view;
    const target = rpcTarget(path);
    if (target === undefined) {
      return sendJson(res, 404, {
        error: { code: "not_found", message: "no such endpoint; JSON-RPC is served at POST /rpc/{chainId}" },
      });
    }
    if (req.method === "OPTIONS") return preflight(req, res);
    if (req.method !== "POST") {
      res.setHeader("allow", "POST, OPTIONS");
      return sendJson(res, 405, { error: { code: "method_not_allowed", message: "JSON-RPC requests use POST" } });
    }
    const gate = admit(req, res, target.chainId, target.pathKey, refuseRpc(res));
    if (gate) return handleRpc(req, res, target.chainId, gate);
  }

  const evmViews = createEvmViews({ engine, admitView, sendJson });
  const solanaRoutes = createSolanaRoutes({
    engine,
    limits,
    metrics,
    newRequestId,
    admit,
    refuseRpc,
    admitView,
    readBody,
    send,
    sendJson,
    preflight,
    transactionViewCost: TRANSACTION_VIEW_COST,
  });

  const server: Server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      // Node checks both deadlines on this timer (30 s by default): a slowloris client would outlive them.
      connectionsCheckingInterval: Math.min(SERVER_TIMEOUT_CHECK_MS, options.headersTimeoutMs),
      keepAliveTimeout: options.keepAliveTimeoutMs,
    },
    (req, res) => {
      inFlight++;
      if (options.belongsElsewhere?.(req.socket)) {
        res.shouldKeepAlive = false;
        res.setHeader("connection", "close");
      }
      route(req, res).then(settled, (error: unknown) => {
        logger.error({ err: (error as Error).message }, "request handling failed");
        sendJson(res, 500, { error: { code: "internal", message: "internal error" } });
        settled();
      });
    },
  );
  const websockets = createWsServer(
    engine,
    { ...options.websocket, maxPayload: options.maxBodyBytes, limits, metrics },
    logger,
    newRequestId,
  );
  server.on("upgrade", createUpgradeHandler({ engine, access, websockets, rpcTarget, checkCaller }));
  const door = createFrontDoor(
    { ...options, isTrustedProxy: (peer) => access.isTrustedProxy(peer) },
    metrics,
    (socket) => void server.emit("connection", socket),
  );
  const listener = door.server;
  // Node starts checking the header and request deadlines of an HTTP server's connections when it starts listening;
  // this one never listens itself (its connections come from the listener above), so it is told it does.
  server.emit("listening");
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    // Headers or a body too slow (slowloris) is 408, headers too large 431; anything else unparseable is 400.
    const status =
      err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "408 Request Timeout"
        : err.code === "HPE_HEADER_OVERFLOW"
          ? "431 Request Header Fields Too Large"
          : "400 Bad Request";
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  let url = "";
  let port = 0;
  if (options.listen !== false) {
    try {
      await new Promise<void>((resolve, reject) => {
        listener.once("error", reject);
        listener.listen(options.port, options.host, () => {
          listener.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      await websockets.close(0);
      throw error;
    }
    const address = listener.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    url = `http://${host}:${address.port}`;
    port = address.port;
  }

  return {
    url,
    port,
    accept: (socket) => void server.emit("connection", socket),
    webSocketConnections: () => websockets.connections(),
    async close() {
      const closed = listener.listening
        ? new Promise<void>((resolve) => listener.close(() => resolve()))
        : Promise.resolve();
      // Stops the deadline checks and closes idle keep-alive connections.
      server.close();
      door.dropHeld();
      // WebSockets close while HTTP requests drain: both within the one grace period, not one after the other.
      const websocketsClosed = websockets.close(options.shutdownGraceMs);
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.shutdownGraceMs);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      // What the last requests answered is written before their connections close.
      await writes.flushed();
      server.closeAllConnections();
      await Promise.all([closed, websocketsClosed]);
    },
  };
}
