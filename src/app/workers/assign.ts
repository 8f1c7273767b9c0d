/**
 * Which worker serves a connection: every connection of one client address on the same worker (its rate limits and
 * its WebSocket subscriptions live there), spread by a hash of the address; a noisy client — many connections at once,
 * or refused for its rate — on a worker of its own when there are three or more, so a flood shares a core with no one
 * but itself. Pure: the primary (primary.ts) supplies the counts and the flags.
 */

/** A client with this many connections open at once is noisy: its next ones go to the isolation worker. */
export const NOISY_CLIENT_CONNECTIONS = 64;
/** A client a worker refused for its rate stays noisy this long after the last refusal, ms. */
export const NOISY_CLIENT_MEMORY_MS = 60_000;

export interface WorkerPlan {
  /** Workers that serve every client. */
  regular: number[];
  /** The worker noisy clients are sent to (with three or more workers). */
  isolation: number | undefined;
}

export function planWorkers(count: number): WorkerPlan {
  const all = Array.from({ length: count }, (_, i) => i);
  return count >= 3 ? { regular: all.slice(0, -1), isolation: count - 1 } : { regular: all, isolation: undefined };
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

/**
 * The worker for a new connection from `client` (undefined: a trusted proxy's, which carries many clients: spread by
 * `turn`). `live(i)`: worker i can take it now (one being restarted cannot; its clients go to the next live one).
 */
export function workerFor(
  client: string | undefined,
  plan: WorkerPlan,
  noisy: boolean,
  live: (index: number) => boolean,
  turn: number,
): number | undefined {
  if (noisy && plan.isolation !== undefined && live(plan.isolation)) return plan.isolation;
  const { regular } = plan;
  const start = client === undefined ? turn : addressHash(client);
  for (let i = 0; i < regular.length; i++) {
    const candidate = regular[(start + i) % regular.length]!;
    if (live(candidate)) return candidate;
  }
  return plan.isolation !== undefined && live(plan.isolation) ? plan.isolation : undefined;
}
