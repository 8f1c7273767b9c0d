/**
 * The configuration schema. Unknown keys are errors (a typo must not silently become a default); every default
 * comes from defaults.ts.
 */
import * as z from "zod";
import { API_KEYS_MAX, KEY_HASH } from "../core/rpc/access.ts";
import { methodSpec } from "../core/rpc/methods.ts";
import { parseIp } from "../core/security/address-policy.ts";
import { DEFAULTS } from "./defaults.ts";
import { label } from "./fields.ts";
import { SOLANA_CLUSTER_NAME, solanaClusterSchemaWith } from "./solana-schema.ts";
import {
  domainSchema,
  providersSchema,
  type ResolveIssue,
  resolveUpstreams,
  shortcutDomainSchema,
  uniqueUpstreamIds,
  upstreamEntryWith,
} from "./upstream-schema.ts";

export { BASE58_HASH, SOLANA_CLUSTER_NAME } from "./solana-schema.ts";

export { DOMAIN_REQUIRED, SHORTCUT_DOMAIN_REQUIRED } from "./upstream-schema.ts";

const D = DEFAULTS;
/** Bytes of verified final answers a store keeps (SQLite: on disk; Redis: shared by the replicas). */
const answerBytes = z.number().int().min(1024).max(68_719_476_736).default(D.store.maxAnswerBytes);
const port = z.number().int().min(0).max(65_535);
const ms = (min = 1) => z.number().int().min(min).max(86_400_000);

