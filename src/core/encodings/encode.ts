/**
 * Consensus encodings of transactions and receipts on each chain stack: Ethereum's types everywhere, and a stack's
 * own types (the OP stack's deposit) where the chain is of that stack. A type no encoding here knows is an
 * UnsupportedTypeError: the caller serves such data as unverifiable, never as a lie.
 */
import { concatBytes, toRlp } from "viem";
import type { ChainStack } from "../chain-presets.ts";
import type { Hex } from "../hex.ts";
import { readQuantity } from "../hex.ts";
import { ARBITRUM } from "./arbitrum.ts";
import { encodeEthereumTransaction, LAST_ETHEREUM_TX_TYPE, receiptFields } from "./ethereum.ts";
import {
  asRecord,
  hexOf,
  type Json,
  RootFormatError,
  readers,
  UnsupportedTypeError,
  withFormatErrors,
} from "./fields.ts";
import { OP_STACK } from "./op-stack.ts";
import { POLYGON } from "./polygon.ts";
import type { OwnType, StackEncoding } from "./stack-encoding.ts";

const ETHEREUM: StackEncoding = { ownTypes: new Map(), withdrawals: "root" };

/** Each stack's encodings. */
export const STACK_ENCODINGS: Readonly<Record<ChainStack, StackEncoding>> = {
  ethereum: ETHEREUM,
  "op-stack": OP_STACK,
  arbitrum: ARBITRUM,
  polygon: POLYGON,
};

/**
 * The consensus encoding of a transaction JSON object (Ethereum's types 0–4, and the stack's own).
 * @throws RootFormatError when a field is missing or malformed.
 * @throws UnsupportedTypeError for a type neither Ethereum nor the stack defines.
 */
export function encodeTransaction(tx: unknown, stack: ChainStack = "ethereum"): Uint8Array {
  return withFormatErrors(() => {
    const json = asRecord(tx, "transaction");
    const type = typeOf(json);
    const own = ownType(type, stack, "transaction");
    if (own) return concatBytes([Uint8Array.of(type), toRlp(own.transaction(readers(json)), "bytes")]);
    return encodeEthereumTransaction(type, json);
  });
}

/**
 * The consensus encoding of a receipt JSON object: `type || rlp([status-or-root, cumulativeGasUsed, logsBloom, logs,
 * …what the stack's own type adds])`, without the type byte for legacy receipts. Pre-Byzantium receipts carry the
 * post-state `root` instead of `status`.
 * @throws RootFormatError when a field is missing or malformed.
 * @throws UnsupportedTypeError for a type neither Ethereum nor the stack defines.
 */
export function encodeReceipt(receipt: unknown, stack: ChainStack = "ethereum"): Uint8Array {
  return withFormatErrors(() => {
    const json = asRecord(receipt, "receipt");
    const type = typeOf(json);
    const own = ownType(type, stack, "receipt");
    const fields = receiptFields(json);
    const encoded = toRlp(own ? [...fields, ...own.receiptExtra(readers(json))] : fields, "bytes");
    return type === 0 ? encoded : concatBytes([Uint8Array.of(type), encoded]);
  });
}

/** The stack's own type of a transaction JSON object, undefined for Ethereum's types or a malformed type. */
export function ownTypeOf(tx: unknown, stack: ChainStack = "ethereum"): OwnType | undefined {
  const json = tx as Json;
  if (typeof json?.type !== "string") return undefined;
  try {
    return STACK_ENCODINGS[stack].ownTypes.get(typeOf(json));
  } catch {
    return undefined;
  }
}

/**
 * The sender of a transaction of an unsigned type of its stack (an OP deposit, an Arbitrum internal transaction), as
 * its encoding (so its hash) binds it. Undefined for a signed transaction, whose sender is recovered from its
 * signature.
 */
export function committedSender(tx: unknown, stack: ChainStack = "ethereum"): Hex | undefined {
  return ownTypeOf(tx, stack)
    ?.sender(tx as Json)
    ?.toLowerCase() as Hex | undefined;
}

/** EIP-2718 type; nodes from before typed transactions state none, which means legacy. */
function typeOf(json: Json): number {
  if (json.type === undefined || json.type === null) return 0;
  const type = readQuantity(json.type, "type");
  if (type > 0x7fn) throw new RootFormatError(`type ${hexOf(type)} is outside the EIP-2718 range`);
  return Number(type);
}

/** The stack's own encoding of `type`, undefined for Ethereum's types; throws for a type nobody here encodes. */
function ownType(type: number, stack: ChainStack, what: string): OwnType | undefined {
  const own = STACK_ENCODINGS[stack].ownTypes.get(type);
  if (own || type <= LAST_ETHEREUM_TX_TYPE) return own;
  throw new UnsupportedTypeError(`${what} type ${hexOf(BigInt(type))} has no known consensus encoding`);
}
