/**
 * EIP-2930 access lists: read from a call object (as given: duplicates count for gas, as nodes count them), and put in
 * one canonical order for answers and comparisons — nodes list addresses in no fixed order (anvil's differs from one
 * request to the next), so two honest answers are the same list only once sorted.
 */
import { ADDRESS_HEX, type Hex } from "../hex.ts";

export interface AccessListEntry {
  address: Hex;
  storageKeys: Hex[];
}

const SLOT = /^0x[0-9a-fA-F]{1,64}$/;

/** A storage key as 32 bytes of lowercase hex. */
export const slotKey = (slot: Hex | bigint): Hex =>
  `0x${(typeof slot === "bigint" ? slot : BigInt(slot)).toString(16).padStart(64, "0")}`;

/** The `accessList` field of a call: its entries (none when absent), or undefined when it is not an access list. */
export function readAccessList(value: unknown): AccessListEntry[] | undefined {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return undefined;
  const entries: AccessListEntry[] = [];
  for (const item of value as { address?: unknown; storageKeys?: unknown }[]) {
    if (typeof item !== "object" || item === null) return undefined;
    const { address, storageKeys = [] } = item;
    if (typeof address !== "string" || !ADDRESS_HEX.test(address) || !Array.isArray(storageKeys)) return undefined;
    if (!storageKeys.every((k): k is Hex => typeof k === "string" && SLOT.test(k))) return undefined;
    entries.push({ address: address.toLowerCase() as Hex, storageKeys: storageKeys.map((k) => slotKey(k)) });
  }
  return entries;
}

/** One entry per address, addresses and each one's keys sorted and unique, all lowercase. */
export function canonicalAccessList(entries: readonly AccessListEntry[]): AccessListEntry[] {
  const byAddress = new Map<Hex, Set<Hex>>();
  for (const { address, storageKeys } of entries) {
    const a = address.toLowerCase() as Hex;
    const keys = byAddress.get(a) ?? new Set<Hex>();
    for (const k of storageKeys) keys.add(slotKey(k));
    byAddress.set(a, keys);
  }
  return [...byAddress.keys()].sort().map((address) => ({ address, storageKeys: [...byAddress.get(address)!].sort() }));
}

/**
 * An `eth_createAccessList` answer (`{ accessList, gasUsed }`, and `error` where the node says the call failed) in
 * canonical order, or undefined when it is not one.
 */
export function canonicalAccessListAnswer(
  answer: unknown,
): { accessList: AccessListEntry[]; gasUsed: Hex; error?: string } | undefined {
  if (typeof answer !== "object" || answer === null) return undefined;
  const { accessList, gasUsed, error } = answer as Record<string, unknown>;
  const entries = readAccessList(accessList);
  if (!entries || accessList === undefined || typeof gasUsed !== "string" || !SLOT.test(gasUsed)) return undefined;
  if (error !== undefined && typeof error !== "string") return undefined;
  return {
    accessList: canonicalAccessList(entries),
    gasUsed: `0x${BigInt(gasUsed).toString(16)}`,
    ...(error === undefined ? {} : { error }),
  };
}
