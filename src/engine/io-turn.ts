/**
 * One turn of the event loop, for work that must not decide before I/O that has already arrived is read. Timers run
 * before I/O callbacks in a turn, so after the loop was held (a local EVM run is CPU only), a timer that checks "has
 * the answer come?" would find it unread in its socket.
 */

/** Resolves once the event loop has turned (what was sent is written, what arrived is read), in Node and in browsers. */
export const letIoOut = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));

/** A timer this much later than due was held by this process, not waiting on I/O, ms. */
export const LOOP_STALL_MS = 10;

/** Runs `fn` now, or — when its timer fired `LOOP_STALL_MS` or more after `dueAt` — after one turn of the loop. */
export function afterStall(now: number, dueAt: number, fn: () => void): void {
  if (now - dueAt < LOOP_STALL_MS) fn();
  else void letIoOut().then(fn);
}
