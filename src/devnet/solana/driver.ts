/**
 * The Solana cluster's driver (see cluster.ts): it plays gossip and turbine for nodes that do not talk to each other.
 * Each slot: catch up the nodes that are behind, read every ready node's pool, take the union in signature order, tell
 * every ready node to produce the slot with that list, log the list. Chain operations run one at a time.
 */

import { BaseError } from "../../core/errors.ts";
import { createSerialDriver, type SerialDriver } from "../serial.ts";
import type { SolanaCluster, SolanaClusterNode, SolanaClusterNodeSpec, SolanaNodeStatus } from "./cluster-types.ts";

export type { SolanaNodeStatus } from "./cluster-types.ts";

import { DevnetRpcError, DevnetUnreachableError, type DriverRpc, errorMessage } from "./driver-rpc.ts";
import type { SolanaNodeConfig } from "./node.ts";
import { type SolanaNodeProcess, spawnSolanaNode } from "./node-process.ts";
import { decodeWireTransaction } from "./transaction.ts";

/** How many slots with transactions the driver's log keeps; a node further behind cannot be replayed. */
export const SOLANA_LOG_CAPACITY_SLOTS = 20_000;
/** Slots replayed per batch request when a node catches up. */
export const SOLANA_REPLAY_BATCH_SLOTS = 256;
/** How long one replay batch may take, in milliseconds. */
export const SOLANA_REPLAY_BATCH_TIMEOUT_MS = 15_000;

/** What went wrong: `code` of a {@link SolanaClusterError}. */
export type SolanaClusterErrorKind = "start" | "unreachable" | "behind" | "produce" | "replay" | "exited" | "stopped";

/** A problem the driver met (reported to `onError`) or a refused operation (thrown). */
export class SolanaClusterError extends BaseError<SolanaClusterErrorKind> {
  override readonly name = "SolanaClusterError";
  readonly code: SolanaClusterErrorKind;
  readonly nodeId: string | undefined;
  constructor(
    code: SolanaClusterErrorKind,
    nodeId: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(nodeId === undefined ? message : `node ${nodeId}: ${message}`, options);
    this.code = code;
    this.nodeId = nodeId;
  }
}

/** The driver's view of one node. */
export interface NodeState extends SolanaNodeStatus {
  spec: SolanaClusterNodeSpec;
  port: number;
  proc: SolanaNodeProcess;
  rpc: DriverRpc;
  /** A background `devnet_status` probe of an unresponsive node is in flight. */
  probing: boolean;
}

/** The driver's log: every slot's transactions, the chain a node replays to catch up. */
interface SlotLog {
  /** The last slot produced. */
  head: number;
  /** The lowest slot that can still be replayed (older slots with transactions were trimmed). */
  floor: number;
  /** Transactions (base64, canonical order) of every slot that had any, by slot. */
  slots: Map<number, string[]>;
}

/** What `createDriver` takes: started nodes and what the cluster was started with. */
export interface DriverOptions {
  name: string;
  genesisHash: string;
  states: NodeState[];
  config: SolanaNodeConfig;
  slotTimeMs: number;
  signal: AbortSignal | undefined;
  onError: ((error: SolanaClusterError) => void) | undefined;
}

