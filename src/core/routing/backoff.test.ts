import assert from "node:assert/strict";
import { test } from "node:test";
import { BACKOFF_DEFAULTS, backoffFromRpcError, exponentialBackoffMs, parseRetryAfter } from "./backoff.ts";

/** The RFC 9110 example instant, Sun, 06 Nov 1994 08:49:37 GMT. */
const RFC_INSTANT = Date.UTC(1994, 10, 6, 8, 49, 37);

test("Retry-After in delay-seconds", () => {
  assert.equal(parseRetryAfter("120", 0), 120_000);
  assert.equal(parseRetryAfter("0", 0), 0);
  assert.equal(parseRetryAfter(" 7 ", 0), 7_000);
  assert.equal(parseRetryAfter("1.5", 0), 1_500);
});

test("Retry-After as an HTTP-date in all three RFC 9110 forms", () => {
  const now = RFC_INSTANT - 90_000;
  assert.equal(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), 90_000);
  assert.equal(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), 90_000);
  assert.equal(parseRetryAfter("Sun Nov  6 08:49:37 1994", now), 90_000);
});

test("a two-digit RFC 850 year more than 50 years ahead is the previous century", () => {
  const now = Date.UTC(2030, 0, 1);
  // "79" from 2030 would be 2079, 49 years ahead: kept in this century.
  assert.equal(parseRetryAfter("Monday, 01-Jan-79 00:00:00 GMT", now), BACKOFF_DEFAULTS.hintMaxMs);
  // "81" would be 2081, 51 years ahead: it is 1981, in the past.
  assert.equal(parseRetryAfter("Thursday, 01-Jan-81 00:00:00 GMT", now), 0);
});

