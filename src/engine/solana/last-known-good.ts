/**
 * The last value independent domains agreed on, per read: what a client is shown, with its slot and age, when nothing
 * can be agreed now — never a zero Multihome does not know. Kept in memory (bounded), oldest out first.
 */
import type { Clock } from "../../core/ports.ts";

/** Reads whose last agreed value is remembered, per cluster. */
export const SOLANA_LAST_KNOWN_GOOD_MAX = 10_000;

export interface SolanaLastKnownGood {
  value: unknown;
  slot: number;
  ageSeconds: number;
  evidence: { verified: "quorum"; domains: string[] };
}

export function createSolanaLastKnownGood(clock: Clock) {
  const entries = new Map<string, { value: unknown; slot: number; at: number; domains: string[] }>();
  return {
    remember(key: string, value: unknown, slot: number, domains: string[]): void {
      const known = entries.get(key);
      if (known && known.slot > slot) return;
      entries.delete(key);
      entries.set(key, { value, slot, at: clock.now(), domains });
      if (entries.size > SOLANA_LAST_KNOWN_GOOD_MAX) entries.delete(entries.keys().next().value!);
    },
    get(key: string): SolanaLastKnownGood | undefined {
      const known = entries.get(key);
      if (!known) return undefined;
      return {
        value: known.value,
        slot: known.slot,
        ageSeconds: Math.max(0, Math.round((clock.now() - known.at) / 1000)),
        evidence: { verified: "quorum", domains: known.domains },
      };
    },
  };
}
