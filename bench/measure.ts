/**
 * Measuring one target of `npm run bench`: its answer checked first, then wrk's closed loop (`measure`) or the
 * fixed-rate open loop (`openLoop`, and `openLoops`, the open-loop runs of the page).
 */
import type { VerificationPolicy } from "../src/core/rpc/methods.ts";
import type { Load } from "./loads.ts";
import type { BenchNodes } from "./nodes.ts";
import { runOpenLoop } from "./open-loop.ts";
import type { OpenLoopOutcome, ScenarioOutcome } from "./report.ts";
import type { RunContext } from "./run-context.ts";
import {
  bareSpec,
  nodeById,
  passThroughSpec,
  type ScenarioDef,
  serverTarget,
  type Target,
  threeDomainsSpec,
} from "./scenarios.ts";
import { startServerProcess } from "./server-process.ts";
import { runWrk } from "./wrk.ts";

export async function answerIs(
  url: string,
  load: Load,
  verified: VerificationPolicy | undefined,
): Promise<string | undefined> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: load.body });
  const text = await res.text();
  if (res.status !== 200 || !text.includes(load.expect)) return `HTTP ${res.status}: ${text.slice(0, 200)}`;
  if (load.check) {
    const wrong = load.check((JSON.parse(text) as { result?: unknown }).result);
    if (wrong) return `${wrong}: ${text.slice(0, 200)}`;
  }
  const header = res.headers.get("multihome-verified");
  // A scenario measuring the wrong verification mode would still get the right balance: check the mode too.
  if (verified && header !== verified) return `multihome-verified is ${header ?? "absent"}, expected ${verified}`;
  return undefined;
}

export async function measure(
  ctx: RunContext,
  def: ScenarioDef,
  defaultLoad: Load,
): Promise<{ outcome: ScenarioOutcome; text?: string }> {
  const { log, connections, warmupS, durationS } = ctx;
  const load = def.load ?? defaultLoad;
  const base = {
    key: def.key,
    title: def.title,
    path: def.path,
    ...(def.bodies ? { bodies: def.bodies.description } : load.body !== defaultLoad.body ? { body: load.body } : {}),
    ...(def.baselineKey ? { baselineKey: def.baselineKey } : {}),
  };
  log(`— ${def.title}`);
  let target: Target | { unavailable: string };
  try {
    target = await def.start();
  } catch (error) {
    log(`  failed to start: ${(error as Error).message}`);
    return { outcome: { ...base, status: "failed", note: `did not start: ${(error as Error).message}` } };
  }
  if ("unavailable" in target) {
    log(`  ${target.unavailable}`);
    return { outcome: { ...base, status: "not installed" } };
  }
  try {
    // A set of bodies: its first and every funded account's, whose answers are not "0x0".
    const checked = def.bodies ? def.bodies.cases.filter((c, i) => i === 0 || !c.expect.endsWith('"0x0"')) : [load];
    for (const c of checked) {
      const wrong = await answerIs(target.url, c, def.verified);
      if (wrong) throw new Error(`unexpected answer before the run: ${wrong}`);
    }
    await target.prepare?.();
    const common = {
      url: target.url,
      ...(def.bodies ? { bodiesFile: def.bodies.file } : { body: load.body, expect: load.expect }),
      connections,
      threads: ctx.threads,
    };
    await runWrk({ ...common, durationS: warmupS });
    await target.takeCounts?.();
    const result = await runWrk({ ...common, durationS });
    const upstreamRequests = await target.takeCounts?.();
    const note = await target.note?.();
    const { text, ...wrk } = result;
    log(
      `  ${Math.round(wrk.rps)} req/s, p50 ${(wrk.p50Us / 1000).toFixed(2)} ms, p99 ${(wrk.p99Us / 1000).toFixed(2)} ms, ` +
        `non-2xx ${wrk.non2xx}, wrong ${wrk.wrong}`,
    );
    return {
      outcome: {
        ...base,
        status: "measured",
        wrk,
        ...(upstreamRequests ? { upstreamRequests } : {}),
        ...(note ? { note } : {}),
      },
      text,
    };
  } catch (error) {
    log(`  failed: ${(error as Error).message}`);
    return { outcome: { ...base, status: "failed", note: (error as Error).message } };
  } finally {
    await target.stop();
  }
}

async function openLoop(
  ctx: RunContext,
  key: string,
  title: string,
  target: Target,
  load: Load,
): Promise<OpenLoopOutcome> {
  const { log, warmupS, openLoopDurationS } = ctx;
  try {
    const common = { url: target.url, ...load, rate: ctx.rate };
    await runOpenLoop({ ...common, durationMs: warmupS * 1000 });
    const result = await runOpenLoop({ ...common, durationMs: openLoopDurationS * 1000 });
    log(
      `— open loop, ${title}: p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms, ` +
        `not ok ${result.wrong + result.failed}`,
    );
    return { key, title, result };
  } finally {
    await target.stop();
  }
}

/**
 * The open-loop runs, one after another: direct to anvil, the bare Node proxy, Multihome pass-through, and Multihome
 * over three domains with proven reads (its answer checked first).
 */
export async function openLoops(ctx: RunContext, nodes: BenchNodes, load: Load): Promise<OpenLoopOutcome[]> {
  const { track } = ctx;
  const alpha = nodeById(nodes, "alpha");
  const loops: OpenLoopOutcome[] = [];
  loops.push(await openLoop(ctx, "direct", "direct to anvil", { url: alpha.url, stop: async () => {} }, load));
  const bare = await track(startServerProcess(bareSpec(nodes)));
  loops.push(await openLoop(ctx, "bare", "bare Node proxy", serverTarget(bare), load));
  const gateway = await track(startServerProcess(passThroughSpec(nodes)));
  loops.push(await openLoop(ctx, "pass-through", "Multihome pass-through", serverTarget(gateway), load));
  const provenTarget = serverTarget(await track(startServerProcess(threeDomainsSpec(nodes, "proof"))));
  const wrongProven = await answerIs(provenTarget.url, load, "proof");
  if (wrongProven) {
    await provenTarget.stop();
    throw new Error(`proven reads, open loop: unexpected answer before the run: ${wrongProven}`);
  }
  loops.push(await openLoop(ctx, "three-domains-proof", "Multihome, three domains, proven reads", provenTarget, load));
  return loops;
}
