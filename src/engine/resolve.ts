/**
 * Answering one pinned call the way its method's policy says. How each method is verified is its family's module
 * (engine/methods/: state, execution, blocks, logs, fees); this file is the table of families and the steps every
 * call shares:
 *
 *   the family's split (a wide log range as chunks) → under `proof`, the family's proof → otherwise, or when these
 *   params have no proven path, the policy: `quorum` (independent domains agree) or `single` (one upstream's word,
 *   still checked where the family can check an answer by itself)
 */
import type { AgreedHead } from "../core/domains/head.ts";
import { ESTIMATE_METHODS } from "../core/routing/estimate.ts";
import type { RpcCall, RpcErrorObject } from "../core/rpc/jsonrpc.ts";
import type { MethodSpec, PinnedCall, VerificationPolicy } from "../core/rpc/methods.ts";
import type { CallAnswer, CallOptions, Evidence } from "./answers/answer.ts";
import type { LastKnownGoodBook } from "./answers/last-known-good.ts";
import type { EngineContext } from "./context.ts";
import { blocksFamily } from "./methods/blocks.ts";
import { executionFamily } from "./methods/execution.ts";
import type { Answering, MethodFamily, PinnedRequest } from "./methods/family.ts";
import { feesFamily } from "./methods/fees.ts";
import { logsFamily } from "./methods/logs.ts";
import { stateFamily } from "./methods/state.ts";
import { type CallPlan, type ExecuteTarget, execute } from "./routing/execute.ts";
import { executeEstimate, executeQuorum } from "./routing/quorum.ts";
import type { ChainSettings } from "./settings.ts";
import type { Anchors } from "./verification/anchors.ts";
import type { BlockReads } from "./verification/block-reads.ts";
import { createVerifiedLogs } from "./verification/verified-logs.ts";

export interface ResolveDeps {
  ctx: EngineContext;
  target: ExecuteTarget;
  anchors: Anchors;
  blockReads: BlockReads;
  lastKnownGood: LastKnownGoodBook;
  settings: Pick<ChainSettings, "chainId" | "verification" | "logs" | "forks" | "calls" | "stack">;
  /** Strips configured upstream URLs and keys from a node's error (it may echo them back). */
  redactRpcError(error: RpcErrorObject): RpcErrorObject;
  /** A call of the engine's own (a chunk of a split log range), answered like any other (cached and shared). */
  call(rpc: RpcCall, options: CallOptions): Promise<CallAnswer>;
}

export function createResolver(deps: ResolveDeps) {
  const { ctx, target, anchors, blockReads, settings } = deps;
  const answering = createAnswering(deps);
  const families: MethodFamily[] = [
    stateFamily(answering, anchors, deps.lastKnownGood),
    executionFamily(answering, anchors, { ...settings, gasCap: settings.calls.maxGas }),
    blocksFamily(blockReads, anchors),
    logsFamily(
      answering,
      createVerifiedLogs(ctx, {
        ...(settings.forks ? { forks: settings.forks } : {}),
        anchor: anchors.anchor,
        execute: answering.run(undefined),
        onDispute: answering.dispute,
        bodyByHash: blockReads.bodyByHash,
        receiptsOf: blockReads.receiptsOf,
      }),
      settings.logs,
      deps.call,
    ),
    feesFamily(answering, anchors, blockReads, settings),
  ];
  const familyOf = new Map(families.flatMap((f) => f.methods.map((m) => [m, f] as const)));

  /** One upstream's word, checked by `plan.verify` where the answer can be checked by itself. */
  async function single(
    plan: CallPlan,
    blockNumber: number,
    signal: AbortSignal | undefined,
    verified: () => Evidence["verified"],
  ): Promise<CallAnswer> {
    const result = await execute(ctx, target, plan, signal);
    if (result.ok)
      return {
        ok: true,
        result: result.result,
        evidence: { blockNumber, verified: verified(), upstream: result.upstream },
      };
    if ("rpcError" in result)
      // A node's error text is passed through, but never a configured upstream URL or key it may echo back.
      return {
        ok: false,
        rpcError: deps.redactRpcError(result.rpcError),
        evidence: { blockNumber, verified: "single", upstream: result.upstream },
      };
    return { ok: false, error: result.error, evidence: { blockNumber, verified: "none" } };
  }

  /** Answers one pinned call: proven, by quorum, or from one upstream, as the method's policy says. */
  async function resolve(
    rpc: RpcCall,
    spec: MethodSpec,
    pinned: PinnedCall,
    head: AgreedHead,
    policy: VerificationPolicy,
    options: CallOptions,
  ): Promise<CallAnswer> {
    const request: PinnedRequest = { rpc, spec, pinned, head, options };
    const family = familyOf.get(rpc.method);
    // Awaited only where a family splits: the common read pays no extra turn for it.
    const split = family?.split ? await family.split(request) : undefined;
    if (split) return split;
    if (policy === "proof" && family?.prove) {
      const proven = await family.prove(request);
      if (proven) return proven;
    }
    const check = family?.check?.(request);
    const plan = { ...answering.planOf(request), ...(check ? { verify: check.verify } : {}) };
    const blockNumber = pinned.blockNumber ?? head.number;
    if (policy === "quorum") return answering.agreed(rpc, plan, blockNumber, options.signal);
    return single({ ...plan, ...(spec.passThrough ? { hedge: false } : {}) }, blockNumber, options.signal, () =>
      check?.evidence ? check.evidence() : "single",
    );
  }

  return { resolve };
}

export type Resolver = ReturnType<typeof createResolver>;

/** What every family may use: asking upstreams, agreement of independent domains, disputes. */
function createAnswering(deps: ResolveDeps): Answering {
  const { ctx, target, settings } = deps;
  const run = (signal: AbortSignal | undefined) => (plan: CallPlan) => execute(ctx, target, plan, signal);
  const dispute = (upstreamId: string, reason: string) => {
    const u = target.upstreams.find((x) => x.id === upstreamId);
    if (u) target.onDispute?.(u, reason);
  };
  return {
    ctx,
    target,
    run,
    dispute,
    redactRpcError: deps.redactRpcError,
    planOf: ({ rpc, spec, pinned }) => ({
      method: rpc.method,
      params: pinned.params,
      heavy: spec.heavy ?? false,
      minBlock: pinned.minBlock,
    }),
    async agreed(rpc, plan, blockNumber, signal) {
      const safe = ESTIMATE_METHODS[rpc.method];
      const quorum = safe
        ? await executeEstimate(run(signal), plan, safe)
        : await executeQuorum(run(signal), plan, settings.verification.quorumSize, (u, reason) =>
            target.onDispute?.(u, reason),
          );
      if (!quorum.ok) return { ok: false, error: quorum.error, evidence: { blockNumber, verified: "none" } };
      const evidence: Evidence = {
        blockNumber,
        verified: quorum.witnesses.length >= 2 ? "quorum" : "single",
        domains: [...new Set(quorum.witnesses.map((u) => u.outageDomain))],
        upstream: quorum.witnesses[0]!.id,
      };
      return quorum.result.ok
        ? { ok: true, result: quorum.result.result, evidence }
        : { ok: false, rpcError: deps.redactRpcError(quorum.result.rpcError), evidence };
    },
  };
}
