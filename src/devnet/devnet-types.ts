/** The shapes of a running devnet (see devnet.ts), apart so the driver's modules and the devnet share them. */

import type { FailureDomain } from "../core/domains/domain.ts";
import { BaseError } from "../core/errors.ts";
import type { DevAccount } from "./accounts.ts";
import type { Hex } from "./node-ops.ts";

export interface DevnetNodeSpec {
  id: string;
  domain: FailureDomain;
}

export interface DevnetOptions {
  nodes: DevnetNodeSpec[];
  /** @default 31337 */
  chainId?: number;
  /** > 0: the driver mines a block on every active node every `blockTimeMs` milliseconds; 0: only `mine()` mines. @default 0 */
  blockTimeMs?: number;
  /**
   * Genesis timestamp in seconds; block N gets `startTimestamp + N * max(1, round(blockTimeMs / 1000))`, plus one
   * second for every `reorg` made before it was mined. @default `DEVNET_DEFAULT_START_TIMESTAMP` (devnet.ts)
   */
  startTimestamp?: number;
  /**
   * anvil's network family: `optimism` gives OP-stack nodes, which take deposit transactions (type 0x7e, unsigned:
   * their raw bytes from any sender, see `userDeposit` in op-stack.ts, or `eth_sendTransaction` to one node) and replay
   * them from their raw bytes like any other.
   * @default "ethereum"
   */
  network?: "ethereum" | "optimism";
  /**
   * Start every block with an L1-attributes deposit (from the depositor account to the L1Block predeploy), as every
   * block of a real OP chain does; only with `network: "optimism"`. @default true on `optimism`
   */
  l1AttributesDeposits?: boolean;
  /** Aborting stops the devnet. */
  signal?: AbortSignal;
  /** Told about every problem the driver works around (a node down, a node that diverged, a failed block). Never throws into the driver. */
  onError?: (error: DevnetError) => void;
}

export interface DevnetNode {
  id: string;
  domain: FailureDomain;
  url: string;
  wsUrl: string;
  port: number;
  pid: number;
}

export interface DevnetNodeStatus {
  paused: boolean;
  /** At the driver's head with the logged block hashes (false while down, lagging or being replayed). */
  inSync: boolean;
  /** Its state differs from the others with the same transactions (e.g. `anvil_setBalance` made it a liar): never repaired. */
  diverged: boolean;
  /** The last call to it failed at the transport level. */
  unreachable: boolean;
}

export interface Devnet {
  chainId: number;
  nodes: DevnetNode[];
  /** anvil's default funded dev accounts. */
  accounts: DevAccount[];
  /** Last block number mined by the driver. */
  head(): number;
  /**
   * Heights at which some node mined another block than the one the chain kept (a client's transaction raced into its
   * pool while the driver mined) and was rolled back and replayed: until then, that node served its own block, which
   * is a one-block reorg as far as a client can tell.
   */
  forkedHeights(): number[];
  /** Mines `count` (default 1) identical blocks on every active node; returns the new head. */
  mine(count?: number): Promise<number>;
  /** Submits to every node (paused ones too: a lagging provider still hears about transactions); returns the hash. */
  sendRawTransaction(raw: Hex): Promise<Hex>;
  /**
   * Replaces the last `depth` blocks on every active node with `depth` new blocks at the same heights (so the head
   * number is unchanged), whose hashes differ from the orphaned ones; the transactions of the orphaned blocks are
   * re-included in the first replacement block (in their original order, deposits first), so each ends up in a block
   * with a new hash. With L1-attributes deposits, each replacement starts with its own (a new L1 origin) instead.
   * Paused nodes keep the old branch until `resume` (which then brings them onto the new branch). Transactions
   * waiting in pools stay there for the next block. `depth` is an integer from 1 to the head, at most
   * `DEVNET_MAX_RESYNC_DEPTH` (resync.ts).
   * Resolves with the orphaned block hashes (lowest first) and the new hashes at the same heights.
   */
  reorg(depth: number): Promise<DevnetReorg>;
  /** Stops mining that node: it lags behind until `resume`. */
  pause(nodeId: string): void;
  /** Replays the blocks it missed (same transactions, same timestamps) so it catches up with identical hashes. */
  resume(nodeId: string): Promise<void>;
  nodeStatus(nodeId: string): DevnetNodeStatus;
  /** Stops the driver loop and every anvil process; idempotent. */
  stop(): Promise<void>;
}

export interface DevnetReorg {
  /** Hashes of the replaced blocks, lowest first. */
  orphaned: Hex[];
  /** Hashes of the new blocks at the same heights, lowest first. */
  replacements: Hex[];
  /** The head block number (the same as before the reorg). */
  head: number;
}

export type DevnetErrorKind = "unreachable" | "diverged" | "resync" | "mine" | "stopped" | "start";

export class DevnetError extends BaseError<DevnetErrorKind> {
  override readonly name = "DevnetError";
  readonly code: DevnetErrorKind;
  readonly nodeId: string | undefined;
  constructor(code: DevnetErrorKind, nodeId: string | undefined, message: string, options?: { cause?: unknown }) {
    super(nodeId === undefined ? message : `node ${nodeId}: ${message}`, options);
    this.code = code;
    this.nodeId = nodeId;
  }
}
