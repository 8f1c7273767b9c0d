/**
 * Verification of block bodies and receipts (untrusted JSON-RPC answers) against the roots of a header whose hash the
 * caller has already verified. A header binds its transactions, receipts and withdrawals only through the roots of
 * ordered tries over their consensus encodings, so each item is re-encoded here from the fields the node stated and
 * the trie root is rebuilt from those encodings. Fields outside the consensus encodings (a receipt's `gasUsed`, a log's
 * `logIndex`, every `blockHash`…) are bound by checking that they agree with the encoded ones and with their position.
 *
 * A node answer that contradicts itself or the header is `ok: false`. An item of a kind we cannot encode (a transaction
 * type this code does not know, such as an L2 deposit) makes the answer `ok: "unverifiable"`: not a lie, just beyond
 * what these checks can vouch for.
 */

import { bytesToHex, keccak256, toRlp } from "viem";
import type { ChainStack } from "../chain-presets.ts";
import { encodeReceipt, encodeTransaction, STACK_ENCODINGS } from "../encodings/encode.ts";
import { MAX_BLOCK_LOGS } from "../encodings/ethereum.ts";
import { asRecord, hexOf, type Json, qty, RootFormatError, UnsupportedTypeError } from "../encodings/fields.ts";
import { orderedTrieRoot } from "../encodings/trie.ts";
import { BaseError } from "../errors.ts";
import { equalBytes, type Hex, HexFormatError, readData, readQuantity } from "../hex.ts";
import { EMPTY_TRIE_ROOT } from "./proof.ts";

export type { Hex } from "../hex.ts";

/** Most transactions (and so receipts) in one block: a 100M-gas block holds at most 4,762 transfers. */
export const MAX_BLOCK_TRANSACTIONS = 65_536;
/** Most withdrawals in one block (mainnet has 16). */
export const MAX_WITHDRAWALS = 16_384;

export type RootCheck =
  /** Everything stated is consistent and matches the header's roots. */
  | { ok: true }
  /** The data contradicts itself or the root: a lie or corruption. */
  | { ok: false; reason: string }
  /** Well-formed but of a kind these checks cannot encode (an unknown transaction type): not a lie. */
  | { ok: "unverifiable"; reason: string };

/** Two stated facts disagree; never leaves this module (it becomes `ok: false`). */
class ContradictionError extends BaseError<"contradiction"> {
  override readonly name = "ContradictionError";
  readonly code = "contradiction";
}

const EMPTY_TRIE_ROOT_BYTES = readData(EMPTY_TRIE_ROOT, "empty trie root");
/** keccak256(rlp([])): the `sha3Uncles` of every block without uncles. */
const EMPTY_UNCLES_HASH = readData(
  "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
  "empty uncles hash",
);

/** A single transaction object: keccak256(encodeTransaction(tx)) equals the `hash` it states. */
export function checkTransactionHash(tx: unknown, stack: ChainStack = "ethereum"): RootCheck {
  try {
    checkHash(asRecord(tx, "transaction"), "transaction", stack);
    return { ok: true };
  } catch (error) {
    return failure(error);
  }
}

export interface BodyOptions {
  /** The block was asked for with full transactions (`true`): a transaction given as a hash is a lie. */
  fullTransactions?: boolean;
  /** Whose encodings the chain uses. @default "ethereum" */
  stack?: ChainStack;
}

/**
 * A block JSON (from `eth_getBlockByNumber`/`eth_getBlockByHash`) whose header hash the caller has ALREADY verified.
 * Transactions given as hashes are only checked for form (and against an empty `transactionsRoot`), unless full
 * transactions were asked for; full transaction objects must each hash to their `hash`, sit in this block at their
 * position, and make up `transactionsRoot`. Every list the header commits to must be there: `withdrawals` when it has
 * a `withdrawalsRoot` (and make it up), `uncles` always (an empty one must match `sha3Uncles`).
 */
export function checkBlockBody(block: unknown, options: BodyOptions = {}): RootCheck {
  try {
    const json = asRecord(block, "block");
    const place: Placement = {
      hash: readData(json.hash, "block hash", { bytes: 32 }),
      number: readQuantity(json.number, "block number"),
    };
    const results = [
      checkTransactions(json, place, options.fullTransactions === true, options.stack ?? "ethereum"),
      checkWithdrawals(json, options.stack ?? "ethereum"),
      checkUncles(json),
    ];
    return results.find((r) => r.ok === false) ?? results.find((r) => r.ok === "unverifiable") ?? { ok: true };
  } catch (error) {
    return failure(error);
  }
}

