/**
 * What the two devnet drivers (devnet.ts for anvil, solana/driver.ts for litesvm) run the same way: chain operations
 * one at a time, problems told to `onError` without ever throwing into the driver, and each step against one node
 * wrapped so that a failure marks that node and is reported instead of failing the whole operation.
 */

import { DevnetUnreachableError } from "./rpc.ts";

/** How `attempt` keeps a node's flags, whatever the driver calls them. */
export interface NodeFlags<S> {
  /** Whether its last call failed at the transport level (devnet: `unreachable`, Solana: `unresponsive`). */
  unreachable(s: S): boolean;
  setUnreachable(s: S, value: boolean): void;
  /** After any failed step: it no longer matches the driver's log (devnet: `inSync = false`, Solana: `behind = true`). */
  fellBehind(s: S): void;
}

/** What `createSerialDriver` takes. */
export interface SerialDriverOptions<E, S> {
  /** Told about every problem the driver works around; never throws into the driver, silent once stopped. */
  onError: ((error: E) => void) | undefined;
  /** What an operation queued once the driver is stopped rejects with. */
  stoppedError: () => E;
  flags: NodeFlags<S>;
  /** What `onError` hears of a failed step `what` (a transport failure is told once until the node answers again). */
  errorOf(s: S, what: string, error: unknown): E;
}

/** The driver's queue, reporter and per-node step wrapper. */
export interface SerialDriver<E, S> {
  /** Runs `fn` after every operation queued before it: each one assumes the chain does not move under it. */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** Tells `onError`, unless the driver is stopped; a listener that throws is ignored. */
  report(error: E): void;
  /** Runs one step against one node; a failure marks the node behind, is reported, and yields undefined. */
  attempt<T>(s: S, what: string, fn: () => Promise<T>): Promise<T | undefined>;
  stopped(): boolean;
  /** From now on nothing is reported and nothing more is queued; what runs goes on. */
  markStopped(): void;
  /** Resolves once every operation queued so far has settled. */
  settled(): Promise<unknown>;
}

export function createSerialDriver<E, S>(options: SerialDriverOptions<E, S>): SerialDriver<E, S> {
  const { onError, stoppedError, flags, errorOf } = options;
  let stopped = false;
  let queue: Promise<unknown> = Promise.resolve();

  function report(error: E): void {
    if (stopped) return;
    try {
      onError?.(error);
    } catch {
      // A faulty listener must not stop the chain.
    }
  }

  return {
    serial<T>(fn: () => Promise<T>): Promise<T> {
      const run = queue.then(() => {
        if (stopped) throw stoppedError();
        return fn();
      });
      queue = run.catch(() => {});
      return run;
    },
    report,
    async attempt<T>(s: S, what: string, fn: () => Promise<T>): Promise<T | undefined> {
      try {
        const value = await fn();
        flags.setUnreachable(s, false);
        return value;
      } catch (error) {
        flags.fellBehind(s);
        if (stopped) return undefined;
        if (error instanceof DevnetUnreachableError) {
          if (!flags.unreachable(s)) report(errorOf(s, what, error));
          flags.setUnreachable(s, true);
        } else {
          report(errorOf(s, what, error));
        }
        return undefined;
      }
    },
    stopped: () => stopped,
    markStopped() {
      stopped = true;
    },
    settled: () => queue,
  };
}
