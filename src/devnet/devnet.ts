/**
 * The demo/test network: several anvil nodes, each standing for a provider in its own failure domain, kept on
 * identical blocks by one deterministic driver.
 *
 * anvil nodes do not talk to each other, so the driver plays the network: before every block it gathers the union
 * of all pools (a client may have reached only one node), gives every active node exactly that set in one canonical
 * order, and mines with the same timestamp everywhere (mine.ts). Same genesis + same transactions in the same order +
 * same timestamp = same block hash and state root. When a node still ends up different (a transaction raced in
 * between), the majority block wins and the odd node is rolled back and replayed from the driver's log (resync.ts).
 *
 * A reorg is played the same way (reorg.ts): every active node rolls back the same blocks and mines the same
 * replacements, one second later.
 *
 * On an OP-stack devnet every block starts with what the driver puts there itself, before the pools' transactions: its
 * L1-attributes deposit (op-stack.ts), a function of the block's number and timestamp, logged and replayed like the
 * rest; a replacement block gets its own.
 *
 * This file starts the nodes and puts the driver together; the shapes it returns are in devnet-types.ts, the driver's
 * state in chain.ts.
 */

import { keccak256 } from "viem";
import { DEV_ACCOUNTS } from "./accounts.ts";
import { type AnvilProcess, startAnvil } from "./anvil.ts";
import type { DevnetChain, NodeState } from "./chain.ts";
import { type Devnet, DevnetError, type DevnetNode, type DevnetNodeSpec, type DevnetOptions } from "./devnet-types.ts";
import { produceBlock } from "./mine.ts";
import { blockAt, type Hex } from "./node-ops.ts";
import { devnetL1Attributes, l1AttributesDeposit } from "./op-stack.ts";
import { reorgChain } from "./reorg.ts";
import { resync } from "./resync.ts";
import { createRpcClient, DevnetRpcError, DevnetUnreachableError, errorMessage } from "./rpc.ts";
import { createSerialDriver } from "./serial.ts";

export {
  type Devnet,
  DevnetError,
  type DevnetErrorKind,
  type DevnetNode,
  type DevnetNodeSpec,
  type DevnetNodeStatus,
  type DevnetOptions,
  type DevnetReorg,
} from "./devnet-types.ts";
export { DEVNET_MAX_RESYNC_DEPTH } from "./resync.ts";

/** Genesis timestamp when none is given: 2026-01-01T00:00:00Z, in seconds. Fixed, so runs are reproducible. */
export const DEVNET_DEFAULT_START_TIMESTAMP = 1_767_225_600;

export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const { nodes: specs, chainId = 31337, blockTimeMs = 0, signal, onError, network = "ethereum" } = options;
  const startTimestamp = options.startTimestamp ?? DEVNET_DEFAULT_START_TIMESTAMP;
  const l1Attributes = options.l1AttributesDeposits ?? network === "optimism";
  validateOptions(specs, blockTimeMs, startTimestamp);
  if (l1Attributes && network !== "optimism") {
    throw new TypeError('startDevnet: `l1AttributesDeposits` needs `network: "optimism"`');
  }
  signal?.throwIfAborted();
  const states = await startNodes(specs, { chainId, startTimestamp, network, signal });
  const driverAbort = new AbortController();
  const chain = createChain(states, { startTimestamp, blockTimeMs, l1Attributes, network, onError }, driverAbort);
  const { serial, report, stopped, markStopped, settled } = chain.driver;
  let stopping: Promise<void> | undefined;
  let loopTimer: NodeJS.Timeout | undefined;

  /**
   * When the next timed block is due: `blockTimeMs` after the one before, however long mining took. Block timestamps
   * step by whole block times, so with a whole number of seconds per block they keep pace with the clock instead of
   * falling behind by each block's mining time.
   */
  let nextBlockDueAt = 0;
  function scheduleNext(): void {
    if (stopped() || blockTimeMs <= 0) return;
    nextBlockDueAt += blockTimeMs;
    const delay = Math.max(0, nextBlockDueAt - Date.now());
    loopTimer = setTimeout(() => {
      loopTimer = undefined;
      serial(() => produceBlock(chain))
        .catch((error: unknown) => {
          if (stopped()) return;
          report(
            error instanceof DevnetError
              ? error
              : new DevnetError("mine", undefined, errorMessage(error), { cause: error }),
          );
        })
        .then(scheduleNext);
    }, delay);
  }

  const onAbort = () => void devnet.stop();
  const devnet: Devnet = devnetHandle(chain, chainId, () => {
    stopping ??= (async () => {
      markStopped();
      if (loopTimer) clearTimeout(loopTimer);
      loopTimer = undefined;
      signal?.removeEventListener("abort", onAbort);
      driverAbort.abort(new DevnetError("stopped", undefined, "the devnet is stopped"));
      await settled();
      await Promise.all(states.map((s) => s.anvil.stop()));
    })();
    return stopping;
  });
  signal?.addEventListener("abort", onAbort, { once: true });

  try {
    await startChain(chain);
  } catch (error) {
    await devnet.stop();
    throw error;
  }
  nextBlockDueAt = Date.now();
  scheduleNext();
  return devnet;
}

