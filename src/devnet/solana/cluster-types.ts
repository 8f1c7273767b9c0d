/** The shapes of a running Solana cluster (see cluster.ts), apart so the driver and the cluster share them. */
import type { FailureDomain } from "../../core/domains/domain.ts";

/** One node to start: an id for the driver and the failure domain it stands for. */
export interface SolanaClusterNodeSpec {
  id: string;
  domain: FailureDomain;
}

/** A started node, as clients see it. */
export interface SolanaClusterNode {
  id: string;
  domain: FailureDomain;
  /** `http://127.0.0.1:PORT`; the same after `restart`. */
  url: string;
  /** The current process's pid (a `restart` changes it). */
  readonly pid: number;
}

/** A running cluster and the driver's handles on it. */
export interface SolanaCluster {
  name: string;
  /** What every node answers to `getGenesisHash`. */
  genesisHash: string;
  nodes: SolanaClusterNode[];
  /** The last slot the driver produced. */
  slot(): number;
  /** Produces `count` (default 1) identical slots on every active node; resolves with the new slot. */
  produceSlots(count?: number): Promise<number>;
  /** Sends base64 wire bytes to every active node (preflight on); resolves with the signature, or rejects when all refuse. */
  sendTransaction(base64: string): Promise<string>;
  /** SIGSTOP: the node stops answering and misses slots until `resume`. */
  pause(id: string): void;
  /** SIGCONT, then replays the slots it missed; resolves once it is at the driver's slot. */
  resume(id: string): Promise<void>;
  /** SIGKILL; resolves once it has exited. */
  kill(id: string): Promise<void>;
  /** Kills it if alive, starts it fresh from genesis on the same port and replays every slot; resolves once caught up. */
  restart(id: string): Promise<void>;
  nodeStatus(id: string): SolanaNodeStatus;
  /** Stops producing and stops every node; idempotent. */
  stop(): Promise<void>;
}

/** What the driver knows of one node. */
export interface SolanaNodeStatus {
  /** Stopped by `pause` (SIGSTOP) until `resume`. */
  paused: boolean;
  /** Killed (by `kill`, or it died); `restart` brings it back. */
  killed: boolean;
  /** Not at the driver's slot: replayed before it takes part in the next slot. */
  behind: boolean;
  /** Its last call failed at the transport level (a timeout): skipped until a probe gets an answer. */
  unresponsive: boolean;
}
