/**
 * JSON-RPC over WebSocket on the public listener: `GET /rpc/{chainId}` with `Upgrade: websocket`. Each text message is
 * a single call or a batch, answered through the same pipeline as HTTP (rpc-handler.ts); `eth_subscribe` and
 * `eth_unsubscribe` are the connection's own. Every connection is bounded: subscriptions, bytes waiting to be sent (a
 * client that reads too slowly is disconnected, 1008), message size (1009), calls in flight (reading pauses), and a
 * ping that must be answered.
 */
import { isUtf8 } from "node:buffer";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type ServerOptions, type WebSocket, WebSocketServer } from "ws";
import { MultihomeError } from "../core/errors.ts";
import { type Logger, type Metrics, noopMetrics } from "../core/ports.ts";
import { callCost } from "../core/rpc/access.ts";
import type { ParseLimits, RpcCall } from "../core/rpc/jsonrpc.ts";
import {
  type CallAnswer,
  type Engine,
  SOLANA_SUBSCRIPTIONS,
  type SolanaAnswer,
  type Verification,
} from "../engine/engine.ts";
import { createClientCounts } from "./access.ts";
import { handleRpcBody, NO_EVIDENCE, type RpcGate, wholeBodyError } from "./rpc-handler.ts";
import { handleSolanaBody } from "./solana-handler.ts";

/** Calls of one connection in flight at once; beyond it the connection's messages wait unread. */
export const WS_MAX_IN_FLIGHT_PER_CONNECTION = 64;
/** How long a closing connection may take to answer the close frame before its socket is destroyed, ms. */
export const WS_SERVER_CLOSE_TIMEOUT_MS = 5_000;

/** Close codes (RFC 6455 §7.4.1). */
const GOING_AWAY = 1001;
const POLICY_VIOLATION = 1008;

export interface WsServerOptions {
  maxConnections: number;
  /** Open connections from one client address (as the access rules name it). */
  maxConnectionsPerClient: number;
  maxSubscriptionsPerConnection: number;
  maxBufferedBytes: number;
  pingIntervalMs: number;
  /** Largest message, bytes (`server.maxBodyBytes`). */
  maxPayload: number;
  limits: ParseLimits;
  /** Connections, subscriptions, calls and refusals are counted here. @default noopMetrics */
  metrics?: Metrics;
}

export interface WsServer {
  /** Takes over an upgrade request already routed to a served chain. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: WsTarget, admitted: Admitted): void;
  connections(): number;
  /** Closes every connection with 1001, waits for them up to `graceMs`, then destroys what is left. */
  close(graceMs: number): Promise<void>;
}

/** What a connection serves: an EVM chain, or a Solana cluster (`/rpc/solana/{name}`). */
export type WsTarget = { chainId: number } | { solana: string };

/** Who the connection is from, and what its calls may do and cost (checked once, at the upgrade). */
export interface Admitted {
  client: string;
  gate?: RpcGate;
  /** The upgrade's `multihome-min-evidence`: every call of the connection is held to it. */
  minEvidence?: Verification;
}

