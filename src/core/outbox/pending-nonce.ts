/**
 * The next nonce of an account counting pending transactions, from what several failure domains' pools report. A pool
 * may hold a transaction the others have not seen (so the highest report is usually right), but one domain must not be
 * able to push every wallet's next send behind a gap: reports are bounded by the proven mined nonce, and a lone
 * highest report is dropped when at least three domains answered.
 */

/** A pending nonce more than this far above the proven mined nonce is not believed. */
export const PENDING_NONCE_MAX_AHEAD = 64;

export interface NonceReport {
  domain: string;
  nonce: bigint;
}

export type PendingNonce = { nonce: bigint; domains: string[] } | undefined;

/**
 * `proven`: the account's mined nonce at the agreed head, proven; undefined when it cannot be known now (then only
 * reports two domains agree on are believed).
 */
export function choosePendingNonce(reports: readonly NonceReport[], proven: bigint | undefined): PendingNonce {
  const sane =
    proven === undefined
      ? [...reports]
      : reports.filter((r) => r.nonce >= proven && r.nonce <= proven + BigInt(PENDING_NONCE_MAX_AHEAD));
  const support = (n: bigint) => new Set(sane.filter((r) => r.nonce >= n).map((r) => r.domain));
  const values = [...new Set(sane.map((r) => r.nonce))].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  const needed = proven === undefined || new Set(sane.map((r) => r.domain)).size >= 3 ? 2 : 1;
  for (const value of values) {
    const domains = support(value);
    if (domains.size >= needed) return { nonce: value, domains: [...domains] };
  }
  if (proven !== undefined) return { nonce: proven, domains: [] };
  return undefined;
}
