/**
 * Failure domains. An upstream's domain says who runs it (`operator`), whose machines it runs on (`hosting`:
 * a cloud, an ASN, "self") and where (`region`). Two vendors in the same cloud region share one outage.
 */
export interface FailureDomain {
  operator: string;
  hosting: string;
  region: string;
}

/** The outage domain an upstream sits in, as shown to users: `hosting/region`, e.g. `aws/us-east-1`. */
export function outageDomainOf(domain: FailureDomain): string {
  return `${domain.hosting}/${domain.region}`;
}

/**
 * Two upstreams are independent witnesses when neither one outage (same hosting and region) nor one operator
 * (who could lie on all its nodes at once) can take both down or make both say the same wrong thing.
 */
export function areIndependent(a: FailureDomain, b: FailureDomain): boolean {
  return a.operator !== b.operator && outageDomainOf(a) !== outageDomainOf(b);
}

export interface AnchorRule {
  /** Distinct outage domains among the witnesses. */
  minDomains: number;
  /** Witnesses. */
  minUpstreams: number;
}

/**
 * Whether upstreams that reported the same block hash may anchor it: enough of them, in enough distinct outage
 * domains, and — whenever more than one domain is required — at least two of them independent (different operator
 * too), so neither one outage nor one operator's word anchors anything.
 */
export function meetsAnchorRule(witnesses: readonly FailureDomain[], rule: AnchorRule): boolean {
  if (witnesses.length < rule.minUpstreams) return false;
  if (new Set(witnesses.map(outageDomainOf)).size < rule.minDomains) return false;
  return rule.minDomains < 2 || witnesses.some((a) => witnesses.some((b) => areIndependent(a, b)));
}
