/**
 * Hostile clients for the hostile-mix bench, in a process of their own (so they never share the event loop of the
 * client being measured): a flood (wrk, started from here so that it inherits this process's cores and priority),
 * oversized batches sent back to back, and a slowloris holding sockets open with headers trickled a byte a second.
 * Argument: JSON `{ url, durationMs, flood, batchSenders, batchAddress, slowAddress, slowSockets }`.
 *
 * Prints `READY` and waits for a line `GO` on stdin before it attacks: the bench starts, pins and renices this process
 * before the attacked phase, so nothing is spawned from the measured client's process while it is being measured.
 * Then prints one line `HOSTILE {json}` with what each attack got back, and exits.
 */
import { request } from "node:http";
import { connect } from "node:net";
import { createInterface } from "node:readline";
import { runWrk, type WrkResult } from "./wrk.ts";

const spec = JSON.parse(process.argv[2] ?? "{}") as {
  url: string;
  durationMs: number;
  /** wrk's connections and the one body it sends as fast as it can; undefined: no flood. */
  flood: { connections: number; body: string; expect: string } | undefined;
  /** Senders of oversized batches, each posting back to back. */
  batchSenders: number;
  batchAddress: string;
  slowAddress: string;
  slowSockets: number;
};
const target = new URL(spec.url);
const batchStatuses: Record<string, number> = {};
let slowOpened = 0;
let slowCut = 0;

/** A batch far over the item limit, well under the body limit: it has to be read and parsed to be refused. */
const BATCH = JSON.stringify(
  Array.from({ length: 10_000 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "eth_chainId", params: [] })),
);

function postBatch(): Promise<void> {
  return new Promise((resolve) => {
    const count = (status: string) => {
      batchStatuses[status] = (batchStatuses[status] ?? 0) + 1;
      resolve();
    };
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        localAddress: spec.batchAddress,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(BATCH) },
      },
      (res) => {
        res.resume();
        res.on("end", () => count(String(res.statusCode)));
      },
    );
    req.on("error", () => count("error"));
    req.end(BATCH);
  });
}

async function batches(): Promise<void> {
  while (Date.now() < deadline) await postBatch();
}

function slowSocket(): void {
  if (Date.now() >= deadline) return;
  const socket = connect({ host: target.hostname, port: Number(target.port), localAddress: spec.slowAddress });
  slowOpened++;
  const header = `POST ${target.pathname} HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(64)}`;
  let i = 0;
  const timer = setInterval(() => {
    if (i < header.length) socket.write(header[i++]!);
  }, 1_000);
  const end = setTimeout(() => socket.destroy(), Math.max(0, deadline - Date.now()));
  socket.on("error", () => {});
  socket.once("close", () => {
    clearInterval(timer);
    clearTimeout(end);
    slowCut++;
    // The attacker comes back a little later: reconnecting at once would measure only the refusal loop.
    setTimeout(slowSocket, 100);
  });
}

process.stdout.write("READY\n");
for await (const line of createInterface({ input: process.stdin })) if (line.trim() === "GO") break;
const deadline = Date.now() + spec.durationMs;
const flood = spec.flood
  ? runWrk({ url: spec.url, durationS: spec.durationMs / 1000, ...spec.flood })
  : Promise.resolve(undefined);
for (let i = 0; i < spec.slowSockets; i++) slowSocket();
const senders = Array.from({ length: spec.batchSenders }, () => batches());
const [floodResult] = await Promise.all([
  flood,
  ...senders,
  new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()))),
]);
const summary = (r: WrkResult) => ({
  requests: r.requests,
  rps: Math.round(r.rps),
  refused: r.non2xx,
  connectionErrors: r.connectErrors + r.readErrors,
});
const result = { flood: floodResult ? summary(floodResult) : null, batchStatuses, slowOpened, slowCut };
process.stdout.write(`HOSTILE ${JSON.stringify(result)}\n`);
process.exit(0);
