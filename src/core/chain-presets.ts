/**
 * What Multihome knows about a chain by its id: its name, how often it makes blocks, and when the forks that changed
 * the block header took effect. A chain it does not know gets the conservative defaults below; the config can
 * override each field per chain.
 */

/**
 * When each fork that added header fields took effect: London by block number, Shanghai, Cancun and Prague by block
 * timestamp (seconds since the Unix epoch). A fork left out has not taken effect. A header must carry exactly the
 * fields of the forks in effect at its number and timestamp (see `core/verification/header.ts`).
 */
export interface ForkSchedule {
  /** First block with `baseFeePerGas`. */
  london?: number;
  /** First timestamp with `withdrawalsRoot`. */
  shanghai?: number;
  /** First timestamp with `blobGasUsed`, `excessBlobGas`, `parentBeaconBlockRoot`. */
  cancun?: number;
  /** First timestamp with `requestsHash`. */
  prague?: number;
  /** First timestamp of Osaka's EVM rules (it adds no header field): the rules calls are executed under. */
  osaka?: number;
}

/**
 * Whose transaction and receipt encodings a chain uses: Ethereum's (types 0–4); the OP stack's, which adds the deposit
 * transaction (0x7e); Arbitrum's, which adds Nitro's own types (0x64–0x6a); or Polygon PoS's, Ethereum's but for the
 * state-sync transaction no root commits to. See core/encodings/.
 */
export type ChainStack = "ethereum" | "op-stack" | "arbitrum" | "polygon";

export interface ChainPreset {
  name: string;
  /** @default "ethereum" */
  stack?: ChainStack;
  /**
   * Typical time between two blocks, ms. Undefined for a chain whose nodes make a block only when asked to (a dev
   * node's automine): the age of its newest block says nothing about whether a newer one exists.
   */
  blockTimeMs: number | undefined;
  /** Undefined: no known schedule, so a header's fork fields are taken as they come. */
  forks?: ForkSchedule;
  /**
   * Blocks below the agreed head after which a block is cached as final: how deep a reorg this chain can have, with a
   * margin. (The `finalized` and `safe` tags are what independent nodes agree on, whatever this says.) Undefined: the
   * config's `cache.finalityDepth`.
   */
  finalityDepth?: number;
}

/** A chain Multihome has no preset for: assumed to make a block every 12 s (Ethereum's slot), no fork schedule. */
export const UNKNOWN_CHAIN_PRESET: ChainPreset = { name: "unknown", blockTimeMs: 12_000 };

/** OP Mainnet and Base (Superchain mainnet times): Canyon, Ecotone, Isthmus. */
const OP_MAINNET_FORKS = (london: number): ForkSchedule => ({
  london,
  shanghai: 1_704_992_401,
  cancun: 1_710_374_401,
  prague: 1_746_806_401,
});
/** OP Sepolia and Base Sepolia (Superchain Sepolia times). */
const OP_SEPOLIA_FORKS: ForkSchedule = {
  london: 0,
  shanghai: 1_699_981_200,
  cancun: 1_708_534_800,
  prague: 1_744_905_600,
};

