/** A Solana call's answer and its evidence: what the Solana endpoint writes, and its headers. */
import type { MultihomeError } from "../../core/errors.ts";
import type { RpcErrorObject } from "../../core/rpc/jsonrpc.ts";

export interface SolanaEvidence {
  /** `quorum`: independent domains agreed at `slot`; `single`: one upstream's word; `none`: no answer. */
  verified: "quorum" | "single" | "none";
  slot?: number;
  upstream?: string;
  domains?: string[];
  /** Served from last-known-good, by the client's opt-in (`multihome-max-staleness`): seconds since it was agreed. */
  staleSeconds?: number;
}

export type SolanaAnswer =
  | { ok: true; result: unknown; evidence: SolanaEvidence }
  /** The chain's own error (bad params, a failed preflight): passed on as the nodes gave it. */
  | { ok: false; rpcError: RpcErrorObject; evidence: SolanaEvidence }
  | { ok: false; error: MultihomeError; evidence: SolanaEvidence };
