/** A Clock for unit tests: time moves only when the test says so, and due timers run in order of their due time. */
import type { Clock } from "../../src/core/ports.ts";

export interface FakeClock extends Clock {
  /** Move time forward by `ms`, running every timer that falls due. */
  advance(ms: number): void;
  /** Timers set and neither run nor cancelled. */
  pending(): number;
}

export function createFakeClock(start = 1_700_000_000_000): FakeClock {
  let now = start;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => now,
    setTimer(ms, fn) {
      const timer = { at: now + ms, fn, live: true };
      timers.push(timer);
      return () => {
        timer.live = false;
      };
    },
    advance(ms) {
      now += ms;
      for (const t of timers.filter((t) => t.live && t.at <= now).sort((a, b) => a.at - b.at)) {
        t.live = false;
        t.fn();
      }
    },
    pending: () => timers.filter((t) => t.live).length,
  };
}
