/**
 * Reading a Solana JSON-RPC method's positional params the way a validator does: the same checks, the same error codes
 * and, where a client might match on them, the same words.
 */

import { BaseError } from "../../core/errors.ts";
import type { Commitment, SolanaLedger } from "./ledger.ts";
import { fromBase58 } from "./transaction.ts";

/** The `apiVersion` every context carries: the validator version these nodes imitate. */
export const SOLANA_API_VERSION = "2.2.0";

/** JSON-RPC error codes the nodes answer with (Solana's own where Solana has one). */
export const RPC_CODES = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  /** `Transaction simulation failed: …` (preflight). */
  preflightFailure: -32002,
  /** `Transaction signature verification failure`. */
  signatureVerification: -32003,
  /** `Transaction version (0) is not supported by the requesting client…` */
  unsupportedTransactionVersion: -32015,
  /** `Minimum context slot has not been reached`. */
  minContextSlotNotReached: -32016,
  /** devnet only: `devnet_produceSlot` for another slot than the next one; `data.slot` is the node's slot. */
  slotSequence: -39001,
  /** devnet only: the node's pool is full. */
  poolFull: -39002,
} as const;

/** An error a method answers with: becomes the JSON-RPC `error` object as is. */
export class RpcMethodError extends BaseError<number> {
  override readonly name = "RpcMethodError";
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

/** `-32602` with a validator's words (`Invalid params: …`, `Invalid param: …`, `` `params` should have … ``). */
export function invalidParams(message: string): RpcMethodError {
  return new RpcMethodError(RPC_CODES.invalidParams, message);
}

/** A method's config object (its last positional param). */
export type Config = Record<string, unknown>;

/** Fails unless at least `count` params were given. */
export function requireParams(params: readonly unknown[], count: number): void {
  if (params.length < count) throw invalidParams(`\`params\` should have at least ${count} argument(s)`);
}

/** The string param at `index`. */
export function stringParam(params: readonly unknown[], index: number): string {
  const value = params[index];
  if (typeof value !== "string")
    throw invalidParams(`Invalid params: invalid type: ${typeName(value)}, expected a string.`);
  return value;
}

/** The config object at `index`; `{}` when absent or null. */
export function configParam(params: readonly unknown[], index: number): Config {
  const value = params[index];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw invalidParams(`Invalid params: invalid type: ${typeName(value)}, expected struct config.`);
  }
  return value as Config;
}

/** A u64 param (lengths, slots): a non-negative safe integer. */
export function integerParam(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalidParams(`Invalid params: invalid type: ${typeName(value)}, expected u64 (${what}).`);
  }
  return value;
}

/** A boolean field of a config, `fallback` when absent. */
export function booleanOption(config: Config, key: string, fallback: boolean): boolean {
  const value = config[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean")
    throw invalidParams(`Invalid params: invalid type: ${typeName(value)}, expected a boolean.`);
  return value;
}

/** `commitment` of a config; validators default to `finalized`. */
export function commitmentOf(config: Config, fallback: Commitment = "finalized"): Commitment {
  const value = config["commitment"] ?? fallback;
  if (value === "processed" || value === "confirmed" || value === "finalized") return value;
  throw invalidParams(
    `Invalid params: unknown variant \`${String(value)}\`, expected one of \`processed\`, \`confirmed\`, \`finalized\`.`,
  );
}

/** Fails with -32016 when `slot` is below the config's `minContextSlot`. */
export function checkMinContextSlot(config: Config, slot: number): void {
  const min = config["minContextSlot"];
  if (min === undefined || min === null) return;
  if (integerParam(min, "minContextSlot") > slot) {
    throw new RpcMethodError(RPC_CODES.minContextSlotNotReached, "Minimum context slot has not been reached", {
      contextSlot: slot,
    });
  }
}

/** The slot a read with this config sees: its commitment's slot, after the `minContextSlot` check. */
export function contextSlotOf(ledger: SolanaLedger, config: Config, fallback: Commitment = "finalized"): number {
  const slot = ledger.commitmentSlot(commitmentOf(config, fallback));
  checkMinContextSlot(config, slot);
  return slot;
}

/** `{ context: { slot, apiVersion }, value }`: every account-ish answer. */
export function withContext(
  slot: number,
  value: unknown,
): { context: { slot: number; apiVersion: string }; value: unknown } {
  return { context: { slot, apiVersion: SOLANA_API_VERSION }, value };
}

/** A base58 public key or signature of `bytes` bytes, as validators check them (`Invalid param: WrongSize`). */
export function base58Param(value: unknown, bytes: 32 | 64): string {
  if (typeof value !== "string")
    throw invalidParams(`Invalid params: invalid type: ${typeName(value)}, expected a string.`);
  const decoded = fromBase58(value);
  if (!decoded) throw invalidParams("Invalid param: Invalid");
  if (decoded.length !== bytes) throw invalidParams("Invalid param: WrongSize");
  return value;
}

/** How serde names a JSON value in its `invalid type` errors. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "unit";
  if (Array.isArray(value)) return "sequence";
  if (typeof value === "object") return "map";
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  if (typeof value === "number")
    return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
  return typeof value;
}