const methodName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "a JSON-RPC method name");
const methodRules = z.strictObject({
  allow: z.array(methodName).max(256).default([]),
  deny: z.array(methodName).max(256).default([]),
});
const rateLimit = z.strictObject({
  units: z.number().int().min(1).max(1_000_000_000),
  windowSeconds: z.number().int().min(1).max(86_400).default(1),
});
/** An IPv4/IPv6 address or CIDR range. */
const addressRange = z.string().refine((value) => {
  const [address, bits, ...rest] = value.split("/");
  const version = parseIp(address ?? "")?.version;
  if (version === undefined || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (version === 4 ? 32 : 128);
}, "an IP address or CIDR range");
const origin = z.string().refine((value) => {
  if (value === "*") return true;
  try {
    const u = new URL(value);
    return (u.protocol === "http:" || u.protocol === "https:") && u.origin === value;
  } catch {
    return false;
  }
}, 'an origin (scheme://host[:port], no path) or "*"');

/** What a key may be scoped to: a chain id, or a Solana cluster as `solana/{name}` (the label of its metrics). */
const accessChain = z.union(
  [z.number().int().min(1), z.templateLiteral(["solana/", z.string().regex(SOLANA_CLUSTER_NAME)])],
  { error: "a chain id, or solana/{name} for a Solana cluster (lower-case letters, digits and '-', at most 32)" },
);

export const apiKeySchema = z.strictObject({
  id: label,
  /** `sha256:<hex>` of the key (`multihome keys new` prints both); the key itself is never stored. */
  hash: z.string().regex(KEY_HASH, "sha256:<64 hex digits> (multihome keys new prints it)"),
  /** Chain ids and `solana/{name}` clusters the key may use; absent: every one. */
  chains: z.array(accessChain).max(256).optional(),
  methods: z.array(methodName).max(256).optional(),
  rateLimit: rateLimit.optional(),
  origins: z
    .array(origin.refine((o) => o !== "*", "an exact origin"))
    .max(256)
    .optional(),
  revoked: z.boolean().optional(),
});
export const apiKeysSchema = z.array(apiKeySchema).max(API_KEYS_MAX);

/** A block number (London) or a block timestamp in seconds since the Unix epoch (the later forks). */
const forkPoint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const FORK_ORDER = ["london", "shanghai", "cancun", "prague", "osaka"] as const;
/** When each fork that changed the header (or, Osaka, the EVM) took effect on this chain; a fork left out has not. */
const forkSchedule = z
  .strictObject({
    london: forkPoint.optional(),
    shanghai: forkPoint.optional(),
    cancun: forkPoint.optional(),
    prague: forkPoint.optional(),
    osaka: forkPoint.optional(),
  })
  .superRefine((forks, ctx) => {
    for (const [i, fork] of FORK_ORDER.entries()) {
      const at = forks[fork];
      const before = FORK_ORDER[i - 1];
      if (at === undefined || before === undefined) continue;
      const prior = forks[before];
      if (prior === undefined)
        ctx.addIssue({ code: "custom", path: [fork], message: `${fork} needs ${before} to be scheduled too` });
      // London is a block number, the others are timestamps: only timestamps compare.
      else if (before !== "london" && at < prior)
        ctx.addIssue({ code: "custom", path: [fork], message: `${fork} cannot take effect before ${before}` });
    }
  });

const chainSchemaWith = <D extends z.ZodType, S extends z.ZodType>(domain: D, shortcutDomain: S) =>
  z
    .strictObject({
      /** Ethereum-like (the default); Solana clusters are the other family (see solanaClusterSchemaWith). */
      family: z.literal("evm").optional(),
      chainId: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
      name: z.string().max(64).optional(),
      /** Plain upstreams `{ id, url, domain }` and provider shortcuts `{ provider, key, domain }`. */
      upstreams: z.array(upstreamEntryWith(domain, shortcutDomain)).min(1).max(64),
      /** Overrides `cache.finalityDepth` for this chain. */
      finalityDepth: z.number().int().min(1).max(100_000).optional(),
      /** Answers about the newest block are stale once it is this old, ms; default from the chain's block time. */
      staleAfterMs: ms(1_000).optional(),
      /** Added to the top-level `methods` rules for this chain. */
      methods: methodRules.optional(),
      /** Overrides the chain's preset fork schedule; `false`: no schedule (fork fields are taken as they come). */
      forks: z.union([z.literal(false), forkSchedule]).optional(),
      /** Overrides the chain's preset stack: whose transaction and receipt encodings it uses. */
      stack: z.enum(["ethereum", "op-stack", "arbitrum", "polygon"]).optional(),
    })
    .superRefine(uniqueUpstreamIds);

/** A parsed entry of `chains` (one that failed its checks is not, and is left alone: its issues are reported). */
const isEntry = (c: unknown): c is { upstreams: unknown[] } =>
  typeof c === "object" && c !== null && Array.isArray((c as { upstreams?: unknown }).upstreams);

/** One entry of `chains`: a Solana cluster when it says `family: "solana"`, else an Ethereum-like chain. */
const chainEntryWith = <D extends z.ZodType, S extends z.ZodType>(domain: D, shortcutDomain: S) => {
  const evm = chainSchemaWith(domain, shortcutDomain);
  const solana = solanaClusterSchemaWith(domain);
  type Out = z.output<typeof evm> | z.output<typeof solana>;
  type In = z.input<typeof evm> | z.input<typeof solana>;
  const entry = z.unknown().transform((input, ctx): Out => {
    const isSolana = typeof input === "object" && input !== null && (input as { family?: unknown }).family === "solana";
    const result = (isSolana ? solana : evm).safeParse(input);
    if (result.success) return result.data;
    // Every issue stops the checks after it: the entry is not a chain, so nothing may read it as one.
    for (const issue of result.error.issues) ctx.issues.push({ ...issue, input: undefined } as never);
    return z.NEVER;
  });
  return entry as unknown as z.ZodType<Out, In>;
};

/** Everything but `chains`, unrefined: each schema below extends it with its own chains (a refined schema cannot). */
const settingsSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default(D.server.host),
      port: port.default(D.server.port),
      workers: z.union([z.number().int().min(1).max(256), z.literal("auto")]).default(D.server.workers),
      maxBodyBytes: z.number().int().min(1024).max(104_857_600).default(D.server.maxBodyBytes),
      maxBatchItems: z.number().int().min(1).max(10_000).default(D.server.maxBatchItems),
      maxJsonDepth: z.number().int().min(4).max(1_000).default(D.server.maxJsonDepth),
      maxMethodLength: z.number().int().min(8).max(256).default(D.server.maxMethodLength),
      headersTimeoutMs: ms().default(D.server.headersTimeoutMs),
      requestTimeoutMs: ms().default(D.server.requestTimeoutMs),
      keepAliveTimeoutMs: ms().default(D.server.keepAliveTimeoutMs),
      shutdownGraceMs: ms(0).default(D.server.shutdownGraceMs),
      maxConnections: z.number().int().min(1).max(1_000_000).default(D.server.maxConnections),
      maxConnectionsPerClient: z.number().int().min(1).max(1_000_000).default(D.server.maxConnectionsPerClient),
      overCapHoldMs: ms(0).default(D.server.overCapHoldMs),
      trustedProxies: z.array(addressRange).max(256).default(D.server.trustedProxies),
      corsOrigins: z.array(origin).max(256).default(D.server.corsOrigins),
    })
    .prefault({}),
  websocket: z
    .strictObject({
      maxConnections: z.number().int().min(1).max(1_000_000).default(D.websocket.maxConnections),
      maxSubscriptionsPerConnection: z
        .number()
        .int()
        .min(1)
        .max(10_000)
        .default(D.websocket.maxSubscriptionsPerConnection),
      maxBufferedBytes: z.number().int().min(1024).max(1_073_741_824).default(D.websocket.maxBufferedBytes),
      pingIntervalMs: ms(100).default(D.websocket.pingIntervalMs),
      maxConnectionsPerClient: z.number().int().min(1).max(1_000_000).default(D.websocket.maxConnectionsPerClient),
    })
    .prefault({}),
  admin: z
    .strictObject({
      host: z.string().default(D.admin.host),
      port: port.default(D.admin.port),
      /** Every admin request carries `Authorization: Bearer <token>`; there is no admin listener without one. */
      token: z.string().min(16, "at least 16 characters").max(1024),
    })
    .optional(),
  auth: z
    .strictObject({
      anonymous: z.boolean().default(D.auth.anonymous),
      anonymousRateLimit: rateLimit.optional(),
      keys: apiKeysSchema.default([]),
      /** A JSON or YAML file holding more keys (a list shaped like `keys`), re-read when it changes. */
      keysFile: z.string().min(1).optional(),
      keysReloadIntervalMs: ms(100).default(D.auth.keysReloadIntervalMs),
      /** Rate-limit units per method, over the built-in table. */
      methodCosts: z.record(methodName, z.number().int().min(0).max(1_000_000)).default({}),
    })
    .prefault({}),
  methods: methodRules.prefault({}),
  calls: z
    .strictObject({
      maxGas: z.number().int().min(21_000).max(Number.MAX_SAFE_INTEGER).default(D.calls.maxGas),
      maxDataBytes: z.number().int().min(1024).max(104_857_600).default(D.calls.maxDataBytes),
    })
    .prefault({}),
  store: z
    .discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("memory") }),
      z.strictObject({
        kind: z.literal("sqlite"),
        path: z.string().min(1).default(D.store.path),
        maxAnswerBytes: answerBytes,
      }),
      z.strictObject({
        kind: z.literal("redis"),
        url: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL"),
        keyPrefix: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "1 to 64 letters, digits or _ . : -")
          .default(D.store.keyPrefix),
        maxAnswerBytes: answerBytes,
      }),
    ])
    .prefault({ kind: D.store.kind }),
  log: z
    .strictObject({
      level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default(D.log.level),
    })
    .prefault({}),
  routing: z
    .strictObject({
      requestTimeoutMs: ms(10).default(D.routing.requestTimeoutMs),
      attemptTimeoutMs: ms(10).default(D.routing.attemptTimeoutMs),
      heavyAttemptTimeoutMs: ms(10).default(D.routing.heavyAttemptTimeoutMs),
      maxAttempts: z.number().int().min(1).max(10).default(D.routing.maxAttempts),
      hedgeQuantile: z.number().min(0.5).max(0.999).default(D.routing.hedgeQuantile),
      hedgeMinDelayMs: ms(0).default(D.routing.hedgeMinDelayMs),
      hedgeMaxDelayMs: ms(0).default(D.routing.hedgeMaxDelayMs),
      retryBudgetRatio: z.number().min(0).max(1).default(D.routing.retryBudgetRatio),
      retryBudgetMinPerSecond: z.number().min(0).max(10_000).default(D.routing.retryBudgetMinPerSecond),
      defaultBackoffMs: ms().default(D.routing.defaultBackoffMs),
    })
    .prefault({})
    .refine((r) => r.hedgeMinDelayMs <= r.hedgeMaxDelayMs, { message: "hedgeMinDelayMs must be ≤ hedgeMaxDelayMs" })
    .refine((r) => r.attemptTimeoutMs <= r.requestTimeoutMs, {
      message: "attemptTimeoutMs must be ≤ requestTimeoutMs",
    }),
  health: z
    .strictObject({
      headPollIntervalMs: ms(50).default(D.health.headPollIntervalMs),
      chainCheckIntervalMs: ms(100).default(D.health.chainCheckIntervalMs),
      breakerFailureThreshold: z.number().int().min(1).max(1_000).default(D.health.breakerFailureThreshold),
      breakerFailureRate: z.number().gt(0).max(1).default(D.health.breakerFailureRate),
      breakerWindowMs: ms(100).default(D.health.breakerWindowMs),
      breakerMinRequests: z.number().int().min(1).default(D.health.breakerMinRequests),
      breakerOpenMs: ms(10).default(D.health.breakerOpenMs),
      breakerMaxOpenMs: ms(10).default(D.health.breakerMaxOpenMs),
      slowStartMs: ms(0).default(D.health.slowStartMs),
      domainMinFailedUpstreams: z.number().int().min(1).max(64).default(D.health.domainMinFailedUpstreams),
      domainWindowMs: ms(10).default(D.health.domainWindowMs),
      domainDownMs: ms(10).default(D.health.domainDownMs),
    })
    .prefault({}),
  logs: z
    .strictObject({
      maxBlockRange: z.number().int().min(1).max(10_000_000).default(D.logs.maxBlockRange),
      chunkBlocks: z.number().int().min(1).max(10_000_000).default(D.logs.chunkBlocks),
      chunkConcurrency: z.number().int().min(1).max(64).default(D.logs.chunkConcurrency),
      maxAddresses: z.number().int().min(1).max(100_000).default(D.logs.maxAddresses),
      maxTopicValues: z.number().int().min(4).max(100_000).default(D.logs.maxTopicValues),
    })
    .prefault({}),
  transactions: z
    .strictObject({
      allowUnprotected: z.boolean().default(D.transactions.allowUnprotected),
      broadcastDomains: z.number().int().min(1).max(16).default(D.transactions.broadcastDomains),
      rebroadcastIntervalMs: ms(100).default(D.transactions.rebroadcastIntervalMs),
      expiryMs: ms(1_000).default(D.transactions.expiryMs),
    })
    .prefault({}),
  cache: z
    .strictObject({
      enabled: z.boolean().default(D.cache.enabled),
      maxBytes: z.number().int().min(1024).max(68_719_476_736).default(D.cache.maxBytes),
      unfinalizedTtlMs: ms(0).default(D.cache.unfinalizedTtlMs),
      finalityDepth: z.number().int().min(1).max(100_000).default(D.cache.finalityDepth),
    })
    .prefault({}),
  verification: z
    .strictObject({
      methods: z
        .record(z.string(), z.enum(["proof", "quorum", "single"]))
        .superRefine((methods, ctx) => {
          for (const [method, policy] of Object.entries(methods)) {
            const spec = methodSpec(method);
            if (spec?.kind !== "read")
              ctx.addIssue({
                code: "custom",
                path: [method],
                message: "a read method Multihome serves (not a write or a local one)",
              });
            else if (policy === "proof" && !spec.proof)
              ctx.addIssue({
                code: "custom",
                path: [method],
                message: `${method} has no proof: use quorum or single`,
              });
          }
          if (Object.keys(methods).length > 64) ctx.addIssue({ code: "custom", message: "at most 64 methods" });
        })
        .default({})
        .transform((methods) => ({ ...D.verification.methods, ...methods })),
      anchorMinDomains: z.number().int().min(1).max(16).default(D.verification.anchorMinDomains),
      anchorMinUpstreams: z.number().int().min(1).max(64).default(D.verification.anchorMinUpstreams),
      disputesToCordon: z.number().int().min(1).max(1_000).default(D.verification.disputesToCordon),
      disputeWindowMs: ms(1_000).default(D.verification.disputeWindowMs),
      cordonMs: ms(1_000).default(D.verification.cordonMs),
      quorumSize: z.number().int().min(2).max(16).default(D.verification.quorumSize),
    })
    .prefault({}),
  upstream: z
    .strictObject({
      maxResponseBytes: z.number().int().min(1024).max(1_073_741_824).default(D.upstream.maxResponseBytes),
      connectTimeoutMs: ms(10).default(D.upstream.connectTimeoutMs),
    })
    .prefault({}),
});

