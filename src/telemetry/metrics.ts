/**
 * Every metric Multihome exports, in one place (docs/metrics.md lists them; a test keeps the two in step). Each
 * gateway gets its own prom-client Registry — never the global one — so two gateways in one process do not collide.
 *
 * Label values come from closed sets only: configured chain ids, upstream ids and failure domains, Multihome's own
 * method names (anything else is `other`), error code names. Nothing a client sends can create a label value, and no
 * upstream URL is ever a label.
 *
 * The hot path does not touch prom-client: a counter series is a plain number and a latency series an array of
 * bucket counts, held in objects bound once (per upstream at start, per chain, method and outcome on first use), so
 * recording is an add (prom-client hashes the labels on every `inc` and allocates on every `observe`, even on a bound
 * child; bench/metrics-cost.ts measures both). The numbers are copied into prom-client when scraped. Gauges that mirror
 * state (breakers, head lag, admission, cache size) are filled from one read of the gateway's status per scrape.
 */
import { Counter, Gauge, type Metric, Registry } from "prom-client";
import { ERRORS } from "../core/errors.ts";
import type {
  ChainKey,
  ChainMetrics,
  Metrics,
  RefusalReason,
  UpstreamCallOutcome,
  UpstreamIdentity,
  UpstreamMetrics,
  VerificationOutcome,
} from "../core/ports.ts";
import { methodLabel } from "../core/rpc/methods.ts";
import type { StatusSource } from "../core/rpc/status.ts";

/** Latency buckets, seconds: from a cache hit to the request deadline. */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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
const REFUSAL_REASONS: readonly RefusalReason[] = [
  "auth",
  "cors",
  "rate_limit",
  "connection_cap",
  "too_large",
  "slow_consumer",
];
const BREAKER_STATES = ["closed", "open", "half_open"] as const;
const ADMISSION_STATES = ["pending", "admitted", "cordoned"] as const;

/** What the admin listener serves as `GET /metrics`. */
export interface MetricsRegistry {
  contentType: string;
  /** Reads the gateway's status once, fills the state gauges, and returns every metric in the Prometheus text format. */
  scrape(): Promise<string>;
  /** The same, as prom-client's JSON: what a worker gives the primary to aggregate (metrics-aggregate.ts). */
  scrapeJson(): Promise<object[]>;
}

export interface PrometheusMetrics extends Metrics {
  /** This gateway's registry (its own, never prom-client's global one). */
  registry: MetricsRegistry;
  /** Where the state gauges read from when scraped (set once the gateway exists). */
  watch(source: StatusSource): void;
}

export interface MetricsOptions {
  /** The chains served (EVM chain ids, `solana/{name}` for Solana clusters): any other is labelled `other`. */
  chainIds: readonly ChainKey[];
}

type Labels = Record<string, string>;

/** One counter series: a plain number on the hot path. */
interface Count {
  readonly labels: Labels;
  value: number;
}

/** One latency series: observations per bucket of LATENCY_BUCKETS_SECONDS (not cumulative; the last is +Inf). */
interface Timing {
  readonly labels: Labels;
  readonly buckets: number[];
  sum: number;
  count: number;
}

function observe(t: Timing, seconds: number): void {
  let i = 0;
  while (i < LATENCY_BUCKETS_SECONDS.length && seconds > LATENCY_BUCKETS_SECONDS[i]!) i++;
  t.buckets[i]! += 1;
  t.sum += seconds;
  t.count += 1;
}

/** A latency series as the Prometheus text format has it: cumulative `_bucket`s with `le`, `_sum`, `_count`. */
function exposed(name: string, t: Timing) {
  let cumulative = 0;
  const values = LATENCY_BUCKETS_SECONDS.map((le, i): { metricName: string; labels: Labels; value: number } => {
    cumulative += t.buckets[i]!;
    return { metricName: `${name}_bucket`, labels: { ...t.labels, le: String(le) }, value: cumulative };
  });
  values.push(
    { metricName: `${name}_bucket`, labels: { ...t.labels, le: "+Inf" }, value: t.count },
    { metricName: `${name}_sum`, labels: t.labels, value: t.sum },
    { metricName: `${name}_count`, labels: t.labels, value: t.count },
  );
  return values;
}

