/**
 * One agreed head per chain: the highest block that independent witnesses (different outage domain AND different
 * operator, see `areIndependent`) report with the same hash. When the chain's upstreams cannot form an independent
 * pair at all (a single-domain setup, e.g. one's own node), every usable upstream must agree instead. The agreed
 * head never goes backwards.
 */
import { areIndependent, type FailureDomain } from "./domain.ts";

export interface HeadObservation {
  number: number;
  hash: string;
  parentHash: string;
}

export interface AgreedHead {
  number: number;
  hash: string;
  /** Ids of the upstreams whose reports agree on this block. */
  witnesses: string[];
}

/** How many recent block numbers each upstream's hash history keeps. */
export const HEAD_HISTORY_BLOCKS = 256;

export interface HeadBook {
  /** Record what an upstream reported. Returns an anomaly when the report contradicts its own past. */
  observe(upstreamId: string, observation: HeadObservation): HeadAnomaly | undefined;
  /** The latest head number an upstream reported. */
  headOf(upstreamId: string): number | undefined;
  /** Forget an upstream's reports (cordoned, wrong chain). */
  forget(upstreamId: string): void;
  /** Recompute the agreed head over the upstreams `usable` accepts; monotonic. */
  agree(usable: (upstreamId: string) => boolean): AgreedHead | undefined;
  current(): AgreedHead | undefined;
  /** The block at `number` that independent witnesses among `usable` reported alike, from their recent reports. */
  agreedAt(number: number, usable: (upstreamId: string) => boolean): AgreedHead | undefined;
  /**
   * Whether a new head contradicts what this upstream said before — another block at that height, or a parent other
   * than the block it reported below: a reorg, whose earlier blocks must be re-learned by walking parent hashes back
   * (see `recordAncestor`).
   */
  linkBroken(upstreamId: string, number: number, hash: string, parentHash: string): boolean;
  /** What this upstream said was at `number` (undefined when it said nothing, or it was pruned). */
  hashOf(upstreamId: string, number: number): string | undefined;
  /** An ancestor of this upstream's head, learned by walking parent hashes after a reorg. */
  recordAncestor(upstreamId: string, number: number, hash: string): void;
  /**
   * A reorg walk of this upstream begins: what it said below `number` may belong to the branch it left, so it vouches
   * for nothing (agreement, doubts, branches) until the walk ends; `hashOf` still sees it, for the walk to find where
   * the branches meet. Blocks the walk learns (`recordAncestor`) count at once.
   */
  hold(upstreamId: string, number: number): void;
  /**
   * The walk ended. `metAt`: it met what the upstream said before at that height, so what it said there and below is
   * its chain still and counts again. Without it (deeper than the walk, or the walk failed) what was held is
   * forgotten: the upstream's history is what the walk learned.
   */
  release(upstreamId: string, metAt?: number): void;
  /**
   * What was anchored at `number` may be orphaned: independent witnesses among `usable` now agree on another block
   * there, or, when none agree on any, some usable upstream says another block is there or took this one back (its
   * head went below it).
   */
  doubted(number: number, hash: string, usable: (upstreamId: string) => boolean): boolean;
  /**
   * Whether the block `hash` at `number` (below `head`) is not known to be on `head`'s branch: some witness of `head`
   * says nothing there or names another block. After the agreed head was replaced by one not standing on it, what is
   * off the new head's branch is not served.
   */
  offBranch(head: AgreedHead, number: number, hash: string): boolean;
}

export type HeadAnomaly = { kind: "backwards"; from: number; to: number } | { kind: "jump"; from: number; to: number };

export interface HeadBookOptions {
  upstreams: { id: string; domain: FailureDomain }[];
  /** A head this far ahead of the agreed head is an anomaly (a different chain?). @default 10_000 */
  maxJumpBlocks?: number;
  /** A head this far behind the upstream's previous head is an anomaly. @default 64 */
  maxBackwardsBlocks?: number;
}

