/**
 * Execution — `eth_call`, `eth_estimateGas`, `eth_createAccessList` (engine/execution/).
 * - Pinned: to the block asked for (`latest` → the agreed head).
 * - Proven: executed here in the EVM at the anchored block over state proven as the execution reads it (one proven
 *   state per chain, shared by the three), and compared with one upstream's answer; when they differ, independent
 *   domains decide. Every byte served comes from the local run. An estimate is searched for as go-ethereum searches;
 *   an access list traced as go-ethereum traces it, served in canonical order.
 * - Not executable here (a bound, overrides, a stack whose EVM differs): independent domains agree (`quorum`); access
 *   lists compared in canonical order (nodes list accounts in no fixed order).
 * - Evidence: `proof`; `quorum` for the fallback.
 */
import type { ChainStack, ForkSchedule } from "../../core/chain-presets.ts";
import { canonicalAccessListVerdict } from "../execution/local-access-list.ts";
import { createVerifiedCalls, type VerifiedCallDeps } from "../execution/verified-call.ts";
import { createVerifiedEstimates } from "../execution/verified-estimate.ts";
import type { Anchors } from "../verification/anchors.ts";
import type { Answering, MethodFamily, PinnedRequest } from "./family.ts";

/** Calls this EVM runs differently from independent domains are logged at most this often, ms. */
export const MISMATCH_LOG_INTERVAL_MS = 60_000;

export interface ExecutionSettings {
  chainId: number;
  stack?: ChainStack;
  forks?: ForkSchedule;
  /** The most gas a call runs with. */
  gasCap: number;
}

export function executionFamily(
  answering: Answering,
  anchors: Pick<Anchors, "anchor">,
  settings: ExecutionSettings,
): MethodFamily {
  const { ctx } = answering;
  let lastMismatchLog = Number.NEGATIVE_INFINITY;
  let mismatchesUnlogged = 0;
  const deps: VerifiedCallDeps = {
    chainId: settings.chainId,
    stack: settings.stack ?? "ethereum",
    ...(settings.forks ? { forks: settings.forks } : {}),
    gasCap: settings.gasCap,
    anchor: anchors.anchor,
    execute: answering.run(undefined),
    onDispute: answering.dispute,
    // At most one line a minute: a rule this EVM lacks would otherwise write one per call.
    onMismatch: (detail) => {
      const now = ctx.clock.now();
      if (now - lastMismatchLog < MISMATCH_LOG_INTERVAL_MS) {
        mismatchesUnlogged++;
        return;
      }
      ctx.logger.warn(
        { chainId: settings.chainId, ...detail, sinceLastLine: mismatchesUnlogged },
        "call executed here differs from independent domains",
      );
      lastMismatchLog = now;
      mismatchesUnlogged = 0;
    },
  };
  const calls = createVerifiedCalls(deps);
  const estimates = createVerifiedEstimates({ ...deps, states: calls.states });
  const runs: Record<string, typeof calls.call> = {
    eth_call: calls.call,
    eth_estimateGas: estimates.estimateGas,
    eth_createAccessList: estimates.createAccessList,
  };
  const check = (request: PinnedRequest) =>
    request.rpc.method === "eth_createAccessList" ? { verify: canonicalAccessListVerdict } : undefined;

  return {
    methods: Object.keys(runs),
    async prove(request: PinnedRequest) {
      const { rpc, pinned, options } = request;
      const { blockNumber, params } = pinned;
      if (blockNumber === undefined || !Array.isArray(params)) return undefined;
      const plan = { ...answering.planOf(request), heavy: true, ...check(request) };
      return runs[rpc.method]!(params, blockNumber, () => answering.agreed(rpc, plan, blockNumber, options.signal));
    },
    check,
  };
}
