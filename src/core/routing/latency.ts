/**
 * Latency of one upstream (or one upstream and method class): recent quantiles for hedge delays, an EWMA for
 * scoring. Pure: times come in as `now` milliseconds.
 */

export interface LatencyWindowOptions {
  /**
   * Samples kept, newest overwriting oldest (a count).
   * @default 256
   */
  size?: number;
  /**
   * Samples older than this are left out of quantiles and counts, in milliseconds.
   * @default 60_000
   */
  maxAgeMs?: number;
  /**
   * Weight of the newest sample in the EWMA (0..1]; higher follows changes faster.
   * @default 0.2
   */
  ewmaAlpha?: number;
}

export interface HedgeDelayOptions {
  /**
   * Which latency quantile (0..1) to wait for before hedging.
   * @default 0.9
   */
  quantile?: number;
  /**
   * Shortest hedge delay, in milliseconds.
   * @default 50
   */
  minMs?: number;
  /**
   * Longest hedge delay, in milliseconds.
   * @default 300
   */
  maxMs?: number;
  /**
   * Hedge delay when there are no recent samples, in milliseconds (clamped like any other delay).
   * @default 150
   */
  fallbackMs?: number;
}

export const LATENCY_DEFAULTS = {
  /** Samples kept per window (a count). */
  size: 256,
  /** Age after which a sample stops counting, in milliseconds. */
  maxAgeMs: 60_000,
  /** EWMA weight of the newest sample (0..1]. */
  ewmaAlpha: 0.2,
  /** Latency quantile a hedge waits for (0..1). */
  hedgeQuantile: 0.9,
  /** Shortest hedge delay, in milliseconds. */
  hedgeMinMs: 50,
  /** Longest hedge delay, in milliseconds. */
  hedgeMaxMs: 300,
  /** Hedge delay with no recent samples, in milliseconds. */
  hedgeFallbackMs: 150,
} as const;

export interface LatencyWindow {
  /** Records one attempt's latency in milliseconds, observed at `now`. */
  record(ms: number, now: number): void;
  /** The `q` quantile (0..1, nearest rank) of samples younger than maxAgeMs; undefined when there are none. */
  quantile(q: number, now: number): number | undefined;
  /** EWMA of every sample recorded; undefined before the first. */
  ewma(): number | undefined;
  /** Samples younger than maxAgeMs. */
  count(now: number): number;
}

export function createLatencyWindow(options: LatencyWindowOptions = {}): LatencyWindow {
  const {
    size = LATENCY_DEFAULTS.size,
    maxAgeMs = LATENCY_DEFAULTS.maxAgeMs,
    ewmaAlpha = LATENCY_DEFAULTS.ewmaAlpha,
  } = options;
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError("size must be a positive integer");
  if (!(maxAgeMs > 0)) throw new RangeError("maxAgeMs must be > 0");
  if (!(ewmaAlpha > 0 && ewmaAlpha <= 1)) throw new RangeError("ewmaAlpha must be in (0, 1]");

  const values = new Float64Array(size);
  const times = new Float64Array(size);
  let filled = 0;
  let next = 0;
  let average: number | undefined;

  // quantile() runs on every request: the sorted fresh samples are cached and rebuilt only after a new sample
  // or once the oldest cached sample has aged out.
  let sorted = new Float64Array(0);
  let stale = true;
  let computedAt = Number.NEGATIVE_INFINITY;
  let expiresAt = Number.POSITIVE_INFINITY;

  function fresh(now: number): Float64Array {
    if (!stale && now >= computedAt && now < expiresAt) return sorted;
    const keep = new Float64Array(filled);
    let n = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < filled; i++) {
      const at = times[i]!;
      if (now - at < maxAgeMs) {
        keep[n++] = values[i]!;
        if (at < oldest) oldest = at;
      }
    }
    sorted = keep.subarray(0, n).sort();
    stale = false;
    computedAt = now;
    expiresAt = oldest + maxAgeMs;
    return sorted;
  }

  return {
    record(ms, now) {
      // A garbage sample would poison every quantile for a minute; a negative one is clock noise on a fast call.
      if (Number.isNaN(ms) || ms === Number.POSITIVE_INFINITY) return;
      const sample = Math.max(0, ms);
      values[next] = sample;
      times[next] = now;
      next = (next + 1) % size;
      if (filled < size) filled++;
      average = average === undefined ? sample : ewmaAlpha * sample + (1 - ewmaAlpha) * average;
      stale = true;
    },

    quantile(q, now) {
      if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
      const s = fresh(now);
      if (s.length === 0) return undefined;
      const rank = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
      return s[rank];
    },

    ewma: () => average,

    count: (now) => fresh(now).length,
  };
}

/**
 * How long to wait for the first attempt before sending a hedge: the upstream's recent `quantile` latency,
 * clamped to [minMs, maxMs]; `fallbackMs` (clamped too) when nothing recent is known.
 */
export function hedgeDelayMs(window: LatencyWindow | undefined, now: number, options: HedgeDelayOptions = {}): number {
  const {
    quantile = LATENCY_DEFAULTS.hedgeQuantile,
    minMs = LATENCY_DEFAULTS.hedgeMinMs,
    maxMs = LATENCY_DEFAULTS.hedgeMaxMs,
    fallbackMs = LATENCY_DEFAULTS.hedgeFallbackMs,
  } = options;
  const observed = window?.quantile(quantile, now);
  const delay = observed ?? fallbackMs;
  return Math.min(maxMs, Math.max(minMs, delay));
}
