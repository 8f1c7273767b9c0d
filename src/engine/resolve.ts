/**
 * Answering one pinned call the way its method's policy says: proven state against an anchored state root
 * (state-reads.ts), proven blocks, transactions and receipts (block-reads.ts), agreement of independent domains
 * (quorum.ts; for fee suggestions and gas estimates their median), or one upstream's word — still checked where an
 * answer can be checked by itself (a block's header against the anchored hash, logs against their own filter).
 */

import type { AgreedHead } from "../core/domains/head.ts";
import { MultihomeError } from "../core/errors.ts";
import { ESTIMATE_METHODS } from "../core/routing/estimate.ts";
import type { RpcCall, RpcErrorObject } from "../core/rpc/jsonrpc.ts";
import {
  type MethodSpec,
  type PinnedCall,
  parseBlockNumber,
  toHex,
  type VerificationPolicy,
} from "../core/rpc/methods.ts";
import { logsBreakFilter } from "../core/verification/log-filter.ts";
import { type CallAnswer, type CallOptions, type Evidence, weakestEvidence } from "./answers/answer.ts";
import { type LastKnownGoodBook, lastKnownGoodKey } from "./answers/last-known-good.ts";
import type { EngineContext } from "./context.ts";
import { createVerifiedCalls } from "./execution/verified-call.ts";
import { createFeeHistory } from "./fees/fee-history.ts";
import { createFeeOracle } from "./fees/tip-oracle.ts";
import { type CallPlan, type ExecuteTarget, execute, type Verdict } from "./routing/execute.ts";
import { executeEstimate, executeQuorum } from "./routing/quorum.ts";
import type { ChainSettings } from "./settings.ts";
import type { Anchors } from "./verification/anchors.ts";
import type { BlockReads } from "./verification/block-reads.ts";
import { readProven } from "./verification/state-reads.ts";

export interface ResolveDeps {
  ctx: EngineContext;
  target: ExecuteTarget;
  anchors: Anchors;
  blockReads: BlockReads;
  lastKnownGood: LastKnownGoodBook;
  settings: Pick<ChainSettings, "chainId" | "verification" | "logs" | "forks" | "calls" | "stack">;
  /** Strips configured upstream URLs and keys from a node's error (it may echo them back). */
  redactRpcError(error: RpcErrorObject): RpcErrorObject;
  /** A chunk of a split log range, answered as a call of its own (cached and shared like any other). */
  call(rpc: RpcCall, options: CallOptions): Promise<CallAnswer>;
}

/** Logs that break their own filter (outside the range, another address or topic) are false: a dispute. */
function logsVerdict(filter: Record<string, unknown>) {
  return (logs: unknown): Verdict => {
    const broken = logsBreakFilter(logs, filter);
    return broken === undefined ? { ok: true, value: logs } : { ok: false, reason: `logs: ${broken}` };
  };
}

/** Calls this EVM runs differently from independent domains are logged at most this often, ms. */
export const MISMATCH_LOG_INTERVAL_MS = 60_000;

