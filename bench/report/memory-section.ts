/** The memory-under-load section: the bounded cache's setting, the memory it measured, and the cache check. */
import { bytesPerEntry, EVICTED_BACK_CAPACITIES, keysAt, memoryVerdict, peakOf, RECENT_BACK } from "../memory-bound.ts";
import type { CacheStats, MemoryReport } from "../serve.ts";
import { int, mib, plural } from "./format.ts";
import type { BenchReport } from "./types.ts";

/** "20,360 / 4,193,880", or empty when the sample carries no cache count. */
const cacheCell = (c: CacheStats | undefined) => (c ? `${int(c.entries)} / ${int(c.bytes)}` : "");

/** The memory scenario: its setting, the memory it measured, and the cache check. */
export function memorySection(report: BenchReport): string[] {
  const memory = report.memory;
  if (memory === undefined) return [];
  const head = ["## Memory under load with a small cache", ""];
  if (memory.status !== "measured") return [...head, `**failed**: ${memory.note}`, ""];
  const { withCache: on, control: off } = memory;
  const v = memoryVerdict(on, off);
  const row = (label: string, keys: string, a: MemoryReport, b?: MemoryReport) =>
    `| ${label} | ${keys} | ${cacheCell(a.cache)} | ${mib(a.rss)} | ${mib(a.heapUsed)} | ${b ? mib(b.rss) : ""} | ${b ? mib(b.heapUsed) : ""} |`;
  const check = on.cacheCheck;
  const held = on.end.cache?.entries;
  const charged = bytesPerEntry(on);
  const peak = v.cachePeak;
  const samplesOn = on.samples.length;
  return [
    ...head,
    `Multihome with one upstream, \`verification.methods.eth_getBalance: "single"\`, the cache on with`,
    `\`cache.maxBytes\` ${int(on.cacheMaxBytes)} (${mib(on.cacheMaxBytes)} MiB) and \`cache.finalityDepth\` ${on.finalityDepth}, so that with the`,
    `nodes still at block 2 every balance at block 1 is final and cached until evicted. wrk (${plural(report.settings.threads, "thread")}, as in the`,
    `closed loop, no warm-up) sends \`eth_getBalance\` at block 1 of ${int(on.distinctBodies)} distinct addresses in turn for ${on.durationS} s,`,
    "each answer checked against its own body's (as in 2d and 3d). No body comes back before the cache has evicted",
    "its answer, so the cache fills, then every answer stored evicts the oldest. The gateway runs with",
    `\`--expose-gc\` and reports \`process.memoryUsage()\` and its cache's own count (\`Engine.cacheStats()\`: the entries`,
    `held and the bytes charged against \`cache.maxBytes\`) over IPC: every ${on.sampleMs} ms during the load as it is`,
    '(garbage included), and after a full garbage collection ("retained") when idle before the load, twice during',
    "it and after it. The control is the same load with the cache off: every request is a miss in both runs, so the",
    "difference between them is what the cache holds. A fault proxy between Multihome and the node counts the calls",
    "that reach the node. Distinct keys at a point during the load are estimated from the run's average rate.",
    "",
    "| | distinct keys asked for (cache on) | cache on: entries / bytes counted | RSS MiB | heapUsed MiB | cache off: RSS MiB | heapUsed MiB |",
    "|---|---|---|---|---|---|---|",
    row("idle, before the load (retained)", "0", on.idle, off.idle),
    ...on.retained.map((x, i) => {
      const c = off.retained[i];
      return row(`retained at ${(x.atMs / 1000).toFixed(1)} s`, `≈${int(keysAt(on, x.atMs))}`, x, c);
    }),
    row("end, after the load (retained)", int(on.keysTouched), on.end, off.end),
    `| peak during the load (${samplesOn} samples, garbage included) | | ${cacheCell(peak)} | ${mib(peakOf(on.samples).rss)} | ${mib(peakOf(on.samples).heapUsed)} | ${mib(peakOf(off.samples).rss)} | ${mib(peakOf(off.samples).heapUsed)} |`,
    "",
    "The peak row's cache figures are the highest count in any sample, during the load or after it.",
    "",
    "| measure | cache on | cache off |",
    "|---|---|---|",
    `| requests in the run | ${int(on.wrk.requests)} | ${int(off.wrk.requests)} |`,
    `| requests/s | ${int(on.wrk.rps)} | ${int(off.wrk.rps)} |`,
    `| answers other than the expected result | ${int(on.wrk.wrong)} | ${int(off.wrk.wrong)} |`,
    `| non-2xx answers | ${int(on.wrk.non2xx)} | ${int(off.wrk.non2xx)} |`,
    `| distinct keys asked for | ${int(on.keysTouched)} | ${int(off.keysTouched)} |`,
    `| \`eth_getBalance\` calls reaching the node | ${int(on.upstreamCalls)} | ${int(off.upstreamCalls)} |`,
    `| retained heap growth (highest retained − idle) | ${mib(v.growth)} MiB | ${mib(v.fixedOverhead)} MiB |`,
    "",
    ...(held === undefined || charged === undefined || peak === undefined
      ? ["Multihome did not report its cache's count."]
      : [
          `At the end the cache held ${int(held)} answers and counted ${int(on.end.cache?.bytes ?? 0)} bytes against the bound, about`,
          `${int(charged)} per answer (its key, the \`{ result, evidence }\` JSON and a fixed per-entry estimate of ${on.entryOverheadBytes}`,
          `bytes); its count peaked at ${int(peak.bytes)} bytes, ${(peak.bytes / on.cacheMaxBytes).toFixed(2)}× \`cache.maxBytes\`${peak.bytes <= on.cacheMaxBytes ? "" : " (**over the bound**)"}. The run asked`,
          `for ${int(on.keysTouched)} distinct answers, ${(on.keysTouched / Math.max(1, held)).toFixed(1)}× the answers held.`,
        ]),
    ...(check && held !== undefined
      ? [
          `After the load, ${check.recent} bodies sent about ${int(RECENT_BACK)} requests before its end were asked again and`,
          `${int(check.recentUpstreamCalls)} calls reached the node (answered from the cache); ${check.evicted} sent about ${int(EVICTED_BACK_CAPACITIES * held)} requests`,
          `(${EVICTED_BACK_CAPACITIES}× the answers held) before its end were asked again and ${int(check.evictedUpstreamCalls)} calls reached it (evicted).`,
        ]
      : ["The run was too short to check which answers the cache holds."]),
    "",
    `The retained heap ${v.flat === undefined ? "could not be compared before and after the cache filled" : v.flat ? "stopped growing once the cache was full" : "**kept growing after the cache was full**"}. The heap the cache's`,
    `contents take, ${mib(v.cacheHeap)} MiB (cache on minus cache off), is ${(v.cacheHeap / on.cacheMaxBytes).toFixed(2)}× \`cache.maxBytes\`${
      held && charged
        ? `: about\n${int(v.cacheHeap / held)} bytes of heap for each answer held, which the bound counts as ${int(charged)}.`
        : "."
    }`,
    ...(v.withinBound
      ? []
      : [
          "The bound holds the cache to a fixed number of answers, so its heap is bounded, but by that multiple of",
          "`cache.maxBytes`, not by `cache.maxBytes` itself.",
        ]),
    "RSS is V8's and the allocator's reserve for the garbage a load of this rate makes; compare it with the",
    "control's rather than with the cache bound.",
    "",
  ];
}