/** Writes a plain HTTP answer on a socket that was not upgraded. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}

export function createWsServer(
  engine: Engine,
  options: WsServerOptions,
  logger: Logger,
  newRequestId: () => string,
): WsServer {
  const serverOptions: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    maxPayload: options.maxPayload,
    // ws 8.18+ reads it; its type definitions do not list it yet.
    closeTimeout: WS_SERVER_CLOSE_TIMEOUT_MS,
    // Compression costs memory and CPU per connection, and compressed frames hide their size until inflated.
    perMessageDeflate: false,
  };
  const wss = new WebSocketServer(serverOptions);
  const metrics = options.metrics ?? noopMetrics;
  const open = new Set<WebSocket>();
  const perClient = createClientCounts();
  let closing = false;
  const alive = new WeakMap<WebSocket, boolean>();
  const pinger = setInterval(() => {
    for (const ws of open) {
      // A connection paused at its in-flight cap is not read, so its pongs wait too: that is Multihome's doing, not
      // a dead peer.
      if (ws.isPaused) continue;
      if (alive.get(ws) === false) {
        logger.info({}, "websocket terminated: no pong to the last ping");
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, options.pingIntervalMs);
  pinger.unref();

  let nextSolanaId = 1;
  function serve(ws: WebSocket, target: WsTarget, admitted: Admitted) {
    const chainId = "chainId" in target ? target.chainId : target.solana;
    open.add(ws);
    metrics.webSocketConnections(1);
    perClient.add(admitted.client);
    alive.set(ws, true);
    const gone = new AbortController();
    const subscriptions = new Map<string, { unsubscribe(): void; announced: boolean; held: string[] }>();
    let heldBytes = 0;
    let inFlight = 0;

    const dropSubscriptions = () => {
      for (const s of subscriptions.values()) s.unsubscribe();
      metrics.webSocketSubscriptions(-subscriptions.size);
      subscriptions.clear();
    };

    function policyClose(reason: string) {
      if (ws.readyState !== ws.OPEN) return;
      logger.warn({ chainId, reason }, "websocket closed: policy");
      metrics.refused("slow_consumer");
      dropSubscriptions();
      ws.close(POLICY_VIOLATION, reason);
    }

    function send(text: string) {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(text);
      if (ws.bufferedAmount > options.maxBufferedBytes)
        policyClose(`slow consumer: more than ${options.maxBufferedBytes} bytes waiting to be sent`);
    }

    type Entry = { unsubscribe(): void; announced: boolean; held: string[] };
    /** Why no subscription may be made now: the connection closing, or its cap reached. */
    function refusal(): MultihomeError | undefined {
      // The connection may have closed (or begun to) while the body was being paid for: its subscriptions are
      // already dropped, and one made now would never be.
      if (ws.readyState !== ws.OPEN)
        return new MultihomeError("timeout", "request cancelled: the connection is closed");
      if (subscriptions.size < options.maxSubscriptionsPerConnection) return undefined;
      const limit = options.maxSubscriptionsPerConnection;
      return new MultihomeError("limit_exceeded", `too many subscriptions on this connection (limit ${limit})`, {
        data: { reason: "too many subscriptions", limit },
      });
    }
    /** A notification never overtakes the answer that tells the client its subscription id. */
    function notify(entry: Entry, text: string) {
      if (entry.announced) return send(text);
      entry.held.push(text);
      heldBytes += text.length;
      if (heldBytes > options.maxBufferedBytes)
        policyClose(`slow consumer: more than ${options.maxBufferedBytes} bytes waiting to be sent`);
    }
    function drop(id: string): boolean {
      const entry = subscriptions.get(id);
      if (!entry) return false;
      entry.unsubscribe();
      subscriptions.delete(id);
      metrics.webSocketSubscriptions(-1);
      return true;
    }
    function keep(id: string, entry: Entry, created: string[]) {
      subscriptions.set(id, entry);
      metrics.webSocketSubscriptions(1);
      created.push(id);
    }

    /** eth_subscribe / eth_unsubscribe for this connection; new ids are announced by the caller once answered. */
    function subscriptionsOf(chainId: number, created: string[]) {
      return (call: RpcCall): CallAnswer => {
        const params = Array.isArray(call.params) ? call.params : [];
        if (call.method === "eth_unsubscribe") {
          const id = params[0];
          return { ok: true, result: typeof id === "string" && drop(id), evidence: NO_EVIDENCE };
        }
        const refused = refusal();
        if (refused) return { ok: false, error: refused, evidence: NO_EVIDENCE };
        let id = "";
        const entry: Entry = { unsubscribe: () => {}, announced: false, held: [] };
        const made = engine.subscribe(chainId, params, (result) =>
          notify(
            entry,
            JSON.stringify({ jsonrpc: "2.0", method: "eth_subscription", params: { subscription: id, result } }),
          ),
        );
        if (!made.ok) return { ok: false, error: made.error, evidence: NO_EVIDENCE };
        id = made.id;
        entry.unsubscribe = made.unsubscribe;
        keep(id, entry, created);
        return { ok: true, result: id, evidence: NO_EVIDENCE };
      };
    }

    /** Solana's subscriptions for this connection: numeric ids, `{method}Notification` messages. */
    function solanaSubscriptionsOf(name: string, created: string[]) {
      return (call: RpcCall): SolanaAnswer => {
        const params = Array.isArray(call.params) ? call.params : [];
        const none = { verified: "none" as const };
        if (!(call.method in SOLANA_SUBSCRIPTIONS)) {
          const id = params[0];
          return { ok: true, result: typeof id === "number" && drop(String(id)), evidence: none };
        }
        const refused = refusal();
        if (refused) return { ok: false, error: refused, evidence: none };
        const id = nextSolanaId++;
        const notification = SOLANA_SUBSCRIPTIONS[call.method as keyof typeof SOLANA_SUBSCRIPTIONS].notification;
        const entry: Entry = { unsubscribe: () => {}, announced: false, held: [] };
        const made = engine.solanaSubscribe(name, call.method, params, (result, last) => {
          notify(entry, JSON.stringify({ jsonrpc: "2.0", method: notification, params: { result, subscription: id } }));
          if (last) drop(String(id));
        });
        if (!made.ok) return { ok: false, error: made.error, evidence: none };
        entry.unsubscribe = made.unsubscribe;
        keep(String(id), entry, created);
        return { ok: true, result: id, evidence: none };
      };
    }

    async function answer(text: string) {
      const created: string[] = [];
      const r =
        "solana" in target
          ? await handleSolanaBody(engine, target.solana, text, {
              limits: options.limits,
              requestId: newRequestId(),
              subscriptions: solanaSubscriptionsOf(target.solana, created),
              ...(admitted.gate ? { gate: admitted.gate } : {}),
              metrics,
            })
          : await handleRpcBody(engine, target.chainId, text, {
              limits: options.limits,
              logger,
              requestId: newRequestId(),
              signal: gone.signal,
              subscriptions: subscriptionsOf(target.chainId, created),
              ...(admitted.gate ? { gate: admitted.gate } : {}),
              ...(admitted.minEvidence !== undefined ? { minEvidence: admitted.minEvidence } : {}),
              metrics,
            });
      if (r.body !== "") send(r.body);
      for (const id of created) {
        const entry = subscriptions.get(id);
        if (!entry) continue;
        entry.announced = true;
        for (const held of entry.held.splice(0)) {
          heldBytes -= held.length;
          send(held);
        }
      }
    }

    ws.on("pong", () => alive.set(ws, true));
    ws.on("message", (data, isBinary) => {
      if (ws.readyState !== ws.OPEN) return;
      // ws hands a Buffer (its default binaryType): no copy of up to maxPayload bytes per message.
      const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
      // Text frames are checked by ws (invalid UTF-8 closes with 1007); a binary frame is read as text when it is text.
      if (isBinary && !isUtf8(bytes)) {
        const error = new MultihomeError("parse_error", "parse error: message is not valid UTF-8");
        // Paid for like any refused message, so junk runs into the limit too.
        const refused = admitted.gate?.charge(callCost(undefined, admitted.gate.costs)) ?? Promise.resolve(undefined);
        void refused.then((limited) => send(wholeBodyError(limited ?? error, newRequestId()).body));
        return;
      }
      const text = bytes.toString("utf8");
      if (++inFlight >= WS_MAX_IN_FLIGHT_PER_CONNECTION) ws.pause();
      answer(text)
        .catch((error: unknown) => logger.error({ err: (error as Error).message }, "websocket message failed"))
        .finally(() => {
          if (--inFlight < WS_MAX_IN_FLIGHT_PER_CONNECTION && ws.isPaused) ws.resume();
        });
    });
    ws.on("error", (error: Error & { code?: string }) => {
      // ws closes a connection whose message is over maxPayload with 1009; that is a refusal like a 413.
      if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") metrics.refused("too_large");
      logger.debug({ chainId, err: error.message }, "websocket error");
    });
    ws.on("close", () => {
      open.delete(ws);
      metrics.webSocketConnections(-1);
      perClient.remove(admitted.client);
      gone.abort();
      dropSubscriptions();
    });
  }

  return {
    upgrade(req, socket, head, target, admitted) {
      if (closing)
        return refuseUpgrade(socket, 503, "Service Unavailable", {
          error: { code: "unavailable", message: "the server is shutting down" },
        });
      if (open.size >= options.maxConnections) {
        metrics.refused("connection_cap");
        return refuseUpgrade(socket, 503, "Service Unavailable", {
          error: {
            code: "limit_exceeded",
            message: `too many WebSocket connections (limit ${options.maxConnections})`,
          },
        });
      }
      if (perClient.count(admitted.client) >= options.maxConnectionsPerClient) {
        metrics.refused("connection_cap");
        const limit = options.maxConnectionsPerClient;
        return refuseUpgrade(socket, 429, "Too Many Requests", {
          error: { code: "rate_limited", message: `too many WebSocket connections from one client (limit ${limit})` },
        });
      }
      // Counted once upgraded (ws completes a valid handshake synchronously; a refused one never reaches serve).
      wss.handleUpgrade(req, socket, head, (ws) => serve(ws, target, admitted));
    },
    connections: () => open.size,
    async close(graceMs) {
      closing = true;
      clearInterval(pinger);
      const closed = [...open].map((ws) => new Promise<void>((resolve) => ws.once("close", () => resolve())));
      for (const ws of open) ws.close(GOING_AWAY, "server shutting down");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(closed),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, Math.min(graceMs, WS_SERVER_CLOSE_TIMEOUT_MS));
        }),
      ]);
      clearTimeout(timer);
      for (const ws of open) ws.terminate();
      await Promise.all(closed);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
