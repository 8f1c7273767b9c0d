/**
 * Every default of Multihome, with its unit, in one place. The config schema applies these; docs/config.md lists
 * them (a test keeps the two in step).
 */
import { SHARED_KEY_PREFIX_DEFAULT, STORE_MAX_ANSWER_BYTES } from "../core/store.ts";

/**
 * Deadline of each `multihome doctor` check when `--timeout` is not given, in milliseconds. Not a config key: it lives
 * here so the command line's help can name it without loading the doctor.
 */
export const DOCTOR_CHECK_TIMEOUT_MS_DEFAULT = 5_000;

export const DEFAULTS = {
  server: {
    host: "127.0.0.1",
    port: 8545,
    /**
     * Processes serving the listener (`multihome start`): "auto" forks one worker per CPU the process may use (the
     * affinity mask and a container's CPU quota) behind one front door, or serves in the one process when that is
     * one; a number forks that many (1: the one process serves).
     */
    workers: "auto" as number | "auto",
    /** Largest request body, bytes. */
    maxBodyBytes: 1_048_576,
    /** Most calls in one batch. */
    maxBatchItems: 100,
    /** Deepest JSON nesting in a request. */
    maxJsonDepth: 64,
    /** Longest method name, characters. */
    maxMethodLength: 64,
    /** Time allowed to receive request headers, ms. */
    headersTimeoutMs: 10_000,
    /** Time allowed to receive a whole request, ms. */
    requestTimeoutMs: 30_000,
    /** Idle keep-alive socket lifetime, ms. */
    keepAliveTimeoutMs: 5_000,
    /** On shutdown, how long in-flight requests may take to finish, ms. */
    shutdownGraceMs: 10_000,
    /** Open connections (HTTP and WebSocket) on the public listener; more are closed as they arrive (by Node). */
    maxConnections: 10_000,
    /**
     * Open connections from one client address (an IPv6 client counts by its /64); more are left unread and closed
     * after overCapHoldMs (at most a quarter of maxConnections held; beyond that at once).
     */
    maxConnectionsPerClient: 256,
    /**
     * A connection over maxConnectionsPerClient is held unread for between this and twice this, ms, then closed: a
     * client that reconnects as soon as it is cut would make the refusal itself the load, and the spread keeps a
     * crowd of held connections from all coming back at once.
     */
    overCapHoldMs: 10_000,
    /** Peers (addresses or CIDR ranges) whose `X-Forwarded-For` names the client; from anyone else it is ignored. */
    trustedProxies: [] as string[],
    /** Browser origins (exact `scheme://host[:port]`, or "*" for any origin on requests without an API key) allowed to call. */
    corsOrigins: [] as string[],
  },
  /** JSON-RPC over WebSocket on the public listener (`GET /rpc/{chainId}` with `Upgrade: websocket`). */
  websocket: {
    /** Open WebSocket connections on the listener; more are refused with HTTP 503 before the upgrade. */
    maxConnections: 1_000,
    /** Open `eth_subscribe` subscriptions on one connection; more are refused (-32005). */
    maxSubscriptionsPerConnection: 64,
    /** Bytes of answers and notifications waiting to be sent on one connection; beyond it the connection is closed (1008). */
    maxBufferedBytes: 8_388_608,
    /** How often each connection is pinged, ms; a connection that has not answered the previous ping is terminated. */
    pingIntervalMs: 30_000,
    /** Open WebSocket connections from one client address; more are refused with HTTP 429 before the upgrade. */
    maxConnectionsPerClient: 64,
  },
  auth: {
    /** Requests without an API key are served (each client address limited by `anonymousRateLimit` when set). */
    anonymous: true,
    /** How often `keysFile` is checked for changes (a revoked key stops working within this), ms. */
    keysReloadIntervalMs: 10_000,
  },
  /** Methods served beyond (`allow`) or removed from (`deny`) Multihome's own set; per chain too. */
  methods: { allow: [] as string[], deny: [] as string[] },
  calls: {
    /** eth_call, eth_estimateGas and eth_createAccessList run with at most this much gas (more is capped). */
    maxGas: 50_000_000,
    /** Largest `data`/`input` of such a call, bytes. */
    maxDataBytes: 262_144,
  },
  admin: { host: "127.0.0.1", port: 8546 },
  /** `keyPrefix` applies to `kind: redis` only; the default kind is SQLite. */
  store: {
    kind: "sqlite" as const,
    path: "./.multihome/state.db",
    maxAnswerBytes: STORE_MAX_ANSWER_BYTES,
    keyPrefix: SHARED_KEY_PREFIX_DEFAULT,
  },
  log: { level: "info" as const },
  logs: {
    /** Widest `eth_getLogs` block range a client may ask for; wider is refused (-32602). */
    maxBlockRange: 100_000,
    /** Ranges wider than this are split into chunks of this many blocks, asked of upstreams separately. */
    chunkBlocks: 2_000,
    /** Chunks of one request in flight at once. */
    chunkConcurrency: 4,
    /** Most addresses in one `eth_getLogs` filter. */
    maxAddresses: 1_000,
    /** Most topic values (all alternatives of all positions) in one `eth_getLogs` filter. */
    maxTopicValues: 256,
  },
  transactions: {
    /** Accept legacy transactions signed without a chain id (no EIP-155 replay protection). */
    allowUnprotected: false,
    /** A send goes to one upstream in each of this many failure domains at once. */
    broadcastDomains: 3,
    /** Pending transactions are checked this often, and rebroadcast while unmined, ms. */
    rebroadcastIntervalMs: 3_000,
    /** A transaction neither mined nor replaced this long after it was first sent is given up, ms (3 hours). */
    expiryMs: 10_800_000,
  },
  cache: {
    /** Answers are cached (finalized data until evicted, the rest briefly); false: every read goes upstream. */
    enabled: true,
    /** Bytes of answers kept in each gateway process's memory (keys and serialized results). */
    maxBytes: 67_108_864,
    /** How long an answer about a block that is not final yet is kept, ms. */
    unfinalizedTtlMs: 2_000,
    /** Blocks below the agreed head after which a block is treated as final (cached until evicted). */
    finalityDepth: 64,
  },
  routing: {
    /** Deadline of one whole client call, ms. */
    requestTimeoutMs: 5_000,
    /** Deadline of one attempt on one upstream (headers and body), ms. */
    attemptTimeoutMs: 1_000,
    /** Attempt deadline for heavy methods (eth_call, eth_getLogs, …), ms. */
    heavyAttemptTimeoutMs: 4_000,
    /** Most attempts (first + retries + hedges) for one call. */
    maxAttempts: 4,
    /** Hedge: send a second attempt to another domain when the first is slower than this quantile of recent latency. */
    hedgeQuantile: 0.9,
    /** Hedge delay clamp, ms. */
    hedgeMinDelayMs: 50,
    hedgeMaxDelayMs: 300,
    /** Extra attempts (retries + hedges) allowed per primary request over the budget window. */
    retryBudgetRatio: 0.2,
    /** Extra attempts always allowed per second. */
    retryBudgetMinPerSecond: 5,
    /** Backoff after a rate limit that named no duration, ms. */
    defaultBackoffMs: 1_000,
  },
  health: {
    /** How often each upstream's head is polled, ms. Also the health probe. */
    headPollIntervalMs: 1_000,
    /** How often each upstream's chain id and genesis are re-checked, ms. */
    chainCheckIntervalMs: 30_000,
    /** Consecutive failures that open an upstream's breaker. */
    breakerFailureThreshold: 5,
    /** Failure rate over the window that opens the breaker. */
    breakerFailureRate: 0.5,
    breakerWindowMs: 10_000,
    breakerMinRequests: 20,
    /** First open period, ms; doubles on each failed probe up to breakerMaxOpenMs. */
    breakerOpenMs: 2_000,
    breakerMaxOpenMs: 60_000,
    /** After recovery, traffic share ramps up over this period, ms. */
    slowStartMs: 30_000,
    /** Distinct upstreams of one domain failing within domainWindowMs that demote the whole domain. */
    domainMinFailedUpstreams: 2,
    domainWindowMs: 3_000,
    domainDownMs: 5_000,
  },
  verification: {
    /**
     * How each method's answers are checked: "proof" (against an anchored block: Merkle proofs for state, recomputed
     * hashes and roots for blocks, transactions and receipts), "quorum" (independent upstreams agree) or "single" (one
     * upstream's word). A method not listed is "single". A config's map is merged over this one.
     */
    methods: {
      eth_getBalance: "proof",
      eth_getTransactionCount: "proof",
      eth_getCode: "proof",
      eth_getStorageAt: "proof",
      eth_getProof: "proof",
      eth_getBlockByNumber: "proof",
      eth_getBlockByHash: "proof",
      eth_getTransactionByHash: "proof",
      eth_getTransactionReceipt: "proof",
      eth_getBlockReceipts: "proof",
      // Taken from the proven block the first param names (engine/methods/blocks.ts).
      eth_getBlockTransactionCountByNumber: "proof",
      eth_getBlockTransactionCountByHash: "proof",
      eth_getTransactionByBlockNumberAndIndex: "proof",
      eth_getTransactionByBlockHashAndIndex: "proof",
      eth_getUncleCountByBlockNumber: "proof",
      eth_getUncleCountByBlockHash: "proof",
      eth_getUncleByBlockNumberAndIndex: "proof",
      eth_getUncleByBlockHashAndIndex: "proof",
      // Executed here over proven state, checked against one upstream's answer (engine/execution/).
      eth_call: "proof",
      eth_estimateGas: "proof",
      eth_createAccessList: "proof",
      // From anchored headers and verified receipts (engine/fees/fee-history.ts).
      eth_feeHistory: "proof",
      eth_blobBaseFee: "proof",
      // Derived from proven receipts of the blocks whose proven logs bloom may match (engine/verification/verified-logs.ts).
      eth_getLogs: "proof",
      // Suggested from the tips paid in the last proven blocks (core/fees/tip-oracle.ts).
      eth_gasPrice: "proof",
      eth_maxPriorityFeePerGas: "proof",
    } as Record<string, "proof" | "quorum" | "single">,
    /** Distinct outage domains whose upstreams must report the same hash for a block to be anchored. */
    anchorMinDomains: 2,
    /** Upstreams that must report the same hash for a block to be anchored. */
    anchorMinUpstreams: 2,
    /** Failed verifications within disputeWindowMs that cordon an upstream. */
    disputesToCordon: 3,
    disputeWindowMs: 300_000,
    /** How long a cordon for disputes lasts, ms. */
    cordonMs: 300_000,
    /** Independent upstreams that must return the same answer for a quorum method. */
    quorumSize: 2,
  },
  upstream: {
    /** Connections per upstream pool. */
    connections: 32,
    /** Upstreams may not sit in private address ranges unless each says `allowPrivateNetwork: true`. */
    allowPrivateNetwork: false,
    /** Largest upstream response accepted, bytes. */
    maxResponseBytes: 33_554_432,
    connectTimeoutMs: 2_000,
  },
} as const;