/**
 * A full receipts list of one block (`eth_getBlockReceipts`), against that block's verified header fields. The
 * receipts must make up `receiptsRoot`, sit in this block at their position, state `gasUsed` as the step of
 * `cumulativeGasUsed`, number their logs 0, 1, 2… across the block with each log placed as its receipt, and, when
 * `transactionHashes` (the block's, in order) is given, belong to exactly those transactions.
 */
export function checkBlockReceipts(
  receipts: unknown,
  header: { hash: Hex; number: number; receiptsRoot: Hex },
  transactionHashes?: readonly Hex[],
  stack: ChainStack = "ethereum",
): RootCheck {
  try {
    if (!Number.isSafeInteger(header.number) || header.number < 0) {
      throw new RootFormatError(`header number ${header.number} is not a block number`);
    }
    const place: Placement = {
      hash: readData(header.hash, "header hash", { bytes: 32 }),
      number: BigInt(header.number),
    };
    const root = readData(header.receiptsRoot, "header receiptsRoot", { bytes: 32 });
    if (!Array.isArray(receipts)) throw new RootFormatError("receipts is not an array");
    if (receipts.length > MAX_BLOCK_TRANSACTIONS) {
      throw new RootFormatError(`more than ${MAX_BLOCK_TRANSACTIONS} receipts`);
    }
    if (transactionHashes !== undefined && transactionHashes.length !== receipts.length) {
      throw new ContradictionError(
        `${receipts.length} receipts for a block of ${transactionHashes.length} transactions`,
      );
    }
    const encodings: Uint8Array[] = [];
    let unsupported: string | undefined;
    let skipped: string | undefined;
    let previousCumulative = 0n;
    let logIndex = 0;
    const uncommitted = STACK_ENCODINGS[stack].uncommitted;
    for (let i = 0; i < receipts.length; i++) {
      const what = `receipt ${i}`;
      const receipt = asRecord(receipts[i], what);
      if (uncommitted?.(receipt)) {
        within(what, () => checkPlacement(receipt, place, i));
        skipped ??= `${what} is one no root commits to`;
        continue;
      }
      within(what, () => {
        checkPlacement(receipt, place, i);
        const txHash = readData(receipt.transactionHash, "transactionHash", { bytes: 32 });
        const expected = transactionHashes?.[i];
        if (
          expected !== undefined &&
          !equalBytes(txHash, readData(expected, "expected transaction hash", { bytes: 32 }))
        ) {
          throw new ContradictionError(`transactionHash ${String(receipt.transactionHash)}, block has ${expected}`);
        }
        const cumulative = readQuantity(receipt.cumulativeGasUsed, "cumulativeGasUsed");
        const gasUsed = readQuantity(receipt.gasUsed, "gasUsed");
        if (gasUsed !== cumulative - previousCumulative) {
          throw new ContradictionError(
            `gasUsed ${hexOf(gasUsed)}, but cumulativeGasUsed steps from ${hexOf(previousCumulative)} to ${hexOf(cumulative)}`,
          );
        }
        previousCumulative = cumulative;
        logIndex = checkLogs(receipt, txHash, i, place, logIndex);
      });
      try {
        encodings.push(encodeReceipt(receipt, stack));
      } catch (error) {
        if (!(error instanceof UnsupportedTypeError)) throw prefixed(what, error);
        unsupported ??= `${what}: ${error.message}`;
      }
    }
    if (unsupported !== undefined) return { ok: "unverifiable", reason: unsupported };
    return unlessSkipped(compareRoot("receipts", orderedTrieRoot(encodings), root), skipped);
  } catch (error) {
    return failure(error);
  }
}

interface Placement {
  hash: Uint8Array;
  number: bigint;
}

