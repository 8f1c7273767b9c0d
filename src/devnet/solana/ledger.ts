/**
 * One Solana node's state over a LiteSVM: slots, one blockhash per slot, a pool of received transactions, signature
 * statuses, and an account history so that reads at a commitment see the state as of that commitment's slot.
 *
 * litesvm has no blocks: this file supplies them. Slot N runs the transactions it is given in the given order, with
 * the Clock sysvar at N, then snapshots every account those transactions name and takes a new blockhash. litesvm is
 * deterministic (its blockhashes follow from the previous one), so every ledger fed the same genesis and the same
 * transactions in the same order has the same state and the same blockhashes. Block height equals the slot: no slot
 * is ever skipped.
 */

import { createHash } from "node:crypto";
import { address, getBase58Decoder, lamports as toLamports } from "@solana/kit";
import { LiteSVM } from "litesvm";
import { BaseError } from "../../core/errors.ts";
import {
  decodeWireTransaction,
  feeOf,
  type TransactionErrorJson,
  transactionErrorJson,
  type WireTransaction,
} from "./transaction.ts";

/** Slots between the processed slot and the finalized one, unless a cluster says otherwise. */
export const SOLANA_DEFAULT_FINALIZED_DEPTH = 32;
/** How many slots a blockhash stays usable: a transaction naming slot S's blockhash may land up to slot S + 150. */
export const MAX_PROCESSING_AGE_SLOTS = 150;
/** How many recent blockhashes (one per slot) a ledger remembers, in slots. */
export const BLOCKHASH_HISTORY_SLOTS = 300;
/** How long signature statuses and transactions are kept, in slots. */
export const SIGNATURE_HISTORY_SLOTS = 20_000;
/** Most transactions waiting in one node's pool. */
export const POOL_CAPACITY = 10_000;
/** Nominal slot duration, in milliseconds: block times advance by it, whatever the real pace. */
export const SLOT_DURATION_MS = 400;
/** Unix time of slot 0, in seconds (2026-01-01T00:00:00Z). Fixed, so runs are reproducible. */
export const GENESIS_UNIX_TIMESTAMP = 1_767_225_600;
const SYSTEM_PROGRAM = "11111111111111111111111111111111";

/** An account funded at genesis: system-owned, no data. */
export interface GenesisAccount {
  address: string;
  /** In lamports. */
  lamports: number | bigint | string;
}

/** What a ledger is created with; every node of a cluster gets the same. */
export interface SolanaLedgerOptions {
  /** The cluster's name: part of its genesis hash. */
  name: string;
  accounts: readonly GenesisAccount[];
  /** Slots between processed and finalized. @default {@link SOLANA_DEFAULT_FINALIZED_DEPTH} */
  finalizedDepth?: number;
}

/** How settled a read must be: processed = the slot, confirmed = one slot back, finalized = finalizedDepth back. */
export type Commitment = "processed" | "confirmed" | "finalized";

/** An account as of some slot. */
export interface AccountState {
  /** In lamports. */
  lamports: bigint;
  owner: string;
  executable: boolean;
  data: Uint8Array;
}

/** What a slot did with one transaction it included (a dropped transaction leaves no record). */
export interface TransactionRecord {
  slot: number;
  signature: string;
  tx: WireTransaction;
  err: TransactionErrorJson | null;
  /** In lamports. */
  fee: bigint;
  logs: string[];
  computeUnits: bigint;
  /** Balances of the static account keys before and after, in lamports. */
  preBalances: bigint[];
  postBalances: bigint[];
  /** In the RPC's form: `{ index, instructions: [{ programIdIndex, accounts, data (base58), stackHeight }] }`. */
  innerInstructions: unknown[];
}

/** What one simulation against the processed state found. */
export interface SimulationResult {
  err: TransactionErrorJson | null;
  logs: string[];
  unitsConsumed: bigint;
}

