/**
 * A seeded fault schedule for the randomized fault test: per upstream, healthy stretches alternating with fault
 * episodes (node crashes, hangs, HTTP 500s, stalls, truncated bodies, connection resets), one domain that lies for a
 * while, and one blackout in which every upstream is unreachable while the chain goes on. Pure: the same seed gives the
 * same schedule, so a failing run can be replayed with its seed.
 */
import { mulberry32 } from "../fault-proxy.ts";

export type EpisodeKind =
  /** The node process dies (open connections reset, new ones refused) and stops following the chain; it comes back synced. */
  | "crash"
  /** Requests are read and never answered. */
  | "hang"
  /** Every request answers HTTP 500. */
  | "http500"
  /** Every request waits 2 s before it is forwarded. */
  | "stall"
  /** Half the answers are cut short under their full Content-Length. */
  | "truncate"
  /** Half the connections are reset after the request was read. */
  | "reset"
  /** Answers lies: zero balances in proofs and balances, flipped receipt statuses, wrong state roots. */
  | "lie"
  /** The upstream is unreachable as part of a blackout of every domain (the nodes keep following the chain). */
  | "blackout";

export interface Episode {
  node: string;
  kind: EpisodeKind;
  /** Milliseconds from the start of the run. */
  startMs: number;
  endMs: number;
}

export interface ScheduleOptions {
  seed: number;
  nodes: string[];
  /** Length of the faulty part of the run, ms. */
  durationMs: number;
  /** No fault starts before this, so the gateway starts settled. @default 2000 */
  warmupMs?: number;
}

export interface Schedule {
  seed: number;
  /** The one node that lies (once) in this schedule. */
  liar: string;
  episodes: Episode[];
  durationMs: number;
}

/** Weights of the per-node fault kinds (the lie and the blackout are placed separately). */
const KINDS: [EpisodeKind, number, [number, number]][] = [
  ["crash", 3, [2_000, 6_000]],
  ["hang", 2, [1_000, 4_000]],
  ["http500", 2, [1_000, 4_000]],
  ["stall", 2, [2_000, 5_000]],
  ["truncate", 1, [1_000, 4_000]],
  ["reset", 1, [1_000, 4_000]],
];
const HEALTHY_MS: [number, number] = [1_500, 7_000];
const LIE_MS: [number, number] = [3_000, 6_000];
const BLACKOUT_MS: [number, number] = [2_500, 5_000];
/** A node is left alone this long around the blackout, so the blackout's edges are the blackout's. */
const BLACKOUT_MARGIN_MS = 500;

export function makeSchedule(options: ScheduleOptions): Schedule {
  const { seed, nodes, durationMs } = options;
  const warmupMs = options.warmupMs ?? 2_000;
  const random = mulberry32(seed);
  const between = ([lo, hi]: [number, number]) => Math.round(lo + random() * (hi - lo));
  const pickKind = (): [EpisodeKind, [number, number]] => {
    const total = KINDS.reduce((s, [, w]) => s + w, 0);
    let r = random() * total;
    for (const [kind, w, range] of KINDS) {
      r -= w;
      if (r < 0) return [kind, range];
    }
    const [kind, , range] = KINDS[0]!;
    return [kind, range];
  };

  const blackoutStart = Math.round(warmupMs + durationMs * (0.3 + 0.3 * random()));
  const blackoutEnd = blackoutStart + between(BLACKOUT_MS);
  const liar = nodes[Math.floor(random() * nodes.length)]!;
  const lieStart = Math.round(warmupMs + durationMs * 0.1 * random());
  const episodes: Episode[] = [];
  for (const node of nodes) {
    let t = warmupMs + between([0, HEALTHY_MS[1]]);
    const busy: [number, number][] = [[blackoutStart - BLACKOUT_MARGIN_MS, blackoutEnd + BLACKOUT_MARGIN_MS]];
    if (node === liar) {
      const lieEnd = lieStart + between(LIE_MS);
      episodes.push({ node, kind: "lie", startMs: lieStart, endMs: lieEnd });
      busy.push([lieStart - BLACKOUT_MARGIN_MS, lieEnd + BLACKOUT_MARGIN_MS]);
    }
    while (t < warmupMs + durationMs) {
      const [kind, range] = pickKind();
      const end = t + between(range);
      if (end > warmupMs + durationMs) break;
      if (!busy.some(([s, e]) => t < e && end > s)) episodes.push({ node, kind, startMs: t, endMs: end });
      t = end + between(HEALTHY_MS);
    }
    episodes.push({ node, kind: "blackout", startMs: blackoutStart, endMs: blackoutEnd });
  }
  episodes.sort((a, b) => a.startMs - b.startMs || a.node.localeCompare(b.node));
  return { seed, liar, episodes, durationMs: warmupMs + durationMs };
}

/**
 * When a node was up and honest: the complement of its episodes (as scheduled, or as they actually ran) within
 * [0, end), as [start, end) pairs in run milliseconds. A node that lied stays out from its lie on: the gateway holds a
 * liar back for its cordon, by design.
 */
export function honestIntervals(episodes: readonly Episode[], node: string, end: number): [number, number][] {
  const mine = episodes.filter((e) => e.node === node).sort((a, b) => a.startMs - b.startMs);
  const out: [number, number][] = [];
  let from = 0;
  for (const e of mine) {
    if (e.startMs > from) out.push([from, e.startMs]);
    if (e.kind === "lie") return out;
    from = Math.max(from, e.endMs);
  }
  if (end > from) out.push([from, end]);
  return out;
}
