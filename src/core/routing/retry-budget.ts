/**
 * A budget for extra attempts — retries and hedges alike — so that when upstreams fail or slow down the gateway
 * sends at most a fixed fraction more load, instead of multiplying it (the Envoy/Finagle retry budget).
 *
 * Allowed extra attempts in the sliding window = `minPerSecond * windowMs / 1000 + ratio * primaryRequests`.
 * The window is kept in time buckets, so memory is constant whatever the request rate.
 *
 * Retries come first: a hedge only races a slow answer, while a retry is the only way a call whose attempt died (a
 * reset, a crash) gets answered at all. So hedges may not take the last {@link HEDGE_RESERVED_SHARE} of the allowance:
 * a stalled upstream that draws a hedge for every call cannot leave nothing for the retries of a node that crashes.
 */

export interface RetryBudgetOptions {
  /**
   * Extra attempts allowed per primary request in the window (0.2 = at most 20 % more upstream load).
   * @default 0.2
   */
  ratio: number;
  /**
   * Extra attempts per second always allowed, so a quiet upstream set can still retry (attempts per second).
   * @default 5
   */
  minPerSecond: number;
  /**
   * Length of the sliding window, in milliseconds.
   * @default 10_000
   */
  windowMs: number;
}

export const RETRY_BUDGET_DEFAULTS = {
  ratio: 0.2,
  minPerSecond: 5,
  windowMs: 10_000,
} as const satisfies RetryBudgetOptions;

export interface RetryBudgetSnapshot {
  /** Primary requests in the window. */
  requests: number;
  /** Extra attempts taken in the window. */
  extra: number;
  /** Extra attempts that may still be taken now. */
  available: number;
}

/** Share of the window's allowance kept for retries: hedges stop when less than this is left. */
export const HEDGE_RESERVED_SHARE = 0.5;

/** What an extra attempt is for: a retry of a failed attempt, or a hedge racing a slow one. */
export type ExtraAttempt = "retry" | "hedge";

export interface RetryBudget {
  /** A primary request started. */
  onRequest(now: number): void;
  /** Takes one extra attempt if the budget allows; `false` means do not retry or hedge. @default "retry" */
  tryAcquire(now: number, purpose?: ExtraAttempt): boolean;
  snapshot(now: number): RetryBudgetSnapshot;
}

/** Buckets in the window: the window slides in steps of `windowMs / WINDOW_BUCKETS`. */
const WINDOW_BUCKETS = 10;

export function createRetryBudget(options: Partial<RetryBudgetOptions> = {}): RetryBudget {
  const { ratio, minPerSecond, windowMs } = { ...RETRY_BUDGET_DEFAULTS, ...options };
  if (!(ratio >= 0 && Number.isFinite(ratio))) throw new RangeError("ratio must be >= 0");
  if (!(minPerSecond >= 0 && Number.isFinite(minPerSecond))) throw new RangeError("minPerSecond must be >= 0");
  if (!(windowMs > 0 && Number.isFinite(windowMs))) throw new RangeError("windowMs must be a positive number");

  const floor = (minPerSecond * windowMs) / 1000;
  const bucketMs = windowMs / WINDOW_BUCKETS;
  const bucketEpoch = new Float64Array(WINDOW_BUCKETS).fill(Number.NEGATIVE_INFINITY);
  const bucketRequests = new Float64Array(WINDOW_BUCKETS);
  const bucketExtra = new Float64Array(WINDOW_BUCKETS);
  /**
   * The latest time seen. A wall clock stepping backwards would otherwise land in a bucket that looks expired and
   * hand out a fresh floor: exactly the amplification this budget exists to prevent.
   */
  let latest = Number.NEGATIVE_INFINITY;

  function monotonic(now: number): number {
    if (now > latest) latest = now;
    return latest;
  }

  function bucket(now: number): number {
    const epoch = Math.floor(now / bucketMs);
    const i = ((epoch % WINDOW_BUCKETS) + WINDOW_BUCKETS) % WINDOW_BUCKETS;
    if (bucketEpoch[i] !== epoch) {
      bucketEpoch[i] = epoch;
      bucketRequests[i] = 0;
      bucketExtra[i] = 0;
    }
    return i;
  }

  function totals(now: number): { requests: number; extra: number } {
    const epoch = Math.floor(now / bucketMs);
    let requests = 0;
    let extra = 0;
    for (let i = 0; i < WINDOW_BUCKETS; i++) {
      const e = bucketEpoch[i]!;
      if (e <= epoch && e > epoch - WINDOW_BUCKETS) {
        requests += bucketRequests[i]!;
        extra += bucketExtra[i]!;
      }
    }
    return { requests, extra };
  }

  function available(requests: number, extra: number, purpose: ExtraAttempt = "retry"): number {
    const allowance = floor + ratio * requests;
    const reserved = purpose === "hedge" ? HEDGE_RESERVED_SHARE * allowance : 0;
    // Without the epsilon, 0.29 * 100 = 28.999999999999996 would lose a whole attempt to rounding.
    return Math.max(0, Math.floor(allowance - reserved - extra + 1e-9));
  }

  return {
    onRequest(now) {
      bucketRequests[bucket(monotonic(now))]! += 1;
    },

    tryAcquire(now, purpose = "retry") {
      const t = monotonic(now);
      const { requests, extra } = totals(t);
      if (available(requests, extra, purpose) < 1) return false;
      bucketExtra[bucket(t)]! += 1;
      return true;
    },

    snapshot(now) {
      const { requests, extra } = totals(monotonic(now));
      return { requests, extra, available: available(requests, extra) };
    },
  };
}
