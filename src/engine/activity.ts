/**
 * What the gateway has been doing, for the operator's view: which upstreams served the last minute's traffic, recent
 * events (failovers, disputes, cordons, domains going down and up, drills), and outage drills.
 *
 * A drill treats every upstream of a failure domain (a hosting provider, an operator or a region) as down for a while:
 * their transports refuse to connect, so the gateway meets exactly what an outage would show it — breakers, domain
 * health, anchoring and last-known-good values all react as they would for real. While it runs, and for a recovery
 * window after it, the client requests the gateway answers are counted: how many failed, their p50/p99, and which
 * domains served them.
 */
import type { ChainKey } from "../core/chain-key.ts";
import type { FailureDomain } from "../core/domains/domain.ts";
import {
  type Drill,
  type DrillRefusal,
  type DrillSelector,
  type DrillStats,
  drillLabel,
  drillSelects,
} from "../core/domains/drill.ts";
import { type Clock, type Transport, TransportError } from "../core/ports.ts";

/** Events kept, newest first; older ones are dropped. */
export const MAX_EVENTS = 100;
/** The same kind of event about the same upstream or domain is recorded at most once per this many ms. */
export const EVENT_COALESCE_MS = 10_000;
/** Traffic shares cover this many ms (one-second slots). */
export const TRAFFIC_WINDOW_MS = 60_000;
/** The longest drill, ms. */
export const DRILL_MAX_DURATION_MS = 3_600_000;
/** The shortest drill, ms. */
export const DRILL_MIN_DURATION_MS = 1_000;
/** After a drill, requests are still counted for as long as it ran, up to this many ms: the recovery. */
export const DRILL_MAX_RECOVERY_MS = 30_000;
/** Drills remembered (running or finished); the oldest finished ones are forgotten first. */
export const MAX_DRILLS = 20;

export type EventKind =
  | "failover"
  | "dispute"
  | "cordon"
  | "domain_down"
  | "domain_up"
  | "drill_started"
  | "drill_ended";

export interface ActivityEvent {
  at: number;
  kind: EventKind;
  /** The chain id, or `solana/{name}` for a Solana cluster. */
  chainId?: ChainKey;
  upstream?: string;
  domain?: string;
  message: string;
}

/** One answered client request, as the activity counts it. */
export interface ServedRequest {
  /** The upstream that answered, if one did (not for cached answers or refusals). */
  upstream?: { id: string; outageDomain: string };
  /** The gateway failed to answer (unavailable, timeout, internal). */
  failed: boolean;
  latencyMs: number;
  /** When the request arrived (ms since epoch): a drill counts the requests that arrived while it ran. */
  arrivedAt: number;
}

export interface Activity {
  record(event: Omit<ActivityEvent, "at">, at?: number): void;
  /** Newest first. */
  events(): ActivityEvent[];
  served(request: ServedRequest): void;
  /** Calls each upstream answered over the last TRAFFIC_WINDOW_MS. */
  traffic(): Map<string, number>;
  /** Starts a drill against the upstreams the selector matches (all of their chains). */
  startDrill(
    selector: DrillSelector,
    durationMs: number,
    upstreams: readonly { id: string; domain: FailureDomain }[],
  ): Drill | DrillRefusal;
  stopDrill(id: string): Drill | undefined;
  drills(): Drill[];
  /** Whether a running drill takes this domain down. */
  drilled(domain: FailureDomain): boolean;
}

/**
 * Latencies in logarithmic buckets 2 % wide, from 0.01 ms to about 4 minutes: quantiles within 2 %, in fixed memory
 * however long a drill runs.
 */
const BUCKET_GROWTH = 1.02;
const BUCKET_MIN_MS = 0.01;
const BUCKETS = 1_000;