/** One anvil per spec, all from the same genesis; when one does not start, the others are stopped again. */
async function startNodes(
  specs: readonly DevnetNodeSpec[],
  options: { chainId: number; startTimestamp: number; network: "ethereum" | "optimism"; signal?: AbortSignal },
): Promise<NodeState[]> {
  const { chainId, startTimestamp, network, signal } = options;
  const started = await Promise.allSettled(
    specs.map(() =>
      startAnvil({
        chainId,
        timestamp: startTimestamp,
        noMining: true,
        extraArgs: ["--order", "fifo", ...(network === "optimism" ? ["--network", "optimism"] : [])],
        signal,
      }),
    ),
  );
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(started.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    throw new DevnetError("start", undefined, `an anvil node did not start: ${errorMessage(failed.reason)}`, {
      cause: failed.reason,
    });
  }
  return specs.map((spec, i) => {
    const anvil = (started[i] as PromiseFulfilledResult<AnvilProcess>).value;
    const view: DevnetNode = Object.freeze({
      id: spec.id,
      domain: Object.freeze({ ...spec.domain }),
      url: anvil.url,
      wsUrl: anvil.wsUrl,
      port: anvil.port,
      pid: anvil.pid,
    });
    const state = { paused: false, inSync: true, diverged: false, unreachable: false };
    return { id: spec.id, view, anvil, rpc: createRpcClient(anvil.url), ...state };
  });
}

interface ChainOptions {
  startTimestamp: number;
  blockTimeMs: number;
  l1Attributes: boolean;
  network: "ethereum" | "optimism";
  onError: DevnetOptions["onError"];
}

/** The driver's state over started nodes, at genesis, and its one-at-a-time queue. */
function createChain(states: NodeState[], options: ChainOptions, driverAbort: AbortController): DevnetChain {
  const { startTimestamp, blockTimeMs, l1Attributes, network, onError } = options;
  const blockInterval = Math.max(1, Math.round(blockTimeMs / 1000));
  const driver = createSerialDriver<DevnetError, NodeState>({
    onError,
    stoppedError: () => new DevnetError("stopped", undefined, "the devnet is stopped"),
    // A step that fails marks the node out of sync (and unreachable on a transport failure).
    flags: {
      unreachable: (s) => s.unreachable,
      setUnreachable: (s, value) => {
        s.unreachable = value;
      },
      fellBehind: (s) => {
        s.inSync = false;
      },
    },
    errorOf: (s, what, error) => {
      if (error instanceof DevnetUnreachableError) {
        return new DevnetError("unreachable", s.id, `${what}: ${error.message}`, { cause: error });
      }
      if (error instanceof DevnetError) return error;
      return new DevnetError("mine", s.id, `${what}: ${errorMessage(error)}`, { cause: error });
    },
  });
  const chain: DevnetChain = {
    states,
    log: [],
    head: 0,
    timestampOffset: 0,
    knownRaw: new Map(),
    forked: new Set(),
    signal: driverAbort.signal,
    deposits: { deposits: network === "optimism" },
    timestampOf: (n, offset = chain.timestampOffset) => startTimestamp + n * blockInterval + offset,
    preambleOf: (number, timestamp) =>
      l1Attributes ? [l1AttributesDeposit(devnetL1Attributes(number, timestamp))] : [],
    driver,
  };
  return chain;
}

/** Logs the common genesis and mines block 1 on every node; throws when the nodes do not agree. */
async function startChain(chain: DevnetChain): Promise<void> {
  const { states } = chain;
  const genesis = await Promise.all(states.map((s) => blockAt(s.rpc, 0, chain.signal)));
  const first = genesis[0]!;
  if (genesis.some((g) => g.hash !== first.hash)) {
    throw new DevnetError("start", undefined, "the nodes started with different genesis blocks");
  }
  chain.log[0] = {
    number: 0,
    hash: first.hash,
    timestamp: first.timestamp,
    baseFeePerGas: first.baseFeePerGas,
    txHashes: [],
    txs: [],
    preamble: 0,
  };
  // The genesis state root is the empty trie's, so no proof can be checked against it: start at block 1.
  await chain.driver.serial(() => produceBlock(chain));
  const behind = states.filter((s) => !s.inSync || s.unreachable);
  if (behind.length > 0) {
    throw new DevnetError("start", undefined, `block 1 differs on ${behind.map((s) => s.id).join(", ")}`);
  }
}

