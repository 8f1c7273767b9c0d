/**
 * One scrape for the whole gateway when it runs as workers (app/workers/): each worker's metrics as prom-client JSON,
 * merged — counters and histograms summed, state gauges the highest any worker reports (their `aggregator`).
 */
import { AggregatorRegistry } from "prom-client";

export async function aggregateMetrics(perWorker: object[][]): Promise<{ contentType: string; text: string }> {
  const registry = AggregatorRegistry.aggregate(perWorker);
  return { contentType: registry.contentType, text: await registry.metrics() };
}
