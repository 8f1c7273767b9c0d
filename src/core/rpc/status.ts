/**
 * What a gateway reports of itself: per chain, whether it is ready, its agreed head, the failure domains down and each
 * upstream's state. The engine fills it; the admin API, the dashboard and the metrics' state gauges read it.
 */
import type { AgreedHead } from "../domains/head.ts";

export interface ChainStatus {
  chainId: number;
  ready: boolean;
  reason?: string;
  head: AgreedHead | undefined;
  domainsDown: string[];
  upstreams: {
    id: string;
    domain: string;
    operator: string;
    hosting: string;
    region: string;
    admission: string;
    /** Cordoned: on the wrong chain, or for failed verifications. */
    cordoned: boolean;
    /** Taken down by a running drill. */
    drilled: boolean;
    cordonReason?: string;
    breaker: string;
    head: number | undefined;
    latencyMs: number | undefined;
  }[];
}

export interface Readiness {
  ready: boolean;
  chains: ChainStatus[];
}

/** What the metrics' state gauges read when scraped: the gateway's own status. */
export interface StatusSource {
  readiness(): Readiness;
  /** The process's answer cache: bytes counted against `cache.maxBytes`, and entries. */
  cacheStats(): { bytes: number; entries: number };
}