/** The public handles: everything that moves the chain goes through `serial`. */
function devnetHandle(chain: DevnetChain, chainId: number, stop: () => Promise<void>): Devnet {
  const { states } = chain;
  const { serial } = chain.driver;
  const nodeState = (nodeId: string): NodeState => {
    const s = states.find((x) => x.id === nodeId);
    if (!s) throw new DevnetError("mine", nodeId, "no such node");
    return s;
  };
  return {
    chainId,
    nodes: states.map((s) => s.view),
    accounts: DEV_ACCOUNTS.map((a) => ({ ...a })),
    head: () => chain.head,
    forkedHeights: () => [...chain.forked].sort((a, b) => a - b),
    async mine(count = 1) {
      if (!Number.isInteger(count) || count < 0) throw new TypeError(`mine(count): count must be an integer >= 0`);
      for (let i = 0; i < count; i++) await serial(() => produceBlock(chain));
      return chain.head;
    },
    sendRawTransaction: (raw) => sendToAll(chain, raw),
    async reorg(depth) {
      if (!Number.isInteger(depth) || depth < 1) {
        throw new TypeError(`reorg(depth): depth must be an integer >= 1, got ${String(depth)}`);
      }
      return serial(() => reorgChain(chain, depth));
    },
    pause(nodeId) {
      nodeState(nodeId).paused = true;
    },
    async resume(nodeId) {
      const s = nodeState(nodeId);
      if (!s.paused) return;
      await serial(async () => {
        s.paused = false;
        s.inSync = false;
        try {
          await resync(chain, s);
        } catch (error) {
          if (error instanceof DevnetUnreachableError) {
            throw new DevnetError("unreachable", s.id, `catching up: ${error.message}`, { cause: error });
          }
          throw error;
        }
      });
    },
    nodeStatus(nodeId) {
      const { paused, inSync, diverged, unreachable } = nodeState(nodeId);
      return { paused, inSync, diverged, unreachable };
    },
    stop,
  };
}

/** Submits to every node (paused ones too: a lagging provider still hears about transactions); returns the hash. */
async function sendToAll(chain: DevnetChain, raw: Hex): Promise<Hex> {
  if (typeof raw !== "string" || !/^0x([0-9a-fA-F]{2})+$/.test(raw)) {
    throw new TypeError("sendRawTransaction: expected 0x-prefixed hex bytes");
  }
  if (chain.driver.stopped()) throw new DevnetError("stopped", undefined, "the devnet is stopped");
  const { states } = chain;
  const outcomes = await Promise.allSettled(
    states.map((s) => s.rpc.call<Hex>("eth_sendRawTransaction", [raw], chain.signal)),
  );
  const isAccepted = (o: PromiseSettledResult<Hex>) =>
    o.status === "fulfilled" ||
    (o.reason instanceof DevnetRpcError && /already (known|imported)/i.test(o.reason.message));
  // What the active nodes say counts first: a lagging node may accept a transaction the head has moved past.
  const active = outcomes.filter((_, i) => !states[i]?.paused);
  if (active.some(isAccepted)) return keccak256(raw);
  const rejected = active.find((o) => o.status === "rejected" && o.reason instanceof DevnetRpcError);
  if (rejected?.status === "rejected") throw rejected.reason;
  if (outcomes.some(isAccepted)) return keccak256(raw);
  const first = outcomes.find((o) => o.status === "rejected");
  throw first?.status === "rejected"
    ? first.reason
    : new DevnetError("unreachable", undefined, "no node took the transaction");
}

function validateOptions(specs: readonly DevnetNodeSpec[], blockTimeMs: number, startTimestamp: number): void {
  if (!Array.isArray(specs) || specs.length === 0) throw new TypeError("startDevnet: `nodes` must not be empty");
  const ids = new Set<string>();
  for (const spec of specs) {
    if (!spec.id) throw new TypeError("startDevnet: every node needs an `id`");
    if (ids.has(spec.id)) throw new TypeError(`startDevnet: duplicate node id ${JSON.stringify(spec.id)}`);
    ids.add(spec.id);
  }
  if (!Number.isFinite(blockTimeMs) || blockTimeMs < 0) {
    throw new TypeError("startDevnet: `blockTimeMs` must be a number >= 0");
  }
  if (!Number.isInteger(startTimestamp) || startTimestamp < 0) {
    throw new TypeError("startDevnet: `startTimestamp` must be an integer number of seconds >= 0");
  }
}
