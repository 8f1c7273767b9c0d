import type { Clock, Random } from "../core/ports.ts";

/** The real clock: the one place outside tests that reads wall time for policies. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref?.();
    return () => clearTimeout(timer);
  },
};

export const systemRandom: Random = { next: () => Math.random() };
