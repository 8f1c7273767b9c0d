/** The tiny formatters the report's sections share: counts, durations, ratios, sizes, lists. */

export const int = (n: number) => Math.round(n).toLocaleString("en-US");
export const ms = (us: number) => (us / 1000).toFixed(2);
export const ms2 = (v: number) => v.toFixed(2);
export const us = (v: number) => v.toFixed(1);
export const ratio = (r: number | undefined) => (r === undefined || !Number.isFinite(r) ? "—" : `${r.toFixed(2)}×`);
/** "1 thread", "2 threads". */
export const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;
export const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** "a", "a and b", "a, b and c". */
export function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}
