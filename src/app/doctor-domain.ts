/**
 * The failure domain `multihome doctor` reports for an upstream: the one the config declares, or one inferred from
 * where the upstream's host name resolves (hosting/ASN), for the operator to review and paste.
 */
import type { DraftUpstreamConfig } from "../config/load.ts";
import type { FailureDomain } from "../core/domains/domain.ts";
import type { ResolveHostname } from "../upstream/safe-lookup.ts";
import { type AsnDatabase, inferDomain } from "./hosting.ts";

export interface DomainFinding {
  domain: FailureDomain | null;
  /** `declared` in the config, `inferred` by the doctor, or `unknown` (could not be inferred). */
  domainSource: "declared" | "inferred" | "unknown";
  /** How an inferred domain was found, or why it could not be. */
  domainNote: string | null;
}

export interface DomainContext {
  /** Deadline of the inference, in milliseconds. */
  timeoutMs: number;
  signal: AbortSignal | undefined;
  resolve: ResolveHostname | undefined;
}

/** How an inferred domain was found, for the operator reviewing it. */
function inferredNote(hosting: string, asns: readonly number[], vendor: string | undefined): string {
  const as = asns.length > 0 ? `AS${asns.join(", AS")}` : "address";
  if (vendor !== undefined) {
    const operator = `operator: the provider (${vendor})`;
    if (hosting === "self") return `loopback address; ${operator}`;
    if (hosting === "private-network") return `private network address; ${operator}`;
    return `${as}; ${operator}, region unknown`;
  }
  if (hosting === "self") return "loopback address: the operator's own node";
  if (hosting === "private-network") return "private network address";
  return `${as}; operator guessed from the host name, region unknown`;
}

/**
 * The upstream's domain as declared, or else as inferred from where its host name resolves (within the run's deadline
 * and signal); a provider shortcut's operator is its vendor.
 */
export async function domainOf(
  upstream: DraftUpstreamConfig,
  context: DomainContext,
  database: () => AsnDatabase,
): Promise<DomainFinding> {
  if (upstream.domain !== undefined) return { domain: upstream.domain, domainSource: "declared", domainNote: null };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("domain inference deadline passed")), context.timeoutMs);
  const onAbort = () => controller.abort(context.signal?.reason);
  if (context.signal?.aborted) onAbort();
  else context.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const found = await inferDomain(upstream, {
      signal: controller.signal,
      database: database(),
      ...(context.resolve ? { resolve: context.resolve } : {}),
    });
    if (found.domain === undefined) {
      return { domain: null, domainSource: "unknown", domainNote: found.reason ?? "could not be inferred" };
    }
    // A shortcut's operator is its vendor, whatever the address says: only where it runs is inferred.
    const vendor = upstream.provider;
    const domain = vendor === undefined ? found.domain : { ...found.domain, operator: vendor };
    const note = inferredNote(found.domain.hosting, found.asns, vendor);
    return { domain, domainSource: "inferred", domainNote: note };
  } catch (error) {
    return {
      domain: null,
      domainSource: "unknown",
      domainNote: controller.signal.aborted ? "inference deadline passed" : (error as Error).message,
    };
  } finally {
    clearTimeout(timer);
    context.signal?.removeEventListener("abort", onAbort);
  }
}
