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
import { bytesToHex, concatBytes, keccak256, toRlp } from "viem";
import type { ChainStack } from "./chain-presets.ts";
import { equalBytes, type Hex, HexFormatError, quantityBytes, readData, readQuantity } from "./hex.ts";
import { DEPOSIT_TX_TYPE, depositReceiptExtra, depositTransactionFields, type FieldReaders } from "./op-stack.ts";
import { EMPTY_TRIE_ROOT, toNibbles } from "./proof.ts";

export type { Hex } from "./hex.ts";

/** Largest transaction `input`, in bytes: EIP-7934 caps a whole block at 10 MiB of RLP. */
export const MAX_TRANSACTION_INPUT_BYTES = 10 * 1024 * 1024;
/** Most transactions (and so receipts) in one block: a 100M-gas block holds at most 4,762 transfers. */
export const MAX_BLOCK_TRANSACTIONS = 65_536;
/** Most access-list items (addresses plus storage keys) in one transaction: a key costs 1,900 gas. */
export const MAX_ACCESS_LIST_ITEMS = 65_536;
/** Most EIP-7702 authorizations in one transaction: each costs at least 12,500 gas. */
export const MAX_AUTHORIZATIONS = 8_192;
/** Most blob versioned hashes in one transaction (mainnet allows 6 since Osaka). */
export const MAX_BLOB_HASHES = 64;
/** Most withdrawals in one block (mainnet has 16). */
export const MAX_WITHDRAWALS = 16_384;
/** Most logs in one block, across all its receipts: a log costs at least 375 gas. */
export const MAX_BLOCK_LOGS = 524_288;
/** Largest `data` of one log, in bytes: log data costs 8 gas a byte. */
export const MAX_LOG_DATA_BYTES = 16 * 1024 * 1024;
/** LOG0…LOG4: the EVM cannot emit more topics. */
export const MAX_LOG_TOPICS = 4;

export type RootCheck =
  /** Everything stated is consistent and matches the header's roots. */
  | { ok: true }
  /** The data contradicts itself or the root: a lie or corruption. */
  | { ok: false; reason: string }
  /** Well-formed but of a kind these checks cannot encode (an unknown transaction type): not a lie. */
  | { ok: "unverifiable"; reason: string };

/** A field of a transaction, receipt, log or withdrawal is missing or is not what it must be. */
export class RootFormatError extends Error {
  override name = "RootFormatError";
}

/** A transaction or receipt of a type whose consensus encoding is not known here (e.g. the 0x7e deposit of L2s). */
export class UnsupportedTypeError extends Error {
  override name = "UnsupportedTypeError";
}

/** Two stated facts disagree; never leaves this module (it becomes `ok: false`). */
class ContradictionError extends Error {
  override name = "ContradictionError";
}

type RlpValue = Uint8Array | readonly RlpValue[];
type Json = Record<string, unknown>;

const EMPTY = new Uint8Array(0);
const EMPTY_TRIE_ROOT_BYTES = readData(EMPTY_TRIE_ROOT, "empty trie root");
/** keccak256(rlp([])): the `sha3Uncles` of every block without uncles. */
const EMPTY_UNCLES_HASH = readData(
  "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
  "empty uncles hash",
);

/** Root of the ordered trie Ethereum uses for transactions/receipts/withdrawals: key = RLP(index), value = item bytes. */
export function orderedTrieRoot(items: readonly Uint8Array[]): Hex {
  if (items.length === 0) return EMPTY_TRIE_ROOT;
  const entries: TrieEntry[] = items.map((value, index) => {
    // An empty value means "no entry" to a trie; no consensus encoding is empty.
    if (value.length === 0) throw new RootFormatError(`trie item ${index} is empty`);
    return { path: toNibbles(indexKey(index)), value };
  });
  return bytesToHex(keccak256(toRlp(trieNode(entries, 0), "bytes"), "bytes"));
}

/**
 * The consensus encoding of a transaction JSON object: `type || rlp(fields)` for types 1–4, plain `rlp(fields)` for
 * legacy transactions (type 0 or no type), whose `v` is encoded as stated (27/28, or EIP-155's chainId·2+35/36).
 * On an OP-stack chain, also the deposit transaction (0x7e, core/op-stack.ts).
 * @throws RootFormatError when a field is missing or malformed.
 * @throws UnsupportedTypeError for a type other than 0–4 (and the stack's own).
 */