/** `produceSlot` was asked for another slot than the next one. */
export class SlotSequenceError extends BaseError<"slot_sequence"> {
  override readonly name = "SlotSequenceError";
  readonly code = "slot_sequence";
  /** The ledger's current slot. */
  readonly slot: number;
  constructor(slot: number, asked: number) {
    super(`slot ${asked} asked for, but the ledger is at slot ${slot} (only ${slot + 1} can come next)`);
    this.slot = slot;
  }
}

/** One node's chain state. */
export interface SolanaLedger {
  readonly name: string;
  /** base58 of sha256 over the cluster name and the genesis accounts: the same on every node of a cluster. */
  readonly genesisHash: string;
  readonly finalizedDepth: number;
  /** The processed slot (= block height). */
  slot(): number;
  /** processed = slot, confirmed = slot − 1, finalized = slot − finalizedDepth; never below 0. */
  commitmentSlot(commitment: Commitment): number;
  /** The blockhash of a slot among the last {@link BLOCKHASH_HISTORY_SLOTS}. */
  blockhash(slot: number): string | undefined;
  /** The slot whose blockhash this is, if it is among the last {@link BLOCKHASH_HISTORY_SLOTS}. */
  blockhashSlot(hash: string): number | undefined;
  /** Whether a transaction naming this blockhash may still land in `slot`. */
  canLand(hash: string, slot: number): boolean;
  /** The block time of a slot, in seconds since the Unix epoch. */
  blockTime(slot: number): number;
  /** An account as of `slot` (at most the processed slot); null when it does not exist. */
  account(address: string, slot: number): AccountState | null;
  /** Every address with an account history: the genesis accounts and every account a transaction named. Unordered. */
  addresses(): string[];
  transaction(signature: string): TransactionRecord | undefined;
  /** Adds to the pool; false when it is already there or the pool is full. */
  addToPool(tx: WireTransaction): boolean;
  pool(): WireTransaction[];
  /**
   * Runs `transactions` (raw bytes) in order as slot `slot`, which must be the next one. A transaction that does not
   * decode, names a blockhash that cannot land in this slot, was already processed, or that the runtime refuses
   * before charging its fee, is dropped: recorded nowhere. Every given transaction leaves the pool.
   */
  produceSlot(slot: number, transactions: readonly Uint8Array[]): { slot: number; blockhash: string };
  /** Runs the transaction against the processed state without keeping anything. */
  simulate(tx: WireTransaction): SimulationResult;
  /** In lamports. */
  rentExemptMinimum(dataLength: number): bigint;
  /** A hash chained over every slot's account snapshots: equal on two nodes iff they saw the same history. */
  stateHash(): string;
}

interface Snapshot {
  slot: number;
  account: AccountState | null;
}