export function createHeadBook(options: HeadBookOptions): HeadBook {
  const { upstreams, maxJumpBlocks = 10_000, maxBackwardsBlocks = 64 } = options;
  const domains = new Map(upstreams.map((u) => [u.id, u.domain]));
  const history = new Map<string, Map<number, string>>();
  /**
   * Blocks an upstream reported and then took back by going below them (its head moved back: a reorg in progress),
   * by upstream: a retraction counts against the block like a contradiction (`doubted`) until it reports it again.
   */
  const retracted = new Map<string, Map<number, string>>();
  /** What an upstream said below a reorg walk under way (see `hold`), by upstream. */
  const held = new Map<string, Map<number, string>>();
  const heads = new Map<string, number>();
  const canFormIndependentPair = upstreams.some((a) => upstreams.some((b) => areIndependent(a.domain, b.domain)));
  let agreed: AgreedHead | undefined;

  function record(id: string, number: number, hash: string): void {
    let h = history.get(id);
    if (!h) {
      h = new Map();
      history.set(id, h);
    }
    h.set(number, hash);
    retracted.get(id)?.delete(number);
  }

  function prune(id: string, head: number): void {
    const r = retracted.get(id);
    if (r) for (const n of r.keys()) if (n <= head - HEAD_HISTORY_BLOCKS) r.delete(n);
    const h = history.get(id);
    if (!h || h.size <= HEAD_HISTORY_BLOCKS * 2) return;
    for (const n of h.keys()) if (n <= head - HEAD_HISTORY_BLOCKS || n > head) h.delete(n);
  }

  function witnessesAt(n: number, usable: string[]): AgreedHead | undefined {
    const byHash = new Map<string, string[]>();
    for (const id of usable) {
      const hash = history.get(id)?.get(n);
      if (hash === undefined) continue;
      const group = byHash.get(hash);
      if (group) group.push(id);
      else byHash.set(hash, [id]);
    }
    for (const [hash, ids] of byHash) {
      if (canFormIndependentPair) {
        for (const a of ids) {
          for (const b of ids) {
            if (areIndependent(domains.get(a)!, domains.get(b)!)) return { number: n, hash, witnesses: ids };
          }
        }
      } else if (ids.length === usable.length) {
        return { number: n, hash, witnesses: ids };
      }
    }
    return undefined;
  }

  return {
    observe(id, { number, hash, parentHash }) {
      const previous = heads.get(id);
      let anomaly: HeadAnomaly | undefined;
      if (previous !== undefined && number < previous - maxBackwardsBlocks) {
        anomaly = { kind: "backwards", from: previous, to: number };
      } else if (agreed && number > agreed.number + maxJumpBlocks) {
        anomaly = { kind: "jump", from: agreed.number, to: number };
      }
      if (anomaly) return anomaly;
      if (previous !== undefined && number < previous) {
        // A shallow reorg: what this upstream said above the new head is no longer its chain, and it takes it back.
        const h = history.get(id);
        const taken = retracted.get(id) ?? new Map<number, string>();
        retracted.set(id, taken);
        if (h)
          for (const [n, said] of h) {
            if (n <= number) continue;
            h.delete(n);
            taken.set(n, said);
          }
      }
      heads.set(id, number);
      record(id, number, hash);
      if (number > 0) record(id, number - 1, parentHash);
      prune(id, number);
      return undefined;
    },
    headOf: (id) => heads.get(id),
    forget(id) {
      history.delete(id);
      retracted.delete(id);
      held.delete(id);
      heads.delete(id);
    },
    agree(usable) {
      const ids = [...heads.keys()].filter(usable);
      if (ids.length === 0) return agreed;
      // Single-domain: every usable upstream must have spoken, or the first to report would set the head alone.
      if (!canFormIndependentPair && [...domains.keys()].some((id) => usable(id) && !heads.has(id))) return agreed;
      // Start where agreement is possible at all: the highest block an independent pair (or, single-domain, every
      // usable upstream) has reached. Starting at the single highest head would let one upstream far ahead (a liar
      // or another chain) push the search window past the honest heads and freeze the agreed head.
      let top = -1;
      if (canFormIndependentPair) {
        for (const a of ids) {
          for (const b of ids) {
            if (areIndependent(domains.get(a)!, domains.get(b)!))
              top = Math.max(top, Math.min(heads.get(a)!, heads.get(b)!));
          }
        }
      } else {
        top = Math.min(...ids.map((id) => heads.get(id)!));
      }
      const floor = Math.max(agreed?.number ?? -1, top - HEAD_HISTORY_BLOCKS);
      for (let n = top; n >= floor && n >= 0; n--) {
        const found = witnessesAt(n, ids);
        if (found) {
          if (!agreed || found.number >= agreed.number) agreed = found;
          break;
        }
      }
      return agreed;
    },
    current: () => agreed,
    agreedAt(number, usable) {
      return witnessesAt(number, [...heads.keys()].filter(usable));
    },
    linkBroken(id, number, hash, parentHash) {
      const h = history.get(id);
      const here = h?.get(number);
      const below = h?.get(number - 1);
      return (here !== undefined && here !== hash) || (below !== undefined && below !== parentHash);
    },
    hashOf: (id, number) => history.get(id)?.get(number) ?? held.get(id)?.get(number),
    recordAncestor(id, number, hash) {
      const head = heads.get(id);
      if (head !== undefined && number < head && number >= head - HEAD_HISTORY_BLOCKS) record(id, number, hash);
    },
    hold(id, number) {
      const h = history.get(id);
      if (!h) return;
      const kept = held.get(id) ?? new Map<number, string>();
      held.set(id, kept);
      for (const [n, said] of h) {
        if (n >= number) continue;
        h.delete(n);
        kept.set(n, said);
      }
    },
    release(id, metAt) {
      const kept = held.get(id);
      held.delete(id);
      const h = history.get(id);
      if (!kept || !h || metAt === undefined) return;
      for (const [n, said] of kept) if (n <= metAt && !h.has(n)) h.set(n, said);
    },
    offBranch(head, number, hash) {
      if (number > head.number) return true;
      return head.witnesses.some((id) => history.get(id)?.get(number) !== hash);
    },
    doubted(number, hash, usable) {
      // While independent witnesses still agree on a block there, one upstream saying otherwise moves nothing (a liar
      // reporting branches cannot evict what honest domains agree on); with no agreement, any contradiction counts,
      // and so does an upstream taking the block back (its head went below it).
      const agreed = witnessesAt(number, [...heads.keys()].filter(usable));
      if (agreed) return agreed.hash !== hash;
      for (const [id, h] of history) {
        const said = h.get(number);
        if (said !== undefined && said !== hash && usable(id)) return true;
      }
      for (const [id, r] of retracted) if (r.get(number) === hash && usable(id)) return true;
      return false;
    },
  };
}

/**
 * The value (e.g. a genesis hash) that independent witnesses report alike, by the same rule as the agreed head:
 * two upstreams that are independent, or — when the upstreams cannot form an independent pair at all — every one
 * that reported so far. Undefined while no value qualifies.
 */
export function agreedValue(
  reports: ReadonlyMap<string, string>,
  upstreams: readonly { id: string; domain: FailureDomain }[],
): string | undefined {
  const domainOf = new Map(upstreams.map((u) => [u.id, u.domain]));
  const canFormIndependentPair = upstreams.some((a) => upstreams.some((b) => areIndependent(a.domain, b.domain)));
  const byValue = new Map<string, string[]>();
  for (const [id, value] of reports) byValue.set(value, [...(byValue.get(value) ?? []), id]);
  for (const [value, ids] of byValue) {
    if (!canFormIndependentPair) {
      // One operator or one outage domain only: nothing independent to compare with, so all who answered must agree.
      if (ids.length === reports.size) return value;
      continue;
    }
    for (const a of ids) for (const b of ids) if (areIndependent(domainOf.get(a)!, domainOf.get(b)!)) return value;
  }
  return undefined;
}