function createStats() {
  const buckets = new Uint32Array(BUCKETS);
  const servedBy: Record<string, number> = {};
  let requests = 0;
  let failed = 0;
  const quantile = (q: number): number | null => {
    if (requests === 0) return null;
    const rank = Math.max(1, Math.ceil(q * requests));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += buckets[i]!;
      if (seen >= rank) return BUCKET_MIN_MS * BUCKET_GROWTH ** (i + 1);
    }
    return null;
  };
  return {
    add(r: ServedRequest) {
      requests++;
      if (r.failed) failed++;
      else {
        const by = r.upstream?.outageDomain ?? "local";
        servedBy[by] = (servedBy[by] ?? 0) + 1;
      }
      const i = Math.floor(Math.log(Math.max(r.latencyMs, BUCKET_MIN_MS) / BUCKET_MIN_MS) / Math.log(BUCKET_GROWTH));
      buckets[Math.min(BUCKETS - 1, i)]!++;
    },
    view(): DrillStats {
      return { requests, failed, p50Ms: quantile(0.5), p99Ms: quantile(0.99), servedBy: { ...servedBy } };
    },
  };
}

interface DrillRecord {
  id: string;
  selector: DrillSelector;
  label: string;
  startedAt: number;
  endsAt: number;
  afterEndsAt: number;
  stopped: boolean;
  ended: boolean;
  upstreams: string[];
  during: ReturnType<typeof createStats>;
  after: ReturnType<typeof createStats>;
}

