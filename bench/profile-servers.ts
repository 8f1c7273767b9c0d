/** `npm run bench --profile`: CPU profiles of the bare proxy and Multihome pass-through under wrk. */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Load } from "./loads.ts";
import type { BenchNodes } from "./nodes.ts";
import { formatProfile, summarizeProfile } from "./profile-summary.ts";
import type { ProfileOutcome } from "./report.ts";
import { int, type RunContext } from "./run-context.ts";
import { bareSpec, passThroughSpec } from "./scenarios.ts";
import type { ServeSpec } from "./serve.ts";
import { startServerProcess } from "./server-process.ts";
import { runWrk } from "./wrk.ts";

/**
 * CPU profiles of the bare proxy and of Multihome pass-through under the same wrk load, with the CPU time each
 * spends per request: the difference is what Multihome itself costs.
 */
export async function profileServers(ctx: RunContext, nodes: BenchNodes, load: Load): Promise<ProfileOutcome> {
  const { root, results, log, track, connections, warmupS, durationS } = ctx;
  const specs: [string, ServeSpec][] = [
    ["bare", bareSpec(nodes)],
    ["pass-through", passThroughSpec(nodes)],
  ];
  const texts: string[] = [];
  const usPerRequest: number[] = [];
  for (const [name, spec] of specs) {
    const dir = join(results, "profile", name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const server = await track(startServerProcess(spec, ["--cpu-prof", "--cpu-prof-dir", dir]));
    let requests = 0;
    try {
      const common = { url: server.urls[0]!, ...load, connections, threads: ctx.threads };
      requests += (await runWrk({ ...common, durationS: warmupS })).requests;
      requests += (await runWrk({ ...common, durationS })).requests;
    } finally {
      await server.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error(`no .cpuprofile written to ${dir}`);
    const summary = summarizeProfile(join(dir, file), root, 25);
    const busyUsPerRequest = (summary.totalMs * (1 - summary.idleShare) * 1000) / requests;
    usPerRequest.push(busyUsPerRequest);
    texts.push(
      `== ${name} (${relative(root, join(dir, file))}): ${int(requests)} requests, ` +
        `${busyUsPerRequest.toFixed(1)} µs of CPU per request\n${formatProfile(summary)}`,
    );
  }
  const text = texts.join("\n");
  writeFileSync(join(results, "profile.txt"), text);
  log(`— CPU profiles under wrk:\n${text}`);
  return { bareUsPerRequest: usPerRequest[0]!, passThroughUsPerRequest: usPerRequest[1]! };
}
