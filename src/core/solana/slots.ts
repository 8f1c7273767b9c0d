/**
 * Solana's head is a slot per commitment. Slots carry no hash a client can check, so the agreed slot of a commitment
 * is the highest slot that independent witnesses (different outage domain AND operator, see `areIndependent`) have
 * both reached: one upstream racing ahead — a liar, or a node on a fork — moves nothing. When the cluster's upstreams
 * cannot form an independent pair at all, every usable upstream must have reached it. An agreed slot never goes
 * backwards.
 */
import { areIndependent, type FailureDomain } from "../domains/domain.ts";

export const COMMITMENTS = ["processed", "confirmed", "finalized"] as const;
export type Commitment = (typeof COMMITMENTS)[number];

/** The commitment a Solana node uses when a request names none. */
export const DEFAULT_COMMITMENT: Commitment = "finalized";

/**
 * A slot this far ahead of the agreed slot is not believed (another cluster, or a lie): ~7 minutes of slots at
 * 400 ms. The upstream's report is ignored, not recorded.
 */
export const MAX_SLOT_JUMP = 1_000;

export interface SlotBook {
  /** Record an upstream's slot at a commitment; false when it was too far ahead to be believed. */
  observe(upstreamId: string, commitment: Commitment, slot: number): boolean;
  /** The latest slot an upstream reported at a commitment. */
  slotOf(upstreamId: string, commitment: Commitment): number | undefined;
  /** Forget an upstream's reports (cordoned, wrong cluster). */
  forget(upstreamId: string): void;
  /** Recompute every commitment's agreed slot over the upstreams `usable` accepts; never backwards. */
  agree(usable: (upstreamId: string) => boolean): Partial<Record<Commitment, number>>;
  /** The agreed slot of a commitment. */
  agreed(commitment: Commitment): number | undefined;
  /**
   * Raise agreed slots to what another worker of this gateway agreed (the same rule, over the same upstreams), so a
   * client moved between workers never sees a slot go back; returns whether any rose.
   */
  raise(slots: Partial<Record<Commitment, number>>): boolean;
}

export function createSlotBook(upstreams: readonly { id: string; domain: FailureDomain }[]): SlotBook {
  const domains = new Map(upstreams.map((u) => [u.id, u.domain]));
  const canFormIndependentPair = upstreams.some((a) => upstreams.some((b) => areIndependent(a.domain, b.domain)));
  const slots = new Map<Commitment, Map<string, number>>(COMMITMENTS.map((c) => [c, new Map()]));
  const agreed: Partial<Record<Commitment, number>> = {};

  /** The highest slot an independent pair (or, single-domain, every usable upstream) has reached. */
  function reachedByWitnesses(reports: Map<string, number>, usable: (id: string) => boolean): number | undefined {
    const ids = [...reports.keys()].filter(usable);
    if (!canFormIndependentPair) {
      const everyone = [...domains.keys()].filter(usable);
      if (everyone.length === 0 || everyone.some((id) => !reports.has(id))) return undefined;
      return Math.min(...everyone.map((id) => reports.get(id)!));
    }
    let top: number | undefined;
    for (const a of ids) {
      for (const b of ids) {
        if (!areIndependent(domains.get(a)!, domains.get(b)!)) continue;
        const both = Math.min(reports.get(a)!, reports.get(b)!);
        if (top === undefined || both > top) top = both;
      }
    }
    return top;
  }

  return {
    observe(id, commitment, slot) {
      const current = agreed[commitment];
      if (current !== undefined && slot > current + MAX_SLOT_JUMP) return false;
      slots.get(commitment)!.set(id, slot);
      return true;
    },
    slotOf: (id, commitment) => slots.get(commitment)!.get(id),
    forget(id) {
      for (const reports of slots.values()) reports.delete(id);
    },
    agree(usable) {
      for (const commitment of COMMITMENTS) {
        const reached = reachedByWitnesses(slots.get(commitment)!, usable);
        const current = agreed[commitment];
        if (reached !== undefined && (current === undefined || reached > current)) agreed[commitment] = reached;
      }
      return { ...agreed };
    },
    agreed: (commitment) => agreed[commitment],
    raise(theirs) {
      let rose = false;
      for (const commitment of COMMITMENTS) {
        const slot = theirs[commitment];
        if (!Number.isSafeInteger(slot) || (slot as number) < 0) continue;
        const current = agreed[commitment];
        if (current !== undefined && (slot as number) <= current) continue;
        agreed[commitment] = slot as number;
        rose = true;
      }
      return rose;
    },
  };
}

/** The commitment a request's config names (`{ commitment }`), the default when it names none; undefined: invalid. */
export function commitmentOf(config: unknown): Commitment | undefined {
  const named = config && typeof config === "object" ? (config as { commitment?: unknown }).commitment : undefined;
  if (named === undefined) return DEFAULT_COMMITMENT;
  // Old names some clients still send.
  if (named === "recent") return "processed";
  if (named === "single" || named === "singleGossip") return "confirmed";
  if (named === "root" || named === "max") return "finalized";
  return COMMITMENTS.find((c) => c === named);
}
