/** One `/metrics` for the whole gateway: the primary asks every serving worker for its metrics and merges them. */
import { aggregateMetrics } from "../../telemetry/metrics-aggregate.ts";
import type { ToWorker } from "./protocol.ts";
import type { Slot } from "./slots.ts";

/** How long the primary waits for each worker's metrics when the gateway is scraped, ms. */
export const WORKER_SCRAPE_TIMEOUT_MS = 2_000;

export function createMetricsGather(slots: readonly Slot[]) {
  /** Scrapes in progress: each worker's answer, by scrape id. */
  const scrapes = new Map<number, (index: number, metrics: object[]) => void>();
  let nextScrape = 0;
  return {
    /** Every serving worker's metrics, aggregated (a worker that does not answer in time is left out). */
    async gather(): Promise<string> {
      const id = nextScrape++;
      const serving = slots.flatMap((slot, index) => (slot.ready ? [index] : []));
      const answers = new Map<number, object[]>();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, WORKER_SCRAPE_TIMEOUT_MS);
        scrapes.set(id, (index, metrics) => {
          answers.set(index, metrics);
          if (answers.size < serving.length) return;
          clearTimeout(timer);
          resolve();
        });
        for (const index of serving) slots[index]!.worker!.send({ type: "scrape", id } satisfies ToWorker);
      });
      scrapes.delete(id);
      return (await aggregateMetrics([...answers.values()])).text;
    },
    /** Worker `index` answered the scrape `id`. */
    scraped(id: number, index: number, metrics: object[]): void {
      scrapes.get(id)?.(index, metrics);
    },
  };
}
