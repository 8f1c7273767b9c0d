/**
 * Heads other workers of the same gateway served (app/workers/: a client's connections may move between workers when
 * one restarts or the client turns noisy). A worker told of a higher head than its own asks its upstreams at once
 * instead of at its next poll, and a call waits (bounded) for it to get there, so no client sees the head go back.
 * Nothing of the sibling's head is trusted: this engine agrees on it itself, from its own upstreams.
 */

export interface SiblingHeadsIo {
  /** This engine's agreed head number. */
  head(): number | undefined;
  /** Poll every upstream now. */
  refresh(): Promise<void>;
  waitForNextHead(timeoutMs: number): Promise<unknown>;
  now(): number;
  /** The most a call waits to reach a sibling's head, ms. */
  waitMs: number;
}

export function createSiblingHeads(io: SiblingHeadsIo) {
  let highest = 0;
  let refreshing: Promise<void> | undefined;

  const behind = () => highest > (io.head() ?? -1);

  /** One poll of every upstream at a time, however many siblings and calls ask for it. */
  function refresh(): void {
    if (refreshing) return;
    refreshing = io.refresh().finally(() => {
      refreshing = undefined;
    });
  }

  return {
    /** A sibling served `number`. */
    served(number: number): void {
      if (number <= highest) return;
      highest = number;
      if (behind()) refresh();
    },
    /**
     * Undefined when this engine's head is at least every sibling's (no promise on the hot path); else resolves once it
     * is, or after `waitMs`.
     */
    catchUp(): Promise<void> | undefined {
      return behind() ? reach() : undefined;
    },
  };

  async function reach(): Promise<void> {
    refresh();
    const deadline = io.now() + io.waitMs;
    while (behind()) {
      const left = deadline - io.now();
      if (left <= 0) return;
      await io.waitForNextHead(left);
    }
  }
}
