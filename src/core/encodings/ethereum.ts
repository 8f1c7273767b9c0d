/**
 * Ethereum's consensus encodings of transactions (legacy and EIP-2718 types 1–4) and receipts, which every stack
 * shares: an L2 stack adds types of its own (encodings/op-stack.ts) but encodes these the same way.
 */
import { concatBytes, toRlp } from "viem";
import { quantityBytes, readData, readQuantity } from "../hex.ts";
import {
  accessList,
  asRecord,
  authorizations,
  blobHashes,
  hexOf,
  input,
  type Json,
  qty,
  type RlpValue,
  RootFormatError,
  signature,
  to,
} from "./fields.ts";

/** Highest transaction type Ethereum defines (4: EIP-7702 set-code). */
export const LAST_ETHEREUM_TX_TYPE = 4;
/** Most logs in one block, across all its receipts: a log costs at least 375 gas. */
export const MAX_BLOCK_LOGS = 524_288;
/** Largest `data` of one log, in bytes: log data costs 8 gas a byte. */
export const MAX_LOG_DATA_BYTES = 16 * 1024 * 1024;
/** LOG0…LOG4: the EVM cannot emit more topics. */
export const MAX_LOG_TOPICS = 4;

/**
 * `type || rlp(fields)` for types 1–4, plain `rlp(fields)` for legacy transactions (type 0), whose `v` is encoded as
 * stated (27/28, or EIP-155's chainId·2+35/36).
 */
export function encodeEthereumTransaction(type: number, json: Json): Uint8Array {
  if (type === 0) {
    const fields = [qty(json, "nonce"), qty(json, "gasPrice"), qty(json, "gas"), to(json, true)];
    return toRlp([...fields, qty(json, "value"), input(json), qty(json, "v"), qty(json, "r"), qty(json, "s")], "bytes");
  }
  const head: RlpValue[] = [qty(json, "chainId"), qty(json, "nonce")];
  if (type === 1) head.push(qty(json, "gasPrice"));
  else head.push(qty(json, "maxPriorityFeePerGas"), qty(json, "maxFeePerGas"));
  // Blob and set-code transactions cannot create contracts: their `to` is always an address.
  head.push(qty(json, "gas"), to(json, type <= 2), qty(json, "value"), input(json), accessList(json.accessList));
  if (type === 3) head.push(qty(json, "maxFeePerBlobGas"), blobHashes(json.blobVersionedHashes));
  if (type === 4) head.push(authorizations(json.authorizationList));
  return concatBytes([Uint8Array.of(type), toRlp([...head, ...signature(json)], "bytes")]);
}

/** What every receipt commits to: `[status-or-root, cumulativeGasUsed, logsBloom, logs]`. */
export function receiptFields(json: Json): RlpValue[] {
  const logs = json.logs;
  if (!Array.isArray(logs)) throw new RootFormatError("logs is not an array");
  if (logs.length > MAX_BLOCK_LOGS) throw new RootFormatError(`more than ${MAX_BLOCK_LOGS} logs`);
  return [
    outcome(json),
    qty(json, "cumulativeGasUsed"),
    readData(json.logsBloom, "logsBloom", { bytes: 256 }),
    logs.map((log, i) => encodeLog(log, `logs[${i}]`)),
  ];
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
