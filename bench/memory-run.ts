/** The memory scenario of `npm run bench`: the two runs of `bench/memory-bound.ts`, with and without the cache. */
import { join } from "node:path";
import { balanceBodies, type FundedAccount } from "./bodies.ts";
import { BODIES_BLOCK, writeCheckedBodies } from "./body-sets.ts";
import { type MemoryBoundResult, measureMemoryBound, peakOf } from "./memory-bound.ts";
import type { BenchNodes } from "./nodes.ts";
import type { MemoryOutcome } from "./report.ts";
import { int, type RunContext } from "./run-context.ts";
import { nodeById } from "./scenarios.ts";

/** Distinct bodies of the memory scenario: many times what its cache can hold. */
const MEMORY_BODIES = 200_000;
/** `cache.maxBytes` of the memory scenario. */
const MEMORY_CACHE_BYTES = 4 * 2 ** 20;
/** With the nodes still at block 2, block 1 (every body's block) is final and its answers cached until evicted. */
const MEMORY_FINALITY_DEPTH = 1;
/** The memory scenario's expected answers are checked against the node for one body in this many (and the funded). */
const MEMORY_CHECK_STEP = 1_000;

/** Log line of one memory run. */
function memoryLine(r: MemoryBoundResult): string {
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  const peak = peakOf(r.samples);
  return (
    `  cache ${r.cache ? "on" : "off"}: ${int(r.wrk.requests)} requests, wrong ${r.wrk.wrong}, non-2xx ${r.wrk.non2xx}; ` +
    `heap idle/peak/end ${mib(r.idle.heapUsed)}/${mib(peak.heapUsed)}/${mib(r.end.heapUsed)} MiB, ` +
    `rss ${mib(r.idle.rss)}/${mib(peak.rss)}/${mib(r.end.rss)} MiB` +
    (r.cacheCheck
      ? `; upstream calls for ${r.cacheCheck.recent} recent / ${r.cacheCheck.evicted} evicted bodies: ` +
        `${r.cacheCheck.recentUpstreamCalls} / ${r.cacheCheck.evictedUpstreamCalls}`
      : "")
  );
}

/**
 * The memory scenario: Multihome with a small cache under far more distinct cacheable reads than it holds, then the
 * same load with the cache off (the control that tells what serving the load retains anyway).
 */
export async function memoryBound(ctx: RunContext, nodes: BenchNodes, funded: FundedAccount[]): Promise<MemoryOutcome> {
  const { log } = ctx;
  const title = "Memory under load with a small cache";
  log(`— ${title}`);
  const alpha = nodeById(nodes, "alpha");
  try {
    const cases = balanceBodies({ count: MEMORY_BODIES, block: BODIES_BLOCK, funded });
    const bodiesFile = join(ctx.bodiesDir, "memory.txt");
    await writeCheckedBodies(bodiesFile, cases, alpha.url, MEMORY_CHECK_STEP);
    const run = (cache: boolean) =>
      measureMemoryBound({
        chainId: nodes.devnet.chainId,
        upstream: { id: alpha.id, url: alpha.url, domain: alpha.domain },
        cases,
        bodiesFile,
        cache,
        cacheMaxBytes: MEMORY_CACHE_BYTES,
        finalityDepth: MEMORY_FINALITY_DEPTH,
        durationS: ctx.memoryDurationS,
        connections: ctx.connections,
        threads: ctx.threads,
        track: ctx.track,
      });
    const withCache = await run(true);
    log(memoryLine(withCache));
    const control = await run(false);
    log(memoryLine(control));
    return { status: "measured", withCache, control };
  } catch (error) {
    log(`  failed: ${(error as Error).message}`);
    return { status: "failed", note: (error as Error).message };
  }
}
