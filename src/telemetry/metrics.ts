/**
 * Every metric Multihome exports, in one place (docs/metrics.md lists them; a test keeps the two in step). Each
 * gateway gets its own prom-client Registry — never the global one — so two gateways in one process do not collide.
 *
 * Label values come from closed sets only: configured chain ids, upstream ids and failure domains, Multihome's own
 * method names (anything else is `other`), error code names. Nothing a client sends can create a label value, and no
 * upstream URL is ever a label. Instruments on the hot path are bound once (per upstream at start, per chain, method
 * and outcome on first use), so recording is a map lookup and an add. Gauges that mirror state (breakers, head lag,
 * admission, cache size) are read from the gateway's status when scraped, not pushed from the hot path.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { ERRORS } from "../core/errors.ts";
import { METHODS } from "../core/methods.ts";
import type {
  ChainMetrics,
  Metrics,
  RefusalReason,
  UpstreamCallOutcome,
  UpstreamIdentity,
  UpstreamMetrics,
  VerificationOutcome,
} from "../core/ports.ts";
import type { Gateway } from "../engine/gateway.ts";

/** Latency buckets, seconds: from a cache hit to the request deadline. */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods named in labels besides Multihome's own table: the WebSocket subscription calls. */
const SUBSCRIPTION_METHODS = new Set(["eth_subscribe", "eth_unsubscribe"]);

/** A method as labels and logs name it: one of Multihome's own, or `other` (a client never creates a label value). */
export function methodLabel(method: string): string {
  return Object.hasOwn(METHODS, method) || SUBSCRIPTION_METHODS.has(method) ? method : "other";
}

/** Request outcomes: `ok`, the chain's own error, the body-level `none` method's outcomes, and every error code. */
const OUTCOMES = new Set<string>(["ok", "execution_error", ...Object.keys(ERRORS)]);

const UPSTREAM_LABELS = ["chain", "upstream", "operator", "hosting", "region"] as const;
const UPSTREAM_ERROR_KINDS: readonly Exclude<UpstreamCallOutcome, "ok">[] = [
  "timeout",
  "connect",
  "reset",
  "rate_limited",
  "server_error",
  "malformed",
  "unsupported",
  "unknown_error",
  "too_large",
];
const BREAKER_STATES = ["closed", "open", "half_open"] as const;
const ADMISSION_STATES = ["pending", "admitted", "cordoned"] as const;

/** What scrape-time gauges read: the gateway's own status. */
export type StatusSource = Pick<Gateway, "readiness" | "cacheStats">;

export interface PrometheusMetrics extends Metrics {
  /** This gateway's registry: `/metrics` serves `registry.metrics()` with `registry.contentType`. */
  registry: Registry;
  /** Where the state gauges read from when scraped (set once the gateway exists). */
  watch(source: StatusSource): void;
}

export interface MetricsOptions {
  /** The chains served: any other chain id is labelled `other`. */
  chainIds: readonly number[];
}

/** A series bound and shown at 0 from the start, so `rate()` and `increase()` see its first event. */
function zeroed(series: Counter.Internal): Counter.Internal {
  series.inc(0);
  return series;
}

