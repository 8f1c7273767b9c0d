/**
 * Batch reads (getMultipleAccounts, getSignatureStatuses) answer with one entry per item asked, in order. An answer
 * that does not is no answer: read by position, a missing entry would be taken for a `null` — an account gone, a
 * transaction no domain sees — that no upstream said.
 */

/** `value` when it is an array of one entry per item asked, else undefined. */
export function entryPerItem<T>(value: unknown, asked: number): T[] | undefined {
  return Array.isArray(value) && value.length === asked ? (value as T[]) : undefined;
}