export function encodeTransaction(tx: unknown, stack: ChainStack = "ethereum"): Uint8Array {
  return withFormatErrors(() => {
    const json = asRecord(tx, "transaction");
    const type = typeOf(json, "transaction", stack);
    if (type === DEPOSIT_TX_TYPE) {
      return concatBytes([Uint8Array.of(type), toRlp(depositTransactionFields(readers(json)), "bytes")]);
    }
    if (type === 0) {
      const fields = [qty(json, "nonce"), qty(json, "gasPrice"), qty(json, "gas"), to(json, true)];
      return toRlp(
        [...fields, qty(json, "value"), input(json), qty(json, "v"), qty(json, "r"), qty(json, "s")],
        "bytes",
      );
    }
    const head: RlpValue[] = [qty(json, "chainId"), qty(json, "nonce")];
    if (type === 1) head.push(qty(json, "gasPrice"));
    else head.push(qty(json, "maxPriorityFeePerGas"), qty(json, "maxFeePerGas"));
    // Blob and set-code transactions cannot create contracts: their `to` is always an address.
    head.push(qty(json, "gas"), to(json, type <= 2), qty(json, "value"), input(json), accessList(json.accessList));
    if (type === 3) head.push(qty(json, "maxFeePerBlobGas"), blobHashes(json.blobVersionedHashes));
    if (type === 4) head.push(authorizations(json.authorizationList));
    return concatBytes([Uint8Array.of(type), toRlp([...head, ...signature(json)], "bytes")]);
  });
}

/**
 * The consensus encoding of a receipt JSON object: `type || rlp([status-or-root, cumulativeGasUsed, logsBloom, logs])`,
 * without the type byte for legacy receipts. Pre-Byzantium receipts carry the post-state `root` instead of `status`.
 * On an OP-stack chain, a deposit receipt (0x7e) also commits to its nonce and version since Canyon.
 * @throws RootFormatError when a field is missing or malformed.
 * @throws UnsupportedTypeError for a type other than 0–4 (and the stack's own).
 */