/** A ledger at slot 0 with the genesis accounts funded. */
export function createSolanaLedger(options: SolanaLedgerOptions): SolanaLedger {
  const { name, accounts, finalizedDepth = SOLANA_DEFAULT_FINALIZED_DEPTH } = options;
  if (!Number.isInteger(finalizedDepth) || finalizedDepth < 1) {
    throw new RangeError(`finalizedDepth must be a positive integer, got ${finalizedDepth}`);
  }
  // The blockhash check is ours (blockhashes per slot, with an age); litesvm's own only knows its latest one. The SPL
  // programs come with `new LiteSVM()`; the native mint (wrapped SOL) exists on every real cluster, so here too.
  const svm = new LiteSVM().withBlockhashCheck(false).withNativeMints();
  const genesisHash = genesisHashOf(name, accounts);
  let slot = 0;
  const hashBySlot = new Map<number, string>();
  const slotByHash = new Map<string, number>();
  const pool = new Map<string, WireTransaction>();
  /** Every included transaction of the last {@link SIGNATURE_HISTORY_SLOTS}, in slot order. */
  const records = new Map<string, TransactionRecord>();
  const history = new Map<string, Snapshot[]>();
  let stateHash = createHash("sha256").update(genesisHash).digest();

  const commitmentSlot = (c: Commitment): number =>
    Math.max(0, c === "processed" ? slot : c === "confirmed" ? slot - 1 : slot - finalizedDepth);

  function rememberBlockhash(s: number, hash: string): void {
    hashBySlot.set(s, hash);
    slotByHash.set(hash, s);
    const old = hashBySlot.get(s - BLOCKHASH_HISTORY_SLOTS);
    if (old === undefined) return;
    hashBySlot.delete(s - BLOCKHASH_HISTORY_SLOTS);
    slotByHash.delete(old);
  }

  function live(addr: string): AccountState | null {
    const a = svm.getAccount(address(addr));
    if (!a.exists || a.lamports === 0n) return null;
    return { lamports: a.lamports, owner: a.programAddress, executable: a.executable, data: Uint8Array.from(a.data) };
  }

  /** Records `addr`'s current state as of slot `at`; history older than the finalized slot's is not needed again. */
  function snapshot(addr: string, at: number): AccountState | null {
    const account = live(addr);
    const list = history.get(addr) ?? [];
    list.push({ slot: at, account });
    const finalized = Math.max(0, at - finalizedDepth);
    let keepFrom = 0;
    for (let i = 0; i < list.length; i++) if ((list[i] as Snapshot).slot <= finalized) keepFrom = i;
    history.set(addr, keepFrom > 0 ? list.slice(keepFrom) : list);
    return account;
  }

  function setClock(s: number): void {
    svm.warpToSlot(BigInt(s));
    const clock = svm.getClock();
    clock.unixTimestamp = BigInt(blockTime(s));
    svm.setClock(clock);
  }

  const blockTime = (s: number): number => GENESIS_UNIX_TIMESTAMP + Math.floor((s * SLOT_DURATION_MS) / 1000);

  function execute(tx: WireTransaction, at: number): TransactionRecord | undefined {
    const balance = (a: string) => svm.getBalance(address(a)) ?? 0n;
    const preBalances = tx.accounts.map(balance);
    const result = svm.sendTransaction(tx.transaction);
    const postBalances = tx.accounts.map(balance);
    const failed = "err" in result;
    // A failure before the fee is charged (unknown payer, no funds, bad signature) never makes it into a block.
    if (failed && (postBalances[0] ?? 0n) >= (preBalances[0] ?? 0n)) return undefined;
    const meta = failed ? result.meta() : result;
    return {
      slot: at,
      signature: tx.signature,
      tx,
      err: failed ? transactionErrorJson(result.err()) : null,
      fee: failed ? (preBalances[0] ?? 0n) - (postBalances[0] ?? 0n) : feeOf(tx.message),
      logs: meta.logs(),
      computeUnits: meta.computeUnitsConsumed(),
      preBalances,
      postBalances,
      innerInstructions: innerInstructionsOf(meta),
    };
  }

  function pruneRecords(): void {
    for (const [signature, record] of records) {
      if (record.slot > slot - SIGNATURE_HISTORY_SLOTS) break;
      records.delete(signature);
    }
  }

  function produceSlot(next: number, transactions: readonly Uint8Array[]): { slot: number; blockhash: string } {
    if (next !== slot + 1) throw new SlotSequenceError(slot, next);
    setClock(next);
    const named = new Set<string>();
    for (const raw of transactions) {
      let tx: WireTransaction;
      try {
        tx = decodeWireTransaction(raw);
      } catch {
        continue;
      }
      pool.delete(tx.signature);
      if (records.has(tx.signature) || !canLand(tx.blockhash, next)) continue;
      // An account seen for the first time has not changed since genesis: that is its state at every earlier slot.
      for (const a of tx.accounts) if (!history.has(a)) snapshot(a, 0);
      const record = execute(tx, next);
      if (!record) continue;
      records.set(tx.signature, record);
      for (const a of tx.accounts) named.add(a);
    }
    slot = next;
    const digest = createHash("sha256").update(stateHash).update(String(next));
    for (const a of [...named].sort()) digestAccount(digest, a, snapshot(a, next));
    stateHash = digest.digest();
    svm.expireBlockhash();
    rememberBlockhash(next, svm.latestBlockhash());
    for (const [signature, tx] of pool) if (!canLand(tx.blockhash, next + 1)) pool.delete(signature);
    pruneRecords();
    return { slot: next, blockhash: hashBySlot.get(next) as string };
  }

  function canLand(hash: string, at: number): boolean {
    const s = slotByHash.get(hash);
    return s !== undefined && s < at && s >= at - MAX_PROCESSING_AGE_SLOTS;
  }

  function account(addr: string, at: number): AccountState | null {
    const list = history.get(addr);
    if (!list) return live(addr);
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i] as Snapshot;
      if (s.slot <= at) return s.account;
    }
    return null;
  }

  function simulate(tx: WireTransaction): SimulationResult {
    const result = svm.simulateTransaction(tx.transaction);
    if ("err" in result) {
      const meta = result.meta();
      return { err: transactionErrorJson(result.err()), logs: meta.logs(), unitsConsumed: meta.computeUnitsConsumed() };
    }
    const meta = result.meta();
    return { err: null, logs: meta.logs(), unitsConsumed: meta.computeUnitsConsumed() };
  }

  // Genesis: the same accounts everywhere, snapshotted as slot 0.
  for (const g of accounts) {
    svm.setAccount({
      address: address(g.address),
      lamports: toLamports(BigInt(g.lamports)),
      programAddress: address(SYSTEM_PROGRAM),
      executable: false,
      data: new Uint8Array(),
      space: 0n,
    });
  }
  setClock(0);
  const genesisDigest = createHash("sha256").update(stateHash).update("0");
  for (const g of [...accounts].sort((a, b) => (a.address < b.address ? -1 : 1))) {
    digestAccount(genesisDigest, g.address, snapshot(g.address, 0));
  }
  stateHash = genesisDigest.digest();
  rememberBlockhash(0, svm.latestBlockhash());

  return {
    name,
    genesisHash,
    finalizedDepth,
    slot: () => slot,
    commitmentSlot,
    blockhash: (s) => hashBySlot.get(s),
    blockhashSlot: (hash) => slotByHash.get(hash),
    canLand,
    blockTime,
    account,
    addresses: () => [...history.keys()],
    transaction: (signature) => records.get(signature),
    addToPool(tx) {
      if (pool.has(tx.signature) || pool.size >= POOL_CAPACITY) return false;
      pool.set(tx.signature, tx);
      return true;
    },
    pool: () => [...pool.values()],
    produceSlot,
    simulate,
    rentExemptMinimum: (length) => svm.minimumBalanceForRentExemption(BigInt(length)),
    stateHash: () => stateHash.toString("hex"),
  };
}

