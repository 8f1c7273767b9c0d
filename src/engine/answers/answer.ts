/** What a call answers, and the evidence that goes with it. */
import { MultihomeError, toRpcError } from "../../core/errors.ts";
import type { RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import { methodSpec } from "../../core/rpc/methods.ts";

/** How a served answer was established. */
export type Verification = "proof" | "quorum" | "single" | "none";

/** The kinds of evidence, strongest first: an answer proven against an anchored block is worth more than agreement. */
export const VERIFICATIONS: readonly Verification[] = ["proof", "quorum", "single", "none"];

/** The least well checked of several answers' evidence (`none` when there are none): what a merged answer can claim. */
export function weakestEvidence(levels: readonly Verification[]): Verification {
  return levels.reduce<Verification>(
    (worst, v) => (VERIFICATIONS.indexOf(v) > VERIFICATIONS.indexOf(worst) ? v : worst),
    levels.length > 0 ? "proof" : "none",
  );
}

export function isVerification(value: unknown): value is Verification {
  return typeof value === "string" && (VERIFICATIONS as readonly string[]).includes(value);
}

export interface Evidence {
  /** The block the answer reflects (the pinned block, else the agreed head when the answer was produced). */
  blockNumber: number | undefined;
  verified: Verification;
  /** Upstream that produced the answer (for logs; never shown to clients). */
  upstream?: string;
  /** Set when a stale last-known-good value was served by the client's opt-in: its age in seconds. */
  staleSeconds?: number;
  /** Hash of the block the answer reflects, when it was proven against an anchored block. */
  blockHash?: `0x${string}`;
  /** Outage domains that vouched for that block. */
  domains?: string[];
}

export interface CallOptions {
  signal?: AbortSignal;
  /** The client accepts a last-known-good value this old (seconds) when no live verified answer can be had. */
  maxStalenessSeconds?: number;
  /**
   * While no head has ever been agreed (the engine has just started), a call that needs one waits up to this long for
   * the first, ms, instead of failing at once; `signal` ends the wait too. Once a head has been agreed, no call waits.
   */
  firstHeadWaitMs?: number;
  /**
   * The weakest evidence the caller accepts: an answer below it is refused with `insufficient_evidence` rather than
   * served (see `holdToFloor`). `none`, or absent: every answer is served.
   */
  minEvidence?: Verification;
}

/**
 * A result's JSON as it is served, next to the result it encodes (`of`): what the answer cache keeps, so a hit is
 * written without serialising its result again. It is used only while the answer's `result` is still `of`.
 */
export interface EncodedResult {
  of: unknown;
  json: string;
}

export type CallAnswer =
  | { ok: true; result: unknown; evidence: Evidence; encoded?: EncodedResult }
  | { ok: false; rpcError: RpcErrorObject; evidence: Evidence }
  | { ok: false; error: MultihomeError; evidence: Evidence };

/** A failed answer's JSON-RPC error object: the chain's own (a revert), or Multihome's with its `multihomeCode`. */
export function rpcErrorOf(answer: Exclude<CallAnswer, { ok: true }>): RpcErrorObject {
  return "rpcError" in answer ? answer.rpcError : toRpcError(answer.error);
}

/**
 * An answer held to the caller's minimum evidence. Only answers made of upstream data are judged (results and the
 * chain's own errors, such as a revert one upstream reported): what Multihome answers itself (the chain id, the agreed
 * head's number) is below nothing, a write is never refused once it may have been sent, and Multihome's own errors
 * (`unavailable` with its last-known-good value among them) are passed on as they are. A stale value is judged by
 * how it was proven; its age is the `maxStalenessSeconds` opt-in's business.
 */
export function holdToFloor(method: string, answer: CallAnswer, floor: Verification | undefined): CallAnswer {
  if (floor === undefined || floor === "none" || (!answer.ok && "error" in answer)) return answer;
  const kind = methodSpec(method)?.kind;
  if (kind === "local" || kind === "write") return answer;
  const { evidence } = answer;
  if (VERIFICATIONS.indexOf(evidence.verified) <= VERIFICATIONS.indexOf(floor)) return answer;
  const had = {
    verified: evidence.verified,
    ...(evidence.blockNumber !== undefined ? { blockNumber: evidence.blockNumber } : {}),
    ...(evidence.staleSeconds !== undefined ? { staleSeconds: evidence.staleSeconds } : {}),
  };
  return {
    ok: false,
    error: new MultihomeError(
      "insufficient_evidence",
      `the answer's evidence (${evidence.verified}) is below the minimum asked for (${floor})`,
      { data: { minEvidence: floor, evidence: had } },
    ),
    evidence,
  };
}
