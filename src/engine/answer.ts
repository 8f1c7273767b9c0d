/** What a call answers, and the evidence that goes with it. */
import { type MultihomeError, toRpcError } from "../core/errors.ts";
import type { RpcErrorObject } from "../core/jsonrpc.ts";

/** How a served answer was established. */
export type Verification = "proof" | "quorum" | "single" | "none";

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
}

export type CallAnswer =
  | { ok: true; result: unknown; evidence: Evidence }
  | { ok: false; rpcError: RpcErrorObject; evidence: Evidence }
  | { ok: false; error: MultihomeError; evidence: Evidence };

/** A failed answer's JSON-RPC error object: the chain's own (a revert), or Multihome's with its `multihomeCode`. */
export function rpcErrorOf(answer: Exclude<CallAnswer, { ok: true }>): RpcErrorObject {
  return "rpcError" in answer ? answer.rpcError : toRpcError(answer.error);
}
