/**
 * The front door: the listening socket, a plain net server in front of the HTTP one. A connection is counted against
 * its client's cap before anything parses it, so one over the cap costs an accept and a timer — no parser, no request
 * state — however many a slowloris opens. What passes is handed on (`deliver`): to this process's HTTP server, or, with
 * workers, to the worker that serves that client (app/workers/).
 */
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import type { Metrics } from "../core/ports.ts";
import { clientAddressKey } from "../core/rpc/access.ts";
import { createClientCounts } from "./access.ts";

/** Connections over a client's cap are held (unread) only up to `server.maxConnections` divided by this. */
export const HELD_CONNECTIONS_DIVISOR = 4;

export interface FrontDoorOptions {
  maxConnections: number;
  maxConnectionsPerClient: number;
  /** How long a connection over its client's cap is held unread before it is closed (randomised up to twice), ms. */
  overCapHoldMs: number;
  /** A peer whose connections are not capped per client (a trusted proxy carries many clients). */
  isTrustedProxy(peer: string): boolean;
}

export interface FrontDoor {
  server: Server;
  /** Connections from `client` now open (a client is its address; IPv6 by its /64). */
  connectionsOf(client: string): number;
  /** A connection handed on elsewhere closed: its client's count goes down. */
  closed(client: string): void;
  /** Closes the connections held over their clients' caps. */
  dropHeld(): void;
}

/**
 * `deliver(socket, client)` takes each connection within its client's cap (`client` undefined for a trusted proxy's).
 * `ownsClose`: the socket stays in this process, so its close is seen here; otherwise the receiver reports it
 * (`closed`).
 */
export function createFrontDoor(
  options: FrontDoorOptions,
  metrics: Pick<Metrics, "refused">,
  deliver: (socket: Socket, client: string | undefined) => void,
  ownsClose = true,
): FrontDoor {
  const perClient = createClientCounts();
  const held = new Set<Socket>();
  const maxHeld = Math.floor(options.maxConnections / HELD_CONNECTIONS_DIVISOR);
  const server = createNetServer({ pauseOnConnect: !ownsClose }, (socket) => {
    // Counted by peer address: behind a trusted proxy every client shares the proxy's connections, so those are
    // not capped per client (the proxy's own limits apply).
    const peer = socket.remoteAddress;
    if (peer === undefined || options.isTrustedProxy(peer)) return deliver(socket, undefined);
    const client = clientAddressKey(peer);
    if (perClient.count(client) < options.maxConnectionsPerClient) {
      perClient.add(client);
      if (ownsClose) socket.once("close", () => perClient.remove(client));
      return deliver(socket, client);
    }
    // Over the cap: not read, and closed after a while rather than at once — a client that reconnects as soon as it
    // is cut would otherwise make the refusal itself the load; each is held a different time, so a crowd of them
    // does not come back as one burst. Held ones are bounded too, so they can never fill server.maxConnections and
    // lock everyone else out.
    metrics.refused("connection_cap");
    if (held.size >= maxHeld) return void socket.destroy();
    held.add(socket);
    socket.pause();
    socket.on("error", () => {});
    const timer = setTimeout(() => socket.destroy(), options.overCapHoldMs * (1 + Math.random()));
    socket.once("close", () => {
      clearTimeout(timer);
      held.delete(socket);
    });
  });
  server.maxConnections = options.maxConnections;
  return {
    server,
    connectionsOf: (client) => perClient.count(client),
    closed: (client) => perClient.remove(client),
    dropHeld() {
      for (const socket of held) socket.destroy();
    },
  };
}