/** The driver over started nodes, as the public cluster object; it starts producing when `slotTimeMs` > 0. */
export function createDriver(options: DriverOptions): SolanaCluster {
  const { name, genesisHash, states, config, slotTimeMs, signal, onError } = options;
  const abort = new AbortController();
  const log: SlotLog = { head: 0, floor: 1, slots: new Map() };
  let stopping: Promise<void> | undefined;
  let loopTimer: NodeJS.Timeout | undefined;
  const { serial, report, attempt, stopped, markStopped } = clusterSerialDriver(onError);

  async function produceOne(): Promise<number> {
    const slot = log.head + 1;
    const sig = abort.signal;
    const live = states.filter((s) => !s.paused && !s.killed);
    if (live.length === 0) {
      throw new SolanaClusterError("produce", undefined, `slot ${slot}: every node is paused or killed`);
    }
    for (const s of live) if (s.unresponsive) probe(s, sig);
    const ready = live.filter((s) => !s.unresponsive);
    await Promise.all(ready.filter((s) => s.behind).map((s) => attempt(s, "catching up", () => catchUp(s, log, sig))));
    const inSync = ready.filter((s) => !s.behind);
    const pools = await Promise.all(
      inSync.map((s) => attempt(s, "reading its pool", () => s.rpc.call<string[]>("devnet_pool", [], { signal: sig }))),
    );
    const transactions = canonicalOrder(pools);
    const targets = inSync.filter((_, i) => pools[i] !== undefined);
    await Promise.all(
      targets.map((s) =>
        attempt(s, `producing slot ${slot}`, () =>
          s.rpc.call("devnet_produceSlot", [{ slot, transactions }], { signal: sig }),
        ),
      ),
    );
    // The log is the chain: a node that missed this slot replays it from here.
    append(log, slot, transactions);
    return slot;
  }

  /** Tells `onError` when a node dies on its own (not by `kill`, `restart` or `stop`). */
  function watchExit(s: NodeState): void {
    const proc = s.proc;
    void proc.exited.then(() => {
      if (s.proc !== proc || s.killed || stopped()) return;
      s.killed = true;
      report(new SolanaClusterError("exited", s.spec.id, "the node process exited"));
    });
  }

  async function restartNode(s: NodeState): Promise<void> {
    s.killed = true;
    await s.proc.stop();
    const proc = await spawnSolanaNode({ config, port: s.port, signal: abort.signal });
    Object.assign(s, { proc, paused: false, killed: false, behind: true, unresponsive: false });
    watchExit(s);
    await catchUp(s, log, abort.signal);
  }

  const onAbort = () => void stop();
  function stop(): Promise<void> {
    stopping ??= (async () => {
      markStopped();
      clearTimeout(loopTimer);
      signal?.removeEventListener("abort", onAbort);
      abort.abort(new SolanaClusterError("stopped", undefined, "the cluster is stopped"));
      await Promise.all(states.map((s) => s.proc.stop()));
    })();
    return stopping;
  }

  function tick(): void {
    if (stopped()) return;
    loopTimer = setTimeout(() => {
      serial(produceOne)
        .catch((error: unknown) => {
          if (!stopped()) report(new SolanaClusterError("produce", undefined, errorMessage(error), { cause: error }));
        })
        .finally(tick);
    }, slotTimeMs);
  }

  for (const s of states) watchExit(s);
  signal?.addEventListener("abort", onAbort, { once: true });
  if (slotTimeMs > 0) tick();
  return clusterObject(name, genesisHash, states, {
    serial,
    produceOne,
    slot: () => log.head,
    catchUp: (s) => catchUp(s, log, abort.signal),
    restartNode,
    stop,
    signal: abort.signal,
  });
}

/** The driver's one-at-a-time queue, reporter and per-node step wrapper (../serial.ts), with the cluster's names. */
function clusterSerialDriver(onError: DriverOptions["onError"]): SerialDriver<SolanaClusterError, NodeState> {
  return createSerialDriver<SolanaClusterError, NodeState>({
    onError,
    stoppedError: () => new SolanaClusterError("stopped", undefined, "the cluster is stopped"),
    // A step that fails marks the node behind (and unresponsive on a timeout).
    flags: {
      unreachable: (s) => s.unresponsive,
      setUnreachable: (s, value) => {
        s.unresponsive = value;
      },
      fellBehind: (s) => {
        s.behind = true;
      },
    },
    errorOf: (s, what, error) => {
      if (error instanceof DevnetUnreachableError) {
        return new SolanaClusterError("unreachable", s.spec.id, `${what}: ${error.message}`, { cause: error });
      }
      const kind = error instanceof SolanaClusterError ? error.code : "behind";
      return new SolanaClusterError(kind, s.spec.id, `${what}: ${errorMessage(error)}`, { cause: error });
    },
  });
}

interface DriverOps {
  serial<T>(fn: () => Promise<T>): Promise<T>;
  produceOne(): Promise<number>;
  slot(): number;
  catchUp(s: NodeState): Promise<void>;
  restartNode(s: NodeState): Promise<void>;
  stop(): Promise<void>;
  signal: AbortSignal;
}

/** The public handles: everything that moves the chain goes through `serial`. */
function clusterObject(name: string, genesisHash: string, states: NodeState[], ops: DriverOps): SolanaCluster {
  const stateOf = (id: string): NodeState => {
    const s = states.find((n) => n.spec.id === id);
    if (!s) throw new RangeError(`no node with id ${JSON.stringify(id)}`);
    return s;
  };
  return {
    name,
    genesisHash,
    nodes: states.map(nodeView),
    slot: ops.slot,
    produceSlots(count = 1) {
      if (!Number.isInteger(count) || count < 1) {
        return Promise.reject(new RangeError(`produceSlots(count): a positive integer, got ${count}`));
      }
      return ops.serial(async () => {
        for (let i = 0; i < count; i++) await ops.produceOne();
        return ops.slot();
      });
    },
    sendTransaction: (base64) => broadcast(states, base64, ops.signal),
    pause(id) {
      const s = stateOf(id);
      if (s.killed) throw new SolanaClusterError("behind", id, "cannot pause a killed node");
      s.paused = true;
      s.proc.signal("SIGSTOP");
    },
    resume(id) {
      const s = stateOf(id);
      if (s.killed) return Promise.reject(new SolanaClusterError("behind", id, "cannot resume a killed node"));
      s.proc.signal("SIGCONT");
      return ops.serial(async () => {
        Object.assign(s, { paused: false, behind: true, unresponsive: false });
        await ops.catchUp(s);
      });
    },
    async kill(id) {
      const s = stateOf(id);
      s.killed = true;
      s.proc.signal("SIGKILL");
      await s.proc.exited;
    },
    restart: (id) => ops.serial(() => ops.restartNode(stateOf(id))),
    nodeStatus(id) {
      const { paused, killed, behind, unresponsive } = stateOf(id);
      return { paused, killed, behind, unresponsive };
    },
    stop: ops.stop,
  };
}

