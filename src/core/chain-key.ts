/**
 * What names a chain wherever EVM chains and Solana clusters meet (key scopes, shared cordons, the activity record,
 * metrics labels): an Ethereum-like chain by its EIP-155 id, a Solana cluster as `solana/{name}`.
 */
export type ChainKey = number | `solana/${string}`;

/** The Solana cluster `name` as a chain key. */
export const solanaChainKey = (name: string): ChainKey => `solana/${name}`;

const SOLANA_KEY = /^solana\/[a-z0-9-]{1,32}$/;

/** Whether `value` is a chain key: a non-negative safe integer, or `solana/` and a cluster name. */
export function isChainKey(value: unknown): value is ChainKey {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0;
  return typeof value === "string" && SOLANA_KEY.test(value);
}
