/** Helpers shared by the transport tests: bounded waits, canary URLs and leak-checked failures. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer, type Socket } from "node:net";
import { after, before } from "node:test";
import { inspect } from "node:util";
import { TransportError, type TransportFailureKind } from "../../src/core/ports.ts";
import { type AnvilProcess, startAnvil } from "../../src/devnet/anvil.ts";

export const MiB = 1024 * 1024;

/** Rejects when `promise` has not settled within `ms`: every wait in these tests is bounded. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** URL and failure helpers bound to one test file's canary secret. */
export function transportKit(canary: string, defaultScheme = "http") {
  return {
    /** An upstream URL with the canary in its userinfo, path and query, the places API keys live. */
    secretUrl(port: number, scheme = defaultScheme): string {
      return `${scheme}://user-${canary}:pw-${canary}@127.0.0.1:${port}/v2/${canary}?apikey=${canary}`;
    },
    /** Asserts a `TransportError` of `kind` whose message, stack and causes say nothing of the URL or its secrets. */
    async expectFailure(promise: Promise<unknown>, kind: TransportFailureKind): Promise<TransportError> {
      const error = await within(
        promise.then(
          () => assert.fail("expected the send to fail"),
          (e: unknown) => e,
        ),
        10_000,
        "send",
      );
      assert.ok(error instanceof TransportError, `not a TransportError: ${String(error)}`);
      assert.equal(error.code, kind, error.message);
      const texts = [error.message, String(error.stack), inspect(error, { depth: 20, showHidden: true })];
      for (let cause: unknown = error.cause, depth = 0; cause !== undefined && depth < 10; depth++) {
        const c = cause as { message?: unknown; stack?: unknown; cause?: unknown };
        texts.push(String(c.message), String(c.stack));
        cause = c.cause;
      }
      for (const text of texts) assert.ok(!text.includes(canary), `canary leaked: ${text}`);
      for (const text of texts) assert.ok(!text.includes("127.0.0.1"), `host leaked: ${text}`);
      return error;
    },
  };
}

/** One request as the test server received it. */
export interface RecordedRequest {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A loopback HTTP upstream that records every socket and request it sees. */
export interface TestHttpServer {
  port: number;
  server: Server;
  /** Every socket accepted, in order (a pooled transport reuses them; a destroyed one shows up closed). */
  connections: Socket[];
  requests: RecordedRequest[];
  /** Resolves with the next request's response once its body has arrived and the handler ran (answered or not). */
  nextRequest(): Promise<ServerResponse>;
}

/** Starts a loopback HTTP server; `handler` sees each request after its whole body was read. */
export async function startHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<TestHttpServer> {
  const server = createHttpServer();
  const waiting: Array<(res: ServerResponse) => void> = [];
  const state: TestHttpServer = {
    port: 0,
    server,
    connections: [],
    requests: [],
    nextRequest: () => new Promise((resolve) => waiting.push(resolve)),
  };
  server.on("connection", (socket) => {
    state.connections.push(socket);
    socket.on("error", () => {});
  });
  server.on("request", (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      state.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res, body);
      waiting.shift()?.(res);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  state.port = (server.address() as { port: number }).port;
  return state;
}

/** Closes every connection (even one a transport still holds) and the listener. */
export async function stopHttpServer(state: TestHttpServer): Promise<void> {
  state.server.closeAllConnections();
  state.server.close();
  await once(state.server, "close");
}

/** Resolves when the socket is closed, whether by FIN or by reset (`events.once` would reject on the reset). */
export function socketClosed(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

/** A loopback port nothing listens on right now (for "connection refused"). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, "close");
  return port;
}

/**
 * One automining anvil for the whole test file (or, called inside `describe`, for that suite): started before the
 * first test, stopped (by pid) after the last.
 */
export function anvilForThisFile(): { port(): number } {
  let anvil: AnvilProcess | undefined;
  before(async () => {
    anvil = await startAnvil({ noMining: false });
  });
  after(async () => {
    await anvil?.stop();
  });
  return {
    port() {
      if (!anvil) throw new Error("anvil is not started yet");
      return anvil.port;
    },
  };
}
