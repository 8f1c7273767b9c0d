/**
 * How long to leave an upstream alone after it said "slow down" (HTTP `Retry-After`, JSON-RPC rate-limit errors),
 * and jittered exponential backoff for our own retries. Pure: time and randomness come in as arguments.
 */

export const BACKOFF_DEFAULTS = {
  /** Longest backoff an upstream can impose on us, in milliseconds: a typo'd hint must not bench it for a day. */
  hintMaxMs: 300_000,
  /** First exponential backoff ceiling, in milliseconds. */
  exponentialBaseMs: 500,
  /** Largest exponential backoff ceiling, in milliseconds. */
  exponentialMaxMs: 30_000,
} as const;

export interface BackoffHintOptions {
  /**
   * Longest backoff returned, in milliseconds; longer hints are clamped to it.
   * @default 300_000
   */
  maxMs?: number;
}

export interface ExponentialBackoffOptions {
  /**
   * Ceiling of the first backoff (attempt 0), in milliseconds.
   * @default 500
   */
  baseMs?: number;
  /**
   * Largest ceiling, in milliseconds.
   * @default 30_000
   */
  maxMs?: number;
}

const DAY_NAMES = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY_NAMES = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
/** RFC 9110 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(`^${DAY_NAMES}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, "i");
/** Obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850_DATE = new RegExp(`^${LONG_DAY_NAMES}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, "i");
/** Obsolete asctime: `Sun Nov  6 08:49:37 1994`. */
const ASCTIME_DATE = new RegExp(`^${DAY_NAMES} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`, "i");
const DELAY_SECONDS = /^\d+(?:\.\d+)?$/;

/**
 * `Retry-After` as milliseconds from `now`: delay-seconds (`"120"`) or an HTTP-date, clamped to [0, maxMs].
 * Undefined when absent or not one of those forms (a negative number is not a delay). A date in the past is 0.
 */
export function parseRetryAfter(
  value: string | undefined,
  now: number,
  options: BackoffHintOptions = {},
): number | undefined {
  const { maxMs = BACKOFF_DEFAULTS.hintMaxMs } = options;
  if (value === undefined) return undefined;
  const text = value.trim();
  // Anything longer is not a header value we understand; do not run patterns over it.
  if (text.length === 0 || text.length > 64) return undefined;
  if (DELAY_SECONDS.test(text)) return clamp(Number(text) * 1000, maxMs);
  const at = parseHttpDate(text, now);
  return at === undefined ? undefined : clamp(at - now, maxMs);
}

function parseHttpDate(text: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(m[3]!, m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  m = RFC850_DATE.exec(text);
  if (m) {
    // RFC 9110: a two-digit year more than 50 years in the future means the previous century.
    const nowYear = new Date(now).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(m[3]);
    if (year > nowYear + 50) year -= 100;
    return utc(String(year), m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME_DATE.exec(text);
  if (m) return utc(m[6]!, m[1]!, m[2]!, m[3]!, m[4]!, m[5]!);
  return undefined;
}

function utc(
  year: string,
  month: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const y = Number(year);
  const mo = MONTHS.indexOf(month.toLowerCase());
  const d = Number(day.trim());
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second);
  if (d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = Date.UTC(y, mo, d, h, mi, Math.min(s, 59));
  // Date.UTC rolls "31 Feb" over into March; a date that does not exist is garbage.
  if (new Date(ms).getUTCDate() !== d) return undefined;
  return ms;
}

/** Where vendors put a backoff hint, in seconds, in a JSON-RPC error's `data`. */
const DATA_FIELDS = ["backoff_seconds", "retryAfter", "retry_after"] as const;
/** Messages are upstream-controlled and may be huge: only their start is searched. */
const MESSAGE_SCAN_CHARS = 1_024;
/** "try again in 10s", "retry after 2 seconds", "retry in 500ms", "try again after 1 minute". No unit: seconds. */
const MESSAGE_HINT =
  /\b(?:try again|retry)\s+(?:in|after)\s+(\d{1,9}(?:\.\d{1,6})?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)?\b/i;

/**
 * A backoff hint in milliseconds from a JSON-RPC error: `data.backoff_seconds`, `data.retryAfter` or
 * `data.retry_after` (seconds, number or numeric string), else a message like "try again in 10s".
 * Clamped to [0, maxMs]; undefined when the error carries no usable hint.
 */
export function backoffFromRpcError(
  error: { code?: unknown; message?: unknown; data?: unknown },
  options: BackoffHintOptions = {},
): number | undefined {
  const { maxMs = BACKOFF_DEFAULTS.hintMaxMs } = options;
  const { data, message } = error;
  if (typeof data === "object" && data !== null) {
    for (const field of DATA_FIELDS) {
      const seconds = secondsFrom((data as Record<string, unknown>)[field]);
      if (seconds !== undefined) return clamp(seconds * 1000, maxMs);
    }
  }
  for (const text of [message, data]) {
    if (typeof text !== "string") continue;
    const hint = hintFromMessage(text.slice(0, MESSAGE_SCAN_CHARS));
    if (hint !== undefined) return clamp(hint, maxMs);
  }
  return undefined;
}

function secondsFrom(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value === "string" && DELAY_SECONDS.test(value.trim())) return Number(value.trim());
  return undefined;
}

function hintFromMessage(text: string): number | undefined {
  const m = MESSAGE_HINT.exec(text);
  if (!m) return undefined;
  const amount = Number(m[1]);
  const unit = (m[2] ?? "s").toLowerCase();
  if (unit === "ms" || unit.startsWith("milli")) return amount;
  if (unit === "m" || unit.startsWith("min")) return amount * 60_000;
  if (unit.startsWith("h")) return amount * 3_600_000;
  return amount * 1000;
}

function clamp(ms: number, maxMs: number): number {
  if (Number.isNaN(ms)) return maxMs;
  return Math.min(maxMs, Math.max(0, Math.round(ms)));
}

/**
 * Full-jitter exponential backoff: uniform in [0, min(maxMs, baseMs * 2^attempt)). `attempt` counts retries
 * already made (0 for the first retry); `random` is a uniform draw in [0, 1) from the injected Random port.
 */
export function exponentialBackoffMs(attempt: number, random: number, options: ExponentialBackoffOptions = {}): number {
  const { baseMs = BACKOFF_DEFAULTS.exponentialBaseMs, maxMs = BACKOFF_DEFAULTS.exponentialMaxMs } = options;
  const n = attempt > 0 ? Math.floor(attempt) : 0;
  // 2 ** 1100 is Infinity, which min() turns into maxMs: no overflow guard needed.
  const ceiling = Math.min(maxMs, baseMs * 2 ** n);
  // A broken random source must not turn into a zero wait and a retry storm: it waits the longest instead.
  const r = Number.isNaN(random) ? 1 : Math.min(1, Math.max(0, random));
  return Math.floor(ceiling * r);
}
