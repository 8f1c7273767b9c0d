/**
 * The library entry: `import { createMultihome } from "multihome"`. Everything reachable from here runs in a browser
 * as well as in Node (a test bundles it for the browser and fails on any Node-only module).
 */

export { ConfigError } from "../config/validate.ts";
export type { Store } from "../core/store.ts";
export { createMemoryStore } from "../stores/memory/memory-store.ts";
export { createFetchTransport, type FetchTransportOptions } from "../upstream/fetch-transport.ts";
export {
  createEip1193Provider,
  EIP1193_CONNECT_WAIT_MS,
  EIP1193_UNAUTHORIZED,
  EIP1193_UNSUPPORTED_METHOD,
  type Eip1193Provider,
  ProviderRpcError,
} from "./eip1193.ts";
export {
  type AccountAnswer,
  type AccountView,
  type Answer,
  type ChainStatus,
  CLIENT_CACHE_MAX_BYTES_DEFAULT,
  CLIENT_READY_TIMEOUT_MS_DEFAULT,
  type ClientSettings,
  type ClientUpstream,
  createMultihome,
  type Evidence,
  type EvidenceEvent,
  type Multihome,
  type MultihomeOptions,
  MultihomeRpcError,
  type RequestArguments,
  type RequestOptions,
  type RpcErrorBody,
  type Verification,
} from "./multihome.ts";
export {
  createSolanaMultihome,
  type SolanaClientAnswer,
  type SolanaMultihome,
  type SolanaMultihomeOptions,
} from "./solana.ts";
export { type MultihomeTransport, type MultihomeTransportOptions, multihome } from "./viem.ts";
