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

/** The whole body as text, failing with `too_large` past the cap (events, not an async iterator: this is per request). */
function readCapped(stream: Dispatcher.ResponseData["body"], maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new TransportError("too_large", `${MESSAGES.too_large} (more than ${maxBytes} bytes)`));
        stream.pause();
        return;
      }
      chunks.push(chunk);
    });
    stream.once("end", () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8")),
    );
    stream.once("error", reject);
  });
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

  function failure(error: unknown, signal: AbortSignal): TransportError {
    if (error instanceof TransportError) return error;
    const { kind, code } =
      closed && !signal.aborted ? { kind: "aborted" as const, code: "closed" } : classifyHttpFailure(error, signal);
    const message = `${MESSAGES[kind]}${failureDetail(error, code)}`;
    // Undici's own messages and stacks name the host and sometimes more; only a redacted copy is kept.
    return new TransportError(kind, message, { cause: redactError(error, secrets) });
  }

  async function send(body: string, { signal, maxResponseBytes }: SendOptions): Promise<TransportResponse> {
    if (closed) throw new TransportError("aborted", TRANSPORT_CLOSED_MESSAGE);
    if (signal.aborted) throw abortedError(signal);
    let response: Dispatcher.ResponseData;
    try {
      // The signal stays attached to the response body: undici destroys the body (and its socket) when it fires,
      // so the deadline covers a trickling body as well as the headers.
      response = await pool.request({ path, method: "POST", headers: requestHeaders, body, signal });
    } catch (error) {
      throw failure(error, signal);
    }
    const { statusCode, headers: responseHeaders, body: stream } = response;
    try {
      const declared = Number(firstHeader(responseHeaders["content-length"]));
      if (Number.isFinite(declared) && declared > maxResponseBytes) {
        throw new TransportError(
          "too_large",
          `${MESSAGES.too_large} (declared ${declared} > ${maxResponseBytes} bytes)`,
        );
      }
      return {
        status: statusCode,
        retryAfter: firstHeader(responseHeaders["retry-after"]),
        body: await readCapped(stream, maxResponseBytes),
      };
    } catch (error) {
      // An unread body pins its socket; destroying it closes that socket instead of reusing a half-read one.
      // Undici reports the destruction as an 'error' event that nobody else listens to.
      stream.on("error", () => {});
      stream.destroy();
      throw failure(error, signal);
    }
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    // Destroy rather than drain: in-flight sends are rejected (code `aborted`), as with the WebSocket transport,
    // so shutdown never waits on a slow upstream.
    await pool.destroy();
  }

  return { send, close };
}