export function createResolver(deps: ResolveDeps) {
  const { ctx, target, anchors, blockReads, lastKnownGood, settings } = deps;
  const run = (signal: AbortSignal | undefined) => (plan: CallPlan) => execute(ctx, target, plan, signal);
  const fees = createFeeOracle({ anchoredBody: blockReads.anchoredBody });
  const feeHistory = createFeeHistory({
    chainId: settings.chainId,
    stack: settings.stack ?? "ethereum",
    ...(settings.forks ? { forks: settings.forks } : {}),
    anchor: anchors.anchor,
    anchoredBody: blockReads.anchoredBody,
    receiptsOf: blockReads.receiptsOf,
  });
  let lastMismatchLog = Number.NEGATIVE_INFINITY;
  let mismatchesUnlogged = 0;
  const calls = createVerifiedCalls({
    chainId: settings.chainId,
    stack: settings.stack ?? "ethereum",
    ...(settings.forks ? { forks: settings.forks } : {}),
    gasCap: settings.calls.maxGas,
    anchor: anchors.anchor,
    execute: run(undefined),
    onDispute: (id, reason) => {
      const u = target.upstreams.find((x) => x.id === id);
      if (u) target.onDispute?.(u, reason);
    },
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
  });

  /** A state read (balance, nonce, code, storage) from a proof against the anchored block's state root. */
  async function provenState(
    rpc: RpcCall,
    pinned: PinnedCall & { blockNumber: number; params: unknown[] },
    head: AgreedHead,
    options: CallOptions,
  ): Promise<CallAnswer> {
    const none: Evidence = { blockNumber: head.number, verified: "none" };
    const io = { anchor: anchors.anchor, distrust: anchors.distrust, execute: run(options.signal) };
    const proven = await readProven(io, rpc.method, pinned.params, pinned.blockNumber);
    const key = lastKnownGoodKey(rpc.method, pinned.params);
    if (proven.ok) {
      // Only a value at the head is the last known one; a read at an older block says nothing of the present.
      if (proven.anchor.number === head.number)
        lastKnownGood.record(lastKnownGood.entry(key, proven.value, proven.anchor));
      return {
        ok: true,
        result: proven.value,
        evidence: {
          blockNumber: proven.anchor.number,
          verified: proven.anchor.headerDigest === undefined ? "proof" : "quorum",
          blockHash: proven.anchor.hash,
          domains: proven.anchor.domains,
          upstream: proven.supplier,
        },
      };
    }
    // Pinned to an explicit old block, a newer last-known-good would be a different question.
    if (proven.error.code === "invalid_params" || pinned.blockNumber !== head.number)
      return { ok: false, error: proven.error, evidence: none };
    return lastKnownGood.answer(key, proven.error, options.maxStalenessSeconds, none);
  }

  /** A tip (or, for `eth_gasPrice`, tip + base fee) from the tips paid in the last proven blocks (engine/fees/tip-oracle.ts). */
  async function suggestedFee(method: string, head: AgreedHead): Promise<CallAnswer | undefined> {
    const suggested = await fees.suggest(head);
    if (!suggested) return undefined;
    const { tip, baseFee, head: at } = suggested;
    return {
      ok: true,
      result: `0x${(method === "eth_gasPrice" ? tip + baseFee : tip).toString(16)}`,
      evidence: {
        blockNumber: at.number,
        verified: at.headerDigest === undefined ? "proof" : "quorum",
        blockHash: at.hash,
        domains: at.domains,
      },
    };
  }

  /** Independent domains agree (or, for an estimate, their median): `quorum`, with the domains that vouched. */
  async function agreed(
    rpc: RpcCall,
    plan: CallPlan,
    blockNumber: number,
    signal: AbortSignal | undefined,
  ): Promise<CallAnswer> {
    const safe = ESTIMATE_METHODS[rpc.method];
    const onDispute = (u: Parameters<NonNullable<ExecuteTarget["onDispute"]>>[0], reason: string) =>
      target.onDispute?.(u, reason);
    const quorum = safe
      ? await executeEstimate(run(signal), plan, safe)
      : await executeQuorum(run(signal), plan, settings.verification.quorumSize, onDispute);
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
  }

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
    const { signal } = options;
    const { params } = pinned;
    if (policy === "proof" && spec.proof === "state" && pinned.blockNumber !== undefined && Array.isArray(params))
      return provenState(rpc, { ...pinned, blockNumber: pinned.blockNumber, params }, head, options);
    if (policy === "proof" && spec.proof === "execution" && pinned.blockNumber !== undefined && Array.isArray(params)) {
      const plan: CallPlan = { method: rpc.method, params, heavy: true, minBlock: pinned.minBlock };
      return calls.call(params, pinned.blockNumber, () => agreed(rpc, plan, pinned.blockNumber!, signal));
    }
    if (policy === "proof" && spec.proof === "fees") {
      const fee = await suggestedFee(rpc.method, head);
      // Recent blocks that cannot all be proven: independent domains' estimates, as below.
      if (fee) return fee;
    }
    if (policy === "proof" && spec.proof === "fee-history" && Array.isArray(params)) {
      const fee =
        rpc.method === "eth_blobBaseFee"
          ? await feeHistory.blobBaseFee(head)
          : await feeHistory.feeHistory(params, pinned.blockNumber, head);
      // Not provable here (a rule not known, a tag, a range too wide): independent domains decide, never one of them.
      if (fee) return fee;
      const plan: CallPlan = { method: rpc.method, params, heavy: spec.heavy ?? false, minBlock: pinned.minBlock };
      return agreed(rpc, plan, pinned.blockNumber ?? head.number, signal);
    }
    if (
      policy === "proof" &&
      spec.proof !== undefined &&
      !["execution", "fees", "fee-history"].includes(spec.proof) &&
      Array.isArray(params)
    ) {
      const read = await blockReads.read(rpc.method, pinned, head.number, signal);
      if (read.ok === true) return { ok: true, result: read.result, evidence: read.evidence };
      if (read.ok === false)
        return { ok: false, error: read.error, evidence: { blockNumber: head.number, verified: "none" } };
      // No proven path for these params (a tag like `pending`, a block above the head): answered as usual below.
    }
    if (rpc.method === "eth_getLogs") {
      // A wide range is asked as chunks, each a call of its own (and so checked as the policy says).
      const split = await splitLogs(rpc, pinned, options);
      if (split) return split;
    }
    const logsCheck = rpc.method === "eth_getLogs" ? logsVerdict((params as Record<string, unknown>[])[0]!) : undefined;
    const blockNumber = pinned.blockNumber ?? head.number;
    const plan: CallPlan = { method: rpc.method, params, heavy: spec.heavy ?? false, minBlock: pinned.minBlock };
    if (policy === "quorum") return agreed(rpc, logsCheck ? { ...plan, verify: logsCheck } : plan, blockNumber, signal);
    const blockCheck =
      rpc.method === "eth_getBlockByNumber" && pinned.blockNumber !== undefined
        ? anchors.checkBlock(pinned.blockNumber, head.number)
        : undefined;
    const verify = blockCheck?.verify ?? logsCheck;
    return single(
      { ...plan, ...(verify ? { verify } : {}), ...(spec.passThrough ? { hedge: false } : {}) },
      blockNumber,
      signal,
      () => blockCheck?.evidence() ?? "single",
    );
  }

  /**
   * A log range wider than `logs.chunkBlocks`: asked as chunks (each its own call, so cached and shared like any
   * other), at most `logs.chunkConcurrency` at once, merged in order, with the weakest evidence of any chunk. One
   * failed chunk fails the whole request: a partial list of logs would be a wrong answer. Undefined when the range
   * needs no split.
   */
  async function splitLogs(rpc: RpcCall, pinned: PinnedCall, options: CallOptions): Promise<CallAnswer | undefined> {
    const filter = (pinned.params as Record<string, unknown>[])[0]!;
    const from = parseBlockNumber(filter.fromBlock);
    const to = parseBlockNumber(filter.toBlock);
    if (from === undefined || to === undefined) return undefined;
    const { maxBlockRange, chunkBlocks, chunkConcurrency } = settings.logs;
    const span = to - from + 1;
    const none: Evidence = { blockNumber: to, verified: "none" };
    if (span > maxBlockRange)
      return {
        ok: false,
        error: new MultihomeError(
          "invalid_params",
          `invalid params: block range of ${span} blocks is wider than the limit of ${maxBlockRange}`,
          { data: { limit: maxBlockRange } },
        ),
        evidence: none,
      };
    if (span <= chunkBlocks) return undefined;
    const chunks: [number, number][] = [];
    for (let a = from; a <= to; a += chunkBlocks) chunks.push([a, Math.min(to, a + chunkBlocks - 1)]);
    const answers: CallAnswer[] = new Array(chunks.length);
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < chunks.length) {
        const i = next++;
        const [a, b] = chunks[i]!;
        const chunk = { ...rpc, params: [{ ...filter, fromBlock: toHex(a), toBlock: toHex(b) }] };
        const answer = await deps.call(chunk, options);
        answers[i] = answer;
        if (!answer.ok || !Array.isArray(answer.result)) failed = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(chunkConcurrency, chunks.length) }, worker));
    const failure = answers.find((a) => a !== undefined && (!a.ok || !Array.isArray(a.result)));
    if (failure) {
      if (!failure.ok) return failure;
      return {
        ok: false,
        error: new MultihomeError("unavailable", "a chunk of the log range gave no list"),
        evidence: none,
      };
    }
    const logs = answers.flatMap((a) => (a as { result: unknown[] }).result);
    return {
      ok: true,
      result: logs,
      evidence: { blockNumber: to, verified: weakestEvidence(answers.map((a) => a.evidence.verified)) },
    };
  }

  return { resolve };
}

export type Resolver = ReturnType<typeof createResolver>;
