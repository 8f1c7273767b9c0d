/**
 * The Solana driver's client to its nodes: the devnet's own JSON-RPC client (src/devnet/rpc.ts: plain `fetch` to
 * loopback, every call bounded by a timeout, so a stopped (SIGSTOP) node costs one timeout and never stalls the
 * driver), pointed at the nodes' driver path, with a deadline per call where a replay needs a longer one.
 */

import { createRpcClient, type RpcClient } from "../rpc.ts";

export { DevnetRpcError, DevnetUnreachableError, errorMessage } from "../rpc.ts";

/** The path the driver posts to: the same methods as `/`, with a larger body limit (node.ts). */
export const SOLANA_DRIVER_PATH = "/devnet";
/** How long the driver waits for one call to a node, in milliseconds. */
export const SOLANA_DRIVER_RPC_TIMEOUT_MS = 1_000;

/** Per-call options. */
export interface DriverCallOptions {
  signal?: AbortSignal;
  /** @default {@link SOLANA_DRIVER_RPC_TIMEOUT_MS} */
  timeoutMs?: number;
}

/** One call of a batch. */
export interface DriverRpcCall {
  method: string;
  params?: unknown[];
}

/** The driver's client to one node. */
export interface DriverRpc {
  url: string;
  call<T = unknown>(method: string, params?: unknown[], options?: DriverCallOptions): Promise<T>;
  /** Every call's result, in order; throws the first error (the node applies them in order). */
  batch(calls: readonly DriverRpcCall[], options?: DriverCallOptions): Promise<unknown[]>;
}

/** A client for the node at `baseUrl` (`http://127.0.0.1:PORT`); it posts to the driver's path. */
export function createDriverRpc(baseUrl: string): DriverRpc {
  const url = `${baseUrl}${SOLANA_DRIVER_PATH}`;
  const clients = new Map<number, RpcClient>();
  const clientFor = (timeoutMs = SOLANA_DRIVER_RPC_TIMEOUT_MS) => {
    let client = clients.get(timeoutMs);
    if (!client) {
      client = createRpcClient(url, { timeoutMs });
      clients.set(timeoutMs, client);
    }
    return client;
  };
  return {
    url,
    call: (method, params = [], options = {}) => clientFor(options.timeoutMs).call(method, params, options.signal),
    async batch(calls, options = {}) {
      const outcomes = await clientFor(options.timeoutMs).batch([...calls], options.signal);
      return outcomes.map((o) => {
        if (!o.ok) throw o.error;
        return o.result;
      });
    },
  };
}