export function encodeReceipt(receipt: unknown, stack: ChainStack = "ethereum"): Uint8Array {
  return withFormatErrors(() => {
    const json = asRecord(receipt, "receipt");
    const type = typeOf(json, "receipt", stack);
    const logs = json.logs;
    if (!Array.isArray(logs)) throw new RootFormatError("logs is not an array");
    if (logs.length > MAX_BLOCK_LOGS) throw new RootFormatError(`more than ${MAX_BLOCK_LOGS} logs`);
    const encoded = toRlp(
      [
        outcome(json),
        qty(json, "cumulativeGasUsed"),
        readData(json.logsBloom, "logsBloom", { bytes: 256 }),
        logs.map((log, i) => encodeLog(log, `logs[${i}]`)),
        ...(type === DEPOSIT_TX_TYPE ? depositReceiptExtra(readers(json)) : []),
      ],
      "bytes",
    );
    return type === 0 ? encoded : concatBytes([Uint8Array.of(type), encoded]);
  });
}

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
    let previousCumulative = 0n;
    let logIndex = 0;
    for (let i = 0; i < receipts.length; i++) {
      const what = `receipt ${i}`;
      const receipt = asRecord(receipts[i], what);
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
    return compareRoot("receipts", orderedTrieRoot(encodings), root);
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
  for (let i = 0; i < txs.length; i++) {
    const what = `transaction ${i}`;
    const tx = asRecord(txs[i], what);
    within(what, () => checkPlacement(tx, place, i));
    try {
      encodings.push(checkHash(tx, what, stack));
    } catch (error) {
      if (!(error instanceof UnsupportedTypeError)) throw error;
      unsupported ??= error.message;
    }
  }
  if (unsupported !== undefined) return { ok: "unverifiable", reason: unsupported };
  return compareRoot("transactions", orderedTrieRoot(encodings), root);
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
  if (stack === "op-stack") {
    // The OP stack has no withdrawals: its list is always empty. Since Isthmus the header's withdrawalsRoot is the
    // storage root of the L2ToL1MessagePasser contract — a fact about state that the header hash binds, not a root
    // of this list — so only the empty list is checked here.
    if (list.length === 0) return { ok: true };
    return { ok: false, reason: `an OP-stack block lists ${list.length} withdrawals` };
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

function encodeLog(value: unknown, what: string): RlpValue {
  const log = asRecord(value, what);
  const topics = log.topics;
  if (!Array.isArray(topics)) throw new RootFormatError(`${what}.topics is not an array`);
  if (topics.length > MAX_LOG_TOPICS) throw new RootFormatError(`${what} has more than ${MAX_LOG_TOPICS} topics`);
  return [
    readData(log.address, `${what}.address`, { bytes: 20 }),
    topics.map((topic, i) => readData(topic, `${what}.topics[${i}]`, { bytes: 32 })),
    readData(log.data, `${what}.data`, { maxBytes: MAX_LOG_DATA_BYTES }),
  ];
}

/** Byzantium's status (0 or 1) or, before it, the 32-byte post-transaction state root. */
function outcome(json: Json): Uint8Array {
  // Some nodes state an empty or null `root` on post-Byzantium receipts: only a real one stands for the status.
  if (json.root !== undefined && json.root !== null && json.root !== "0x") {
    return readData(json.root, "root", { bytes: 32 });
  }
  const status = readQuantity(json.status, "status");
  if (status > 1n) throw new RootFormatError(`status ${hexOf(status)} is neither 0x0 nor 0x1`);
  return quantityBytes(status);
}

/** EIP-2718 type; nodes from before typed transactions state none, which means legacy. */
function typeOf(json: Json, what: string, stack: ChainStack): number {
  if (json.type === undefined || json.type === null) return 0;
  const type = readQuantity(json.type, "type");
  if (type > 0x7fn) throw new RootFormatError(`type ${hexOf(type)} is outside the EIP-2718 range`);
  if (stack === "op-stack" && type === BigInt(DEPOSIT_TX_TYPE)) return DEPOSIT_TX_TYPE;
  if (type > 4n) throw new UnsupportedTypeError(`${what} type ${hexOf(type)} has no known consensus encoding`);
  return Number(type);
}

/** The field readers the stacks' own encodings use (core/op-stack.ts). */
function readers(json: Json): FieldReaders {
  const stated = (name: string) => json[name] !== undefined && json[name] !== null;
  return {
    quantity: (name) => qty(json, name),
    data: (name, bytes) => readData(json[name], name, bytes === undefined ? {} : { bytes }),
    to: () => to(json, true),
    input: () => input(json),
    has: stated,
    flag: (name) => {
      if (!stated(name)) return false;
      if (typeof json[name] !== "boolean") throw new RootFormatError(`${name} is not a boolean`);
      return json[name] as boolean;
    },
  };
}

function qty(json: Json, name: string): Uint8Array {
  return quantityBytes(readQuantity(json[name], name));
}

function input(json: Json): Uint8Array {
  return readData(json.input, "input", { maxBytes: MAX_TRANSACTION_INPUT_BYTES });
}

/** `to`, or empty bytes for a contract creation (`null`) where the type allows one. */
function to(json: Json, creationAllowed: boolean): Uint8Array {
  if ((json.to === null || json.to === undefined) && creationAllowed) return EMPTY;
  return readData(json.to, "to", { bytes: 20 });
}

/** [yParity, r, s]; typed transactions state `yParity`, `v` or both (equal): `yParity` wins when present. */
function signature(json: Json): Uint8Array[] {
  const name = json.yParity !== undefined && json.yParity !== null ? "yParity" : "v";
  const yParity = readQuantity(json[name], name);
  if (yParity > 1n) throw new RootFormatError(`${name} ${hexOf(yParity)} is not a y parity (0 or 1)`);
  return [quantityBytes(yParity), qty(json, "r"), qty(json, "s")];
}

function accessList(value: unknown): RlpValue[] {
  if (!Array.isArray(value)) throw new RootFormatError("accessList is not an array");
  let items = 0;
  return value.map((entry, i) => {
    const what = `accessList[${i}]`;
    const item = asRecord(entry, what);
    const keys = item.storageKeys;
    if (!Array.isArray(keys)) throw new RootFormatError(`${what}.storageKeys is not an array`);
    items += 1 + keys.length;
    if (items > MAX_ACCESS_LIST_ITEMS)
      throw new RootFormatError(`accessList has more than ${MAX_ACCESS_LIST_ITEMS} items`);
    return [
      readData(item.address, `${what}.address`, { bytes: 20 }),
      keys.map((key, j) => readData(key, `${what}.storageKeys[${j}]`, { bytes: 32 })),
    ];
  });
}

function blobHashes(value: unknown): Uint8Array[] {
  if (!Array.isArray(value)) throw new RootFormatError("blobVersionedHashes is not an array");
  if (value.length > MAX_BLOB_HASHES) throw new RootFormatError(`more than ${MAX_BLOB_HASHES} blobVersionedHashes`);
  return value.map((hash, i) => readData(hash, `blobVersionedHashes[${i}]`, { bytes: 32 }));
}

function authorizations(value: unknown): RlpValue[] {
  if (!Array.isArray(value)) throw new RootFormatError("authorizationList is not an array");
  if (value.length > MAX_AUTHORIZATIONS) throw new RootFormatError(`more than ${MAX_AUTHORIZATIONS} authorizations`);
  return value.map((entry, i) => {
    const what = `authorizationList[${i}]`;
    const auth = asRecord(entry, what);
    return within(what, () => [
      qty(auth, "chainId"),
      readData(auth.address, "address", { bytes: 20 }),
      qty(auth, "nonce"),
      ...signature(auth),
    ]);
  });
}

interface TrieEntry {
  path: Uint8Array;
  value: Uint8Array;
}

/** RLP of a non-negative integer index: 0x80 for zero, the byte itself below 0x80, else a short string. */
function indexKey(index: number): Uint8Array {
  if (index === 0) return Uint8Array.of(0x80);
  if (index < 0x80) return Uint8Array.of(index);
  const bytes = quantityBytes(BigInt(index));
  return concatBytes([Uint8Array.of(0x80 + bytes.length), bytes]);
}

/** The node holding `entries`, which all share their first `depth` nibbles. */
function trieNode(entries: readonly TrieEntry[], depth: number): RlpValue {
  const first = entries[0]!;
  if (entries.length === 1) return [hexPrefix(first.path.subarray(depth), true), first.value];
  let shared = first.path.length - depth;
  for (const entry of entries) {
    let n = 0;
    while (n < shared && depth + n < entry.path.length && entry.path[depth + n] === first.path[depth + n]) n++;
    shared = n;
  }
  if (shared > 0) {
    return [hexPrefix(first.path.subarray(depth, depth + shared), false), childRef(trieNode(entries, depth + shared))];
  }
  const groups: TrieEntry[][] = Array.from({ length: 16 }, () => []);
  let value: Uint8Array = EMPTY;
  for (const entry of entries) {
    const nibble = entry.path[depth];
    if (nibble === undefined) value = entry.value;
    else groups[nibble]!.push(entry);
  }
  return [...groups.map((group) => (group.length === 0 ? EMPTY : childRef(trieNode(group, depth + 1)))), value];
}

/** A child node is embedded in its parent when its RLP is shorter than 32 bytes, else referenced by its hash. */
function childRef(node: RlpValue): RlpValue {
  const encoded = toRlp(node, "bytes");
  return encoded.length < 32 ? node : keccak256(encoded, "bytes");
}

/** Hex-prefix encoding: the first nibble says leaf (2, 3) or extension (0, 1) and odd (1, 3) or even length. */
function hexPrefix(nibbles: Uint8Array, leaf: boolean): Uint8Array {
  const odd = nibbles.length % 2;
  const out = new Uint8Array(1 + (nibbles.length >> 1));
  out[0] = ((leaf ? 2 : 0) + odd) << 4;
  if (odd) out[0]! |= nibbles[0]!;
  for (let i = odd, o = 1; i < nibbles.length; i += 2, o++) out[o] = (nibbles[i]! << 4) | nibbles[i + 1]!;
  return out;
}

function compareRoot(what: string, computed: Hex, stated: Uint8Array): RootCheck {
  if (computed === bytesToHex(stated)) return { ok: true };
  return { ok: false, reason: `${what} make up root ${computed}, header states ${bytesToHex(stated)}` };
}

function asRecord(value: unknown, what: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RootFormatError(`${what} is not an object`);
  }
  return value as Json;
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

/** The encoders' contract: malformed input is a RootFormatError, whatever reader noticed it. */
function withFormatErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof HexFormatError) throw new RootFormatError(error.message, { cause: error });
    throw error;
  }
}

function failure(error: unknown): RootCheck {
  if (error instanceof UnsupportedTypeError) return { ok: "unverifiable", reason: error.message };
  if (error instanceof RootFormatError || error instanceof HexFormatError || error instanceof ContradictionError) {
    return { ok: false, reason: error.message };
  }
  return { ok: false, reason: `malformed answer: ${error instanceof Error ? error.message : String(error)}` };
}

function hexOf(value: bigint): string {
  return `0x${value.toString(16)}`;
}