// Activation values as go-ethereum's params/config.go (and, for the OP stack, the Superchain registry) states them.
const PRESETS: ReadonlyMap<number, ChainPreset> = new Map([
  [
    1,
    {
      name: "ethereum",
      blockTimeMs: 12_000,
      forks: {
        london: 12_965_000,
        shanghai: 1_681_338_455,
        cancun: 1_710_338_135,
        prague: 1_746_612_311,
        osaka: 1_764_798_551,
      },
    },
  ],
  [
    11155111,
    {
      name: "sepolia",
      blockTimeMs: 12_000,
      forks: {
        london: 0,
        shanghai: 1_677_557_088,
        cancun: 1_706_655_072,
        prague: 1_741_159_776,
        osaka: 1_760_427_360,
      },
    },
  ],
  [
    17000,
    {
      name: "holesky",
      blockTimeMs: 12_000,
      forks: {
        london: 0,
        shanghai: 1_696_000_704,
        cancun: 1_707_305_664,
        prague: 1_740_434_112,
        osaka: 1_759_308_480,
      },
    },
  ],
  [
    560048,
    {
      name: "hoodi",
      blockTimeMs: 12_000,
      forks: { london: 0, shanghai: 0, cancun: 0, prague: 1_742_999_832, osaka: 1_761_677_592 },
    },
  ],
  // anvil and Hardhat mine a block per transaction unless started with a block time. anvil's default hardfork
  // (`latest`) gives every header field from genesis on; a node started with an older `--hardfork` needs `forks` in
  // the config.
  [31337, { name: "anvil", blockTimeMs: undefined, forks: { london: 0, shanghai: 0, cancun: 0, prague: 0 } }],
  // OP-stack chains make a block every 2 s. Their forks add Ethereum's header fields: Canyon withdrawalsRoot (as
  // Shanghai), Ecotone the blob and beacon-root fields (as Cancun), Isthmus requestsHash (as Prague); OP Mainnet's
  // London is its Bedrock block (the blocks before are the legacy chain's). A block is final once the L1 block that
  // carries its batch is: an hour deep covers batches posted late.
  [
    10,
    {
      name: "optimism",
      stack: "op-stack",
      blockTimeMs: 2_000,
      forks: OP_MAINNET_FORKS(105_235_063),
      finalityDepth: 1_800,
    },
  ],
  [
    11155420,
    { name: "optimism-sepolia", stack: "op-stack", blockTimeMs: 2_000, forks: OP_SEPOLIA_FORKS, finalityDepth: 1_800 },
  ],
  [8453, { name: "base", stack: "op-stack", blockTimeMs: 2_000, forks: OP_MAINNET_FORKS(0), finalityDepth: 1_800 }],
  [
    84532,
    { name: "base-sepolia", stack: "op-stack", blockTimeMs: 2_000, forks: OP_SEPOLIA_FORKS, finalityDepth: 1_800 },
  ],
  // Arbitrum's headers are London's from Nitro on, and it adds no later field; a block is final once its batch's L1
  // block is (an hour of 250 ms blocks).
  [42161, { name: "arbitrum-one", stack: "arbitrum", blockTimeMs: 250, finalityDepth: 14_400 }],
  // Polygon PoS: milestones finalize within seconds since 2024; 128 blocks (about 4 minutes) is a wide margin.
  [137, { name: "polygon", stack: "polygon", blockTimeMs: 2_000, finalityDepth: 128 }],
  // Gnosis finalizes like Ethereum, in two epochs of 16 five-second slots.
  [100, { name: "gnosis", blockTimeMs: 5_000, finalityDepth: 64 }],
  // Linea's single sequencer does not reorg what it has published; L1 finality (proofs) takes hours.
  [59144, { name: "linea", blockTimeMs: 2_000, finalityDepth: 1_800 }],
  // BNB Smart Chain: 0.75 s blocks since its Maxwell upgrade (June 2025); fast finality within a few blocks.
  [56, { name: "bnb", blockTimeMs: 750, finalityDepth: 64 }],
  // Avalanche C-Chain headers carry fields of its own (extDataHash, blockGasCost…): without a schedule they are hashed
  // as stated, or anchored by agreement when a field is unknown. Snowman consensus is final once accepted.
  [43114, { name: "avalanche", blockTimeMs: 2_000, finalityDepth: 16 }],
]);

export function chainPreset(chainId: number): ChainPreset {
  return PRESETS.get(chainId) ?? UNKNOWN_CHAIN_PRESET;
}

/**
 * For a chain Multihome has no preset for, what it assumes and which config fields the operator did not set to say
 * otherwise; undefined when the chain has a preset or every one of them is set.
 */
export function missingPresetWarning(
  chainId: number,
  configured: { stack?: unknown; staleAfterMs?: unknown; forks?: unknown },
): string | undefined {
  if (PRESETS.has(chainId)) return undefined;
  const unset = (["stack", "staleAfterMs", "forks"] as const).filter((k) => configured[k] === undefined);
  if (unset.length === 0) return undefined;
  return (
    `chain ${chainId} has no preset: it is taken as an Ethereum-stack chain with 12 s blocks and no fork schedule; ` +
    `set chains[].${unset.join(", chains[].")} if it is not`
  );
}
