/**
 * The canary guard: loaded into every test process (`scripts/test.ts` passes `--import` to `node --test`, which hands
 * it to each test file's process), it watches everything the process serves or logs for the canary secret that the
 * tests put into every upstream URL and API key. Assertions in single tests only look where a test thought to look;
 * the guard looks everywhere, in every test, so a leak through a path nobody wrote a test for still fails the suite.
 *
 * What counts as served or logged, and is scanned:
 * - `http.ServerResponse`: status message and headers (`writeHead`, `setHeader`, `appendHeader`, trailers, early
 *   hints) and body chunks (`write`, `end`), with chunk boundaries bridged so a secret split over two writes is found;
 * - frames sent by a server-side `ws` socket (`send`, `close` reasons, `ping`/`pong` payloads);
 * - every byte written on a socket a `net.Server` accepted, which catches raw answers that bypass `ServerResponse`
 *   (refused upgrades, client errors) and anything a response or frame scan above missed;
 * - every string or buffer written to process.stdout/stderr or to any other writable stream that is not a socket
 *   (log sinks such as a test's capturing `Writable`, files), which is where log lines end up.
 * Not scanned, because carrying the secret there is the point: client sockets (requests to upstreams, which carry
 * the key in their URL, and test clients sending their API key to the gateway), client-side `ws` frames, and streams
 * fed what was received rather than what is served (a `ws` Receiver, decompression streams).
 *
 * A test server that plays a hostile upstream and echoes the secret on purpose is exempted with
 * `exemptFromCanaryGuard`. A hit inside a test fails that test (a root-level `afterEach` hook); any hit fails the test
 * file (exit code 1) and is printed, canary masked, with where it was written, when the process exits.
 */
import { type Server as HttpServer, OutgoingMessage, ServerResponse } from "node:http";
import { Server as NetServer, Socket } from "node:net";
import { Duplex, Writable } from "node:stream";
import { afterEach, beforeEach } from "node:test";
import * as zlib from "node:zlib";
import * as wsExports from "ws";
import { WebSocket, WebSocketServer } from "ws";

/** The secret the test harness puts into every upstream URL and every client API key. */
export const CANARY = "canary-secret-7f3a9c1e";
/** How an excerpt shows the secret. */
export const CANARY_MASK = "<CANARY>";

export type CanaryFindingKind = "response-header" | "response-body" | "ws-frame" | "socket" | "log";

export interface CanaryFinding {
  kind: CanaryFindingKind;
  /** About 200 characters around the hit, the canary replaced by `<CANARY>`. */
  excerpt: string;
  /** Where the write was made (the guard's own frames removed). */
  stack: string;
  /** Full name of the test running when the write was made, when one was. */
  test?: string;
}

/** Anything whose traffic a test may exempt: a server, a WebSocket server, or whatever listens on `port`. */
export type CanaryExemptTarget = HttpServer | NetServer | WebSocketServer | { port: number };

const EXCERPT_CHARS = 200;
const EXCERPT_BEFORE = 80;
/** Findings kept in full; beyond it only counted, so a leak in a hot loop cannot exhaust memory. */
const MAX_FINDINGS = 200;
const STACK_FRAMES = 25;
const CANARY_BYTES = Buffer.from(CANARY, "latin1");
const TAIL = CANARY.length - 1;
/** Encodings in which a string chunk is the text it says; any other (hex, base64, utf16le) is decoded first. */
const TEXT_ENCODINGS = new Set(["utf8", "utf-8", "latin1", "binary", "ascii"]);
const DECOMPRESSORS: (abstract new (...args: never[]) => unknown)[] = [
  zlib.Gunzip,
  zlib.Inflate,
  zlib.InflateRaw,
  zlib.Unzip,
  zlib.BrotliDecompress,
];

/** Exported by ws at run time, not listed by its type definitions. */
const WsReceiver = (wsExports as unknown as { Receiver: abstract new (...args: never[]) => Writable }).Receiver;

interface GuardState {
  findings: CanaryFinding[];
  dropped: number;
  exemptServers: Set<object>;
  exemptPorts: Map<number, number>;
  /** The WebSocketServer that took over each upgraded socket. */
  upgradedBy: WeakMap<object, object>;
  /** Each accepted socket's local port, read once: the getter asks the kernel every time. */
  localPorts: WeakMap<object, number | undefined>;
  /** The last few characters written to each stream, to find a secret split across two writes. */
  tails: WeakMap<object, string>;
  /**
   * Responses, WebSockets and streams inside a patched call, and the sockets under them: what they write underneath
   * (a response's bytes on its socket) was already scanned once.
   */
  busy: WeakSet<object>;
  /** True while the guard writes its own report. */
  reporting: boolean;
  runningTests: { name: string; mark: number }[];
}

