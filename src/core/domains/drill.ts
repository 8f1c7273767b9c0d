/**
 * Outage drills as the operator names them: which failure domain (`hosting=aws`, `operator=alpha-rpc,region=us-east-1`)
 * a drill takes down, and what it reports. The engine runs drills (engine/activity.ts); the `multihome drill` command
 * asks a running gateway for one over the admin API, so both speak these shapes.
 */
import type { FailureDomain } from "./domain.ts";

export interface DrillSelector {
  hosting?: string;
  operator?: string;
  region?: string;
}

export interface DrillStats {
  requests: number;
  /** Requests the gateway could not answer: unavailable, timed out or internal errors (not the chain's own errors). */
  failed: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /**
   * Requests answered, by the outage domain (`hosting/region`) of the upstream that answered; `local` when no single
   * upstream did: the agreed head (eth_blockNumber), the chain id, the cache, or a proof checked against a block
   * several domains anchored.
   */
  servedBy: Record<string, number>;
}

export interface Drill {
  id: string;
  selector: DrillSelector;
  /** `hosting=aws`, `operator=alpha-rpc,region=us-east-1`. */
  label: string;
  state: "running" | "recovering" | "done" | "stopped";
  startedAt: number;
  endsAt: number;
  /** End of the recovery window, during which requests are still counted. */
  afterEndsAt: number;
  /** Upstreams the drill takes down, by id. */
  upstreams: string[];
  during: DrillStats;
  after: DrillStats;
}

/** Why a drill was not started: a malformed one (400), or one of the same domain running already (409). */
export interface DrillRefusal {
  code: "invalid_drill" | "drill_running";
  message: string;
}

const SELECTOR_FIELDS = ["hosting", "operator", "region"] as const;

export function drillLabel(selector: DrillSelector): string {
  return SELECTOR_FIELDS.filter((f) => selector[f] !== undefined)
    .map((f) => `${f}=${selector[f]}`)
    .join(",");
}

/** Parses `hosting=aws` or `hosting=aws,region=us-east-1`; undefined when malformed. */
export function parseDrillSelector(text: string): DrillSelector | undefined {
  const selector: DrillSelector = {};
  for (const part of text.split(",")) {
    const [field, value, ...rest] = part.split("=").map((s) => s.trim());
    if (rest.length > 0 || !value || !SELECTOR_FIELDS.includes(field as (typeof SELECTOR_FIELDS)[number])) return;
    const f = field as (typeof SELECTOR_FIELDS)[number];
    if (selector[f] !== undefined) return;
    selector[f] = value;
  }
  return Object.keys(selector).length > 0 ? selector : undefined;
}

export function drillSelects(selector: DrillSelector, domain: FailureDomain): boolean {
  return SELECTOR_FIELDS.every((f) => selector[f] === undefined || selector[f] === domain[f]);
}
