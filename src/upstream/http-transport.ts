import { type Dispatcher, Pool } from "undici";
import { type SendOptions, type Transport, TransportError, type TransportResponse } from "../core/ports.ts";
import { ADDRESS_POLICY_DEFAULT, type AddressPolicy, hostnameVerdict } from "../core/security/address-policy.ts";
import { redactError } from "../core/security/redact.ts";
import {
  AddressBlockedError,
  abortedError,
  classifyHttpFailure,
  failureDetail,
  TRANSPORT_MESSAGES as MESSAGES,
  TRANSPORT_CLOSED_MESSAGE,
} from "./failures.ts";
import { createSafeLookup, type ResolveHostname } from "./safe-lookup.ts";
import { parseHttpUpstream } from "./upstream-url.ts";

/** Connections per upstream origin. */
export const HTTP_CONNECTIONS_DEFAULT = 32;
/** Idle time after which a pooled keep-alive socket is closed, in milliseconds. */
export const HTTP_KEEP_ALIVE_TIMEOUT_MS_DEFAULT = 30_000;
/** TCP + TLS handshake deadline, in milliseconds. */
export const HTTP_CONNECT_TIMEOUT_MS_DEFAULT = 2_000;

export interface HttpTransportOptions {
  /**
   * `http(s)://…` endpoint. It may carry an API key in its path, query or userinfo (sent as Basic auth); no part of
   * it ever appears in an error.
   */
  url: string;
  /** Maximum sockets to the upstream. @default 32 */
  connections?: number;
  /** Idle keep-alive socket lifetime in milliseconds (the server's `Keep-Alive` hint may shorten it). @default 30_000 */
  keepAliveTimeoutMs?: number;
  /**
   * Connect (TCP and TLS) deadline in milliseconds; exceeding it fails with code `connect`. Undici checks it on a
   * coarse timer, so it fires up to about a second late; the caller's per-attempt signal is the precise bound.
   * @default 2_000
   */
  connectTimeoutMs?: number;
  /** Extra request headers (for example a vendor's API key header). Their values are treated as secrets. */
  headers?: Record<string, string>;
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

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function createHttpTransport(options: HttpTransportOptions): Transport {
  const {
    url,
    connections = HTTP_CONNECTIONS_DEFAULT,
    keepAliveTimeoutMs = HTTP_KEEP_ALIVE_TIMEOUT_MS_DEFAULT,
    connectTimeoutMs = HTTP_CONNECT_TIMEOUT_MS_DEFAULT,
    headers = {},
    addressPolicy = ADDRESS_POLICY_DEFAULT,
    resolve,
  } = options;
  const { url: target, headers: requestHeaders, secrets } = parseHttpUpstream(url, headers);
  const path = `${target.pathname}${target.search}`;
  // A literal address never goes through a lookup, so it is judged here, once.
  const literal = hostnameVerdict(target.hostname, addressPolicy.mode, addressPolicy.allowPrivate);
  if (literal !== "needs-dns" && !literal.ok) throw new AddressBlockedError(literal.reason);

  const pool = new Pool(target.origin, {
    connections,
    // One request per socket at a time: a slow response never holds up another one queued behind it.
    pipelining: 1,
    keepAliveTimeout: keepAliveTimeoutMs,
    // Redirects are not followed: undici's Pool never does (no redirect interceptor is composed), so a 3xx comes
    // back as a status and is never a way to reach an address the policy refuses.
    connect: {
      timeout: connectTimeoutMs,
      lookup: createSafeLookup({ mode: addressPolicy.mode, allowPrivate: addressPolicy.allowPrivate, resolve }),
    },
  });
  let closed = false;
  /**
   * Sends handed to the pool and not yet answered: at most `connections`. The rest wait here in order, so a send whose
   * deadline passes while it waits is dropped before undici sees it. (Undici keeps an aborted request queued until a
   * connection frees, then tears that connection down for it: after an upstream that held every connection, a
   * backlog of them would cost a connection each.)
   */
  let dispatched = 0;
  const waiting: (() => void)[] = [];
  function release(): void {
    dispatched--;
    while (dispatched < connections && waiting.length > 0) waiting.shift()!();
  }

  function failure(error: unknown, signal: AbortSignal): TransportError {
    if (error instanceof TransportError) return error;
    const { kind, code } =
      closed && !signal.aborted ? { kind: "aborted" as const, code: "closed" } : classifyHttpFailure(error, signal);
    const message = `${MESSAGES[kind]}${failureDetail(error, code)}`;
    // Undici's own messages and stacks name the host and sometimes more; only a redacted copy is kept.
    return new TransportError(kind, message, { cause: redactError(error, secrets) });
  }

  /**
   * One request through the pool's raw dispatch: no response stream, no per-request promise chain inside undici —
   * the body is gathered in the handler and capped there. The caller's signal aborts through the dispatch's own
   * controller (undici tears the socket down and reports the reason to `onResponseError`).
   */
  function send(body: string, { signal, maxResponseBytes }: SendOptions): Promise<TransportResponse> {
    if (closed) return Promise.reject(new TransportError("aborted", TRANSPORT_CLOSED_MESSAGE));
    if (signal.aborted) return Promise.reject(abortedError(signal));
    return new Promise<TransportResponse>((resolve, reject) => {
      let controller: Dispatcher.DispatchController | undefined;
      let status = 0;
      let retryAfter: string | undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      // Still waiting for a connection: the send fails now and leaves the line (undici's request API would wait for
      // a connection first); once handed over, undici tears its connection down.
      const onAbort = () => {
        if (controller) {
          controller.abort(signal.reason);
          return;
        }
        const i = waiting.indexOf(start);
        if (i >= 0) waiting.splice(i, 1);
        settle(failure(signal.reason, signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const settle = (error: TransportError | undefined, response?: TransportResponse) => {
        if (done) return;
        done = true;
        signal.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve(response!);
      };
      /** Stops reading an answer judged before its end; its socket is closed rather than reused half-read. */
      const refuse = (error: TransportError) => {
        settle(error);
        controller?.abort(error);
      };
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(c) {
          controller = c;
          if (done || signal.aborted) c.abort(signal.reason);
        },
        onResponseStart(_c, statusCode, headers) {
          status = statusCode;
          retryAfter = firstHeader(headers["retry-after"]);
          const declared = Number(firstHeader(headers["content-length"]));
          if (Number.isFinite(declared) && declared > maxResponseBytes) {
            refuse(
              new TransportError(
                "too_large",
                `${MESSAGES.too_large} (declared ${declared} > ${maxResponseBytes} bytes)`,
              ),
            );
          }
        },
        onResponseData(_c, chunk) {
          if (done) return;
          size += chunk.length;
          if (size > maxResponseBytes) {
            refuse(new TransportError("too_large", `${MESSAGES.too_large} (more than ${maxResponseBytes} bytes)`));
            return;
          }
          chunks.push(chunk);
        },
        onResponseEnd() {
          release();
          const text = chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8");
          settle(undefined, { status, retryAfter, body: text });
        },
        onResponseError(_c, error) {
          release();
          settle(failure(error, signal));
        },
      };
      function start(): void {
        if (done) return;
        if (closed) {
          settle(new TransportError("aborted", TRANSPORT_CLOSED_MESSAGE));
          return;
        }
        dispatched++;
        pool.dispatch({ path, method: "POST", headers: requestHeaders, body }, handler);
      }
      if (dispatched < connections) start();
      else waiting.push(start);
    });
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    // Sends still waiting for a connection are refused as the ones in flight are.
    for (const waiter of waiting.splice(0)) waiter();
    // Destroy rather than drain: in-flight sends are rejected (code `aborted`), as with the WebSocket transport,
    // so shutdown never waits on a slow upstream.
    await pool.destroy();
  }

  return { send, close };
}
