/**
 * Disputes: answers that failed verification. One can be bad luck (a reorg between header and proof); several in a
 * window mean the upstream lies or serves another chain, and it is cordoned for a while.
 */
export interface DisputeOptions {
  /** Disputes within `windowMs` that cordon an upstream. @default 3 */
  threshold: number;
  /** @default 300_000 (5 minutes) */
  windowMs: number;
  /** How long a cordon lasts, ms. @default 300_000 */
  cordonMs: number;
}

export const DISPUTE_DEFAULTS: DisputeOptions = { threshold: 3, windowMs: 300_000, cordonMs: 300_000 };

export interface Disputes {
  /** Record a dispute; returns the time the upstream is cordoned until when this one crossed the threshold. */
  record(upstreamId: string, now: number): number | undefined;
  /** Disputes against the upstream within the window. */
  count(upstreamId: string, now: number): number;
}

export function createDisputes(options: Partial<DisputeOptions> = {}): Disputes {
  const { threshold, windowMs, cordonMs } = { ...DISPUTE_DEFAULTS, ...options };
  const times = new Map<string, number[]>();
  const recent = (id: string, now: number) => {
    const list = (times.get(id) ?? []).filter((t) => now - t < windowMs);
    times.set(id, list);
    return list;
  };
  return {
    record(id, now) {
      const list = recent(id, now);
      list.push(now);
      if (list.length >= threshold) {
        times.set(id, []);
        return now + cordonMs;
      }
      return undefined;
    },
    count: (id, now) => recent(id, now).length,
  };
}
