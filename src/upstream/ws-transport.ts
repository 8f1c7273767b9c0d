import WebSocket from "ws";
import type { Clock, SendOptions, Transport, TransportResponse } from "../core/ports.ts";
import { TransportError } from "../core/ports.ts";
import { ADDRESS_POLICY_DEFAULT, type AddressPolicy, hostnameVerdict } from "../core/security/address-policy.ts";
import { errorCodeOf, redactError } from "../core/security/redact.ts";
import { AddressBlockedError, abortedError, failureDetail, TRANSPORT_CLOSED_MESSAGE } from "./failures.ts";
import { createSafeLookup, type ResolveHostname } from "./safe-lookup.ts";

/** Deadline for TCP, TLS and the upgrade handshake together, in milliseconds. */
export const WS_CONNECT_TIMEOUT_MS_DEFAULT = 2_000;
/** Largest frame accepted from the upstream, in bytes; a larger one closes the connection (1009). */
export const WS_MAX_PAYLOAD_BYTES_DEFAULT = 32 * 1024 * 1024;
/** Interval between pings, in milliseconds; a connection that misses one pong is dropped. */
export const WS_PING_INTERVAL_MS_DEFAULT = 15_000;
/** First reconnect delay after a failed connect, in milliseconds; doubles per failure. */
export const WS_RECONNECT_DELAY_MIN_MS = 100;
/** Ceiling of the reconnect delay, in milliseconds. */
export const WS_RECONNECT_DELAY_MAX_MS = 5_000;
/** How long `close()` waits for the closing handshake before dropping the socket, in milliseconds. */
export const WS_CLOSE_TIMEOUT_MS = 1_000;

export interface WsTransportOptions {
  /** `ws://` or `wss://` endpoint; may carry an API key in path, query or userinfo (Basic auth on the upgrade). */
  url: string;
  /** Connect deadline (TCP, TLS and upgrade) in milliseconds. @default 2_000 */
  connectTimeoutMs?: number;
  /** Largest accepted message in bytes. @default 32 MiB */
  maxPayloadBytes?: number;
  /** Ping interval in milliseconds. @default 15_000 */
  pingIntervalMs?: number;
  /** Messages that answer no send (subscription notifications). Called synchronously; errors are swallowed. */
  onNotification?: (message: unknown) => void;
  /** Time source for the reconnect backoff. @default Date.now */
  clock?: Pick<Clock, "now">;
  /**
   * Which addresses the upstream may be at: checked on the URL's literal address when the transport is created
   * (an `AddressBlockedError` is thrown) and on every resolved address before each connect (the send fails with kind
   * `connect`, code `EADDRBLOCKED`). Use mode `api` for a URL that did not come from the config file.
   * @default { mode: "config", allowPrivate: false }
   */
  addressPolicy?: AddressPolicy;
  /** Host name resolver behind the address check. @default dns.lookup, every address */
  resolve?: ResolveHostname;
}

// --- JSON-RPC envelope scanning -------------------------------------------------------------------------------
// Ids are rewritten in the text rather than by parse and re-serialize: the caller's ids (and everything else) must
// come back byte for byte, and a parse/stringify round trip would turn an id like 9007199254740993 into ...992.

interface IdSlot {
  start: number;
  end: number;
}

interface Envelope {
  /** Every top-level `id` member's value span (JSON allows duplicates; the last one wins when parsed). */
  ids: IdSlot[];
  isObject: boolean;
  hasMethod: boolean;
}

function skipWhitespace(text: string, i: number): number {
  let j = i;
  for (;;) {
    const c = text.charCodeAt(j);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return j;
    j++;
  }
}

function skipString(text: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) throw new SyntaxError("unterminated string");
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function skipContainer(text: string, i: number): number {
  const structural = /["[\]{}]/g;
  structural.lastIndex = i;
  let depth = 0;
  for (;;) {
    const match = structural.exec(text);
    if (match === null) throw new SyntaxError("unterminated container");
    const c = text.charCodeAt(match.index);
    if (c === 0x22) {
      structural.lastIndex = skipString(text, match.index);
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
    } else if (--depth === 0) {
      return match.index + 1;
    }
  }
}

function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22) return skipString(text, i);
  if (c === 0x5b || c === 0x7b) return skipContainer(text, i);
  let j = i;
  while (j < text.length && !",]} \t\n\r".includes(text[j] as string)) j++;
  if (j === i) throw new SyntaxError("value expected");
  return j;
}

