/**
 * The fault proxy: an HTTP/1.1 reverse proxy on 127.0.0.1 in front of one JSON-RPC upstream that injects faults on
 * demand. `tc netem` is unavailable here, so every latency, stall, reset and truncation the gateway's tests exercise
 * comes from this file; it buffers whole bodies so each fault is exact (byte counts, Content-Length, timing).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { Pool } from "undici";

export type Fault =
  | { kind: "none" }
  /** Connection refused: stop listening and destroy open sockets; clearing re-listens on the same port. */
  | { kind: "down" }
  /** Accept and read the request, never answer; the socket is destroyed when the fault is replaced or cleared. */
  | { kind: "blackhole" }
  /** Delay before forwarding, in milliseconds. */
  | { kind: "latency"; ms: number }
  /** Answer this HTTP status and body instead of forwarding. `body` defaults to empty. */
  | { kind: "status"; status: number; body?: string; headers?: Record<string, string> }
  /** Answer a JSON-RPC error echoing the request id(s) (batch: an array). `status` defaults to 200. */
  | {
      kind: "rpcError";
      code: number;
      message: string;
      data?: unknown;
      status?: number;
      headers?: Record<string, string>;
    }
  /** Forward, then send only `fraction` (0..1) of the body under the full Content-Length and close the socket. */
  | { kind: "truncate"; fraction: number }
  /** Reset the connection (TCP RST) after reading the request. */
  | { kind: "reset" }
  /** Forward, send the headers at once, then trickle the body at `bytesPerSecond`. */
  | { kind: "slowBody"; bytesPerSecond: number }
  /** Forward (so the call takes effect upstream), then never answer. */
  | { kind: "postAcceptTimeout" }
  /** Forward, then answer `fn`'s result instead of the parsed JSON response (batch: per matching item). */
  | { kind: "rewrite"; fn: (request: { method: string; params: unknown }, response: unknown) => unknown };

export interface FaultRule {
  fault: Fault;
  /**
   * Share (0..1) of matching requests affected: one draw from the seeded generator per matching request, so the
   * same seed and request order give the same choices. @default 1
   */
  ratio?: number;
  /** Only requests whose JSON-RPC method is listed (a batch matches if any item does). @default all methods */
  methods?: string[];
}

export interface FaultProxyStats {
  /** JSON-RPC request items received (a batch of n counts n; an unparseable body counts 1). */
  requests: number;
  byMethod: Record<string, number>;
  /** HTTP requests a fault was applied to. */
  faulted: number;
  /** TCP connections accepted. */
  connections: number;
  /** Sockets open right now (not reset by `resetStats`). */
  openSockets: number;
  /** HTTP requests received. */
  httpRequests: number;
  /** HTTP requests sent to the upstream. */
  upstreamRequests: number;
  /** Upstream calls that failed at the transport level (the client's connection is then reset). */
  upstreamErrors: number;
}

export interface FaultProxy {
  url: string;
  port: number;
  /**
   * Replaces the current fault (a bare `Fault` means ratio 1, all methods), reseeds the ratio generator and destroys
   * requests held by a previous blackhole or post-accept timeout. The promise settles once the listener matches the
   * fault (only `down` and leaving it change the listener); ignoring it is safe. Throws on an invalid rule or after
   * close().
   */
  setFault(rule: FaultRule | Fault): Promise<void>;
  /** Back to pass-through, listening again after `down`. A no-op after close(). */
  clearFault(): Promise<void>;
  /** Swap the upstream (a DNS/URL swap to another node or chain); requests in flight finish on the old one. */
  setTarget(url: string): void;
  stats(): FaultProxyStats;
  resetStats(): void;
  /** Closes the listener, every socket and the upstream pools. Idempotent. */
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Upstream base URL; its path and query are used for every forwarded request. */
  target: string;
  /** Port on 127.0.0.1. @default 0 (any free port) */
  port?: number;
  /** Seed of the generator that picks which matching requests a `ratio` rule affects. @default 1 */
  seed?: number;
}

/** Method recorded for a body that is not JSON. */
export const UNPARSED_METHOD = "(unparsed)";
/** Method recorded for a JSON value or batch item that is not a JSON-RPC request object. */
export const INVALID_METHOD = "(invalid)";