const STATE_KEY = Symbol.for("multihome.canaryGuard");
const registry = globalThis as typeof globalThis & { [STATE_KEY]?: GuardState };
const state: GuardState = registry[STATE_KEY] ?? install();

/** Every finding so far in this process. */
export function canaryFindings(): readonly CanaryFinding[] {
  return state.findings;
}

/**
 * Lets `target` serve the canary: for a test server that plays a hostile or faulty upstream echoing its key on
 * purpose. A `{ port }` (e.g. a fault proxy) exempts every connection accepted on that local port. Returns the undo.
 */
export function exemptFromCanaryGuard(target: CanaryExemptTarget): () => void {
  if (target instanceof NetServer || target instanceof WebSocketServer) {
    const servers: object[] = [target];
    // A WebSocketServer started with `port` answers non-upgrade requests from its own HTTP server.
    const own = (target as unknown as { _server?: HttpServer })._server;
    if (target instanceof WebSocketServer && own && target.options.port !== undefined) servers.push(own);
    for (const s of servers) state.exemptServers.add(s);
    return () => {
      for (const s of servers) state.exemptServers.delete(s);
    };
  }
  const port = target.port;
  state.exemptPorts.set(port, (state.exemptPorts.get(port) ?? 0) + 1);
  return () => {
    const n = (state.exemptPorts.get(port) ?? 1) - 1;
    if (n > 0) state.exemptPorts.set(port, n);
    else state.exemptPorts.delete(port);
  };
}

