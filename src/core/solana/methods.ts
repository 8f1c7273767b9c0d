/**
 * What Multihome knows of Solana's JSON-RPC methods: how each is answered, where its config object sits, and how a
 * freshness floor (`minContextSlot`) is put into it. Solana RPC has no state proofs, so a read is as good as the
 * agreement behind it: the same `value` from independent domains at the same `context.slot`.
 */
import { type Commitment, commitmentOf } from "./slots.ts";

export type SolanaMethodKind =
  /** A read answered in a context envelope: served when independent domains agree on its value at one slot. */
  | "agreed"
  /** `getSlot`: answered from the agreed slot of the commitment, no upstream asked. */
  | "slot"
  /** `getGenesisHash`: the genesis hash independent domains (or the config) agree on. */
  | "genesis"
  /** `sendTransaction`: sent through several independent domains. */
  | "send"
  /** `getTransaction`, `getBlock`: at `finalized` immutable, so agreed exactly by independent domains and cached. */
  | "immutable"
  /** Anything else: one upstream's word, labelled `single`. */
  | "single";

interface MethodSpec {
  kind: SolanaMethodKind;
  /** Which positional param holds `{ commitment, minContextSlot, … }`. */
  configAt?: number;
  /** The commitment its context slot follows when it takes none (getSignatureStatuses: the node's newest slot). */
  fixedCommitment?: Commitment;
  /** Answers a plain value unless asked `withContext: true`: Multihome always asks for the envelope (its slot). */
  contextOnRequest?: boolean;
}

const SPECS: Readonly<Record<string, MethodSpec>> = {
  getBalance: { kind: "agreed", configAt: 1 },
  getAccountInfo: { kind: "agreed", configAt: 1 },
  getMultipleAccounts: { kind: "agreed", configAt: 1 },
  getTokenAccountBalance: { kind: "agreed", configAt: 1 },
  getTokenSupply: { kind: "agreed", configAt: 1 },
  getTokenAccountsByOwner: { kind: "agreed", configAt: 2 },
  getProgramAccounts: { kind: "agreed", configAt: 1, contextOnRequest: true },
  getLatestBlockhash: { kind: "agreed", configAt: 0 },
  isBlockhashValid: { kind: "agreed", configAt: 1 },
  getSignatureStatuses: { kind: "agreed", fixedCommitment: "processed" },
  getSlot: { kind: "slot", configAt: 0 },
  getGenesisHash: { kind: "genesis" },
  sendTransaction: { kind: "send", configAt: 1 },
  getTransaction: { kind: "immutable", configAt: 1 },
  getBlock: { kind: "immutable", configAt: 1 },
};

/**
 * What each Solana method costs in rate-limit units (as `METHOD_COSTS` does for EVM methods): an agreed read asks two
 * domains, the heavy scans more. A method not listed costs `SOLANA_DEFAULT_METHOD_COST`.
 */
export const SOLANA_METHOD_COSTS: Readonly<Record<string, number>> = {
  getSlot: 1,
  getGenesisHash: 1,
  getHealth: 1,
  getVersion: 1,
  getBlockHeight: 1,
  getProgramAccounts: 20,
  getTokenAccountsByOwner: 10,
  // A watcher re-reads the account (two upstream calls) every slot for as long as it lives.
  accountSubscribe: 10,
  getBlock: 20,
  getTransaction: 5,
  sendTransaction: 10,
  simulateTransaction: 10,
};
export const SOLANA_DEFAULT_METHOD_COST = 2;

/** Units one Solana call costs; `costs` (the config's overrides, by method) first. */
export function solanaCallCost(method: string | undefined, costs: Readonly<Record<string, number>>): number {
  if (method !== undefined && Object.hasOwn(costs, method)) return costs[method]!;
  if (method !== undefined && Object.hasOwn(SOLANA_METHOD_COSTS, method)) return SOLANA_METHOD_COSTS[method]!;
  return SOLANA_DEFAULT_METHOD_COST;
}

/** How a method is answered; anything not listed is `single`. */
export function solanaMethodKind(method: string): SolanaMethodKind {
  return SPECS[method]?.kind ?? "single";
}

/** The config object a call carries (or undefined), and whether its params are shaped as the method expects. */
function configOf(method: string, params: unknown): { config: unknown; at: number | undefined } {
  const at = SPECS[method]?.configAt;
  if (at === undefined || !Array.isArray(params)) return { config: undefined, at };
  return { config: params[at], at };
}