const HOST = "127.0.0.1";
const DEFAULT_SEED = 1;
/** Interval between slow-body chunks when the rate allows more than one byte per tick. */
const SLOW_BODY_TICK_MS = 20;
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** mulberry32: tiny, fast and deterministic; enough for choosing which requests a ratio rule hits. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RpcItem {
  method: string;
  params: unknown;
  id: unknown;
  /** The id's source text, so ids beyond 2^53 are echoed byte-exact. */
  rawId: string | undefined;
}

interface ParsedRpc {
  shape: "single" | "batch" | "unparsed";
  items: RpcItem[];
}

interface UpstreamAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

interface Target {
  pool: Pool;
  path: string;
}

// Node 24 has JSON.rawJSON and reviver source text; the es2024 lib does not declare them yet.
type SourceReviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

function parseKeepingIds(text: string): { value: unknown; rawIds: Map<object, string> } {
  const rawIds = new Map<object, string>();
  const reviver: SourceReviver = function (key, value, context) {
    if (key === "id" && context?.source !== undefined && typeof this === "object" && this !== null) {
      rawIds.set(this, context.source);
    }
    return value;
  };
  return { value: JSON.parse(text, reviver as (key: string, value: unknown) => unknown), rawIds };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toItem(value: unknown, rawIds: Map<object, string>): RpcItem {
  if (!isRecord(value)) return { method: INVALID_METHOD, params: undefined, id: null, rawId: undefined };
  return {
    method: typeof value["method"] === "string" ? value["method"] : INVALID_METHOD,
    params: value["params"],
    id: value["id"],
    rawId: rawIds.get(value),
  };
}

function parseRpc(body: Buffer): ParsedRpc {
  let parsed: { value: unknown; rawIds: Map<object, string> };
  try {
    parsed = parseKeepingIds(body.toString("utf8"));
  } catch {
    return { shape: "unparsed", items: [{ method: UNPARSED_METHOD, params: undefined, id: null, rawId: undefined }] };
  }
  const { value, rawIds } = parsed;
  if (Array.isArray(value)) return { shape: "batch", items: value.map((item) => toItem(item, rawIds)) };
  return { shape: "single", items: [toItem(value, rawIds)] };
}

function idKey(id: unknown, rawId: string | undefined): string {
  return rawId ?? JSON.stringify(id) ?? "undefined";
}

/** Serializes `value`, restoring the id's source text when `value` still carries the id it was parsed with. */
function withRawId(value: unknown, parsedId: unknown, rawId: string | undefined): unknown {
  if (rawId === undefined || !isRecord(value) || !Object.hasOwn(value, "id") || !Object.is(value["id"], parsedId)) {
    return value;
  }
  return { ...value, id: rawJSON(rawId) };
}

function hopByHop(headers: IncomingHttpHeaders): Set<string> {
  const names = new Set(HOP_BY_HOP);
  const connection = headers["connection"];
  for (const token of (Array.isArray(connection) ? connection.join(",") : (connection ?? "")).split(",")) {
    const name = token.trim().toLowerCase();
    if (name !== "") names.add(name);
  }
  return names;
}

function endToEnd(headers: IncomingHttpHeaders, alsoDrop: string[]): Record<string, string | string[]> {
  const drop = hopByHop(headers);
  for (const name of alsoDrop) drop.add(name);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !drop.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}

function normalizeRule(input: FaultRule | Fault): FaultRule {
  const rule: FaultRule = "fault" in input ? input : { fault: input };
  const { fault, ratio = 1, methods } = rule;
  if (!(ratio >= 0 && ratio <= 1)) throw new Error(`fault proxy: ratio must be within 0..1, got ${ratio}`);
  if (fault.kind === "down" && (ratio !== 1 || methods !== undefined)) {
    throw new Error("fault proxy: a down fault refuses every connection; it takes no ratio or methods");
  }
  if (fault.kind === "latency" && !(Number.isFinite(fault.ms) && fault.ms >= 0)) {
    throw new Error(`fault proxy: latency ms must be a finite number >= 0, got ${fault.ms}`);
  }
  if (fault.kind === "truncate" && !(fault.fraction >= 0 && fault.fraction <= 1)) {
    throw new Error(`fault proxy: truncate fraction must be within 0..1, got ${fault.fraction}`);
  }
  if (fault.kind === "slowBody" && !(Number.isFinite(fault.bytesPerSecond) && fault.bytesPerSecond > 0)) {
    throw new Error(`fault proxy: slowBody bytesPerSecond must be > 0, got ${fault.bytesPerSecond}`);
  }
  const status = fault.kind === "status" ? fault.status : fault.kind === "rpcError" ? fault.status : undefined;
  if (status !== undefined && !(Number.isInteger(status) && status >= 200 && status <= 599)) {
    throw new Error(`fault proxy: status must be an integer within 200..599, got ${status}`);
  }
  return { fault, ratio, methods };
}

function createTarget(url: string): Target {
  const parsed = new URL(url);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(`fault proxy: target must be an http(s) URL, got ${parsed.protocol}`);
  }
  // The proxy stands in for exactly one endpoint: the gateway's URL for it may carry an API-key path that the
  // upstream (anvil answers only "/") would reject, so the target's own path is always used.
  return { pool: new Pool(parsed.origin), path: `${parsed.pathname}${parsed.search}` };
}

