/**
 * Where dependence is concentrated: how much of a set of upstreams (or of the traffic they carried) sits with each
 * hosting provider, operator and region, and what that means for an outage. `multihome doctor` weighs upstreams by
 * count; the dashboard weighs them by traffic share. Pure: no I/O.
 *
 * Finding codes are stable (users and scripts match on them; docs/doctor.md lists them):
 * - `single_hosting` (critical): fewer than two hosting providers carry anything, so one provider's outage takes
 *   everything down.
 * - `single_operator` (critical): fewer than two operators, so one operator's outage or one operator's lie reaches
 *   everything, and no block can be anchored by independent witnesses.
 * - `no_anchor` (critical): no two items are independent (`areIndependent`), so no block can be anchored.
 * - `single_region` (warning): everything sits in one region (every region known).
 * - `dominant_hosting` / `dominant_operator` (warning): one provider / operator carries more than
 *   {@link CONCENTRATION_DOMINANT_SHARE} of the weight.
 *
 * A region of {@link UNKNOWN_REGION} says nothing about where an upstream is: it is left out of the region shares, its
 * HHI and `single_region`, and it never makes two upstreams on one hosting provider independent (they may well share
 * a region).
 */
import { areIndependent, type FailureDomain } from "./domain.ts";

/** The region of an upstream whose region is not known (an inferred domain, before the operator fills it in). */
export const UNKNOWN_REGION = "unknown";

export interface Finding {
  severity: "critical" | "warning";
  code: string;
  /** Plain language, for the operator. */
  message: string;
}

export interface Share {
  name: string;
  /** Fraction of the total weight, in [0, 1]. */
  share: number;
}

export interface ConcentrationReport {
  /** Descending by share (ties by name). */
  byHosting: Share[];
  byOperator: Share[];
  /** Of the weight whose region is known: {@link UNKNOWN_REGION} is left out. */
  byRegion: Share[];
  /** Herfindahl–Hirschman index of each dimension, 0..10000 (10000: everything in one place), rounded. */
  hhi: { hosting: number; operator: number; region: number };
  findings: Finding[];
}

export type ConcentrationFindingCode =
  | "single_hosting"
  | "single_operator"
  | "no_anchor"
  | "single_region"
  | "dominant_hosting"
  | "dominant_operator";

/** Every finding `assessConcentration` can make, with its severity. */
export const CONCENTRATION_FINDINGS: Readonly<Record<ConcentrationFindingCode, Finding["severity"]>> = {
  single_hosting: "critical",
  single_operator: "critical",
  no_anchor: "critical",
  single_region: "warning",
  dominant_hosting: "warning",
  dominant_operator: "warning",
};

/** Fewer distinct hosting providers (or operators) than this carrying weight is critical. */
export const CONCENTRATION_MIN_INDEPENDENT = 2;
/** A hosting provider or operator carrying more than this fraction of the weight is dominant (a warning). */
export const CONCENTRATION_DOMINANT_SHARE = 0.5;
/** The Herfindahl–Hirschman index of everything in one place (shares in percent, squared and summed). */
export const HHI_MAX = 10_000;

function checkWeight(weight: number): number {
  if (!Number.isFinite(weight) || weight < 0) throw new RangeError("a weight must be a finite number ≥ 0");
  return weight;
}

/**
 * The Herfindahl–Hirschman index of a set of weights: the sum of squared percentage shares, 0 (no weight at all)
 * to {@link HHI_MAX} (one holder of everything), rounded to an integer. Weights need not add up to anything.
 */
export function hhi(weights: Iterable<number>): number {
  const list = [...weights].map(checkWeight);
  const total = list.reduce((sum, w) => sum + w, 0);
  if (total === 0) return 0;
  return Math.round(list.reduce((sum, w) => sum + (100 * (w / total)) ** 2, 0));
}

