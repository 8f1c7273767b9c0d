/**
 * What the admin listener (worker 0's) shows of the whole gateway: the primary asks every serving worker for its
 * metrics or its overview and merges them.
 */

import { MAX_EVENTS } from "../../engine/activity.ts";
import type { Overview } from "../../server/admin-api.ts";
import { mergeOverviews } from "../../server/overview-merge.ts";
import { aggregateMetrics } from "../../telemetry/metrics-aggregate.ts";
import type { Gathered, ToWorker } from "./protocol.ts";
import type { Slot } from "./slots.ts";

/** How long the primary waits for each worker's answer when the gateway is scraped, ms. */
export const WORKER_SCRAPE_TIMEOUT_MS = 2_000;

/** Every worker's answers (in worker order) made one. */
async function merge(what: Gathered, answers: unknown[]): Promise<unknown> {
  if (what === "overview") return mergeOverviews(answers as Overview[], Date.now(), MAX_EVENTS);
  return (await aggregateMetrics(answers as object[][])).text;
}

export function createGather(slots: readonly Slot[]) {
  /** Scrapes in progress: each worker's answer, by scrape id. */
  const scrapes = new Map<number, (index: number, value: unknown) => void>();
  let nextScrape = 0;
  return {
    /**
     * Every serving worker's metrics (Prometheus text, aggregated) or overview (merged); a worker that does not
     * answer in time is left out.
     */
    async gather(what: Gathered): Promise<unknown> {
      const id = nextScrape++;
      const serving = slots.flatMap((slot, index) => (slot.ready ? [index] : []));
      const answers = new Map<number, unknown>();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, WORKER_SCRAPE_TIMEOUT_MS);
        scrapes.set(id, (index, value) => {
          answers.set(index, value);
          if (answers.size < serving.length) return;
          clearTimeout(timer);
          resolve();
        });
        for (const index of serving) slots[index]!.worker!.send({ type: "scrape", id, what } satisfies ToWorker);
      });
      scrapes.delete(id);
      const inOrder = [...answers.entries()].sort(([a], [b]) => a - b).map(([, value]) => value);
      return merge(what, inOrder);
    },
    /** Worker `index` answered the scrape `id`. */
    scraped(id: number, index: number, value: unknown): void {
      scrapes.get(id)?.(index, value);
    },
  };
}
