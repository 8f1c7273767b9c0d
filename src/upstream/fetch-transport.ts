/**
 * A transport over the platform's `fetch`: what the embedded library uses in a browser (and by default in any runtime),
 * where undici pools and DNS checks are not available. The browser decides which addresses a page may reach, so no
 * address policy applies here; the gateway's own upstreams keep theirs (see `http-transport.ts`).
 */
import { type SendOptions, type Transport, TransportError, type TransportResponse } from "../core/ports.ts";
import { redactError } from "../core/security/redact.ts";
import {
  abortedError,
  classifyHttpFailure,
  failureDetail,
  TRANSPORT_CLOSED_MESSAGE,
  TRANSPORT_MESSAGES,
} from "./failures.ts";
import { parseHttpUpstream } from "./upstream-url.ts";

export interface FetchTransportOptions {
  /**
   * `http(s)://…` endpoint. It may carry an API key in its path or query; userinfo (`user:pass@`) is sent as Basic
   * auth, since browsers refuse URLs with credentials. No part of it ever appears in an error.
   */
  url: string;
  /** Extra request headers (for example a vendor's API key header). Their values are treated as secrets. */
  headers?: Record<string, string>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** The body as text, failing with `too_large` past the cap, without holding more than the cap. */
async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new TransportError("too_large", `${TRANSPORT_MESSAGES.too_large} (declared ${declared} > ${maxBytes} bytes)`);
  }
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new TransportError("too_large", `${TRANSPORT_MESSAGES.too_large} (more than ${maxBytes} bytes)`);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

export function createFetchTransport(options: FetchTransportOptions): Transport {
  const { url, headers, secrets } = parseHttpUpstream(options.url, options.headers);
  const target = url.href;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  // Aborts every attempt in flight when the transport closes.
  const closing = new AbortController();

  async function send(body: string, { signal, maxResponseBytes }: SendOptions): Promise<TransportResponse> {
    if (closing.signal.aborted) throw new TransportError("aborted", TRANSPORT_CLOSED_MESSAGE);
    if (signal.aborted) throw abortedError(signal);
    const both = AbortSignal.any([signal, closing.signal]);
    try {
      // A redirect is never followed: it comes back as a status (0 for a browser's opaque redirect), not as a way to
      // reach somewhere the configuration did not name.
      const response = await doFetch(target, { method: "POST", headers, body, signal: both, redirect: "manual" });
      return {
        status: response.status,
        retryAfter: response.headers.get("retry-after") ?? undefined,
        body: await readCapped(response, maxResponseBytes),
      };
    } catch (error) {
      if (error instanceof TransportError) throw error;
      if (signal.aborted) throw abortedError(signal);
      // Cut off by close(): worded as the undici transport words it.
      if (closing.signal.aborted) throw new TransportError("aborted", `${TRANSPORT_MESSAGES.aborted} (closed)`);
      // Node's fetch names the failure in `cause.code`; a browser's says only "Failed to fetch", which is `reset`:
      // the request may have been sent, so it is never claimed that it was not.
      const { kind, code } = classifyHttpFailure(error, signal);
      throw new TransportError(kind, `${TRANSPORT_MESSAGES[kind]}${failureDetail(error, code)}`, {
        cause: redactError(error, secrets),
      });
    }
  }

  async function close(): Promise<void> {
    closing.abort();
  }

  return { send, close };
}
