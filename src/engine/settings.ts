import type { ChainStack, ForkSchedule } from "../core/chain-presets.ts";
import type { FailureDomain } from "../core/domains/domain.ts";
import type { MethodRules } from "../core/rpc/access.ts";
import type { CallLimits } from "../core/rpc/call-limits.ts";
import type { VerificationPolicy } from "../core/rpc/methods.ts";
import type { TransactionSettings } from "./outbox/transactions.ts";
import type { ExecuteTarget } from "./routing/execute.ts";

/** What the engine needs to run one chain (the app derives it from the validated config). */
export interface ChainSettings {
  chainId: number;
  upstreams: { id: string; url: string; domain: FailureDomain; connections: number; allowPrivateNetwork?: boolean }[];
  routing: ExecuteTarget["routing"] & { retryBudgetRatio: number; retryBudgetMinPerSecond: number };
  health: {
    headPollIntervalMs: number;
    chainCheckIntervalMs: number;
    breakerFailureThreshold: number;
    breakerFailureRate: number;
    breakerWindowMs: number;
    breakerMinRequests: number;
    breakerOpenMs: number;
    breakerMaxOpenMs: number;
    slowStartMs: number;
    domainMinFailedUpstreams: number;
    domainWindowMs: number;
    domainDownMs: number;
  };
  maxResponseBytes: number;
  /** When the forks that changed the header took effect; undefined when unknown (fork fields are taken as they come). */
  forks?: ForkSchedule;
  /** Whose transaction and receipt encodings the chain uses; undefined: Ethereum's. */
  stack?: ChainStack;
  /** Which methods the chain serves beyond or instead of Multihome's own set. */
  methods: MethodRules;
  /** Limits on one call's params (gas, data, log filter sizes). */
  calls: CallLimits;
  transactions: TransactionSettings;
  logs: { maxBlockRange: number; chunkBlocks: number; chunkConcurrency: number };
  /**
   * How old the newest agreed block may be before answers about it are stale, ms; undefined for a chain that makes
   * blocks only on demand (see core/rpc/staleness.ts).
   */
  staleAfterMs: number | undefined;
  cache: {
    enabled: boolean;
    unfinalizedTtlMs: number;
    /** Blocks below the agreed head after which a block is treated as final. */
    finalityDepth: number;
  };
  verification: {
    /** Per method; a method not listed is `single`. */
    methods: Readonly<Record<string, VerificationPolicy>>;
    anchorMinDomains: number;
    anchorMinUpstreams: number;
    disputesToCordon: number;
    disputeWindowMs: number;
    cordonMs: number;
    quorumSize: number;
  };
}