function install(): GuardState {
  const s: GuardState = {
    findings: [],
    dropped: 0,
    exemptServers: new Set(),
    exemptPorts: new Map(),
    upgradedBy: new WeakMap(),
    localPorts: new WeakMap(),
    tails: new WeakMap(),
    busy: new WeakSet(),
    reporting: false,
    runningTests: [],
  };
  registry[STATE_KEY] = s;
  patchServerResponse(s);
  patchWebSocket(s);
  patchWritables(s);
  process.on("exit", () => report(s));
  // Only a test file's own process has a root test to hook; a plain script with the guard must not grow one.
  if (process.env.NODE_TEST_CONTEXT) hookTests(s);
  return s;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Replaces `proto[name]` with a wrapper that scans first, then runs the original with `self` and the objects `holds`
 * names marked busy, so the writes they make underneath are not scanned (and reported) a second time.
 */
function wrap(
  s: GuardState,
  proto: object,
  name: string,
  inspect: (self: unknown, args: unknown[]) => void,
  holds: (self: unknown) => unknown = () => undefined,
): void {
  const original = (proto as Record<string, Method>)[name];
  if (typeof original !== "function") return;
  const wrapped: Method = function (this: unknown, ...args: unknown[]) {
    if (s.reporting || typeof this !== "object" || this === null || s.busy.has(this)) return original.apply(this, args);
    inspect(this, args);
    const marked: object[] = [this];
    const under = holds(this);
    if (under && typeof under === "object" && !s.busy.has(under)) marked.push(under);
    for (const o of marked) s.busy.add(o);
    try {
      return original.apply(this, args);
    } finally {
      for (const o of marked) s.busy.delete(o);
    }
  };
  Object.defineProperty(proto, name, { value: wrapped, writable: true, configurable: true, enumerable: false });
}

/** Runs `inspect` before the original, marking nothing: for calls under which other writes must still be scanned. */
function observe(proto: object, name: string, inspect: (self: unknown, args: unknown[]) => void): void {
  const original = (proto as Record<string, Method>)[name];
  if (typeof original !== "function") return;
  const wrapped: Method = function (this: unknown, ...args: unknown[]) {
    inspect(this, args);
    return original.apply(this, args);
  };
  Object.defineProperty(proto, name, { value: wrapped, writable: true, configurable: true, enumerable: false });
}

function patchServerResponse(s: GuardState): void {
  const headers = (res: unknown, text: string) => {
    if (!isExemptResponse(s, res)) check(s, "response-header", undefined, text);
  };
  const body = (res: unknown, chunk: unknown, encoding: unknown) => {
    if (typeof chunk === "function" || chunk == null || isExemptResponse(s, res)) return;
    check(s, "response-body", res as object, chunk, encoding);
  };
  const proto = ServerResponse.prototype;
  // Inherited from OutgoingMessage: each is wrapped as a copy on ServerResponse so client requests stay untouched.
  for (const name of ["setHeader", "appendHeader", "setHeaders", "addTrailers"]) {
    if (!Object.hasOwn(proto, name))
      Object.defineProperty(proto, name, {
        value: (OutgoingMessage.prototype as unknown as Record<string, Method>)[name],
        writable: true,
        configurable: true,
      });
  }
  wrap(s, proto, "setHeader", (res, [name, value]) => headers(res, `${String(name)}: ${headerText(value)}`));
  wrap(s, proto, "appendHeader", (res, [name, value]) => headers(res, `${String(name)}: ${headerText(value)}`));
  wrap(s, proto, "setHeaders", (res, [all]) => headers(res, headerText(all)));
  wrap(s, proto, "addTrailers", (res, [trailers]) => headers(res, headerText(trailers)));
  wrap(s, proto, "writeHead", (res, args) => headers(res, args.map(headerText).join(" ")));
  const socketOf = (res: unknown) => (res as { socket?: unknown }).socket;
  wrap(s, proto, "writeEarlyHints", (res, [hints]) => headers(res, headerText(hints)), socketOf);
  // A status message assigned as a property reaches the wire inside the first write, whose socket write is not
  // scanned again: look at it there.
  const statusLine = (res: unknown) => {
    const r = res as { headersSent?: boolean; statusMessage?: unknown };
    if (!r.headersSent && r.statusMessage) headers(res, String(r.statusMessage));
  };
  for (const name of ["write", "end"])
    wrap(
      s,
      proto,
      name,
      (res, [chunk, encoding]) => {
        statusLine(res);
        body(res, chunk, encoding);
      },
      socketOf,
    );
}

function patchWebSocket(s: GuardState): void {
  const frame = (ws: unknown, data: unknown) => {
    const socket = ws as { _isServer?: boolean; _socket?: object | null };
    // Client-side sends (a test's client, the gateway's upstream connections) may carry keys: that is their job.
    if (!socket._isServer || data == null || isExemptSocket(s, socket._socket)) return;
    check(s, "ws-frame", undefined, typeof data === "number" ? String(data) : data);
  };
  const proto = WebSocket.prototype;
  const socketOf = (ws: unknown) => (ws as { _socket?: unknown })._socket;
  wrap(s, proto, "send", (ws, [data]) => frame(ws, data), socketOf);
  wrap(s, proto, "close", (ws, [, reason]) => frame(ws, reason), socketOf);
  wrap(s, proto, "ping", (ws, [data]) => frame(ws, data), socketOf);
  wrap(s, proto, "pong", (ws, [data]) => frame(ws, data), socketOf);
  // Connections of an exempted WebSocketServer are exempt too, also when it was built with `noServer`.
  observe(WebSocketServer.prototype, "handleUpgrade", (wss, [, socket]) => {
    if (socket && typeof socket === "object") s.upgradedBy.set(socket, wss as object);
  });
}

function patchWritables(s: GuardState): void {
  const inspect = (stream: unknown, chunk: unknown, encoding: unknown) => {
    if (chunk == null || typeof chunk === "function") return;
    const kind = streamKind(s, stream);
    if (kind) check(s, kind, stream as object, chunk, encoding);
  };
  // Duplex copies Writable's methods onto its own prototype, so sockets and transforms need their own wrappers.
  for (const proto of [Writable.prototype, Duplex.prototype]) {
    wrap(s, proto, "write", (stream, [chunk, encoding]) => inspect(stream, chunk, encoding));
    wrap(s, proto, "end", (stream, [chunk, encoding]) => inspect(stream, chunk, encoding));
  }
}

function streamKind(s: GuardState, stream: unknown): CanaryFindingKind | undefined {
  const st = stream as { _isStdio?: boolean; server?: unknown };
  if (st._isStdio) return "log";
  if (stream instanceof Socket) {
    // Accepted by a server: everything on it is served. Any other socket is a client's, allowed to carry keys.
    if (st.server && !isExemptSocket(s, stream)) return "socket";
    return undefined;
  }
  // A ws Receiver is a Writable fed the frames a WebSocket received; decompressors are fed received bodies.
  if (stream instanceof WsReceiver || DECOMPRESSORS.some((c) => stream instanceof c)) return undefined;
  return "log";
}

function isExemptResponse(s: GuardState, res: unknown): boolean {
  const r = res as { socket?: object | null; req?: { socket?: object | null } };
  return isExemptSocket(s, r.socket ?? r.req?.socket);
}

function isExemptSocket(s: GuardState, socket: unknown): boolean {
  if (!socket || typeof socket !== "object") return false;
  if (s.exemptPorts.size === 0 && s.exemptServers.size === 0) return false;
  const sock = socket as { server?: object; localPort?: number };
  if (sock.server && s.exemptServers.has(sock.server)) return true;
  const wss = s.upgradedBy.get(socket);
  if (wss && s.exemptServers.has(wss)) return true;
  if (s.exemptPorts.size === 0) return false;
  if (!s.localPorts.has(socket)) s.localPorts.set(socket, sock.localPort);
  const port = s.localPorts.get(socket);
  return port !== undefined && s.exemptPorts.has(port);
}

function headerText(value: unknown): string {
  if (value == null) return "";
  if (typeof value === "object") {
    const entries = (value as { entries?: unknown }).entries;
    // Map and Headers serialize to "{}": list their entries instead.
    if (!Array.isArray(value) && typeof entries === "function")
      return JSON.stringify(Array.from((value as Map<unknown, unknown>).entries()));
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/** A view of a chunk as latin1 text: the canary is ASCII, so its bytes match however the rest is encoded. */
function asBytes(chunk: unknown, encoding: unknown): Buffer | string | undefined {
  if (typeof chunk === "string") {
    const enc = typeof encoding === "string" ? encoding.toLowerCase() : "utf8";
    return TEXT_ENCODINGS.has(enc) || !Buffer.isEncoding(enc) ? chunk : Buffer.from(chunk, enc);
  }
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return Buffer.from(chunk);
  return undefined;
}

function slice(data: Buffer | string, start: number, end: number): string {
  const from = Math.max(0, start);
  const to = Math.min(data.length, end);
  return typeof data === "string" ? data.slice(from, to) : data.toString("latin1", from, to);
}

/** Scans one chunk (continuing `stream`'s previous write when given) and records a finding on a hit. */
function check(s: GuardState, kind: CanaryFindingKind, stream: object | undefined, chunk: unknown, encoding?: unknown) {
  const data = asBytes(chunk, encoding);
  if (data === undefined || data.length === 0) return;
  const at = typeof data === "string" ? data.indexOf(CANARY) : data.indexOf(CANARY_BYTES);
  let excerpt: string | undefined;
  if (at >= 0) {
    excerpt = slice(data, at - EXCERPT_BEFORE, at - EXCERPT_BEFORE + EXCERPT_CHARS);
  }
  if (stream) {
    const tail = s.tails.get(stream) ?? "";
    if (excerpt === undefined && tail) {
      const joined = tail + slice(data, 0, EXCERPT_CHARS);
      if (joined.slice(0, TAIL * 2).includes(CANARY)) excerpt = joined;
    }
    const next =
      data.length >= TAIL ? slice(data, data.length - TAIL, data.length) : (tail + slice(data, 0, TAIL)).slice(-TAIL);
    s.tails.set(stream, next);
  }
  if (excerpt !== undefined) record(s, kind, excerpt);
}

function record(s: GuardState, kind: CanaryFindingKind, excerpt: string): void {
  if (s.findings.length >= MAX_FINDINGS) {
    s.dropped++;
    return;
  }
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = STACK_FRAMES + 15;
  const raw = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  const stack = raw
    .split("\n")
    .slice(1)
    .filter((line) => !line.includes("canary-guard.ts"))
    .slice(0, STACK_FRAMES)
    .join("\n");
  const finding: CanaryFinding = { kind, excerpt: mask(excerpt), stack: mask(stack) };
  const test = s.runningTests.at(-1);
  if (test) finding.test = test.name;
  s.findings.push(finding);
}

function mask(text: string): string {
  return text.replaceAll(CANARY, CANARY_MASK);
}

function describeFinding(f: CanaryFinding): string {
  return [
    `canary leak (${f.kind})${f.test ? ` during test "${f.test}"` : ""}: ${JSON.stringify(f.excerpt)}`,
    f.stack
      .split("\n")
      .map((l) => `    ${l.trim()}`)
      .join("\n"),
  ].join("\n");
}

function report(s: GuardState): void {
  if (s.findings.length === 0) return;
  const lines = [
    `\nthe canary guard found the secret in ${s.findings.length + s.dropped} place(s) this process served or logged:`,
    ...s.findings.map(describeFinding),
  ];
  if (s.dropped > 0) lines.push(`... and ${s.dropped} more not kept`);
  s.reporting = true;
  try {
    process.stderr.write(`${lines.join("\n")}\n`);
  } finally {
    s.reporting = false;
  }
  process.exitCode = 1;
}

function hookTests(s: GuardState): void {
  beforeEach((t) => {
    s.runningTests.push({ name: t.fullName, mark: s.findings.length });
  });
  afterEach((t) => {
    const i = s.runningTests.findLastIndex((r) => r.name === t.fullName);
    if (i < 0) return;
    const { mark } = s.runningTests.splice(i, 1)[0]!;
    // Subtests already failed for their own findings; only what this test wrote itself is left to claim.
    const mine = s.findings.slice(mark).filter((f) => f.test === t.fullName);
    if (mine.length > 0)
      throw new Error(`the canary secret was served or logged:\n${mine.map(describeFinding).join("\n")}`);
  });
}