function checkTransactions(json: Json, place: Placement, full: boolean, stack: ChainStack): RootCheck {
  const root = readData(json.transactionsRoot, "transactionsRoot", { bytes: 32 });
  const txs = json.transactions;
  if (!Array.isArray(txs)) throw new RootFormatError("block transactions is not an array");
  if (txs.length > MAX_BLOCK_TRANSACTIONS)
    throw new RootFormatError(`more than ${MAX_BLOCK_TRANSACTIONS} transactions`);
  if (txs.length === 0) return compareRoot("transactions", EMPTY_TRIE_ROOT, root);
  const hashAt = full ? txs.findIndex((tx) => typeof tx === "string") : -1;
  if (hashAt >= 0) {
    return { ok: false, reason: `transaction ${hashAt} is a hash where full transactions were asked for` };
  }
  if (txs.every((tx) => typeof tx === "string")) {
    for (const [i, tx] of txs.entries()) readData(tx, `transaction hash ${i}`, { bytes: 32 });
    if (equalBytes(root, EMPTY_TRIE_ROOT_BYTES)) {
      return {
        ok: false,
        reason: `block lists ${txs.length} transactions but its transactionsRoot is the empty trie's`,
      };
    }
    return { ok: true };
  }
  const encodings: Uint8Array[] = [];
  let unsupported: string | undefined;
  let skipped: string | undefined;
  const uncommitted = STACK_ENCODINGS[stack].uncommitted;
  for (let i = 0; i < txs.length; i++) {
    const what = `transaction ${i}`;
    const tx = asRecord(txs[i], what);
    within(what, () => checkPlacement(tx, place, i));
    if (uncommitted?.(tx)) {
      skipped ??= `${what} is one no root commits to`;
      continue;
    }
    try {
      encodings.push(checkHash(tx, what, stack));
    } catch (error) {
      if (!(error instanceof UnsupportedTypeError)) throw error;
      unsupported ??= error.message;
    }
  }
  if (unsupported !== undefined) return { ok: "unverifiable", reason: unsupported };
  return unlessSkipped(compareRoot("transactions", orderedTrieRoot(encodings), root), skipped);
}

/** The rest made up the root, but an item was left out of it (one no root commits to): not proven, not a lie. */
function unlessSkipped(check: RootCheck, skipped: string | undefined): RootCheck {
  return check.ok === true && skipped !== undefined ? { ok: "unverifiable", reason: skipped } : check;
}

function checkWithdrawals(json: Json, stack: ChainStack): RootCheck {
  const list = json.withdrawals;
  const committed = json.withdrawalsRoot !== undefined && json.withdrawalsRoot !== null;
  if (list === undefined || list === null) {
    return committed
      ? { ok: false, reason: "header has a withdrawalsRoot but the block lists no withdrawals" }
      : { ok: true };
  }
  if (!Array.isArray(list)) throw new RootFormatError("block withdrawals is not an array");
  if (list.length > MAX_WITHDRAWALS) throw new RootFormatError(`more than ${MAX_WITHDRAWALS} withdrawals`);
  if (!committed) {
    // A header without withdrawalsRoot commits to no withdrawals at all.
    if (list.length === 0) return { ok: true };
    return { ok: false, reason: `block lists ${list.length} withdrawals but its header has no withdrawalsRoot` };
  }
  const root = readData(json.withdrawalsRoot, "withdrawalsRoot", { bytes: 32 });
  if (STACK_ENCODINGS[stack].withdrawals === "empty") {
    // The stack has no withdrawals; its header field means something else (encodings/stack-encoding.ts).
    if (list.length === 0) return { ok: true };
    return { ok: false, reason: `a ${stack} block lists ${list.length} withdrawals` };
  }
  const encodings = list.map((entry, i) =>
    within(`withdrawal ${i}`, () => {
      const w = asRecord(entry, "withdrawal");
      const address = readData(w.address, "address", { bytes: 20 });
      return toRlp([qty(w, "index"), qty(w, "validatorIndex"), address, qty(w, "amount")], "bytes");
    }),
  );
  return compareRoot("withdrawals", orderedTrieRoot(encodings), root);
}

/** Uncles are listed by hash, so only an empty list can be checked against `sha3Uncles` without fetching them. */
function checkUncles(json: Json): RootCheck {
  const uncles = json.uncles;
  if (uncles === undefined || uncles === null) return { ok: false, reason: "block has no uncles list" };
  if (!Array.isArray(uncles)) throw new RootFormatError("block uncles is not an array");
  const hash = readData(json.sha3Uncles, "sha3Uncles", { bytes: 32 });
  for (const [i, uncle] of uncles.entries()) readData(uncle, `uncle ${i}`, { bytes: 32 });
  if ((uncles.length === 0) !== equalBytes(hash, EMPTY_UNCLES_HASH)) {
    return { ok: false, reason: `block lists ${uncles.length} uncles, which contradicts its sha3Uncles` };
  }
  return { ok: true };
}