/** base58(sha256(cluster name + genesis accounts)): fixed for a cluster, different between clusters. */
export function genesisHashOf(name: string, accounts: readonly GenesisAccount[]): string {
  const canonical = JSON.stringify({
    name,
    accounts: [...accounts]
      .map((a) => [a.address, BigInt(a.lamports).toString()])
      .sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
  });
  return getBase58Decoder().decode(createHash("sha256").update(canonical).digest());
}

function digestAccount(digest: ReturnType<typeof createHash>, addr: string, account: AccountState | null): void {
  digest.update(addr);
  if (!account) {
    digest.update("-");
    return;
  }
  digest.update(`${account.lamports}:${account.owner}:${account.executable}:${account.data.length}:`);
  digest.update(account.data);
}

interface InnerInstructionSource {
  innerInstructions(): {
    instruction(): { programIdIndex(): number; accounts(): Uint8Array; data(): Uint8Array };
    stackHeight(): number;
  }[][];
}

function innerInstructionsOf(meta: InnerInstructionSource): unknown[] {
  const base58 = getBase58Decoder();
  const out: unknown[] = [];
  for (const [index, group] of meta.innerInstructions().entries()) {
    if (group.length === 0) continue;
    const instructions = group.map((inner) => {
      const ix = inner.instruction();
      return {
        programIdIndex: ix.programIdIndex(),
        accounts: [...ix.accounts()],
        data: base58.decode(ix.data()),
        stackHeight: inner.stackHeight(),
      };
    });
    out.push({ index, instructions });
  }
  return out;
}
