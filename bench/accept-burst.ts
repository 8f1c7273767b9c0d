/**
 * `node bench/accept-burst.ts [--connections N] [--rounds N]`: how long a burst of connection arrivals stalls a Node
 * event loop. This is the floor under the hostile mix's opening (a slowloris opening 1,000 sockets at once). The server
 * runs on core 0 and the connecting client on core 1 (`taskset`, from util-linux).
 *
 * Two handlers, in alternating rounds:
 * - `noop`: a plain `net` server whose connection handler does nothing. What Node itself spends per accepted socket.
 * - `held`: the work the public listener does for a connection over its client's cap: read the peer address, pause,
 *   set a hold timer.
 *
 * The stall is the longest gap between 1 ms timer ticks while the burst arrives.
 */
import { spawn } from "node:child_process";
import { connect, createServer, type Socket } from "node:net";
import { parseArgs } from "node:util";

const HOLD_MS = 10_000;
/** How long the client keeps its sockets open before exiting, ms: long enough for every accept to happen. */
const CLIENT_LINGER_MS = 1_500;

async function client(port: number, connections: number): Promise<void> {
  const sockets: Socket[] = [];
  for (let i = 0; i < connections; i++) {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    sockets.push(socket);
  }
  await new Promise((resolve) => setTimeout(resolve, CLIENT_LINGER_MS));
  for (const socket of sockets) socket.destroy();
}

/** The longest event-loop gap, ms, while `connections` sockets connect to a server using `mode`'s handler. */
async function round(mode: "noop" | "held", connections: number): Promise<number> {
  const held = new Set<Socket>();
  const server = createServer((socket) => {
    if (mode === "noop") return;
    void socket.remoteAddress;
    held.add(socket);
    socket.pause();
    socket.on("error", () => {});
    const timer = setTimeout(() => socket.destroy(), HOLD_MS * (1 + Math.random()));
    socket.once("close", () => {
      clearTimeout(timer);
      held.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  let maxGap = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  const child = spawn(
    "taskset",
    ["-c", "1", process.execPath, import.meta.filename, "--client", String(port), "--connections", String(connections)],
    { stdio: "inherit" },
  );
  await new Promise((resolve) => child.once("exit", resolve));
  clearInterval(ticker);
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  return maxGap;
}

const { values } = parseArgs({
  options: {
    client: { type: "string" },
    connections: { type: "string", default: "1000" },
    rounds: { type: "string", default: "3" },
  },
});
const connections = Number(values.connections);
if (values.client !== undefined) {
  await client(Number(values.client), connections);
} else {
  const pin = spawn("taskset", ["-cp", "0", String(process.pid)], { stdio: "ignore" });
  await new Promise((resolve) => pin.once("exit", resolve));
  for (let i = 0; i < Number(values.rounds); i++) {
    for (const mode of ["noop", "held"] as const) {
      const gap = await round(mode, connections);
      process.stdout.write(`${mode}: ${connections} connections, longest event-loop gap ${gap.toFixed(1)} ms\n`);
    }
  }
}
