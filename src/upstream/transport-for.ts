/**
 * The transport of an upstream from the config file, as the gateway and `multihome doctor` both open it: `ws://` and
 * `wss://` over WebSocket, anything else over HTTP with the upstream's own pool size, under the config address policy.
 */
import type { Transport } from "../core/ports.ts";
import { createHttpTransport } from "./http-transport.ts";
import type { ResolveHostname } from "./safe-lookup.ts";
import { createWsTransport } from "./ws-transport.ts";

export interface TransportForOptions {
  /** Connect (TCP, TLS, WebSocket upgrade) deadline, in milliseconds. */
  connectTimeoutMs: number;
  /** Host name resolver behind the address checks. @default dns.lookup, every address */
  resolve?: ResolveHostname;
}

export interface ConfiguredUpstream {
  url: string;
  /** Sockets in the HTTP pool (a WebSocket upstream has one socket). */
  connections: number;
  allowPrivateNetwork?: boolean;
}

export function createTransportFor(options: TransportForOptions): (upstream: ConfiguredUpstream) => Transport {
  const { connectTimeoutMs, resolve } = options;
  return (upstream) => {
    // URLs from the config file: loopback allowed (the operator's own node), private ranges only when allowed.
    const addressPolicy = { mode: "config" as const, allowPrivate: upstream.allowPrivateNetwork ?? false };
    const common = { url: upstream.url, connectTimeoutMs, addressPolicy, resolve };
    return upstream.url.startsWith("ws")
      ? createWsTransport(common)
      : createHttpTransport({ ...common, connections: upstream.connections });
  };
}