function scanObject(text: string, start: number): { end: number; envelope: Envelope } {
  const envelope: Envelope = { ids: [], isObject: true, hasMethod: false };
  let i = skipWhitespace(text, start + 1);
  if (text[i] === "}") return { end: i + 1, envelope };
  for (;;) {
    if (text[i] !== '"') throw new SyntaxError("key expected");
    const keyEnd = skipString(text, i);
    const rawKey = text.slice(i + 1, keyEnd - 1);
    const key = rawKey.includes("\\") ? JSON.parse(text.slice(i, keyEnd)) : rawKey;
    i = skipWhitespace(text, keyEnd);
    if (text[i] !== ":") throw new SyntaxError("colon expected");
    i = skipWhitespace(text, i + 1);
    const valueEnd = skipValue(text, i);
    if (key === "id") envelope.ids.push({ start: i, end: valueEnd });
    else if (key === "method") envelope.hasMethod = true;
    i = skipWhitespace(text, valueEnd);
    if (text[i] === "}") return { end: i + 1, envelope };
    if (text[i] !== ",") throw new SyntaxError("comma expected");
    i = skipWhitespace(text, i + 1);
  }
}

/** The top-level JSON-RPC objects of a single message or batch, with where their ids sit. Throws on garbage. */
function scanEnvelopes(text: string): { batch: boolean; items: Envelope[] } {
  let i = skipWhitespace(text, 0);
  if (text[i] === "{") {
    const { end, envelope } = scanObject(text, i);
    if (skipWhitespace(text, end) !== text.length) throw new SyntaxError("trailing data");
    return { batch: false, items: [envelope] };
  }
  if (text[i] !== "[") throw new SyntaxError("object or array expected");
  const items: Envelope[] = [];
  i = skipWhitespace(text, i + 1);
  if (text[i] !== "]") {
    for (;;) {
      if (text[i] === "{") {
        const scanned = scanObject(text, i);
        items.push(scanned.envelope);
        i = scanned.end;
      } else {
        i = skipValue(text, i);
        items.push({ ids: [], isObject: false, hasMethod: false });
      }
      i = skipWhitespace(text, i);
      if (text[i] === "]") break;
      if (text[i] !== ",") throw new SyntaxError("comma expected");
      i = skipWhitespace(text, i + 1);
    }
  }
  if (skipWhitespace(text, i + 1) !== text.length) throw new SyntaxError("trailing data");
  return { batch: true, items };
}

function replaceSlots(text: string, replacements: Array<IdSlot & { value: string }>): string {
  if (replacements.length === 0) return text;
  let out = "";
  let at = 0;
  for (const { start, end, value } of replacements) {
    out += text.slice(at, start) + value;
    at = end;
  }
  return out + text.slice(at);
}

// --- transport ----------------------------------------------------------------------------------------------------

