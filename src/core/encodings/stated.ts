/**
 * Fields nodes state beside a transaction of an unsigned L2 type that its encoding does not hold, so no hash binds
 * them: the signature and price fields every transaction object has, which such a type fills with values it fixes
 * (zeros, a system address, a copy of an encoded field), and its `nonce`. A stack's types say here what each must be.
 */
import type { Json } from "./fields.ts";

/** What the stated fields of one transaction come to. */
export type StatedCheck =
  | { ok: true }
  /** A stated field contradicts what the type fixes: the supplier's lie. */
  | { ok: false; reason: string }
  /** A stated field is not what these rules expect, but node software may differ: served, not as proven. */
  | { ok: "unverifiable"; reason: string };

/** Rules for the fields a type fixes outside its encoding; a field not stated (absent or null) passes. */
export interface StatedRules {
  /** Field → the value it must have: a quantity (compared as a number), an address, or `0x` (empty data). */
  fixed?: Readonly<Record<string, string>>;
  /** Field → the encoded field it must equal (e.g. `gasPrice` → `maxFeePerGas`). */
  sameAs?: Readonly<Record<string, string>>;
  /** Fields whose stated value these rules cannot check (the transaction is then not proven). */
  unchecked?: readonly string[];
  /** Whether a mismatch is a lie (`false`) or only not provable (`"unverifiable"`). */
  mismatch: false | "unverifiable";
}

const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;

const sameAddress = (a: unknown, b: unknown) =>
  typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();

function sameValue(stated: unknown, expected: unknown): boolean {
  if (typeof stated !== "string" || typeof expected !== "string") return false;
  if (expected === "0x") return stated === "0x";
  if (expected.length === 42) return sameAddress(stated, expected);
  return QUANTITY.test(stated) && QUANTITY.test(expected) && BigInt(stated) === BigInt(expected);
}

const isStated = (value: unknown) => value !== undefined && value !== null;

export function checkStated(json: Json, rules: StatedRules): StatedCheck {
  const fail = (reason: string): StatedCheck =>
    rules.mismatch === false ? { ok: false, reason } : { ok: "unverifiable", reason };
  for (const [name, value] of Object.entries(rules.fixed ?? {})) {
    if (isStated(json[name]) && !sameValue(json[name], value))
      return fail(`a type-${String(json.type)} transaction states ${name} ${String(json[name]).slice(0, 80)}`);
  }
  for (const [name, encoded] of Object.entries(rules.sameAs ?? {})) {
    if (isStated(json[name]) && !sameValue(json[name], json[encoded]))
      return fail(`a type-${String(json.type)} transaction states ${name} other than its ${encoded}`);
  }
  const unchecked = (rules.unchecked ?? []).find((name) => isStated(json[name]));
  if (unchecked) return { ok: "unverifiable", reason: `a type-${String(json.type)} transaction's ${unchecked}` };
  return { ok: true };
}

/** The nonce transaction `index` of a block ran with, given its sender's nonce proven after the block. */
export function nonceBefore(txs: readonly Json[], index: number, nonceAfterBlock: bigint): bigint {
  const sender = txs[index]!.from;
  let later = 0n;
  for (let j = index; j < txs.length; j++) if (sameAddress(txs[j]!.from, sender)) later++;
  return nonceAfterBlock - later;
}
