/** Command-line options shared by the bench scripts. */

/** `--name`'s value as a positive number, or a clear error naming the option. */
export function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
}