interface PendingSend {
  socket: WebSocket;
  /** Transport id → the caller's id exactly as written. Empty when the payload had no id to correlate by. */
  ids: Map<number, string>;
  maxResponseBytes: number;
  settle(outcome: { body: string } | { error: TransportError }): void;
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** One persistent WebSocket to one upstream, shared by all sends; ids are rewritten so replies cannot cross. */
export function createWsTransport(options: WsTransportOptions): Transport {
  const {
    url,
    connectTimeoutMs = WS_CONNECT_TIMEOUT_MS_DEFAULT,
    maxPayloadBytes = WS_MAX_PAYLOAD_BYTES_DEFAULT,
    pingIntervalMs = WS_PING_INTERVAL_MS_DEFAULT,
    onNotification,
    clock = { now: Date.now },
    addressPolicy = ADDRESS_POLICY_DEFAULT,
    resolve,
  } = options;
  let hostname: string;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
      throw new TypeError("upstream URL must use ws: or wss:");
    }
    hostname = parsed.hostname;
  } catch (error) {
    throw error instanceof TypeError && error.message.startsWith("upstream")
      ? error
      : new TypeError("upstream URL is not a valid URL");
  }
  // A literal address never goes through a lookup, so it is judged here, once.
  const literal = hostnameVerdict(hostname, addressPolicy.mode, addressPolicy.allowPrivate);
  if (literal !== "needs-dns" && !literal.ok) throw new AddressBlockedError(literal.reason);
  const lookup = createSafeLookup({ mode: addressPolicy.mode, allowPrivate: addressPolicy.allowPrivate, resolve });
  const secrets = [url, hostname];

  let closed = false;
  let nextId = 1;
  /** The open socket, or the one being opened. */
  let current: WebSocket | undefined;
  let connecting: Promise<WebSocket> | undefined;
  let connectFailures = 0;
  let retryAt = 0;
  const byId = new Map<number, PendingSend>();
  /** Sends with no id to correlate by, oldest first: they take replies whose ids are all null. */
  const anonymous = new Set<PendingSend>();
  const pending = new Set<PendingSend>();

  function forget(entry: PendingSend): void {
    for (const id of entry.ids.keys()) byId.delete(id);
    anonymous.delete(entry);
    pending.delete(entry);
  }

  function deliver(entry: PendingSend, data: Buffer, text: string): void {
    if (data.length > entry.maxResponseBytes) {
      entry.settle({
        error: new TransportError(
          "too_large",
          `upstream response is too large (${data.length} > ${entry.maxResponseBytes} bytes)`,
        ),
      });
    } else {
      entry.settle({ body: text });
    }
  }

  function onMessage(data: Buffer): void {
    const text = data.toString("utf8");
    let scan: ReturnType<typeof scanEnvelopes>;
    try {
      scan = scanEnvelopes(text);
    } catch {
      return; // Not JSON-RPC: there is no send it could belong to.
    }
    let target: PendingSend | undefined;
    const slots: Array<IdSlot & { raw: string }> = [];
    for (const item of scan.items) {
      for (const slot of item.ids) {
        const raw = text.slice(slot.start, slot.end);
        slots.push({ ...slot, raw });
        if (target === undefined && /^[0-9]{1,15}$/.test(raw)) target = byId.get(Number(raw));
      }
    }
    if (target !== undefined) {
      const owner = target;
      const restored = slots.flatMap(({ start, end, raw }) => {
        const original = /^[0-9]{1,15}$/.test(raw) ? owner.ids.get(Number(raw)) : undefined;
        return original === undefined ? [] : [{ start, end, value: original }];
      });
      deliver(owner, data, replaceSlots(text, restored));
      return;
    }
    const only = scan.items[0];
    if (!scan.batch && only !== undefined && only.hasMethod && only.ids.length === 0) {
      try {
        onNotification?.(JSON.parse(text));
      } catch {
        // A broken listener or a malformed notification must not take the connection down.
      }
      return;
    }
    // Errors the upstream could not tie to a request (unparseable payload, invalid batch) come back with id null.
    // They go to the oldest send that had no id, else to the only send in flight; a reply carrying an id we no
    // longer know is a late answer to an abandoned send and is dropped.
    if (!slots.every((slot) => slot.raw === "null")) return;
    const [oldestAnonymous] = anonymous;
    const [onlyPending] = pending;
    const fallback = oldestAnonymous ?? (pending.size === 1 ? onlyPending : undefined);
    if (fallback !== undefined) deliver(fallback, data, text);
  }

  function attach(socket: WebSocket): void {
    let alive = true;
    let lastError: unknown;
    socket.on("message", (data) => {
      alive = true;
      onMessage(toBuffer(data));
    });
    socket.on("pong", () => {
      alive = true;
    });
    socket.on("error", (error) => {
      lastError = error;
    });
    // A silent upstream (half-open TCP, stalled proxy) never closes on its own; a missed pong closes it for us.
    const heartbeat = setInterval(() => {
      if (!alive) {
        lastError ??= new Error("no pong within the ping interval");
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, pingIntervalMs);
    heartbeat.unref();
    socket.once("close", (code: number) => {
      clearInterval(heartbeat);
      if (current === socket) current = undefined;
      const reason = errorCodeOf(lastError);
      const message = `upstream WebSocket closed (code ${code}${reason === undefined ? "" : `, ${reason}`})`;
      for (const entry of [...pending]) {
        if (entry.socket !== socket) continue;
        const options = lastError === undefined ? undefined : { cause: redactError(lastError, secrets) };
        entry.settle({ error: new TransportError("reset", message, options) });
      }
    });
  }

  function open(): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      // Not following redirects keeps a 3xx from leading the connection to an address nobody checked.
      const socket = new WebSocket(url, { maxPayload: maxPayloadBytes, followRedirects: false, lookup });
      current = socket;
      let settled = false;
      const fail = (error: TransportError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        connectFailures++;
        retryAt =
          clock.now() + Math.min(WS_RECONNECT_DELAY_MIN_MS * 2 ** (connectFailures - 1), WS_RECONNECT_DELAY_MAX_MS);
        if (current === socket) current = undefined;
        socket.terminate();
        reject(closed ? new TransportError("aborted", TRANSPORT_CLOSED_MESSAGE) : error);
      };
      const timer = setTimeout(
        () => fail(new TransportError("connect", "upstream connect deadline passed")),
        connectTimeoutMs,
      );
      socket.on("error", (error) => {
        const message = `could not connect to the upstream${failureDetail(error, errorCodeOf(error))}`;
        fail(new TransportError("connect", message, { cause: redactError(error, secrets) }));
      });
      socket.once("close", () => fail(new TransportError("connect", "upstream closed during the handshake")));
      socket.once("open", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        connectFailures = 0;
        retryAt = 0;
        attach(socket);
        resolve(socket);
      });
    });
  }

  function connection(signal: AbortSignal): Promise<WebSocket> {
    if (current !== undefined && current.readyState === WebSocket.OPEN) return Promise.resolve(current);
    if (connecting === undefined) {
      // Fail fast while backing off: the caller can use another upstream now instead of waiting here.
      if (clock.now() < retryAt) {
        return Promise.reject(new TransportError("connect", "upstream reconnect is backing off"));
      }
      connecting = open().finally(() => {
        connecting = undefined;
      });
    }
    const shared = connecting;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(abortedError(signal));
      signal.addEventListener("abort", onAbort, { once: true });
      shared.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  function prepare(body: string): { text: string; ids: Map<number, string>; expectsReply: boolean } {
    let scan: ReturnType<typeof scanEnvelopes>;
    try {
      JSON.parse(body);
      scan = scanEnvelopes(body);
    } catch {
      throw new TypeError("JSON-RPC payload must be a JSON object or array");
    }
    const ids = new Map<number, string>();
    const replacements: Array<IdSlot & { value: string }> = [];
    for (const item of scan.items) {
      const last = item.ids.at(-1);
      if (last === undefined) continue;
      const id = nextId++;
      ids.set(id, body.slice(last.start, last.end));
      for (const slot of item.ids) replacements.push({ ...slot, value: String(id) });
    }
    // Only notifications: the upstream answers nothing, as an HTTP upstream answers 204.
    const notificationsOnly =
      ids.size === 0 && scan.items.length > 0 && scan.items.every((item) => item.isObject && item.hasMethod);
    return { text: replaceSlots(body, replacements), ids, expectsReply: !notificationsOnly };
  }

  async function send(body: string, { signal, maxResponseBytes }: SendOptions): Promise<TransportResponse> {
    if (closed) throw new TransportError("aborted", TRANSPORT_CLOSED_MESSAGE);
    if (signal.aborted) throw abortedError(signal);
    const prepared = prepare(body);
    const socket = await connection(signal);
    if (signal.aborted) throw abortedError(signal);
    if (closed) throw new TransportError("aborted", TRANSPORT_CLOSED_MESSAGE);
    if (socket.readyState !== WebSocket.OPEN) {
      throw new TransportError("connect", "upstream connection closed before the request was sent");
    }
    return new Promise<TransportResponse>((resolve, reject) => {
      const onAbort = (): void => entry.settle({ error: abortedError(signal) });
      const entry: PendingSend = {
        socket,
        ids: prepared.ids,
        maxResponseBytes,
        settle(outcome) {
          if (!pending.has(entry)) return;
          forget(entry);
          signal.removeEventListener("abort", onAbort);
          if ("error" in outcome) reject(outcome.error);
          else resolve({ status: 200, body: outcome.body });
        },
      };
      pending.add(entry);
      if (prepared.ids.size === 0 && prepared.expectsReply) anonymous.add(entry);
      for (const id of prepared.ids.keys()) byId.set(id, entry);
      signal.addEventListener("abort", onAbort, { once: true });
      socket.send(prepared.text, (error) => {
        if (error !== undefined && error !== null) {
          const options = { cause: redactError(error, secrets) };
          entry.settle({ error: new TransportError("reset", "upstream connection closed while sending", options) });
        } else if (!prepared.expectsReply) {
          entry.settle({ body: "" });
        }
      });
    });
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    const error = new TransportError("aborted", TRANSPORT_CLOSED_MESSAGE);
    for (const entry of [...pending]) entry.settle({ error });
    const socket = current;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.terminate(), WS_CLOSE_TIMEOUT_MS);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket.close(1000);
    });
  }

  return { send, close };
}