/** The commitment a call is asked at (the method's own when it takes none); undefined when the call names an unknown one. */
export function commitmentOfCall(method: string, params: unknown): Commitment | undefined {
  const fixed = SPECS[method]?.fixedCommitment;
  if (fixed) return fixed;
  return commitmentOf(configOf(method, params).config);
}

/** The `minContextSlot` a client asked for, when it asked; "invalid" when it is not a slot. */
export function clientMinContextSlot(method: string, params: unknown): number | undefined | "invalid" {
  const { config } = configOf(method, params);
  if (!config || typeof config !== "object") return undefined;
  const min = (config as { minContextSlot?: unknown }).minContextSlot;
  if (min === undefined || min === null) return undefined;
  return Number.isSafeInteger(min) && (min as number) >= 0 ? (min as number) : "invalid";
}

/**
 * The params with `minContextSlot` raised to `floor`: a node behind the slot Multihome already agreed on answers
 * -32016 instead of old data. The commitment is always named too: some methods (`getTokenAccountBalance`,
 * `getTokenSupply`) take a bare commitment config, which a node refuses without one (and where it ignores
 * `minContextSlot`, the answer's own slot is checked instead). Methods without a config object are returned unchanged.
 */
export function withMinContextSlot(method: string, params: unknown, floor: number): unknown {
  const { config, at } = configOf(method, params);
  if (at === undefined) return params;
  const list = Array.isArray(params) ? [...params] : [];
  // A shorter list gets its missing positional params as null: Solana nodes read null as "absent".
  while (list.length < at) list.push(null);
  const base = config && typeof config === "object" ? (config as Record<string, unknown>) : {};
  const asked = typeof base.minContextSlot === "number" ? base.minContextSlot : 0;
  const commitment = commitmentOf(base) ?? base.commitment;
  list[at] = { ...base, commitment, minContextSlot: Math.max(asked, floor) };
  return list;
}

/**
 * For a method that answers a context envelope only on request (`getProgramAccounts`): the params asking for it, and
 * whether the client asked itself (else it gets the value alone, as from a node). Other methods: unchanged.
 */
export function withContextAsked(method: string, params: unknown): { params: unknown; clientAsked: boolean } {
  if (!SPECS[method]?.contextOnRequest) return { params, clientAsked: true };
  const { config, at } = configOf(method, params);
  const base = config && typeof config === "object" ? (config as Record<string, unknown>) : {};
  if (base.withContext === true) return { params, clientAsked: true };
  const list = Array.isArray(params) ? [...params] : [];
  while (list.length < at!) list.push(null);
  list[at!] = { ...base, withContext: true };
  return { params: list, clientAsked: false };
}

/** Solana's own code for "the node's slot is below the `minContextSlot` asked for". */
export const MIN_CONTEXT_SLOT_NOT_REACHED = -32016;

/** A context envelope's slot and value, when `result` is one. */
export function contextOf(result: unknown): { slot: number; value: unknown } | undefined {
  if (!result || typeof result !== "object") return undefined;
  const { context, value } = result as { context?: { slot?: unknown }; value?: unknown };
  const slot = context?.slot;
  if (!Number.isSafeInteger(slot) || (slot as number) < 0 || !("value" in (result as object))) return undefined;
  return { slot: slot as number, value };
}

/**
 * The code a Solana client will not misread for Multihome's own failures (no agreement, deadline, evidence below the
 * floor asked for): -32001 to -32021 are Solana's server errors and -32002 is "transaction simulation failed" to
 * `@solana/kit`, so they are never used on this endpoint.
 */
export const SOLANA_UNAVAILABLE_CODE = -32099;
/** Rate limited, on the Solana endpoint: a code providers use for it (Solana's -32005 means "node unhealthy"). */
export const SOLANA_RATE_LIMITED_CODE = -32097;
/** A transaction Multihome refused itself (not the chain's answer), on the Solana endpoint. */
export const SOLANA_TX_REJECTED_CODE = -32098;

/** The JSON-RPC code a Multihome error code takes on the Solana endpoint. */
export function solanaRpcCode(code: string, rpcCode: number): number {
  switch (code) {
    case "unavailable":
    case "timeout":
    case "insufficient_evidence":
      return SOLANA_UNAVAILABLE_CODE;
    case "rate_limited":
    case "limit_exceeded":
      return SOLANA_RATE_LIMITED_CODE;
    case "tx_rejected":
      return SOLANA_TX_REJECTED_CODE;
    default:
      return rpcCode;
  }
}
