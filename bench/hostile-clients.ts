/**
 * Hostile clients for the hostile-mix bench, in a process of their own (so they never share the event loop of the
 * client being measured): oversized batches sent back to back, and a slowloris holding sockets open with headers
 * trickled a byte a second. Argument: JSON `{ url, durationMs, batchSenders, batchAddress, slowAddress, slowSockets }`. Prints one
 * line `HOSTILE {json}` with what each got back, then exits.
 */
import { request } from "node:http";
import { connect } from "node:net";

const spec = JSON.parse(process.argv[2] ?? "{}") as {
  url: string;
  durationMs: number;
  /** Senders of oversized batches, each posting back to back. */
  batchSenders: number;
  batchAddress: string;
  slowAddress: string;
  slowSockets: number;
};
const target = new URL(spec.url);
const deadline = Date.now() + spec.durationMs;
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

for (let i = 0; i < spec.slowSockets; i++) slowSocket();
const senders = Array.from({ length: spec.batchSenders }, () => batches());
await Promise.all([...senders, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())))]);
process.stdout.write(`HOSTILE ${JSON.stringify({ batchStatuses, slowOpened, slowCut })}\n`);
process.exit(0);