/** Recomputes a transaction's hash; returns its encoding when the hash matches. */
function checkHash(tx: Json, what: string, stack: ChainStack): Uint8Array {
  return within(what, () => {
    const claimed = readData(tx.hash, "hash", { bytes: 32 });
    const encoded = encodeTransaction(tx, stack);
    const hash = keccak256(encoded, "bytes");
    if (!equalBytes(hash, claimed)) {
      throw new ContradictionError(`fields hash to ${bytesToHex(hash)}, it claims ${bytesToHex(claimed)}`);
    }
    return encoded;
  });
}

/** The item's `blockHash`, `blockNumber` and `transactionIndex` must say it sits where it was found. */
function checkPlacement(item: Json, place: Placement, index: number, prefix = ""): void {
  const blockHash = readData(item.blockHash, `${prefix}blockHash`, { bytes: 32 });
  if (!equalBytes(blockHash, place.hash)) {
    throw new ContradictionError(`${prefix}blockHash ${bytesToHex(blockHash)}, block is ${bytesToHex(place.hash)}`);
  }
  const number = readQuantity(item.blockNumber, `${prefix}blockNumber`);
  if (number !== place.number) {
    throw new ContradictionError(`${prefix}blockNumber ${hexOf(number)}, block is ${hexOf(place.number)}`);
  }
  const position = readQuantity(item.transactionIndex, `${prefix}transactionIndex`);
  if (position !== BigInt(index)) {
    throw new ContradictionError(`${prefix}transactionIndex ${hexOf(position)} at position ${index}`);
  }
}

/** Checks the logs of receipt `index` against it; returns the block-wide log index that follows them. */
function checkLogs(receipt: Json, txHash: Uint8Array, index: number, place: Placement, firstLogIndex: number): number {
  const logs = receipt.logs;
  if (!Array.isArray(logs)) throw new RootFormatError("logs is not an array");
  if (firstLogIndex + logs.length > MAX_BLOCK_LOGS) throw new RootFormatError(`more than ${MAX_BLOCK_LOGS} logs`);
  let logIndex = firstLogIndex;
  logs.forEach((entry, j) => {
    const prefix = `log ${j} `;
    const log = asRecord(entry, `log ${j}`);
    checkPlacement(log, place, index, prefix);
    const stated = readQuantity(log.logIndex, `${prefix}logIndex`);
    if (stated !== BigInt(logIndex)) {
      throw new ContradictionError(`${prefix}logIndex ${hexOf(stated)}, it is log ${logIndex} of the block`);
    }
    const logTxHash = readData(log.transactionHash, `${prefix}transactionHash`, { bytes: 32 });
    if (!equalBytes(logTxHash, txHash)) {
      throw new ContradictionError(
        `${prefix}transactionHash ${bytesToHex(logTxHash)}, receipt's is ${bytesToHex(txHash)}`,
      );
    }
    if (log.removed === true) throw new ContradictionError(`${prefix}is marked removed in its own block's receipts`);
    logIndex++;
  });
  return logIndex;
}

function compareRoot(what: string, computed: Hex, stated: Uint8Array): RootCheck {
  if (computed === bytesToHex(stated)) return { ok: true };
  return { ok: false, reason: `${what} make up root ${computed}, header states ${bytesToHex(stated)}` };
}

/** Runs `fn`, naming `what` in the message of any format error or contradiction it throws. */
function within<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw prefixed(what, error);
  }
}

function prefixed(what: string, error: unknown): unknown {
  if (error instanceof HexFormatError || error instanceof RootFormatError) {
    return new RootFormatError(`${what}: ${error.message}`, { cause: error });
  }
  if (error instanceof ContradictionError) return new ContradictionError(`${what}: ${error.message}`, { cause: error });
  if (error instanceof UnsupportedTypeError)
    return new UnsupportedTypeError(`${what}: ${error.message}`, { cause: error });
  return error;
}

function failure(error: unknown): RootCheck {
  if (error instanceof UnsupportedTypeError) return { ok: "unverifiable", reason: error.message };
  if (error instanceof RootFormatError || error instanceof HexFormatError || error instanceof ContradictionError) {
    return { ok: false, reason: error.message };
  }
  return { ok: false, reason: `malformed answer: ${error instanceof Error ? error.message : String(error)}` };
}
