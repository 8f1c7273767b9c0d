/**
 * What Multihome knows about a chain by its id: its name and how often it makes blocks. A chain it does not know gets
 * the conservative defaults below; the config can override what follows from them per chain.
 */

export interface ChainPreset {
  name: string;
  /**
   * Typical time between two blocks, ms. Undefined for a chain whose nodes make a block only when asked to (a dev
   * node's automine): the age of its newest block says nothing about whether a newer one exists.
   */
  blockTimeMs: number | undefined;
}

/** A chain Multihome has no preset for: assumed to make a block every 12 s (Ethereum's slot). */
export const UNKNOWN_CHAIN_PRESET: ChainPreset = { name: "unknown", blockTimeMs: 12_000 };

const PRESETS: ReadonlyMap<number, ChainPreset> = new Map([
  [1, { name: "ethereum", blockTimeMs: 12_000 }],
  [11155111, { name: "sepolia", blockTimeMs: 12_000 }],
  [17000, { name: "holesky", blockTimeMs: 12_000 }],
  [560048, { name: "hoodi", blockTimeMs: 12_000 }],
  // anvil and Hardhat mine a block per transaction unless started with a block time.
  [31337, { name: "anvil", blockTimeMs: undefined }],
]);

export function chainPreset(chainId: number): ChainPreset {
  return PRESETS.get(chainId) ?? UNKNOWN_CHAIN_PRESET;
}
