/**
 * A method family: the methods that are verified the same way, and how. Each family's module says, for its methods,
 * how an answer is proven (`prove`), what a provider's answer is checked against when it is not (`check`), and what it
 * is evidenced with; resolve.ts holds the table of families and the steps every call shares.
 */
import type { AgreedHead } from "../../core/domains/head.ts";
import type { RpcCall, RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import type { MethodSpec, PinnedCall } from "../../core/rpc/methods.ts";
import type { CallAnswer, CallOptions, Evidence } from "../answers/answer.ts";
import type { EngineContext } from "../context.ts";
import type { CallPlan, ExecuteResult, ExecuteTarget, Verdict } from "../routing/execute.ts";

/** One pinned call, as every step of its resolution sees it. */
export interface PinnedRequest {
  rpc: RpcCall;
  spec: MethodSpec;
  pinned: PinnedCall;
  head: AgreedHead;
  options: CallOptions;
}

/** How a provider's answer is checked by itself, where no proof is asked for (or none exists for these params). */
export interface AnswerCheck {
  verify(answer: unknown): Verdict;
  /** The evidence an answer that passed the check carries (default `single`). */
  evidence?(): Evidence["verified"];
}

export interface MethodFamily {
  readonly methods: readonly string[];
  /**
   * The answer under the `proof` policy. Undefined when these params have no proven path (a `pending` tag, a block
   * above the head): the call is then answered as its policy's fallback says (one checked upstream).
   */
  prove?(request: PinnedRequest): Promise<CallAnswer | undefined>;
  /** Before the policy is applied: an answer made of other calls (a wide log range asked as chunks), or undefined. */
  split?(request: PinnedRequest): Promise<CallAnswer | undefined>;
  /** The check of one provider's answer, under `quorum` and `single`. */
  check?(request: PinnedRequest): AnswerCheck | undefined;
}

/** What the families share: asking upstreams, agreement of independent domains, one checked upstream's word. */
export interface Answering {
  ctx: EngineContext;
  target: ExecuteTarget;
  /** Runs plans on this chain's upstreams, cancelled with `signal`. */
  run(signal: AbortSignal | undefined): (plan: CallPlan) => Promise<ExecuteResult>;
  /** Independent domains agree (for an estimate: their median) — `quorum`, never one upstream's word. */
  agreed(rpc: RpcCall, plan: CallPlan, blockNumber: number, signal: AbortSignal | undefined): Promise<CallAnswer>;
  /** The plan of a call as one upstream would be asked it. */
  planOf(request: PinnedRequest): CallPlan;
  /** An upstream's answer failed verification: counted against it. */
  dispute(upstreamId: string, reason: string): void;
  /** Strips configured upstream URLs and keys from a node's error (it may echo them back). */
  redactRpcError(error: RpcErrorObject): RpcErrorObject;
}
