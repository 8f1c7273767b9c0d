/**
 * The behaviour every HTTP `Transport` promises (see `src/core/ports.ts`), as one node:test suite. Each
 * implementation's test file calls `transportContract` with a way to create it; nothing here knows which one runs.
 * Against real sockets on 127.0.0.1 and a real anvil; every failure is checked to say nothing of the URL's secrets.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { afterEach, describe, test } from "node:test";
import type { Transport } from "../../src/core/ports.ts";
import { classifyResponse } from "../../src/core/routing/classify.ts";
import { TRANSPORT_CLOSED_MESSAGE } from "../../src/upstream/failures.ts";
import {
  anvilForThisFile,
  freePort,
  MiB,
  socketClosed,
  startHttpServer,
  stopHttpServer,
  type TestHttpServer,
  transportKit,
  within,
} from "./transport-kit.ts";

/** What the suite gives a transport: an upstream URL (which may carry secrets) and extra request headers. */
export interface TransportContractTarget {
  url: string;
  headers?: Record<string, string>;
}

const CANARY = "c0ntract-s3cret-4b2e";
const { secretUrl, expectFailure } = transportKit(CANARY, "http");
const SECRET_HEADERS = { "X-Api-Key": `key-${CANARY}` };
const CHAIN_ID_CALL = '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}';
const CHAIN_ID_ANSWER = '{"jsonrpc":"2.0","id":1,"result":"0x1"}';

/** Writes `size` bytes in `chunkBytes` pieces, honouring backpressure, then ends (unless the client went away). */
function pump(res: ServerResponse, size: number, chunkBytes: number): void {
  const chunk = Buffer.alloc(chunkBytes, 0x20);
  let sent = 0;
  const more = (): void => {
    while (sent < size && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once("drain", more);
    }
    res.end();
  };
  more();
}