/** Records a produced slot; past {@link SOLANA_LOG_CAPACITY_SLOTS} slots with transactions, the oldest goes. */
function append(log: SlotLog, slot: number, transactions: string[]): void {
  log.head = slot;
  if (transactions.length === 0) return;
  log.slots.set(slot, transactions);
  if (log.slots.size <= SOLANA_LOG_CAPACITY_SLOTS) return;
  const oldest = log.slots.keys().next().value as number;
  log.slots.delete(oldest);
  log.floor = oldest + 1;
}

/** Replays the logged slots a node lacks, in batches of {@link SOLANA_REPLAY_BATCH_SLOTS}; throws when it cannot. */
async function catchUp(s: NodeState, log: SlotLog, signal: AbortSignal): Promise<void> {
  const status = await s.rpc.call<{ slot: number }>("devnet_status", [], { signal });
  if (status.slot > log.head) {
    throw new SolanaClusterError("replay", s.spec.id, `is at slot ${status.slot}, past the driver's ${log.head}`);
  }
  let from = status.slot + 1;
  if (from < log.floor && from <= log.head) {
    throw new SolanaClusterError("replay", s.spec.id, `slots ${from}..${log.floor - 1} are no longer in the log`);
  }
  while (from <= log.head) {
    const to = Math.min(log.head, from + SOLANA_REPLAY_BATCH_SLOTS - 1);
    const calls = [];
    for (let n = from; n <= to; n++) {
      calls.push({ method: "devnet_produceSlot", params: [{ slot: n, transactions: log.slots.get(n) ?? [] }] });
    }
    await s.rpc.batch(calls, { signal, timeoutMs: SOLANA_REPLAY_BATCH_TIMEOUT_MS });
    from = to + 1;
  }
  s.behind = false;
}

/** Asks an unresponsive node, in the background, whether it answers again; the next slot then catches it up. */
function probe(s: NodeState, signal: AbortSignal): void {
  if (s.probing || s.paused || s.killed) return;
  s.probing = true;
  s.rpc
    .call("devnet_status", [], { signal })
    .then(
      () => {
        s.unresponsive = false;
      },
      () => {},
    )
    .finally(() => {
      s.probing = false;
    });
}

/** The union of the pools, one entry per signature, in canonical (signature) order. */
export function canonicalOrder(pools: readonly (readonly string[] | undefined)[]): string[] {
  const union = new Map<string, string>();
  for (const pool of pools) {
    for (const raw of pool ?? []) {
      try {
        const { signature } = decodeWireTransaction(Buffer.from(raw, "base64"));
        if (!union.has(signature)) union.set(signature, raw);
      } catch {
        // Nothing a node can run: leave it out of the slot.
      }
    }
  }
  return [...union.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, raw]) => raw);
}

function nodeView(s: NodeState): SolanaClusterNode {
  return Object.freeze({
    id: s.spec.id,
    domain: Object.freeze({ ...s.spec.domain }),
    url: s.proc.url,
    get pid() {
      return s.proc.pid;
    },
  });
}

/** Sends to every live node at once: the first signature wins; when every node refuses, the first refusal is thrown. */
async function broadcast(states: readonly NodeState[], base64: string, signal: AbortSignal): Promise<string> {
  const live = states.filter((s) => !s.paused && !s.killed);
  if (live.length === 0) {
    throw new SolanaClusterError("produce", undefined, "sendTransaction: every node is paused or killed");
  }
  const outcomes = await Promise.allSettled(
    live.map((s) => s.rpc.call<string>("sendTransaction", [base64, { encoding: "base64" }], { signal })),
  );
  const sent = outcomes.find((o) => o.status === "fulfilled");
  if (sent) return (sent as PromiseFulfilledResult<string>).value;
  const refusals = outcomes.map((o) => (o as PromiseRejectedResult).reason);
  throw refusals.find((r) => r instanceof DevnetRpcError) ?? refusals[0];
}