const configSchemaWith = <D extends z.ZodType, S extends z.ZodType>(domain: D, shortcutDomain: S) =>
  settingsSchema
    .extend({
      providers: providersSchema,
      chains: z.array(chainEntryWith(domain, shortcutDomain)).max(256),
      /**
       * Solana clusters as the validated config lists them (apart from `chains`), so a validated config validates
       * again; a config file puts them in `chains` with `family: solana`.
       */
      solana: z.array(solanaClusterSchemaWith(domain)).max(256).optional(),
    })
    .superRefine((config, ctx) => {
      if (config.chains.length + (config.solana?.length ?? 0) === 0)
        ctx.addIssue({ code: "custom", path: ["chains"], message: "at least one chain or Solana cluster is served" });
      const ids = new Set<number | string>();
      const entries = [
        ...config.chains.map((c, i) => ({ c, at: ["chains", i] })),
        ...(config.solana ?? []).map((c, i) => ({ c, at: ["solana", i] })),
      ];
      for (const { c, at } of entries) {
        if (!isEntry(c)) continue;
        const [id, path, what] =
          c.family === "solana"
            ? [`solana/${c.name}`, "name", `duplicate Solana cluster "${c.name}"`]
            : [c.chainId, "chainId", `duplicate chainId ${c.chainId}`];
        if (ids.has(id)) ctx.addIssue({ code: "custom", path: [...at, path], message: what });
        ids.add(id);
      }
    })
    .transform(({ providers = {}, chains: entries, solana = [], ...settings }, ctx) => ({
      ...settings,
      chains: entries.flatMap((chain, i) => {
        if (!isEntry(chain) || chain.family === "solana") return [];
        const report = (issue: ResolveIssue) =>
          ctx.addIssue({ code: "custom", path: ["chains", i, "upstreams", ...issue.path], message: issue.message });
        return [{ ...chain, upstreams: resolveUpstreams<z.output<D>>(chain, providers, report) }];
      }),
      // Solana clusters are kept apart: every other part of the gateway speaks of Ethereum-like chains.
      solana: [...solana, ...entries.flatMap((chain) => (isEntry(chain) && chain.family === "solana" ? [chain] : []))],
    }));

/** The gateway's config: every upstream declares its `domain`. */
export const configSchema = configSchemaWith(domainSchema, shortcutDomainSchema);
/** A draft for `multihome doctor`: upstreams may leave out `domain` (the doctor infers one); all else as above. */
const draftConfigSchema = configSchemaWith(domainSchema.optional(), shortcutDomainSchema.optional());

/** The gateway's config schema, or with `requireDomains: false` the draft one (never for the gateway). */
export function configSchemaOf(options: { requireDomains: boolean }): typeof configSchema | typeof draftConfigSchema {
  return options.requireDomains ? configSchema : draftConfigSchema;
}

/** What a config file may say (defaults optional). */
export type ConfigInput = z.input<typeof configSchema>;
/** A validated config with every default applied. */
export type Config = z.output<typeof configSchema>;
export type ChainConfig = Config["chains"][number];
export type UpstreamConfig = ChainConfig["upstreams"][number];
export type SolanaClusterConfig = Config["solana"][number];