export function transportContract(name: string, create: (target: TransportContractTarget) => Transport): void {
  describe(`Transport contract: ${name}`, () => {
    const anvil = anvilForThisFile();
    const created: Transport[] = [];
    const servers: TestHttpServer[] = [];
    const open = (target: TransportContractTarget): Transport => {
      const transport = create(target);
      created.push(transport);
      return transport;
    };
    /** A transport whose URL path, query, userinfo and extra header all carry the canary. */
    const openSecret = (port: number, path = "/v2/"): Transport =>
      open({ url: secretUrl(port).replace("/v2/", path), headers: SECRET_HEADERS });
    const serve = async (...args: Parameters<typeof startHttpServer>): Promise<TestHttpServer> => {
      const server = await startHttpServer(...args);
      servers.push(server);
      return server;
    };
    const send = (transport: Transport, signal = AbortSignal.timeout(5_000), maxResponseBytes = MiB) =>
      transport.send(CHAIN_ID_CALL, { signal, maxResponseBytes });
    afterEach(async () => {
      for (const transport of created.splice(0)) await transport.close();
      for (const server of servers.splice(0)) await stopHttpServer(server);
    });

    test("a call round-trips to anvil, single and batch", async () => {
      const transport = open({ url: `http://127.0.0.1:${anvil.port()}` });
      const single = await send(transport);
      assert.equal(single.status, 200);
      assert.deepEqual(JSON.parse(single.body), { jsonrpc: "2.0", id: 1, result: "0x7a69" });
      const batch = await transport.send(
        '[{"jsonrpc":"2.0","id":"a","method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"}]',
        { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB },
      );
      const items = JSON.parse(batch.body) as Array<{ id: unknown; result: string }>;
      assert.deepEqual(items.map((item) => item.id).sort(), [2, "a"]);
      assert.equal(items.find((item) => item.id === "a")?.result, "0x7a69");
    });

    // --- what is sent ----------------------------------------------------------------------------------------------

    test("POSTs the body as application/json to the path and query, userinfo as Basic auth, extra headers as given", async () => {
      const server = await serve((_req, res) => res.end(CHAIN_ID_ANSWER));
      const answer = await send(openSecret(server.port));
      assert.deepEqual(answer, { status: 200, retryAfter: undefined, body: CHAIN_ID_ANSWER });
      const [request] = server.requests;
      assert.ok(request !== undefined);
      assert.equal(request.method, "POST");
      assert.equal(request.url, `/v2/${CANARY}?apikey=${CANARY}`);
      const basic = `Basic ${Buffer.from(`user-${CANARY}:pw-${CANARY}`).toString("base64")}`;
      assert.equal(request.headers.authorization, basic);
      assert.equal(request.headers["content-type"], "application/json");
      assert.equal(request.headers["x-api-key"], `key-${CANARY}`);
      assert.equal(request.body, CHAIN_ID_CALL);
    });

    test("userinfo with a malformed escape is sent as written, not refused", async () => {
      const server = await serve((_req, res) => res.end("{}"));
      await send(open({ url: `http://us%zzer:p%w@127.0.0.1:${server.port}/` }));
      assert.equal(server.requests[0]?.headers.authorization, `Basic ${Buffer.from("us%zzer:p%w").toString("base64")}`);
    });

    test("a given Authorization header wins over userinfo", async () => {
      const server = await serve((_req, res) => res.end("{}"));
      await send(open({ url: secretUrl(server.port), headers: { Authorization: "Bearer given" } }));
      assert.equal(server.requests[0]?.headers.authorization, "Bearer given");
    });

    // --- what comes back, as it is ---------------------------------------------------------------------------------

    test("non-2xx statuses, Retry-After and non-JSON bodies come back as they are", async () => {
      const limitedBody = '{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limited"}}';
      const server = await serve((req, res) => {
        if (req.url === "/limited") {
          res.writeHead(429, { "retry-after": "7", "content-type": "application/json" });
          res.end(limitedBody);
        } else if (req.url === "/html-ok") {
          res.writeHead(200, { "content-type": "text/html" });
          res.end("<html>this ain't JSON</html>");
        } else {
          res.writeHead(502, { "content-type": "text/html" });
          res.end("<html>bad gateway</html>");
        }
      });
      const at = (path: string) => send(open({ url: `http://127.0.0.1:${server.port}${path}` }));
      assert.deepEqual(await at("/limited"), { status: 429, retryAfter: "7", body: limitedBody });
      assert.deepEqual(await at("/html-ok"), {
        status: 200,
        retryAfter: undefined,
        body: "<html>this ain't JSON</html>",
      });
      assert.deepEqual(await at("/html-bad"), { status: 502, retryAfter: undefined, body: "<html>bad gateway</html>" });
    });

    test("a redirect is not followed: the 3xx comes back, is a failover, and its Location gets nothing", async () => {
      const elsewhere = await serve((_req, res) => res.end(CHAIN_ID_ANSWER));
      const server = await serve((req, res) => {
        res.writeHead(Number(req.url?.slice(1)), { location: `http://127.0.0.1:${elsewhere.port}/` });
        res.end();
      });
      for (const status of [301, 302, 303, 307, 308]) {
        const answer = await send(open({ url: `http://127.0.0.1:${server.port}/${status}` }));
        assert.deepEqual(answer, { status, retryAfter: undefined, body: "" });
        assert.equal(classifyResponse(answer, 0).decision, "failover", String(status));
      }
      assert.equal(server.requests.length, 5);
      assert.equal(elsewhere.requests.length, 0);
      assert.equal(elsewhere.connections.length, 0);
    });

    test("a body over maxResponseBytes is `too_large` and its socket closed, whether declared or chunked", async () => {
      const server = await serve((req, res) => {
        // Chunked: no Content-Length, each chunk under the cap, the sum over it; the size is only known while reading.
        if (req.url?.startsWith("/declared/")) res.writeHead(200, { "content-length": String(2 * MiB) });
        else res.writeHead(200, { "content-type": "application/json" });
        pump(res, 2 * MiB, 4096);
      });
      const messages = {
        "/declared/": `upstream response is too large (declared ${2 * MiB} > ${MiB} bytes)`,
        "/chunked/": `upstream response is too large (more than ${MiB} bytes)`,
      };
      for (const [path, message] of Object.entries(messages)) {
        const connections = server.connections.length;
        const error = await expectFailure(send(openSecret(server.port, path)), "too_large");
        assert.equal(error.message, message);
        const socket = server.connections[connections];
        assert.ok(socket !== undefined, `${path}: no new connection`);
        await within(socketClosed(socket), 1_000, `${path} socket close`);
      }
      assert.equal(server.requests.length, 2);
    });

    test("a body of exactly maxResponseBytes is accepted, declared or chunked; one byte less is `too_large`", async () => {
      const body = `"${"x".repeat(16 * 4096 - 2)}"`;
      const server = await serve((req, res) => {
        if (req.url === "/declared") return void res.end(body);
        res.writeHead(200, { "content-type": "application/json" });
        for (let at = 0; at < body.length; at += 4096) res.write(body.slice(at, at + 4096));
        res.end();
      });
      for (const path of ["/declared", "/chunked"]) {
        const transport = open({ url: `http://127.0.0.1:${server.port}${path}` });
        const answer = await send(transport, AbortSignal.timeout(5_000), body.length);
        assert.equal(answer.body, body, path);
        await expectFailure(send(transport, AbortSignal.timeout(5_000), body.length - 1), "too_large");
      }
    });

    // --- failures, none of which may show the URL or a header's value ---------------------------------------------

    test("an invalid or non-HTTP URL is refused at creation without repeating it", () => {
      for (const url of [
        `http://user:${CANARY}@[::1/`,
        `not a url ${CANARY}`,
        `ftp://127.0.0.1/${CANARY}`,
        `ws://127.0.0.1/${CANARY}`,
      ]) {
        assert.throws(
          () => create({ url }),
          (error: Error) => error instanceof TypeError && !error.message.includes(CANARY),
          url,
        );
      }
    });

    test("connection refused is `connect` (code ECONNREFUSED in message and cause), and nothing of the URL leaks", async () => {
      const error = await expectFailure(send(openSecret(await freePort())), "connect");
      assert.equal(error.message, "could not connect to the upstream (ECONNREFUSED)");
      const codes: unknown[] = [];
      for (let c: unknown = error.cause; c !== undefined; c = (c as { cause?: unknown }).cause) {
        codes.push((c as { code?: unknown }).code);
      }
      assert.ok(codes.includes("ECONNREFUSED"), JSON.stringify(codes));
    });

    test("a connection closed (FIN) or reset (RST) mid-body is `reset`", async () => {
      const server = await serve((req, res) => {
        res.writeHead(200, { "content-length": "1000" });
        res.write('{"jsonrpc":"2.0","id":1,"result":"0x', () => {
          if (req.url?.startsWith("/rst/")) req.socket.resetAndDestroy();
          else req.socket.destroy();
        });
      });
      for (const path of ["/fin/", "/rst/"]) await expectFailure(send(openSecret(server.port, path)), "reset");
    });

    test("an already aborted signal sends nothing: `aborted`, or `timeout` when its reason is a deadline", async () => {
      const server = await serve((_req, res) => res.end(CHAIN_ID_ANSWER));
      const transport = openSecret(server.port);
      const gone = new AbortController();
      gone.abort();
      await expectFailure(send(transport, gone.signal), "aborted");
      await expectFailure(send(transport, AbortSignal.abort(new DOMException("late", "TimeoutError"))), "timeout");
      assert.equal(server.requests.length, 0);
      assert.equal(server.connections.length, 0);
    });

    test("the caller's abort is `aborted` and ends the request, before and after the headers", async () => {
      const server = await serve((req, res) => {
        if (req.url?.startsWith("/started/")) {
          res.writeHead(200);
          res.write("{");
        }
      });
      for (const path of ["/silent/", "/started/"]) {
        const transport = openSecret(server.port, path);
        const controller = new AbortController();
        const arrived = server.nextRequest();
        const pending = send(transport, controller.signal);
        const res = await within(arrived, 5_000, `${path} request to arrive`);
        controller.abort();
        await expectFailure(pending, "aborted");
        await within(once(res, "close"), 5_000, `${path} aborted request to be closed`);
      }
    });

    test("an AbortSignal.timeout before the headers is `timeout`, on time, and ends the request", async () => {
      const server = await serve(() => {});
      const arrived = server.nextRequest();
      const started = performance.now();
      const error = await expectFailure(send(openSecret(server.port), AbortSignal.timeout(200)), "timeout");
      const elapsed = performance.now() - started;
      assert.equal(error.message, "upstream attempt deadline passed");
      assert.ok(elapsed >= 190 && elapsed < 2_000, `${elapsed} ms`);
      const res = await within(arrived, 1_000, "the request to have arrived");
      await within(once(res, "close"), 5_000, "the timed-out request to be closed");
    });

    test("the deadline covers a body trickling 1 byte/s: `timeout` on time and the socket closed", async () => {
      let headersSent = false;
      const server = await serve((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write("{", () => {
          headersSent = true;
        });
        const trickle = setInterval(() => res.write(" "), 1_000);
        res.on("close", () => clearInterval(trickle));
      });
      const signal = AbortSignal.timeout(300);
      let abortedAt = 0;
      signal.addEventListener("abort", () => {
        abortedAt = performance.now();
      });
      const started = performance.now();
      await expectFailure(send(openSecret(server.port), signal), "timeout");
      const endedAt = performance.now();
      assert.ok(headersSent, "the response had started before the deadline");
      assert.ok(abortedAt - started >= 290, `aborted after ${abortedAt - started} ms`);
      assert.ok(endedAt - abortedAt < 50, `ended ${endedAt - abortedAt} ms after the deadline`);
      const [socket] = server.connections;
      assert.ok(socket !== undefined);
      await within(socketClosed(socket), 1_000, "upstream socket close");
    });

    test("close() rejects sends in flight as `aborted` at once, ends their requests, and refuses new sends", async () => {
      const server = await serve(() => {});
      const transport = openSecret(server.port);
      const arrived = Promise.all([server.nextRequest(), server.nextRequest()]);
      // Checked from the start: the sends reject while close() runs, before anything else awaits them.
      const pending = [0, 1].map(() => expectFailure(send(transport, AbortSignal.timeout(10_000)), "aborted"));
      const responses = await within(arrived, 5_000, "both requests to arrive");
      const sockets = responses.map((res) => res.socket);
      await within(transport.close(), 1_000, "close");
      for (const error of await Promise.all(pending)) assert.equal(error.message, "upstream attempt aborted (closed)");
      await within(Promise.all(responses.map((res) => once(res, "close"))), 5_000, "the requests to be closed");
      for (const socket of sockets) {
        assert.ok(socket !== null);
        await within(socketClosed(socket), 1_000, "the request's socket to be closed");
      }
      const refused = await expectFailure(send(transport), "aborted");
      assert.equal(refused.message, TRANSPORT_CLOSED_MESSAGE);
      assert.equal(server.requests.length, 2);
      await within(transport.close(), 1_000, "a second close");
    });
  });
}