function sharesBy(items: readonly { key: string; weight: number }[], total: number): Share[] {
  const sums = new Map<string, number>();
  for (const { key, weight } of items) sums.set(key, (sums.get(key) ?? 0) + weight);
  return [...sums]
    .map(([name, weight]) => ({ name, share: total === 0 ? 0 : weight / total }))
    .sort((a, b) => b.share - a.share || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/**
 * The concentration of `items` by hosting, operator and region, weighted by `weight` (1 each for a count of
 * upstreams; requests or bytes for traffic). `what` only words the messages. Items with weight 0 carry nothing and
 * are left out of the findings (they still appear in the shares, at 0). With no weight at all there is nothing to
 * judge for traffic; for upstreams it means there are none, which is critical.
 */
export function assessConcentration(
  items: { domain: FailureDomain; weight: number }[],
  what: "upstreams" | "traffic" = "upstreams",
): ConcentrationReport {
  for (const item of items) checkWeight(item.weight);
  const weightOf = (list: typeof items) => list.reduce((sum, item) => sum + item.weight, 0);
  const total = weightOf(items);
  const dimension = (pick: (d: FailureDomain) => string, list = items) =>
    sharesBy(
      list.map((item) => ({ key: pick(item.domain), weight: item.weight })),
      weightOf(list),
    );
  const byHosting = dimension((d) => d.hosting);
  const byOperator = dimension((d) => d.operator);
  const regionKnown = items.filter((item) => item.domain.region !== UNKNOWN_REGION);
  const byRegion = dimension((d) => d.region, regionKnown);
  const report: ConcentrationReport = {
    byHosting,
    byOperator,
    byRegion,
    hhi: {
      hosting: hhi(byHosting.map((s) => s.share)),
      operator: hhi(byOperator.map((s) => s.share)),
      region: hhi(byRegion.map((s) => s.share)),
    },
    findings: [],
  };
  if (total === 0 && what === "traffic") return report;
  report.findings = findingsOf(
    items.filter((item) => item.weight > 0).map((item) => item.domain),
    { byHosting, byOperator, byRegion },
    what,
  );
  return report;
}

/** `areIndependent`, except that an unknown region may be the other's: then only a different hosting separates them. */
function independent(a: FailureDomain, b: FailureDomain): boolean {
  if (a.region === UNKNOWN_REGION || b.region === UNKNOWN_REGION) {
    return a.operator !== b.operator && a.hosting !== b.hosting;
  }
  return areIndependent(a, b);
}

function findingsOf(
  carrying: readonly FailureDomain[],
  shares: Pick<ConcentrationReport, "byHosting" | "byOperator" | "byRegion">,
  what: "upstreams" | "traffic",
): Finding[] {
  const findings: Finding[] = [];
  const add = (code: ConcentrationFindingCode, message: string) =>
    findings.push({ severity: CONCENTRATION_FINDINGS[code], code, message });
  const subject = what === "upstreams" ? "upstreams" : "traffic";
  const hostings = shares.byHosting.filter((s) => s.share > 0);
  const operators = shares.byOperator.filter((s) => s.share > 0);
  const regions = shares.byRegion.filter((s) => s.share > 0);

  if (carrying.length === 0) {
    const none = what === "upstreams" ? "There are no upstreams" : "No upstream carried any traffic";
    add("single_hosting", `${none}: nothing can be served or anchored.`);
    add("single_operator", `${none}: there is no operator to depend on, let alone two.`);
    add("no_anchor", `${none}: no two independent upstreams can anchor a block.`);
    return findings;
  }

  const [topHosting] = hostings;
  const [topOperator] = operators;
  if (hostings.length < CONCENTRATION_MIN_INDEPENDENT && topHosting !== undefined) {
    add(
      "single_hosting",
      `All ${subject} depend on one hosting provider (${topHosting.name}): one outage there takes everything down.`,
    );
  }
  if (operators.length < CONCENTRATION_MIN_INDEPENDENT && topOperator !== undefined) {
    add(
      "single_operator",
      `All ${subject} depend on one operator (${topOperator.name}): one outage or one wrong answer from it reaches ` +
        "everything, and no block can be confirmed by an independent second witness.",
    );
  }
  if (!carrying.some((a, i) => carrying.slice(i + 1).some((b) => independent(a, b)))) {
    add(
      "no_anchor",
      "No two upstreams are independent (a different operator and a different hosting/region): no block can be " +
        "anchored, so verified answers are impossible.",
    );
  }
  const [topRegion] = regions;
  const everyRegionKnown = carrying.every((d) => d.region !== UNKNOWN_REGION);
  if (regions.length === 1 && topRegion !== undefined && everyRegionKnown) {
    add(
      "single_region",
      `All ${subject} are in one region (${topRegion.name}): a regional outage takes everything down.`,
    );
  }
  if (
    hostings.length >= CONCENTRATION_MIN_INDEPENDENT &&
    topHosting &&
    topHosting.share > CONCENTRATION_DOMINANT_SHARE
  ) {
    add(
      "dominant_hosting",
      `One hosting provider (${topHosting.name}) carries ${percent(topHosting.share)} of the ${subject}: ` +
        "its outage takes most of the capacity down.",
    );
  }
  if (
    operators.length >= CONCENTRATION_MIN_INDEPENDENT &&
    topOperator &&
    topOperator.share > CONCENTRATION_DOMINANT_SHARE
  ) {
    add(
      "dominant_operator",
      `One operator (${topOperator.name}) carries ${percent(topOperator.share)} of the ${subject}: ` +
        "its outage takes most of the capacity down.",
    );
  }
  return findings;
}
