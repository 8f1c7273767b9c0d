/**
 * What both outboxes (EVM transactions, Solana sends) keep of a record's sending, checked alike by every store: when
 * the gateway first saw it (the order pending records are listed in), when it last changed, and its broadcasts.
 */

export interface SendBookkeeping {
  /** When the gateway first saw it, ms since the epoch. */
  firstSeenAt: number;
  /** ms since the epoch. */
  updatedAt: number;
  /** How many broadcast rounds so far. */
  broadcasts: number;
  /** ms since the epoch. */
  lastBroadcastAt?: number;
}

/** ms since the epoch: a finite number, not negative. */
export const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
/** A safe integer, not negative. */
export const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The bookkeeping fields of `record`, checked (a `TypeError` naming `what` and the field), as a fresh object. */
export function checkBookkeeping(record: SendBookkeeping, what: string): SendBookkeeping {
  if (!isTime(record.firstSeenAt)) throw new TypeError(`${what} firstSeenAt must be ms since the epoch`);
  if (!isTime(record.updatedAt)) throw new TypeError(`${what} updatedAt must be ms since the epoch`);
  if (!isCount(record.broadcasts)) throw new TypeError(`${what} broadcasts must be a non-negative integer`);
  const kept: SendBookkeeping = {
    firstSeenAt: record.firstSeenAt,
    updatedAt: record.updatedAt,
    broadcasts: record.broadcasts,
  };
  if (record.lastBroadcastAt !== undefined) {
    if (!isTime(record.lastBroadcastAt)) throw new TypeError(`${what} lastBroadcastAt must be ms since the epoch`);
    kept.lastBroadcastAt = record.lastBroadcastAt;
  }
  return kept;
}