export function createMetrics(options: MetricsOptions): PrometheusMetrics {
  const registry = new Registry();
  const registers = [registry];
  const served = new Map(options.chainIds.map((id) => [id, String(id)]));
  const chainLabel = (chainId: number) => served.get(chainId) ?? "other";
  let source: StatusSource | undefined;

  const requests = new Counter({
    name: "multihome_requests_total",
    help: "Client JSON-RPC calls answered, by chain, method and outcome (ok, an error code name, execution_error).",
    labelNames: ["chain", "method", "outcome"],
    registers,
  });
  const requestDuration = new Histogram({
    name: "multihome_request_duration_seconds",
    help: "Time to answer a client JSON-RPC call, seconds.",
    labelNames: ["chain", "method"],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers,
  });
  const refused = new Counter({
    name: "multihome_refused_total",
    help: "Requests, connections and messages turned away at the front door, by reason.",
    labelNames: ["reason"],
    registers,
  });
  const upstreamDuration = new Histogram({
    name: "multihome_upstream_call_duration_seconds",
    help: "Duration of one attempt sent to an upstream (cancelled hedges excluded), seconds.",
    labelNames: UPSTREAM_LABELS,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers,
  });
  const upstreamErrors = new Counter({
    name: "multihome_upstream_errors_total",
    help: "Upstream attempts that failed, by kind of failure.",
    labelNames: [...UPSTREAM_LABELS, "kind"],
    registers,
  });
  const disputes = new Counter({
    name: "multihome_upstream_disputes_total",
    help: "Upstream answers that failed verification (proof, header hash, quorum).",
    labelNames: UPSTREAM_LABELS,
    registers,
  });
  const cordons = new Counter({
    name: "multihome_upstream_cordons_total",
    help: "Times an upstream was cordoned, by reason (disputes, wrong_chain).",
    labelNames: [...UPSTREAM_LABELS, "reason"],
    registers,
  });
  const verifications = new Counter({
    name: "multihome_verifications_total",
    help: "Answers to client calls by how they were checked (proof, quorum, single, none) or failed.",
    labelNames: ["chain", "outcome"],
    registers,
  });
  const cacheLookups = new Counter({
    name: "multihome_cache_requests_total",
    help: "Cacheable reads looked up in the process cache, by result (hit, miss).",
    labelNames: ["chain", "result"],
    registers,
  });
  const lastKnownGood = new Counter({
    name: "multihome_last_known_good_total",
    help: "Reads with no live verified answer, by what the last-known-good book had: served (stale), attached, missing.",
    labelNames: ["chain", "result"],
    registers,
  });
  const outboxTransitions = new Counter({
    name: "multihome_outbox_transactions_total",
    help: "Transactions that entered an outbox status through this process.",
    labelNames: ["chain", "status"],
    registers,
  });
  const outboxPending = new Gauge({
    name: "multihome_outbox_pending_transactions",
    help: "Pending transactions the last outbox round found (at most one round's batch).",
    labelNames: ["chain"],
    registers,
  });
  const webSocketConnections = new Gauge({
    name: "multihome_websocket_connections",
    help: "WebSocket connections open.",
    registers,
  });
  const webSocketSubscriptions = new Gauge({
    name: "multihome_websocket_subscriptions",
    help: "eth_subscribe subscriptions open.",
    registers,
  });

  // State read when scraped: nothing on the hot path keeps these up to date.
  const statusGauge = (
    name: string,
    help: string,
    labelNames: readonly string[],
    fill: (gauge: Gauge, status: ReturnType<StatusSource["readiness"]>) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        if (source) fill(this, source.readiness());
      },
    });
  const upstreamLabels = (chainId: number, u: { id: string; operator: string; hosting: string; region: string }) => ({
    chain: chainLabel(chainId),
    upstream: u.id,
    operator: u.operator,
    hosting: u.hosting,
    region: u.region,
  });
  statusGauge(
    "multihome_chain_ready",
    "1 when the chain has an agreed head and a usable upstream.",
    ["chain"],
    (g, r) => {
      for (const c of r.chains) g.set({ chain: chainLabel(c.chainId) }, c.ready ? 1 : 0);
    },
  );
  statusGauge("multihome_chain_head_block", "The agreed head's block number.", ["chain"], (g, r) => {
    for (const c of r.chains) if (c.head) g.set({ chain: chainLabel(c.chainId) }, c.head.number);
  });
  statusGauge(
    "multihome_upstream_head_lag_blocks",
    "Blocks an upstream's last reported head is behind the agreed head.",
    UPSTREAM_LABELS,
    (g, r) => {
      for (const c of r.chains) {
        if (!c.head) continue;
        for (const u of c.upstreams)
          if (u.head !== undefined) g.set(upstreamLabels(c.chainId, u), Math.max(0, c.head.number - u.head));
      }
    },
  );
  statusGauge(
    "multihome_upstream_breaker_state",
    "1 for the state an upstream's circuit breaker is in (closed, open, half_open), 0 for the others.",
    [...UPSTREAM_LABELS, "state"],
    (g, r) => {
      for (const c of r.chains)
        for (const u of c.upstreams)
          for (const state of BREAKER_STATES)
            g.set({ ...upstreamLabels(c.chainId, u), state }, u.breaker === state ? 1 : 0);
    },
  );
  statusGauge(
    "multihome_upstream_admission",
    "1 for an upstream's admission state (pending, admitted, cordoned for being on another chain), 0 for the others.",
    [...UPSTREAM_LABELS, "state"],
    (g, r) => {
      for (const c of r.chains)
        for (const u of c.upstreams)
          for (const state of ADMISSION_STATES)
            g.set({ ...upstreamLabels(c.chainId, u), state }, u.admission === state ? 1 : 0);
    },
  );
  statusGauge(
    "multihome_upstream_cordoned",
    "1 while an upstream is cordoned (wrong chain, or failed verifications), else 0.",
    UPSTREAM_LABELS,
    (g, r) => {
      for (const c of r.chains) for (const u of c.upstreams) g.set(upstreamLabels(c.chainId, u), u.cordoned ? 1 : 0);
    },
  );
  statusGauge(
    "multihome_domain_down",
    "1 while a failure domain (hosting/region) is judged down on a chain, else 0.",
    ["chain", "hosting", "region"],
    (g, r) => {
      for (const c of r.chains) {
        const down = new Set(c.domainsDown);
        for (const u of c.upstreams)
          g.set({ chain: chainLabel(c.chainId), hosting: u.hosting, region: u.region }, down.has(u.domain) ? 1 : 0);
      }
    },
  );
  new Gauge({
    name: "multihome_cache_bytes",
    help: "Bytes the process answer cache counts against cache.maxBytes.",
    registers,
    collect() {
      if (source) this.set(source.cacheStats().bytes);
    },
  });
  new Gauge({
    name: "multihome_cache_entries",
    help: "Entries in the process answer cache.",
    registers,
    collect() {
      if (source) this.set(source.cacheStats().entries);
    },
  });

  const chains = new Map<number, ChainMetrics>();
  function chain(chainId: number): ChainMetrics {
    let bound = chains.get(chainId);
    if (bound) return bound;
    const label = chainLabel(chainId);
    const upstreams = new Map<string, UpstreamMetrics>();
    const verified = Object.fromEntries(
      (["proof", "quorum", "single", "none", "failed"] as const).map((o) => [
        o,
        zeroed(verifications.labels({ chain: label, outcome: o })),
      ]),
    ) as Record<VerificationOutcome, Counter.Internal>;
    const hit = zeroed(cacheLookups.labels({ chain: label, result: "hit" }));
    const miss = zeroed(cacheLookups.labels({ chain: label, result: "miss" }));
    const lkg = {
      served: zeroed(lastKnownGood.labels({ chain: label, result: "served" })),
      attached: zeroed(lastKnownGood.labels({ chain: label, result: "attached" })),
      missing: zeroed(lastKnownGood.labels({ chain: label, result: "missing" })),
    };
    const outbox = {
      pending: zeroed(outboxTransitions.labels({ chain: label, status: "pending" })),
      included: zeroed(outboxTransitions.labels({ chain: label, status: "included" })),
      replaced: zeroed(outboxTransitions.labels({ chain: label, status: "replaced" })),
      expired: zeroed(outboxTransitions.labels({ chain: label, status: "expired" })),
    };
    const pending = outboxPending.labels({ chain: label });
    bound = {
      upstream(u: UpstreamIdentity) {
        let m = upstreams.get(u.id);
        if (m) return m;
        const labels = {
          chain: label,
          upstream: u.id,
          operator: u.domain.operator,
          hosting: u.domain.hosting,
          region: u.domain.region,
        };
        const duration = upstreamDuration.labels(labels);
        const errors = Object.fromEntries(
          UPSTREAM_ERROR_KINDS.map((kind) => [kind, zeroed(upstreamErrors.labels({ ...labels, kind }))]),
        ) as Record<Exclude<UpstreamCallOutcome, "ok">, Counter.Internal>;
        const disputed = zeroed(disputes.labels(labels));
        const cordoned = {
          disputes: zeroed(cordons.labels({ ...labels, reason: "disputes" })),
          wrong_chain: zeroed(cordons.labels({ ...labels, reason: "wrong_chain" })),
        };
        m = {
          call(outcome, seconds) {
            duration.observe(seconds);
            if (outcome !== "ok") errors[outcome].inc();
          },
          dispute: () => disputed.inc(),
          cordon: (reason) => cordoned[reason].inc(),
        };
        upstreams.set(u.id, m);
        return m;
      },
      verification: (outcome) => verified[outcome].inc(),
      cache: (isHit) => (isHit ? hit : miss).inc(),
      lastKnownGood: (result) => lkg[result].inc(),
      outboxTransition: (status) => outbox[status].inc(),
      outboxPending: (count) => pending.set(count),
    };
    chains.set(chainId, bound);
    return bound;
  }

  /** Request instruments by chain label, method label and outcome, bound on first use. */
  const requestSeries = new Map<
    string,
    Map<string, { duration: Histogram.Internal<string>; outcomes: Map<string, Counter.Internal> }>
  >();
  function request(chainId: number, method: string | undefined, outcome: string, seconds: number): void {
    const chain = chainLabel(chainId);
    const name = method === undefined ? "none" : methodLabel(method);
    let byMethod = requestSeries.get(chain);
    if (!byMethod) {
      byMethod = new Map();
      requestSeries.set(chain, byMethod);
    }
    let series = byMethod.get(name);
    if (!series) {
      series = { duration: requestDuration.labels({ chain, method: name }), outcomes: new Map() };
      byMethod.set(name, series);
    }
    const result = OUTCOMES.has(outcome) ? outcome : "other";
    let counter = series.outcomes.get(result);
    if (!counter) {
      counter = requests.labels({ chain, method: name, outcome: result });
      series.outcomes.set(result, counter);
    }
    counter.inc();
    series.duration.observe(seconds);
  }

  const refusals = new Map<RefusalReason, Counter.Internal>();
  for (const reason of ["auth", "cors", "rate_limit", "connection_cap", "too_large", "slow_consumer"] as const)
    refusals.set(reason, zeroed(refused.labels({ reason })));

  for (const id of options.chainIds) chain(id);

  return {
    registry,
    watch(s) {
      source = s;
    },
    chain,
    request,
    refused: (reason) => refusals.get(reason)?.inc(),
    webSocketConnections: (delta) => webSocketConnections.inc(delta),
    webSocketSubscriptions: (delta) => webSocketSubscriptions.inc(delta),
  };
}
