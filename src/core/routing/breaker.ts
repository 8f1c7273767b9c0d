/**
 * Circuit breaker for one upstream, with slow start. Pure: every method takes the current time as `now`
 * (milliseconds, same clock for every call), so the policy is tested with explicit times.
 */

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  /**
   * Consecutive failures that open the breaker.
   * @default 5
   */
  failureThreshold: number;
  /**
   * Failure rate over the window (0..1) that opens the breaker; a rate equal to it opens too.
   * @default 0.5
   */
  failureRateThreshold: number;
  /**
   * Length of the sliding window the failure rate is measured over, in milliseconds.
   * @default 10_000
   */
  windowMs: number;
  /**
   * Outcomes needed in the window before the failure rate may open the breaker (a count).
   * @default 20
   */
  minRequestsInWindow: number;
  /**
   * How long the breaker stays open the first time, in milliseconds.
   * @default 2_000
   */
  openMs: number;
  /**
   * Longest open period, in milliseconds: each failed probe doubles the open period up to this.
   * @default 60_000
   */
  maxOpenMs: number;
  /**
   * Probes allowed in flight at once while half-open (a count).
   * @default 1
   */
  halfOpenMaxProbes: number;
  /**
   * How long the weight takes to ramp from `slowStartInitialWeight` to 1 after closing, in milliseconds.
   * @default 30_000
   */
  slowStartMs: number;
  /**
   * Weight right after closing (0..1], and the weight while half-open, so a recovering upstream gets a trickle.
   * @default 0.1
   */
  slowStartInitialWeight: number;
}

export const BREAKER_DEFAULTS = {
  failureThreshold: 5,
  failureRateThreshold: 0.5,
  windowMs: 10_000,
  minRequestsInWindow: 20,
  openMs: 2_000,
  maxOpenMs: 60_000,
  halfOpenMaxProbes: 1,
  slowStartMs: 30_000,
  slowStartInitialWeight: 0.1,
} as const satisfies BreakerOptions;

export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  /** When the current (or, while half-open, the last) open period began. */
  openedAt?: number;
  /** When the current (or, while half-open, the last) open period ends. */
  openUntil?: number;
  /** Failures / outcomes in the window; 0 with no outcomes. */
  errorRate: number;
}

export interface Breaker {
  /** Open turns into half-open once the open period has elapsed. */
  state(now: number): BreakerState;
  /** May a request go now? While half-open a `true` reserves a probe slot, ended by onSuccess/onFailure/release. */
  allow(now: number): boolean;
  /** Half-open success closes the breaker and starts slow start; releases a probe slot. */
  onSuccess(now: number): void;
  /** Counts a failure; opens on the thresholds; a half-open failure re-opens with a doubled period. */
  onFailure(now: number): void;
  /** A reserved slot ended without an outcome (aborted, e.g. a hedge that lost). */
  release(now: number): void;
  /** Selection weight: 0 open, a trickle half-open, ramping linearly during slow start, else 1. */
  weight(now: number): number;
  snapshot(now: number): BreakerSnapshot;
  /** Opens for `ms` (or longer if already open longer): used when a whole failure domain is judged down. */
  forceOpen(now: number, ms: number): void;
  /**
   * A health probe outside the request path (a head poll) got a good answer: evidence the upstream is back, so an
   * open breaker ends its open period now, however long it had grown, and turns half-open (one probe request, then
   * slow start). The open period a failed probe doubles is kept.
   */
  onProbeSuccess(now: number): void;
}

/** Buckets in the failure-rate window: memory stays constant whatever the request rate. */
const WINDOW_BUCKETS = 10;