export function createActivity(clock: Clock): Activity {
  const events: ActivityEvent[] = [];
  const lastEventAt = new Map<string, number>();
  /** upstream id → served counts per one-second slot, with the second each slot holds. */
  const slots = new Map<string, { second: Int32Array; count: Uint32Array }>();
  const drills: DrillRecord[] = [];
  let nextDrill = 1;
  /** No drill runs from this time on (the latest end of any drill started). */
  let drillsRunUntil = 0;

  function record(event: Omit<ActivityEvent, "at">, now = clock.now()) {
    const key = `${event.kind}\u0000${event.chainId ?? ""}\u0000${event.upstream ?? event.domain ?? ""}`;
    const last = lastEventAt.get(key);
    // Drills are the operator's own acts: each start and end is shown, however close together.
    const drillEvent = event.kind === "drill_started" || event.kind === "drill_ended";
    if (last !== undefined && now - last < EVENT_COALESCE_MS && !drillEvent) return;
    lastEventAt.set(key, now);
    // Keys of coalescing outlive their events only briefly: forget the stale ones when the map grows.
    if (lastEventAt.size > MAX_EVENTS * 4) {
      for (const [k, at] of lastEventAt) if (now - at >= EVENT_COALESCE_MS) lastEventAt.delete(k);
    }
    events.unshift({ at: now, ...event });
    if (events.length > MAX_EVENTS) events.length = MAX_EVENTS;
  }

  function view(d: DrillRecord, now: number): Drill {
    return {
      id: d.id,
      selector: { ...d.selector },
      label: d.label,
      state: now < d.endsAt ? "running" : now < d.afterEndsAt ? "recovering" : d.stopped ? "stopped" : "done",
      startedAt: d.startedAt,
      endsAt: d.endsAt,
      afterEndsAt: d.afterEndsAt,
      upstreams: [...d.upstreams],
      during: d.during.view(),
      after: d.after.view(),
    };
  }

  /** Notes drills that have ended since last asked. */
  function settle(now: number) {
    for (const d of drills) {
      if (d.ended || now < d.endsAt) continue;
      d.ended = true;
      const message = `drill ${d.label} ${d.stopped ? "stopped" : "ended"}; its upstreams are back`;
      record({ kind: "drill_ended", domain: d.label, message }, d.endsAt);
    }
  }

  return {
    record,
    events() {
      settle(clock.now());
      return events.map((e) => ({ ...e }));
    },
    served(r) {
      const now = clock.now();
      if (r.upstream) {
        const second = Math.floor(now / 1000);
        let s = slots.get(r.upstream.id);
        if (!s) {
          const size = TRAFFIC_WINDOW_MS / 1000;
          s = { second: new Int32Array(size).fill(-1), count: new Uint32Array(size) };
          slots.set(r.upstream.id, s);
        }
        const i = second % s.second.length;
        if (s.second[i] !== second) {
          s.second[i] = second;
          s.count[i] = 0;
        }
        s.count[i]!++;
      }
      for (const d of drills) {
        if (r.arrivedAt < d.startedAt || r.arrivedAt >= d.afterEndsAt) continue;
        (r.arrivedAt < d.endsAt ? d.during : d.after).add(r);
      }
    },
    traffic() {
      const oldest = Math.floor(clock.now() / 1000) - TRAFFIC_WINDOW_MS / 1000;
      const totals = new Map<string, number>();
      for (const [id, s] of slots) {
        let total = 0;
        for (let i = 0; i < s.second.length; i++) if (s.second[i]! > oldest) total += s.count[i]!;
        totals.set(id, total);
      }
      return totals;
    },
    startDrill(selector, durationMs, upstreams) {
      const now = clock.now();
      settle(now);
      const label = drillLabel(selector);
      if (label === "") return { code: "invalid_drill", message: "a drill needs a hosting, operator or region" };
      if (!(durationMs >= DRILL_MIN_DURATION_MS && durationMs <= DRILL_MAX_DURATION_MS)) {
        const message = `a drill lasts ${DRILL_MIN_DURATION_MS} to ${DRILL_MAX_DURATION_MS} ms, not ${durationMs}`;
        return { code: "invalid_drill", message };
      }
      const hit = upstreams.filter((u) => drillSelects(selector, u.domain)).map((u) => u.id);
      if (hit.length === 0) return { code: "invalid_drill", message: `no upstream is in ${label}` };
      if (drills.some((d) => d.label === label && now < d.endsAt)) {
        return { code: "drill_running", message: `a drill of ${label} is running already` };
      }
      const d: DrillRecord = {
        id: `drill-${nextDrill++}`,
        selector: { ...selector },
        label,
        startedAt: now,
        endsAt: now + durationMs,
        afterEndsAt: now + durationMs + Math.min(durationMs, DRILL_MAX_RECOVERY_MS),
        stopped: false,
        ended: false,
        upstreams: [...new Set(hit)],
        during: createStats(),
        after: createStats(),
      };
      drills.push(d);
      drillsRunUntil = Math.max(drillsRunUntil, d.endsAt);
      // Forget the oldest finished drills beyond the bound; running ones are never forgotten (at most one per label).
      for (let i = 0; drills.length > MAX_DRILLS && i < drills.length; ) {
        if (now >= drills[i]!.afterEndsAt) drills.splice(i, 1);
        else i++;
      }
      record({
        kind: "drill_started",
        domain: label,
        message: `drill: ${label} treated as down for ${Math.round(durationMs / 1000)} s (${d.upstreams.join(", ")})`,
      });
      return view(d, now);
    },
    stopDrill(id) {
      const now = clock.now();
      const d = drills.find((x) => x.id === id);
      if (!d) return undefined;
      if (now < d.endsAt) {
        d.stopped = true;
        d.afterEndsAt = now + Math.min(now - d.startedAt, DRILL_MAX_RECOVERY_MS);
        d.endsAt = now;
      }
      settle(now);
      return view(d, now);
    },
    drills() {
      const now = clock.now();
      settle(now);
      return drills.map((d) => view(d, now));
    },
    drilled(domain) {
      // Asked on every upstream send: one comparison unless some drill may still run.
      const now = clock.now();
      if (now >= drillsRunUntil) return false;
      for (const d of drills) if (now >= d.startedAt && now < d.endsAt && drillSelects(d.selector, domain)) return true;
      return false;
    },
  };
}

/** A transport that refuses to connect while a drill takes its upstream's domain down, as an outage would. */
export function drillable(transport: Transport, down: () => boolean): Transport {
  return {
    send(body, options) {
      if (down()) return Promise.reject(new TransportError("connect", "drill: this upstream's domain is down"));
      return transport.send(body, options);
    },
    close: () => transport.close(),
  };
}
