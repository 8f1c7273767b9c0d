/**
 * Health per outage domain. When upstreams of one domain fail together (a cloud region going dark), the whole
 * domain is demoted at once instead of being discovered one upstream — and one failed client attempt — at a time.
 */
export interface DomainHealthOptions {
  /** Distinct upstreams of one domain that must fail within `windowMs` to demote the domain. @default 2 */
  minFailedUpstreams: number;
  /** @default 3_000 */
  windowMs: number;
  /** How long a demoted domain stays down without evidence of recovery. @default 5_000 */
  downMs: number;
}

export const DOMAIN_HEALTH_DEFAULTS: DomainHealthOptions = { minFailedUpstreams: 2, windowMs: 3_000, downMs: 5_000 };

export interface DomainHealth {
  onFailure(domain: string, upstreamId: string, now: number): void;
  onSuccess(domain: string, upstreamId: string, now: number): void;
  isDown(domain: string, now: number): boolean;
  /** Domains currently down, for readiness and logs. */
  downDomains(now: number): string[];
}

export function createDomainHealth(options: Partial<DomainHealthOptions> = {}): DomainHealth {
  const { minFailedUpstreams, windowMs, downMs } = { ...DOMAIN_HEALTH_DEFAULTS, ...options };
  // domain → upstream → time of its latest failure with no success after it
  const failures = new Map<string, Map<string, number>>();
  const downUntil = new Map<string, number>();

  return {
    onFailure(domain, upstreamId, now) {
      let f = failures.get(domain);
      if (!f) {
        f = new Map();
        failures.set(domain, f);
      }
      f.set(upstreamId, now);
      let recent = 0;
      for (const [id, at] of f) {
        if (now - at <= windowMs) recent++;
        else f.delete(id);
      }
      if (recent >= minFailedUpstreams) downUntil.set(domain, now + downMs);
    },
    onSuccess(domain, upstreamId) {
      failures.get(domain)?.delete(upstreamId);
      downUntil.delete(domain);
    },
    isDown(domain, now) {
      return (downUntil.get(domain) ?? 0) > now;
    },
    downDomains(now) {
      return [...downUntil].filter(([, until]) => until > now).map(([d]) => d);
    },
  };
}