export function createBreaker(options: Partial<BreakerOptions> = {}): Breaker {
  const {
    failureThreshold,
    failureRateThreshold,
    windowMs,
    minRequestsInWindow,
    openMs,
    maxOpenMs,
    halfOpenMaxProbes,
    slowStartMs,
    slowStartInitialWeight,
  } = { ...BREAKER_DEFAULTS, ...options };
  if (!(failureThreshold >= 1)) throw new RangeError("failureThreshold must be >= 1");
  if (!(failureRateThreshold > 0 && failureRateThreshold <= 1))
    throw new RangeError("failureRateThreshold must be in (0, 1]");
  if (!(windowMs > 0 && Number.isFinite(windowMs))) throw new RangeError("windowMs must be a positive number");
  if (!(minRequestsInWindow >= 1)) throw new RangeError("minRequestsInWindow must be >= 1");
  if (!(openMs > 0 && Number.isFinite(openMs))) throw new RangeError("openMs must be a positive number");
  if (!(maxOpenMs >= openMs && Number.isFinite(maxOpenMs))) throw new RangeError("maxOpenMs must be >= openMs");
  if (!(halfOpenMaxProbes >= 1)) throw new RangeError("halfOpenMaxProbes must be >= 1");
  if (!(slowStartMs >= 0 && Number.isFinite(slowStartMs))) throw new RangeError("slowStartMs must be >= 0");
  if (!(slowStartInitialWeight > 0 && slowStartInitialWeight <= 1))
    throw new RangeError("slowStartInitialWeight must be in (0, 1]");

  const bucketMs = windowMs / WINDOW_BUCKETS;
  const bucketEpoch = new Float64Array(WINDOW_BUCKETS).fill(Number.NEGATIVE_INFINITY);
  const bucketFailures = new Float64Array(WINDOW_BUCKETS);
  const bucketTotal = new Float64Array(WINDOW_BUCKETS);

  let current: BreakerState = "closed";
  let consecutiveFailures = 0;
  let openedAt: number | undefined;
  let openUntil: number | undefined;
  /** The period the next probe failure doubles; back to `openMs` once the upstream has proven itself again. */
  let openPeriodMs = openMs;
  let probesInFlight = 0;
  /** Start of slow start; undefined when not ramping (never opened, or ramp finished). */
  let closedAt: number | undefined;

  function record(now: number, failed: boolean): void {
    const epoch = Math.floor(now / bucketMs);
    const i = ((epoch % WINDOW_BUCKETS) + WINDOW_BUCKETS) % WINDOW_BUCKETS;
    if (bucketEpoch[i] !== epoch) {
      bucketEpoch[i] = epoch;
      bucketFailures[i] = 0;
      bucketTotal[i] = 0;
    }
    bucketTotal[i]! += 1;
    if (failed) bucketFailures[i]! += 1;
  }

  function windowCounts(now: number): { failures: number; total: number } {
    const epoch = Math.floor(now / bucketMs);
    let failures = 0;
    let total = 0;
    for (let i = 0; i < WINDOW_BUCKETS; i++) {
      const e = bucketEpoch[i]!;
      if (e <= epoch && e > epoch - WINDOW_BUCKETS) {
        failures += bucketFailures[i]!;
        total += bucketTotal[i]!;
      }
    }
    return { failures, total };
  }

  function clearWindow(): void {
    bucketEpoch.fill(Number.NEGATIVE_INFINITY);
  }

  function advance(now: number): BreakerState {
    if (current === "open" && openUntil !== undefined && now >= openUntil) {
      current = "half_open";
      probesInFlight = 0;
    }
    return current;
  }

  function open(now: number, ms: number): void {
    current = "open";
    openedAt = now;
    openUntil = now + ms;
    probesInFlight = 0;
    closedAt = undefined;
  }

  function close(now: number): void {
    current = "closed";
    consecutiveFailures = 0;
    openPeriodMs = openMs;
    probesInFlight = 0;
    closedAt = now;
    // Failures from before the outage would otherwise re-trip the rate check on the first new failure.
    clearWindow();
  }

  function weight(now: number): number {
    const state = advance(now);
    if (state === "open") return 0;
    if (state === "half_open") return slowStartInitialWeight;
    if (closedAt === undefined) return 1;
    const elapsed = now - closedAt;
    if (elapsed >= slowStartMs) {
      closedAt = undefined;
      return 1;
    }
    const progress = Math.max(0, elapsed) / slowStartMs;
    return slowStartInitialWeight + (1 - slowStartInitialWeight) * progress;
  }

  return {
    state: advance,

    allow(now) {
      const state = advance(now);
      if (state === "closed") return true;
      if (state === "open") return false;
      if (probesInFlight >= halfOpenMaxProbes) return false;
      probesInFlight++;
      return true;
    },

    onSuccess(now) {
      const state = advance(now);
      if (state === "half_open") {
        close(now);
        return;
      }
      // A straggler that started before the breaker opened says nothing about whether to close it.
      if (state === "open") return;
      consecutiveFailures = 0;
      record(now, false);
    },

    onFailure(now) {
      const state = advance(now);
      if (state === "open") return;
      consecutiveFailures++;
      if (state === "half_open") {
        openPeriodMs = Math.min(openPeriodMs * 2, maxOpenMs);
        open(now, openPeriodMs);
        return;
      }
      record(now, true);
      if (consecutiveFailures >= failureThreshold) {
        open(now, openPeriodMs);
        return;
      }
      const { failures, total } = windowCounts(now);
      if (total >= minRequestsInWindow && failures / total >= failureRateThreshold) open(now, openPeriodMs);
    },

    release(now) {
      if (advance(now) === "half_open" && probesInFlight > 0) probesInFlight--;
    },

    weight,

    snapshot(now) {
      const state = advance(now);
      const { failures, total } = windowCounts(now);
      const snap: BreakerSnapshot = { state, consecutiveFailures, errorRate: total === 0 ? 0 : failures / total };
      if (state !== "closed") {
        snap.openedAt = openedAt;
        snap.openUntil = openUntil;
      }
      return snap;
    },

    onProbeSuccess(now) {
      if (advance(now) !== "open") return;
      openUntil = now;
      advance(now);
    },

    forceOpen(now, ms) {
      // A non-finite period would never probe again; a whole-domain outage must still be noticed when it ends.
      const period = Number.isNaN(ms) || ms < 0 ? 0 : Number.isFinite(ms) ? ms : maxOpenMs;
      const until = now + period;
      if (advance(now) === "open" && openUntil !== undefined && openUntil >= until) return;
      open(now, period);
    },
  };
}
