import type { SolanaCluster, SolanaClusterNodeSpec } from "./cluster-types.ts";
import { createDriver, type NodeState, SolanaClusterError } from "./driver.ts";
import { createDriverRpc, errorMessage } from "./driver-rpc.ts";
import type { GenesisAccount } from "./ledger.ts";

export type { SolanaCluster, SolanaClusterNode, SolanaClusterNodeSpec } from "./cluster-types.ts";

import type { SolanaNodeConfig } from "./node.ts";
import { type SolanaNodeProcess, spawnSolanaNode } from "./node-process.ts";

export {
  SOLANA_LOG_CAPACITY_SLOTS,
  SOLANA_REPLAY_BATCH_SLOTS,
  SOLANA_REPLAY_BATCH_TIMEOUT_MS,
  SolanaClusterError,
  type SolanaClusterErrorKind,
  type SolanaNodeStatus,
} from "./driver.ts";

/** What `startSolanaCluster` takes. */
export interface SolanaClusterOptions {
  /** The cluster's name: part of its genesis hash. */
  name: string;
  nodes: SolanaClusterNodeSpec[];
  /** > 0: the driver produces a slot every `slotTimeMs` milliseconds; 0: only `produceSlots()` does. @default 0 */
  slotTimeMs?: number;
  /** Slots between processed and finalized. @default 32 */
  finalizedDepth?: number;
  /** Funded at genesis (system-owned, no data), the same on every node. */
  accounts: GenesisAccount[];
  /** Aborting stops the cluster. */
  signal?: AbortSignal;
  /** Told about every problem the driver works around (a node down, behind, not answering). Never throws into the driver. */
  onError?: (error: SolanaClusterError) => void;
}

/**
 * Starts one node process per spec (all from the same genesis), resolves once every one listens. With `slotTimeMs`
 * > 0 the driver then produces a slot every `slotTimeMs`; otherwise only `produceSlots()` moves the chain.
 */
export async function startSolanaCluster(options: SolanaClusterOptions): Promise<SolanaCluster> {
  const { name, nodes: specs, slotTimeMs = 0, finalizedDepth, accounts, signal, onError } = options;
  validateOptions(specs, slotTimeMs);
  signal?.throwIfAborted();
  const config: SolanaNodeConfig = {
    name,
    accounts: accounts.map((a) => ({ address: a.address, lamports: BigInt(a.lamports).toString() })),
    ...(finalizedDepth === undefined ? {} : { finalizedDepth }),
  };
  const started = await Promise.allSettled(specs.map(() => spawnSolanaNode({ config, signal })));
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(started.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    throw new SolanaClusterError("start", undefined, `a node did not start: ${errorMessage(failed.reason)}`, {
      cause: failed.reason,
    });
  }
  const states: NodeState[] = specs.map((spec, i) => {
    const proc = (started[i] as PromiseFulfilledResult<SolanaNodeProcess>).value;
    const flags = { paused: false, killed: false, behind: false, unresponsive: false, probing: false };
    return { spec, port: proc.port, proc, rpc: createDriverRpc(proc.url), ...flags };
  });
  let genesisHash: string;
  try {
    genesisHash = await (states[0] as NodeState).rpc.call<string>("getGenesisHash", [], { signal });
  } catch (error) {
    await Promise.all(states.map((s) => s.proc.stop()));
    throw new SolanaClusterError("start", specs[0]?.id, `no genesis hash: ${errorMessage(error)}`, { cause: error });
  }
  return createDriver({ name, genesisHash, states, config, slotTimeMs, signal, onError });
}

function validateOptions(specs: readonly SolanaClusterNodeSpec[], slotTimeMs: number): void {
  if (specs.length === 0) throw new TypeError("startSolanaCluster: at least one node");
  if (new Set(specs.map((s) => s.id)).size !== specs.length) {
    throw new TypeError("startSolanaCluster: node ids must be unique");
  }
  if (!Number.isFinite(slotTimeMs) || slotTimeMs < 0) {
    throw new RangeError(`startSolanaCluster: slotTimeMs must be >= 0, got ${slotTimeMs}`);
  }
}
