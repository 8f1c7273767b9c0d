/**
 * Which worker serves a connection. A client's connections are spread over the workers (the one holding fewest of
 * them; ties from a hash of the address, so one connection lands where it did before): an exchange's back end with 50
 * connections uses every core, and its rate limits still hold, counted in the shared store. A noisy client — many
 * connections at once, or refused for its rate — goes to the isolation worker (the last, with two or more), and while
 * any client is noisy that worker serves no one else: a flood shares a core with no one but itself. A connection on the
 * wrong side of that line is closed after its next answer, so its client reconnects through the front door
 * (`belongsElsewhere`). Pure: the primary (handover.ts) and the workers supply the counts and the flags.
 */

/** A client with this many connections open at once is noisy: its next ones go to the isolation worker. */
export const NOISY_CLIENT_CONNECTIONS = 64;
/** A client a worker refused for its rate, or with too many connections, stays noisy this long after, ms. */
export const NOISY_CLIENT_MEMORY_MS = 60_000;

export interface WorkerPlan {
  count: number;
  /** The worker noisy clients are sent to (with two or more workers). */
  isolation: number | undefined;
}

export function planWorkers(count: number): WorkerPlan {
  return { count, isolation: count >= 2 ? count - 1 : undefined };
}

/** FNV-1a over the address: stable across restarts, so a client comes back to the worker it had. */
export function addressHash(client: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < client.length; i++) {
    hash ^= client.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** What the primary knows when a connection arrives. */
export interface Placement {
  /** This client is noisy now. */
  noisy: boolean;
  /** Some client is noisy now: the isolation worker is theirs alone. */
  isolating: boolean;
  /** Worker i can take a connection now (one being forked again cannot; its clients go elsewhere). */
  live(index: number): boolean;
  /** Connections of this client open on worker i. */
  held(index: number): number;
  /** For connections with no client (a trusted proxy's, which carry many clients): a counter that turns. */
  turn: number;
}

/** The worker for a new connection from `client` (undefined: a trusted proxy's), or undefined when none is live. */
export function workerFor(client: string | undefined, plan: WorkerPlan, p: Placement): number | undefined {
  const { isolation } = plan;
  if (p.noisy && isolation !== undefined && p.live(isolation)) return isolation;
  const start = client === undefined ? p.turn : addressHash(client);
  let best: number | undefined;
  for (let i = 0; i < plan.count; i++) {
    const candidate = (start + i) % plan.count;
    if (!p.live(candidate) || (p.isolating && !p.noisy && candidate === isolation)) continue;
    if (best === undefined || p.held(candidate) < p.held(best)) best = candidate;
  }
  // Only the isolation worker is live: it serves everyone rather than no one.
  return best ?? (isolation !== undefined && p.live(isolation) ? isolation : undefined);
}

/**
 * A worker's check after each answer: this connection should be closed so its client reconnects through the front
 * door to where it belongs now — a noisy client's off a regular worker, a quiet client's off the isolation worker while
 * it is isolating.
 */
export function belongsElsewhere(isIsolation: boolean, clientIsNoisy: boolean, isolating: boolean): boolean {
  return isIsolation ? isolating && !clientIsNoisy : clientIsNoisy;
}

/** Noisy clients remembered at most (the oldest forgotten first): a flood from many addresses stays bounded. */
export const NOISY_CLIENTS_MAX = 10_000;

/** Clients noisy until a time (ms): the primary's record, and each worker's copy of it. */
export function createNoisyClients(now: () => number = Date.now) {
  // In order of their end (every mark is now + the same memory), so the expired are at the front.
  const until = new Map<string, number>();
  let latest = 0;
  return {
    mark(client: string, end: number): void {
      if (end <= (until.get(client) ?? 0)) return;
      until.delete(client);
      until.set(client, end);
      latest = Math.max(latest, end);
      const t = now();
      for (const [first, firstEnd] of until) {
        if (firstEnd > t && until.size <= NOISY_CLIENTS_MAX) break;
        until.delete(first);
      }
    },
    has(client: string): boolean {
      return (until.get(client) ?? 0) > now();
    },
    /** Some client is noisy now. */
    any(): boolean {
      return latest > now();
    },
  };
}
