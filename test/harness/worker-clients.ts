/**
 * Clients of a gateway run as workers (`server.workers` > 1), each from its own loopback address (127.0.0.x) over its
 * own keep-alive agent: the primary hands every connection of one address to one worker (app/workers/assign.ts), so
 * an address is a way to reach a given worker.
 */
import assert from "node:assert/strict";
import { Agent, request } from "undici";
import type { RunningPrimary } from "../../src/app/workers/primary.ts";

/** Eight loopback addresses, each another client to the gateway. */
export const WORKER_CLIENTS = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);

export interface WorkerCaller {
  client: string;
  agent: Agent;
  call(method: string, params?: unknown[]): Promise<{ ok: boolean; result?: unknown; error?: unknown }>;
}

/**
 * Callers of `path` on the gateway `primary()` runs (read when called: the primary starts after the test file loads);
 * `probe` is a cheap method every worker answers. `lastFailure()` is the last failed answer or error, for diagnostics.
 */
export function workerClients(primary: () => RunningPrimary, path: () => string, probe: string) {
  let lastFailure = "";
  function caller(client: string, connections = 2): WorkerCaller {
    const agent = new Agent({ localAddress: client, connections });
    return {
      client,
      agent,
      async call(method, params = []) {
        try {
          const res = await request(`${primary().url}${path()}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
            dispatcher: agent,
            headersTimeout: 10_000,
            bodyTimeout: 10_000,
          });
          const body = (await res.body.json()) as { result?: unknown; error?: unknown };
          if (body.error !== undefined || res.statusCode !== 200)
            lastFailure = `${res.statusCode} ${JSON.stringify(body)}`;
          return { ok: res.statusCode === 200 && body.error === undefined, result: body.result, error: body.error };
        } catch (error) {
          lastFailure = String(error);
          return { ok: false };
        }
      },
    };
  }
  /**
   * A caller whose connection is on `worker` now: a client's connections go where it holds fewest, so a client that
   * just closed one may not be back on its home worker before the primary hears of the close.
   */
  async function callerOn(worker: number): Promise<WorkerCaller> {
    for (const client of WORKER_CLIENTS) {
      const c = caller(client, 1);
      assert.ok((await c.call(probe)).ok);
      if ((primary().connections()[worker]![client] ?? 0) > 0) return c;
      await c.agent.close();
    }
    throw new Error(`no client's connection landed on worker ${worker}`);
  }
  return { caller, callerOn, lastFailure: () => lastFailure };
}