export function createMetrics(options: MetricsOptions): PrometheusMetrics {
  const registry = new Registry();
  const registers = [registry];
  const served = new Map(options.chainIds.map((id) => [id, String(id)]));
  const chainLabel = (chainId: ChainKey) => served.get(chainId) ?? "other";
  let source: StatusSource | undefined;

  /** A counter family whose series are plain numbers; the function returned binds one, shown at 0 until it moves. */
  const counter = (name: string, help: string, labelNames: readonly string[]) => {
    const all: Count[] = [];
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const s of all) this.inc(s.labels, s.value);
      },
    });
    return (labels: Labels): Count => {
      const s = { labels, value: 0 };
      all.push(s);
      return s;
    };
  };
  /** A latency histogram family over LATENCY_BUCKETS_SECONDS whose series are plain bucket counts. */
  const histogram = (name: string, help: string) => {
    const all: Timing[] = [];
    const family = { name, help, type: "histogram", aggregator: "sum" } as const;
    // prom-client cannot take counts it did not observe itself, so the family hands it finished values to format.
    registry.registerMetric({
      ...family,
      get: async () => ({ ...family, values: all.flatMap((t) => exposed(name, t)) }),
    } as unknown as Metric);
    return (labels: Labels): Timing => {
      const t = { labels, buckets: new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0), sum: 0, count: 0 };
      all.push(t);
      return t;
    };
  };

  const requests = counter(
    "multihome_requests_total",
    "Client JSON-RPC calls answered, by chain, method and outcome (ok, an error code name, execution_error).",
    ["chain", "method", "outcome"],
  );
  const requestDuration = histogram(
    "multihome_request_duration_seconds",
    "Time to answer a client JSON-RPC call, seconds.",
  );
  const refused = counter(
    "multihome_refused_total",
    "Requests, connections and messages turned away at the front door, by reason.",
    ["reason"],
  );
  const upstreamDuration = histogram(
    "multihome_upstream_call_duration_seconds",
    "Duration of one attempt sent to an upstream (cancelled hedges excluded), seconds.",
  );
  const upstreamErrors = counter(
    "multihome_upstream_errors_total",
    "Upstream attempts that failed, by kind of failure.",
    [...UPSTREAM_LABELS, "kind"],
  );
  const disputes = counter(
    "multihome_upstream_disputes_total",
    "Upstream answers that failed verification (proof, header hash, quorum).",
    UPSTREAM_LABELS,
  );
  const cordons = counter(
    "multihome_upstream_cordons_total",
    "Times an upstream was cordoned, by reason (disputes, wrong_chain).",
    [...UPSTREAM_LABELS, "reason"],
  );
  const verifications = counter(
    "multihome_verifications_total",
    "Answers to client calls by how they were checked (proof, quorum, single, none) or failed.",
    ["chain", "outcome"],
  );
  const cacheLookups = counter(
    "multihome_cache_requests_total",
    "Client calls of cacheable reads looked up in the process cache, by result (hit, miss).",
    ["chain", "result"],
  );
  const lastKnownGood = counter(
    "multihome_last_known_good_total",
    "Reads with no live verified answer, by what the last-known-good book had: served (stale), attached, missing.",
    ["chain", "result"],
  );
  const outboxTransitions = counter(
    "multihome_outbox_transactions_total",
    "Transactions that entered an outbox status through this process.",
    ["chain", "status"],
  );
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

  // State filled by scrape() from one read of the gateway's status: nothing on the hot path keeps these up to date.
  // Over workers a state is the highest any reports (a head, a lag, a breaker open somewhere), not their sum.
  const stateGauge = (name: string, help: string, labelNames: readonly string[] = []) =>
    new Gauge({ name, help, labelNames, registers, aggregator: "max" });
  const chainReady = stateGauge("multihome_chain_ready", "1 when the chain has an agreed head and a usable upstream.", [
    "chain",
  ]);
  const chainHead = stateGauge("multihome_chain_head_block", "The agreed head's block number.", ["chain"]);
  const headLag = stateGauge(
    "multihome_upstream_head_lag_blocks",
    "Blocks an upstream's last reported head is behind the agreed head.",
    UPSTREAM_LABELS,
  );
  const breakerState = stateGauge(
    "multihome_upstream_breaker_state",
    "1 for the state an upstream's circuit breaker is in (closed, open, half_open), 0 for the others.",
    [...UPSTREAM_LABELS, "state"],
  );
  const admission = stateGauge(
    "multihome_upstream_admission",
    "1 for an upstream's admission state (pending, admitted, cordoned for being on another chain), 0 for the others.",
    [...UPSTREAM_LABELS, "state"],
  );
  const cordoned = stateGauge(
    "multihome_upstream_cordoned",
    "1 while an upstream is cordoned (wrong chain, or failed verifications), else 0.",
    UPSTREAM_LABELS,
  );
  const domainDown = stateGauge(
    "multihome_domain_down",
    "1 while a failure domain (hosting/region) is judged down on a chain, else 0.",
    ["chain", "hosting", "region"],
  );
  const cacheBytes = stateGauge(
    "multihome_cache_bytes",
    "Bytes the process answer cache counts against cache.maxBytes.",
  );
  const cacheEntries = stateGauge("multihome_cache_entries", "Entries in the process answer cache.");
  const stateGauges = [chainReady, chainHead, headLag, breakerState, admission, cordoned, domainDown];

  function fillState(status: StatusSource): void {
    for (const g of stateGauges) g.reset();
    for (const c of status.readiness().chains) {
      const chain = chainLabel(c.chainId);
      chainReady.set({ chain }, c.ready ? 1 : 0);
      if (c.head) chainHead.set({ chain }, c.head.number);
      const down = new Set(c.domainsDown);
      for (const u of c.upstreams) {
        const labels = { chain, upstream: u.id, operator: u.operator, hosting: u.hosting, region: u.region };
        if (c.head && u.head !== undefined) headLag.set(labels, Math.max(0, c.head.number - u.head));
        for (const state of BREAKER_STATES) breakerState.set({ ...labels, state }, u.breaker === state ? 1 : 0);
        for (const state of ADMISSION_STATES) admission.set({ ...labels, state }, u.admission === state ? 1 : 0);
        cordoned.set(labels, u.cordoned ? 1 : 0);
        domainDown.set({ chain, hosting: u.hosting, region: u.region }, down.has(u.domain) ? 1 : 0);
      }
    }
    const cache = status.cacheStats();
    cacheBytes.set(cache.bytes);
    cacheEntries.set(cache.entries);
  }

  const chains = new Map<ChainKey, ChainMetrics>();
  function chain(chainId: ChainKey): ChainMetrics {
    let bound = chains.get(chainId);
    if (bound) return bound;
    const label = chainLabel(chainId);
    const upstreams = new Map<string, UpstreamMetrics>();
    const verified = {
      proof: verifications({ chain: label, outcome: "proof" }),
      quorum: verifications({ chain: label, outcome: "quorum" }),
      single: verifications({ chain: label, outcome: "single" }),
      none: verifications({ chain: label, outcome: "none" }),
      failed: verifications({ chain: label, outcome: "failed" }),
    } satisfies Record<VerificationOutcome, Count>;
    const hit = cacheLookups({ chain: label, result: "hit" });
    const miss = cacheLookups({ chain: label, result: "miss" });
    const lkg = {
      served: lastKnownGood({ chain: label, result: "served" }),
      attached: lastKnownGood({ chain: label, result: "attached" }),
      missing: lastKnownGood({ chain: label, result: "missing" }),
    };
    const outbox = {
      pending: outboxTransitions({ chain: label, status: "pending" }),
      included: outboxTransitions({ chain: label, status: "included" }),
      replaced: outboxTransitions({ chain: label, status: "replaced" }),
      expired: outboxTransitions({ chain: label, status: "expired" }),
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
        const duration = upstreamDuration(labels);
        const errors = Object.fromEntries(
          UPSTREAM_ERROR_KINDS.map((kind) => [kind, upstreamErrors({ ...labels, kind })]),
        ) as Record<Exclude<UpstreamCallOutcome, "ok">, Count>;
        const disputed = disputes(labels);
        const cordonedFor = {
          disputes: cordons({ ...labels, reason: "disputes" }),
          wrong_chain: cordons({ ...labels, reason: "wrong_chain" }),
        };
        m = {
          call(outcome, seconds) {
            observe(duration, seconds);
            if (outcome !== "ok") errors[outcome].value += 1;
          },
          dispute() {
            disputed.value += 1;
          },
          cordon(reason) {
            cordonedFor[reason].value += 1;
          },
        };
        upstreams.set(u.id, m);
        return m;
      },
      verification(outcome) {
        verified[outcome].value += 1;
      },
      cache(isHit) {
        (isHit ? hit : miss).value += 1;
      },
      lastKnownGood(result) {
        lkg[result].value += 1;
      },
      outboxTransition(status) {
        outbox[status].value += 1;
      },
      outboxPending: (count) => pending.set(count),
    };
    chains.set(chainId, bound);
    return bound;
  }

  /**
   * Request series per chain, then per method label (a whole-body refusal, with no method, apart), then per outcome,
   * bound on first use. Only labels are ever keys, so a method or outcome found is one already; anything else is
   * named (`other` when Multihome does not know it) and looked up again — a client cannot grow these maps.
   */
  interface RequestSeries {
    method: string;
    duration: Timing;
    outcomes: Map<string, Count>;
  }
  interface ChainRequests {
    label: string;
    methods: Map<string, RequestSeries>;
    none?: RequestSeries;
  }
  const chainRequests = new Map<ChainKey, ChainRequests>();
  for (const id of options.chainIds) chainRequests.set(id, { label: String(id), methods: new Map() });
  const otherChainRequests: ChainRequests = { label: "other", methods: new Map() };
  const requestSeries = (chain: ChainRequests, method: string): RequestSeries => ({
    method,
    duration: requestDuration({ chain: chain.label, method }),
    outcomes: new Map(),
  });
  function methodSeries(chain: ChainRequests, method: string): RequestSeries {
    const label = methodLabel(method);
    let series = chain.methods.get(label);
    if (!series) {
      series = requestSeries(chain, label);
      chain.methods.set(label, series);
    }
    return series;
  }
  function outcomeCount(chain: ChainRequests, series: RequestSeries, outcome: string): Count {
    const label = OUTCOMES.has(outcome) ? outcome : "other";
    let count = series.outcomes.get(label);
    if (!count) {
      count = requests({ chain: chain.label, method: series.method, outcome: label });
      series.outcomes.set(label, count);
    }
    return count;
  }
  function request(chainId: ChainKey, method: string | undefined, outcome: string, seconds: number): void {
    const chain = chainRequests.get(chainId) ?? otherChainRequests;
    let series: RequestSeries;
    if (method === undefined) {
      chain.none ??= requestSeries(chain, "none");
      series = chain.none;
    } else series = chain.methods.get(method) ?? methodSeries(chain, method);
    const count = series.outcomes.get(outcome) ?? outcomeCount(chain, series, outcome);
    count.value += 1;
    observe(series.duration, seconds);
  }

  const refusals = Object.fromEntries(REFUSAL_REASONS.map((reason) => [reason, refused({ reason })])) as Record<
    RefusalReason,
    Count
  >;

  for (const id of options.chainIds) chain(id);

  return {
    registry: {
      contentType: registry.contentType,
      async scrape() {
        if (source) fillState(source);
        return registry.metrics();
      },
      async scrapeJson() {
        if (source) fillState(source);
        return registry.getMetricsAsJSON();
      },
    },
    watch(s) {
      source = s;
    },
    chain,
    request,
    refused(reason) {
      refusals[reason].value += 1;
    },
    webSocketConnections: (delta) => webSocketConnections.inc(delta),
    webSocketSubscriptions: (delta) => webSocketSubscriptions.inc(delta),
  };
}