test("Retry-After dates in the past are 0; huge values are clamped to maxMs", () => {
  assert.equal(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", RFC_INSTANT + 5_000), 0);
  assert.equal(parseRetryAfter("86400", 0), 300_000);
  assert.equal(parseRetryAfter("2024", 0), 300_000);
  assert.equal(parseRetryAfter("99999999999999999999999999999999", 0), 300_000);
  assert.equal(parseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", 0), 300_000);
  assert.equal(parseRetryAfter("600", 0, { maxMs: 1_000 }), 1_000);
});

test("Retry-After garbage is undefined", () => {
  for (const value of [
    undefined,
    "",
    "   ",
    "-5",
    "-0.5",
    "+5",
    "1e3",
    "soon",
    "5 seconds",
    "0x10",
    "Infinity",
    "NaN",
    "Nov 6 1994", // Date.parse would happily read this
    "Sun, 06 Nov 1994 08:49:37", // no GMT
    "Sun, 06 Nov 1994 08:49:37 PST",
    "Sun, 31 Feb 1994 08:49:37 GMT", // no such day
    "Sun, 06 Nov 1994 25:49:37 GMT",
    "Sun, 06 Foo 1994 08:49:37 GMT",
    "1".repeat(65),
    "Sun, 06 Nov 1994 08:49:37 GMT; extra",
  ]) {
    assert.equal(parseRetryAfter(value, RFC_INSTANT), undefined, `for ${JSON.stringify(value)}`);
  }
});

test("backoff from JSON-RPC error data fields (seconds)", () => {
  // Infura's shape for -32005.
  const infura = {
    code: -32005,
    message: "daily request count exceeded, request rate limited",
    data: { see: "https://infura.io/dashboard", current_rps: 13.333, allowed_rps: 10.0, backoff_seconds: 30.0 },
  };
  assert.equal(backoffFromRpcError(infura), 30_000);
  assert.equal(backoffFromRpcError({ data: { retryAfter: 2 } }), 2_000);
  assert.equal(backoffFromRpcError({ data: { retry_after: "1.5" } }), 1_500);
  assert.equal(backoffFromRpcError({ data: { backoff_seconds: 0 } }), 0);
});

test("data fields win over the message; garbage fields fall through to the next source", () => {
  assert.equal(backoffFromRpcError({ message: "try again in 99s", data: { backoff_seconds: 3 } }), 3_000);
  assert.equal(backoffFromRpcError({ message: "try again in 4s", data: { backoff_seconds: -1 } }), 4_000);
  assert.equal(backoffFromRpcError({ data: { backoff_seconds: "soon", retry_after: 6 } }), 6_000);
  assert.equal(backoffFromRpcError({ data: { backoff_seconds: Number.NaN } }), undefined);
  assert.equal(backoffFromRpcError({ data: { backoff_seconds: Number.POSITIVE_INFINITY } }), undefined);
  assert.equal(backoffFromRpcError({ data: { backoff_seconds: true } }), undefined);
});

test("backoff from messages", () => {
  const cases: [string, number][] = [
    ["rate limited, try again in 10s", 10_000],
    ["Too many requests. Retry after 2 seconds.", 2_000],
    ["exceeded quota; retry in 500ms", 500],
    ["please TRY AGAIN AFTER 1 minute", 60_000],
    ["try again in 1.5 sec", 1_500],
    ["try again in 3", 3_000],
    ["try again in 2 hours", 300_000],
  ];
  for (const [message, expected] of cases) {
    assert.equal(backoffFromRpcError({ code: -32005, message }), expected, message);
  }
});

test("a hint in string data is read like a message", () => {
  assert.equal(backoffFromRpcError({ message: "rate limited", data: "try again in 7s" }), 7_000);
});

test("errors without a usable hint give undefined", () => {
  assert.equal(backoffFromRpcError({}), undefined);
  assert.equal(backoffFromRpcError({ code: -32005, message: "rate limited" }), undefined);
  assert.equal(backoffFromRpcError({ code: 3, message: "execution reverted", data: "0x08c379a0" }), undefined);
  assert.equal(backoffFromRpcError({ message: 42, data: null }), undefined);
  assert.equal(backoffFromRpcError({ message: "try again later" }), undefined);
  assert.equal(backoffFromRpcError({ message: "try again in -5s" }), undefined);
});

test("huge hints are clamped to maxMs", () => {
  assert.equal(backoffFromRpcError({ data: { backoff_seconds: 1e12 } }), 300_000);
  assert.equal(backoffFromRpcError({ data: { retry_after: "9".repeat(400) } }), 300_000);
  assert.equal(backoffFromRpcError({ message: "try again in 999999999s" }), 300_000);
  assert.equal(backoffFromRpcError({ data: { backoff_seconds: 10 } }, { maxMs: 5_000 }), 5_000);
});

test("only the start of a huge message is searched, and quickly", () => {
  const padding = "x ".repeat(1_000_000);
  const started = performance.now();
  assert.equal(backoffFromRpcError({ message: `${padding}try again in 5s` }), undefined);
  assert.equal(backoffFromRpcError({ message: `try again in 5s. ${padding}` }), 5_000);
  assert.equal(backoffFromRpcError({ message: "try again in ".repeat(100_000) }), undefined);
  assert.ok(performance.now() - started < 100);
});

test("exponential backoff ceilings double from baseMs up to maxMs", () => {
  const ceilings = Array.from({ length: 10 }, (_, attempt) => exponentialBackoffMs(attempt, 0.999_999_999));
  assert.deepEqual(ceilings, [499, 999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999, 29_999, 29_999]);
  assert.equal(exponentialBackoffMs(3, 0.5, { baseMs: 100, maxMs: 10_000 }), 400);
});

test("exponential backoff uses full jitter", () => {
  assert.equal(exponentialBackoffMs(2, 0), 0);
  assert.equal(exponentialBackoffMs(2, 0.25), 500);
  assert.equal(exponentialBackoffMs(2, 0.5), 1_000);
});

test("exponential backoff survives odd inputs", () => {
  assert.equal(exponentialBackoffMs(5_000, 0.5), 15_000, "no overflow past maxMs");
  assert.equal(exponentialBackoffMs(Number.POSITIVE_INFINITY, 0.5), 15_000);
  assert.equal(exponentialBackoffMs(-3, 0.5), 250);
  assert.equal(exponentialBackoffMs(Number.NaN, 0.5), 250);
  assert.equal(exponentialBackoffMs(1.7, 0.5), 500);
  assert.equal(exponentialBackoffMs(0, Number.NaN), 500, "a broken random waits the longest");
  assert.equal(exponentialBackoffMs(0, 7), 500);
  assert.equal(exponentialBackoffMs(0, -1), 0);
});
