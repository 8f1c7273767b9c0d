/**
 * The built-in provider registry: for each RPC vendor, the URL of its endpoint for each chain it serves, so a config
 * names a vendor and a key (`{ provider: alchemy, key: ${ALCHEMY_KEY} }`) instead of a URL. Pure data.
 *
 * A template may hold `{network}` (the vendor's name for the chain, from `networks`), `{key}` (the API key, project
 * id or token) and `{endpoint}` (a name the vendor gave the customer's own endpoint or node). Only formats stated in
 * each vendor's documentation are listed, and only for the chains of core/chain-presets.ts; any other chain takes a
 * plain `url`, or a network name in the config (`providers.<vendor>.networks`).
 */

export interface ProviderSpec {
  /** The vendor's name for people (messages, docs). */
  title: string;
  /** The endpoint of every chain in `networks`, unless `urls` gives that chain its own. */
  url: string;
  /** Chain id → the vendor's name for the chain, put in for `{network}`. */
  networks: Readonly<Record<number, string>>;
  /** Chains whose endpoint does not follow `url` (no network part, or an extra path): chain id → template. */
  urls?: Readonly<Record<number, string>>;
  /**
   * The endpoint used when an entry names an `endpoint` (a node of the customer's own), for any chain: the vendor's
   * dedicated nodes have a host of their own rather than one per chain.
   */
  endpointUrl?: string;
}

export const PROVIDERS = {
  alchemy: {
    title: "Alchemy",
    url: "https://{network}.g.alchemy.com/v2/{key}",
    networks: {
      1: "eth-mainnet",
      11155111: "eth-sepolia",
      560048: "eth-hoodi",
      10: "opt-mainnet",
      11155420: "opt-sepolia",
      8453: "base-mainnet",
      84532: "base-sepolia",
      42161: "arb-mainnet",
      137: "polygon-mainnet",
      100: "gnosis-mainnet",
      59144: "linea-mainnet",
      56: "bnb-mainnet",
      43114: "avax-mainnet",
    },
  },
  infura: {
    title: "Infura",
    url: "https://{network}.infura.io/v3/{key}",
    networks: {
      1: "mainnet",
      11155111: "sepolia",
      560048: "hoodi",
      10: "optimism-mainnet",
      11155420: "optimism-sepolia",
      8453: "base-mainnet",
      84532: "base-sepolia",
      42161: "arbitrum-mainnet",
      137: "polygon-mainnet",
      59144: "linea-mainnet",
      56: "bsc-mainnet",
      43114: "avalanche-mainnet",
    },
  },
  // An endpoint's URL is https://<endpoint name>.<network>.quiknode.pro/<token>/; Ethereum mainnet has no network part,
  // and Avalanche's C-Chain is under /ext/bc/C/rpc/.
  quicknode: {
    title: "QuickNode",
    url: "https://{endpoint}.{network}.quiknode.pro/{key}/",
    networks: {
      11155111: "ethereum-sepolia",
      17000: "ethereum-holesky",
      560048: "ethereum-hoodi",
      10: "optimism",
      11155420: "optimism-sepolia",
      8453: "base-mainnet",
      84532: "base-sepolia",
      42161: "arbitrum-mainnet",
      137: "matic",
      100: "xdai",
      59144: "linea-mainnet",
      56: "bsc",
      43114: "avalanche-mainnet",
    },
    urls: {
      1: "https://{endpoint}.quiknode.pro/{key}/",
      43114: "https://{endpoint}.avalanche-mainnet.quiknode.pro/{key}/ext/bc/C/rpc/",
    },
  },
  ankr: {
    title: "Ankr",
    url: "https://rpc.ankr.com/{network}/{key}",
    networks: {
      1: "eth",
      11155111: "eth_sepolia",
      17000: "eth_holesky",
      560048: "eth_hoodi",
      10: "optimism",
      11155420: "optimism_sepolia",
      8453: "base",
      84532: "base_sepolia",
      42161: "arbitrum",
      137: "polygon",
      100: "gnosis",
      59144: "linea",
      56: "bsc",
      43114: "avalanche",
    },
  },
  drpc: {
    title: "dRPC",
    url: "https://lb.drpc.org/ogrpc?network={network}&dkey={key}",
    networks: {
      1: "ethereum",
      11155111: "sepolia",
      17000: "holesky",
      560048: "hoodi",
      10: "optimism",
      11155420: "optimism-sepolia",
      8453: "base",
      84532: "base-sepolia",
      42161: "arbitrum",
      137: "polygon",
      100: "gnosis",
      59144: "linea",
      56: "bsc",
      43114: "avalanche",
    },
  },
  // A global node: https://<network>.core.chainstack.com/<key>; a node deployed in one region or dedicated has a host
  // of its own, named in the console like nd-123-456-789 (the entry's `endpoint`).
  chainstack: {
    title: "Chainstack",
    url: "https://{network}.core.chainstack.com/{key}",
    networks: {
      1: "ethereum-mainnet",
      11155111: "ethereum-sepolia",
      10: "optimism-mainnet",
      8453: "base-mainnet",
      42161: "arbitrum-mainnet",
      137: "polygon-mainnet",
      56: "bsc-mainnet",
    },
    endpointUrl: "https://{endpoint}.p2pify.com/{key}",
  },
  // Blast API announced its shutdown after Alchemy took it over: its entries stay for endpoints that still answer.
  blastapi: {
    title: "Blast API",
    url: "https://{network}.blastapi.io/{key}",
    networks: {
      1: "eth-mainnet",
      11155111: "eth-sepolia",
      17000: "eth-holesky",
      10: "optimism-mainnet",
      8453: "base-mainnet",
      84532: "base-sepolia",
      42161: "arbitrum-one",
      137: "polygon-mainnet",
      100: "gnosis-mainnet",
      59144: "linea-mainnet",
      56: "bsc-mainnet",
    },
  },
  tenderly: {
    title: "Tenderly",
    url: "https://{network}.gateway.tenderly.co/{key}",
    networks: {
      1: "mainnet",
      11155111: "sepolia",
      560048: "hoodi",
      10: "optimism",
      11155420: "optimism-sepolia",
      8453: "base",
      84532: "base-sepolia",
      42161: "arbitrum",
      137: "polygon",
      100: "gnosis-chain",
      59144: "linea",
      43114: "avalanche",
    },
  },
  // Free public endpoints, no key.
  publicnode: {
    title: "PublicNode",
    url: "https://{network}-rpc.publicnode.com",
    networks: {
      1: "ethereum",
      11155111: "ethereum-sepolia",
      17000: "ethereum-holesky",
      560048: "ethereum-hoodi",
      10: "optimism",
      11155420: "optimism-sepolia",
      8453: "base",
      84532: "base-sepolia",
      42161: "arbitrum-one",
      137: "polygon-bor",
      100: "gnosis",
      59144: "linea",
      56: "bsc",
      43114: "avalanche-c-chain",
    },
  },
} as const satisfies Record<string, ProviderSpec>;

export type ProviderName = keyof typeof PROVIDERS;

/** The built-in vendor called `name`, if there is one. */
export function builtInProvider(name: string): ProviderSpec | undefined {
  return Object.hasOwn(PROVIDERS, name) ? PROVIDERS[name as ProviderName] : undefined;
}

/** The chain ids a built-in vendor serves, ascending. */
export function servedChains(spec: ProviderSpec): number[] {
  const ids = new Set([...Object.keys(spec.networks), ...Object.keys(spec.urls ?? {})].map(Number));
  return [...ids].sort((a, b) => a - b);
}