function emptyStats(): Omit<FaultProxyStats, "openSockets"> {
  return {
    requests: 0,
    byMethod: {},
    faulted: 0,
    connections: 0,
    httpRequests: 0,
    upstreamRequests: 0,
    upstreamErrors: 0,
  };
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const { target: initialTarget, port: requestedPort = 0, seed = DEFAULT_SEED } = options;
  let target = createTarget(initialTarget);
  const pools = new Set<Pool>([target.pool]);
  const sockets = new Set<Socket>();
  /** Responses a blackhole or post-accept timeout keeps unanswered. */
  const held = new Set<ServerResponse>();
  let rule: FaultRule = { fault: { kind: "none" } };
  let random = mulberry32(seed);
  let counters = emptyStats();
  let closed = false;
  let closing: Promise<void> | undefined;
  /** Serializes listener changes so down → clear → down in quick succession converges on the last call. */
  let transitions: Promise<void> = Promise.resolve();

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.socket?.destroy());
  });
  // Listen failures are reported through the promise of the call that caused them; nothing else emits here.
  server.on("error", () => {});
  server.on("clientError", (_error, socket) => socket.destroy());
  server.on("connection", (socket: Socket) => {
    counters.connections++;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        server.off("listening", onListening);
        reject(error);
      };
      const onListening = () => {
        server.off("error", onError);
        resolve();
      };
      server.once("error", onError);
      server.once("listening", onListening);
      server.listen(port, HOST);
    });

  try {
    await listen(requestedPort);
  } catch (error) {
    await target.pool.destroy();
    throw error;
  }
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fault proxy: no TCP address after listen");
  const port = address.port;

  const destroySockets = () => {
    for (const socket of sockets) socket.destroy();
  };
  const releaseHeld = () => {
    for (const res of held) res.socket?.destroy();
    held.clear();
  };
  const stopListening = () => {
    if (server.listening) server.close();
    destroySockets();
  };

  const reconcile = (): Promise<void> => {
    const step = transitions.then(async () => {
      for (;;) {
        const wanted = !closed && rule.fault.kind !== "down";
        if (wanted === server.listening) return;
        if (wanted) await listen(port);
        else stopListening();
      }
    });
    transitions = step.catch(() => {});
    // Callers may ignore the promise; a failed re-listen then shows up as refused connections, not a crash.
    step.catch(() => {});
    return step;
  };

  const selects = (items: RpcItem[]): boolean => {
    const { fault, ratio = 1, methods } = rule;
    if (fault.kind === "none" || fault.kind === "down") return false;
    if (methods !== undefined && !items.some((item) => methods.includes(item.method))) return false;
    if (ratio >= 1) return true;
    if (ratio <= 0) return false;
    return random() < ratio;
  };

  const record = (items: RpcItem[]) => {
    counters.httpRequests++;
    for (const { method } of items) {
      counters.requests++;
      counters.byMethod[method] = (counters.byMethod[method] ?? 0) + 1;
    }
  };

  const forward = async (req: IncomingMessage, body: Buffer, signal: AbortSignal): Promise<UpstreamAnswer> => {
    const { pool, path } = target;
    counters.upstreamRequests++;
    const method = req.method ?? "POST";
    const answer = await pool.request({
      method: method as "POST",
      path,
      // Without accept-encoding the upstream answers identity bytes, which truncate and rewrite operate on.
      headers: endToEnd(req.headers, ["host", "content-length", "accept-encoding", "expect"]),
      body: body.length > 0 || (method !== "GET" && method !== "HEAD") ? body : undefined,
      signal,
    });
    const bytes = Buffer.from(await answer.body.arrayBuffer());
    return {
      status: answer.statusCode,
      headers: endToEnd(answer.headers, ["content-length"]),
      body: bytes,
    };
  };

  const send = (res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: Buffer) => {
    res.writeHead(status, { ...headers, "content-length": String(body.length) });
    res.end(body);
  };

  const hold = (res: ServerResponse) => {
    held.add(res);
    res.once("close", () => held.delete(res));
  };

  const trickle = (res: ServerResponse, answer: UpstreamAnswer, bytesPerSecond: number) => {
    const { body } = answer;
    res.writeHead(answer.status, { ...answer.headers, "content-length": String(body.length) });
    res.flushHeaders();
    const chunkSize = Math.max(1, Math.floor((bytesPerSecond * SLOW_BODY_TICK_MS) / 1000));
    const start = performance.now();
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    // Each chunk is due when the bytes up to its end would have arrived at the exact rate, so timer drift never
    // accumulates and the whole body takes bytes / rate.
    const schedule = () => {
      const end = Math.min(body.length, sent + chunkSize);
      const due = start + (end / bytesPerSecond) * 1000;
      timer = setTimeout(
        () => {
          res.write(body.subarray(sent, end));
          sent = end;
          if (sent >= body.length) res.end();
          else schedule();
        },
        Math.max(0, due - performance.now()),
      );
    };
    res.once("close", () => clearTimeout(timer));
    if (body.length === 0) res.end();
    else schedule();
  };

  const truncate = (res: ServerResponse, answer: UpstreamAnswer, fraction: number) => {
    const { body } = answer;
    const socket = res.socket;
    res.writeHead(answer.status, { ...answer.headers, "content-length": String(body.length) });
    res.flushHeaders();
    const cut = Math.floor(body.length * fraction);
    if (cut > 0) res.write(body.subarray(0, cut));
    // end() flushes what was written before the FIN; destroy then drops the socket without waiting for the client.
    socket?.end(() => socket.destroy());
  };

  const rewrite = (
    res: ServerResponse,
    answer: UpstreamAnswer,
    request: ParsedRpc,
    fn: Extract<Fault, { kind: "rewrite" }>["fn"],
  ) => {
    let response: { value: unknown; rawIds: Map<object, string> };
    try {
      response = parseKeepingIds(answer.body.toString("utf8"));
    } catch {
      send(res, answer.status, answer.headers, answer.body);
      return;
    }
    const apply = (item: RpcItem, value: unknown) => {
      const parsedId = isRecord(value) ? value["id"] : undefined;
      const rawId = isRecord(value) ? response.rawIds.get(value) : undefined;
      return withRawId(fn({ method: item.method, params: item.params }, value), parsedId, rawId);
    };
    let out: unknown;
    const [first] = request.items;
    if (request.shape === "single" && first !== undefined) {
      out = apply(first, response.value);
    } else if (request.shape === "batch" && Array.isArray(response.value)) {
      const { methods } = rule;
      const pending = new Map<string, RpcItem[]>();
      for (const item of request.items) {
        const key = idKey(item.id, item.rawId);
        pending.set(key, [...(pending.get(key) ?? []), item]);
      }
      out = response.value.map((value: unknown) => {
        if (!isRecord(value)) return value;
        const item = pending.get(idKey(value["id"], response.rawIds.get(value)))?.shift();
        if (item === undefined || (methods !== undefined && !methods.includes(item.method))) return value;
        return apply(item, value);
      });
    } else {
      send(res, answer.status, answer.headers, answer.body);
      return;
    }
    send(res, answer.status, answer.headers, Buffer.from(JSON.stringify(out) ?? "null"));
  };

  const rpcErrorBody = (request: ParsedRpc, fault: Extract<Fault, { kind: "rpcError" }>): string => {
    const error = {
      code: fault.code,
      message: fault.message,
      ...(fault.data === undefined ? {} : { data: fault.data }),
    };
    const answer = (item: RpcItem | undefined) => ({
      jsonrpc: "2.0",
      id: item?.rawId !== undefined ? rawJSON(item.rawId) : (item?.id ?? null),
      error,
    });
    if (request.shape === "batch" && request.items.length > 0) return JSON.stringify(request.items.map(answer));
    return JSON.stringify(answer(request.shape === "single" ? request.items[0] : undefined));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const controller = new AbortController();
    const { signal } = controller;
    // A client that leaves cancels the pending delay, upstream call and trickle timer.
    res.once("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    // Writes racing a client that already left fail harmlessly; the close handler above has cleaned up.
    res.on("error", () => {});

    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const request = parseRpc(body);
    record(request.items);
    const fault: Fault = selects(request.items) ? rule.fault : { kind: "none" };
    if (fault.kind !== "none") counters.faulted++;

    switch (fault.kind) {
      case "blackhole":
        hold(res);
        return;
      case "reset":
        req.socket.resetAndDestroy();
        return;
      case "status": {
        const headers: Record<string, string> = { ...fault.headers };
        const hasType = Object.keys(headers).some((name) => name.toLowerCase() === "content-type");
        if (!hasType && fault.body !== undefined) headers["content-type"] = "text/plain; charset=utf-8";
        send(res, fault.status, headers, Buffer.from(fault.body ?? ""));
        return;
      }
      case "rpcError":
        send(
          res,
          fault.status ?? 200,
          { "content-type": "application/json", ...fault.headers },
          Buffer.from(rpcErrorBody(request, fault)),
        );
        return;
      case "latency":
        try {
          await delay(fault.ms, undefined, { signal });
        } catch {
          return;
        }
        break;
      default:
        break;
    }

    let answer: UpstreamAnswer;
    try {
      answer = await forward(req, body, signal);
    } catch {
      if (signal.aborted) return;
      // Mirror the upstream's transport failure as one for the client rather than inventing an HTTP answer.
      counters.upstreamErrors++;
      req.socket.resetAndDestroy();
      return;
    }
    if (signal.aborted) return;

    switch (fault.kind) {
      case "postAcceptTimeout":
        hold(res);
        return;
      case "truncate":
        truncate(res, answer, fault.fraction);
        return;
      case "slowBody":
        trickle(res, answer, fault.bytesPerSecond);
        return;
      case "rewrite":
        rewrite(res, answer, request, fault.fn);
        return;
      default:
        send(res, answer.status, answer.headers, answer.body);
    }
  };

  const setFault = (input: FaultRule | Fault): Promise<void> => {
    if (closed) throw new Error("fault proxy: closed; it takes no new faults");
    rule = normalizeRule(input);
    // Reseeding makes a rule's choices depend only on the seed and the order of its own requests.
    random = mulberry32(seed);
    releaseHeld();
    // Refuse at once, before the caller's next connect, rather than after the queued transitions.
    if (rule.fault.kind === "down") stopListening();
    return reconcile();
  };

  return {
    url: `http://${HOST}:${port}`,
    port,
    setFault,
    // After close() there is nothing left to clear, so teardown code may call this in any order.
    clearFault: () => (closed ? Promise.resolve() : setFault({ kind: "none" })),
    setTarget(url) {
      if (closed) throw new Error("fault proxy: closed");
      const previous = target;
      target = createTarget(url);
      pools.add(target.pool);
      // Requests in flight keep the pool they started on; close() lets them finish, then frees it.
      previous.pool
        .close()
        .catch(() => {})
        .finally(() => pools.delete(previous.pool));
    },
    stats: () => ({ ...counters, byMethod: { ...counters.byMethod }, openSockets: sockets.size }),
    resetStats() {
      counters = emptyStats();
    },
    close() {
      closing ??= (async () => {
        closed = true;
        releaseHeld();
        stopListening();
        await transitions;
        stopListening();
        const closes = [...sockets].map((socket) => new Promise((resolve) => socket.once("close", resolve)));
        destroySockets();
        await Promise.all(closes);
        await Promise.all([...pools].map((pool) => pool.destroy().catch(() => {})));
      })();
      return closing;
    },
  };
}
