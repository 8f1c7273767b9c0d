/**
 * The few anvil calls the devnet driver is built from: read a node's pool and head, fetch raw transactions,
 * empty the pool, submit transactions in a given order, mine at a given timestamp, read a block.
 */
import { bytesToHex, keccak256 } from "viem";
import { encodeTransaction } from "../core/encodings/encode.ts";
import { isDepositType } from "../core/encodings/op-stack.ts";
import { DevnetRpcError, type RpcClient } from "./rpc.ts";

export type Hex = `0x${string}`;

export interface PoolTx {
  hash: Hex;
  /** Sender, lower-case. */
  from: string;
  nonce: bigint;
  /** An OP-stack deposit (type 0x7e): a block carries its deposits before every other transaction. */
  deposit?: boolean;
}

export interface PoolRead {
  height: number;
  txs: PoolTx[];
}

export interface BlockSummary {
  number: number;
  hash: Hex;
  parentHash: Hex;
  timestamp: number;
  baseFeePerGas: Hex | undefined;
  /** Transaction hashes in block order. */
  transactions: Hex[];
}

export function toQuantity(n: number | bigint): Hex {
  return `0x${n.toString(16)}`;
}

/** One round trip: the node's head and everything in its pool (pending and queued). */
export async function readPool(rpc: RpcClient, signal?: AbortSignal): Promise<PoolRead> {
  const [height, content] = await rpc.batch([{ method: "eth_blockNumber" }, { method: "txpool_content" }], signal);
  if (!height?.ok) throw height?.error ?? new DevnetRpcError("eth_blockNumber", -32603, "missing answer");
  if (!content?.ok) throw content?.error ?? new DevnetRpcError("txpool_content", -32603, "missing answer");
  return { height: Number(height.result), txs: parsePoolContent(content.result) };
}

type PoolSection = Record<string, Record<string, { hash?: unknown; nonce?: unknown; type?: unknown }>>;

function parsePoolContent(content: unknown): PoolTx[] {
  const txs: PoolTx[] = [];
  if (!content || typeof content !== "object") return txs;
  const sections = content as { pending?: PoolSection; queued?: PoolSection };
  for (const section of [sections.pending, sections.queued]) {
    if (!section) continue;
    for (const [from, byNonce] of Object.entries(section)) {
      for (const [nonceKey, tx] of Object.entries(byNonce ?? {})) {
        if (typeof tx?.hash !== "string") continue;
        const nonce = typeof tx.nonce === "string" ? BigInt(tx.nonce) : BigInt(nonceKey);
        const deposit = isDepositType(tx.type);
        txs.push({
          hash: tx.hash.toLowerCase() as Hex,
          from: from.toLowerCase(),
          nonce,
          ...(deposit ? { deposit } : {}),
        });
      }
    }
  }
  return txs;
}

/**
 * The order every node receives a block's candidate transactions in: deposits first (as an OP-stack sequencer orders
 * them), then by sender, then nonce, then hash.
 */
export function canonicalOrder<T extends PoolTx>(txs: Iterable<T>): T[] {
  return [...txs].sort((a, b) => {
    if (!a.deposit !== !b.deposit) return a.deposit ? -1 : 1;
    if (a.from !== b.from) return a.from < b.from ? -1 : 1;
    if (a.nonce !== b.nonce) return a.nonce < b.nonce ? -1 : 1;
    return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0;
  });
}

/**
 * Raw bytes for each hash the node knows (pool or chain); unknown hashes are left out of the answer.
 * With `deposits`, the node may hold OP-stack deposits: anvil 1.7 crashes when asked for the raw bytes of a mined
 * deposit, so each transaction is read first and deposits are encoded here from their fields (kept only when the
 * encoding gives back their hash).
 */
export async function fetchRawTransactions(
  rpc: RpcClient,
  hashes: readonly Hex[],
  signal?: AbortSignal,
  options: { deposits?: boolean } = {},
): Promise<Map<Hex, Hex>> {
  const found = new Map<Hex, Hex>();
  if (hashes.length === 0) return found;
  const ask = options.deposits ? await encodeDeposits(rpc, hashes, found, signal) : hashes;
  if (ask.length === 0) return found;
  const outcomes = await rpc.batch(
    ask.map((hash) => ({ method: "eth_getRawTransactionByHash", params: [hash] })),
    signal,
  );
  outcomes.forEach((outcome, i) => {
    const hash = ask[i];
    if (hash && outcome.ok && typeof outcome.result === "string") found.set(hash, outcome.result as Hex);
  });
  return found;
}

/** Puts the raw bytes of every deposit among `hashes` into `found`; returns the hashes that are not deposits. */
async function encodeDeposits(
  rpc: RpcClient,
  hashes: readonly Hex[],
  found: Map<Hex, Hex>,
  signal: AbortSignal | undefined,
): Promise<Hex[]> {
  const outcomes = await rpc.batch(
    hashes.map((hash) => ({ method: "eth_getTransactionByHash", params: [hash] })),
    signal,
  );
  const others: Hex[] = [];
  outcomes.forEach((outcome, i) => {
    const hash = hashes[i];
    if (!hash || !outcome.ok || !outcome.result || typeof outcome.result !== "object") return;
    const json = outcome.result as { type?: unknown };
    if (!isDepositType(json.type)) {
      others.push(hash);
      return;
    }
    try {
      const raw = bytesToHex(encodeTransaction(json, "op-stack"));
      if (keccak256(raw) === hash) found.set(hash, raw);
    } catch {
      // Fields this encoder does not take: the raw bytes stay unavailable, as for an unknown hash.
    }
  });
  return others;
}

/** Drops exactly these transactions (not the whole pool: a transaction arriving meanwhile must not be lost). */
export async function dropTransactions(rpc: RpcClient, hashes: readonly Hex[], signal?: AbortSignal): Promise<void> {
  if (hashes.length === 0) return;
  await rpc.batch(
    hashes.map((hash) => ({ method: "anvil_dropTransaction", params: [hash] })),
    signal,
  );
}

/**
 * Submits one by one, in order (a batch may be processed concurrently). Rejections are ignored: every node in sync
 * rejects the same transactions, so they cannot make nodes differ.
 */
export async function submitInOrder(rpc: RpcClient, raws: readonly Hex[], signal?: AbortSignal): Promise<void> {
  for (const raw of raws) {
    try {
      await rpc.call("eth_sendRawTransaction", [raw], signal);
    } catch (error) {
      if (!(error instanceof DevnetRpcError)) throw error;
    }
  }
}

export async function mineAt(rpc: RpcClient, timestamp: number, signal?: AbortSignal): Promise<void> {
  await rpc.call("evm_mine", [{ timestamp }], signal);
}

export async function blockAt(rpc: RpcClient, number: number, signal?: AbortSignal): Promise<BlockSummary> {
  const block = await rpc.call<{
    number: Hex;
    hash: Hex;
    parentHash: Hex;
    timestamp: Hex;
    baseFeePerGas?: Hex;
    transactions: Hex[];
  } | null>("eth_getBlockByNumber", [toQuantity(number), false], signal);
  if (!block) throw new DevnetRpcError("eth_getBlockByNumber", -32001, `block ${number} not found`);
  return {
    number: Number(block.number),
    hash: block.hash,
    parentHash: block.parentHash,
    timestamp: Number(block.timestamp),
    baseFeePerGas: block.baseFeePerGas,
    transactions: block.transactions.map((h) => h.toLowerCase() as Hex),
  };
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
