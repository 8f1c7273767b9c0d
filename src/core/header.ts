/**
 * Block hashes recomputed from header fields. A block hash is keccak256 of the RLP list of the header's fields, so a
 * node cannot hand over a header whose content (state root, number, timestamp…) differs from the hash it claims.
 * Only the header fields are bound: `transactions`, `withdrawals`, `uncles`, `size` and `totalDifficulty` in the same
 * JSON are not covered by this check.
 */
import { type ByteArray, bytesToHex, keccak256, toRlp } from "viem";
import { type Hex, HexFormatError, quantityBytes, readData, readQuantity } from "./hex.ts";

export type HeaderCheck = { ok: true; hash: Hex } | { ok: false; reason: string };

/** A block's JSON cannot be hashed: a header field is missing or is not the hex it must be. */
export class HeaderFormatError extends Error {
  override name = "HeaderFormatError";
}

type FieldKind = "hash" | "address" | "bloom" | "nonce" | "quantity" | "bytes";

/** Largest `extraData` accepted, in bytes. Mainnet allows 32; proof-of-authority chains put signatures there. */
export const MAX_EXTRA_DATA_BYTES = 1_024;

/** The 15 fields every header has (Frontier to Berlin), in RLP order. */
const LEGACY_FIELDS: readonly (readonly [string, FieldKind])[] = [
  ["parentHash", "hash"],
  ["sha3Uncles", "hash"],
  ["miner", "address"],
  ["stateRoot", "hash"],
  ["transactionsRoot", "hash"],
  ["receiptsRoot", "hash"],
  ["logsBloom", "bloom"],
  ["difficulty", "quantity"],
  ["number", "quantity"],
  ["gasLimit", "quantity"],
  ["gasUsed", "quantity"],
  ["timestamp", "quantity"],
  ["extraData", "bytes"],
  ["mixHash", "hash"],
  ["nonce", "nonce"],
];

/**
 * Fields later forks append, in RLP order: London, Shanghai, Cancun (three), Prague. A block's hash covers exactly the
 * fields its header has, and not always a prefix of this list: anvil's genesis block of a pre-Cancun fork carries the
 * blob-gas fields without `baseFeePerGas`/`withdrawalsRoot`. Positions of fork fields are therefore not
 * self-describing (a 16-field header could be read as London's `baseFeePerGas` or as a lone `blobGasUsed`): the hash
 * binds every legacy field and the sequence of fork values, not which fork field a lone value is.
 */
const FORK_FIELDS: readonly (readonly [string, FieldKind])[] = [
  ["baseFeePerGas", "quantity"],
  ["withdrawalsRoot", "hash"],
  ["blobGasUsed", "quantity"],
  ["excessBlobGas", "quantity"],
  ["parentBeaconBlockRoot", "hash"],
  ["requestsHash", "hash"],
];

const BYTES_OF: Record<Exclude<FieldKind, "quantity" | "bytes">, number> = {
  hash: 32,
  address: 20,
  bloom: 256,
  nonce: 8,
};

/**
 * Recomputes the block hash from the header fields of an `eth_getBlockByNumber`/`eth_getBlockByHash` result.
 * A fork field is included exactly when the JSON has it (an absent or `null` field is left out).
 * @throws HeaderFormatError when the JSON is not a well-formed header.
 */
export function computeHeaderHash(block: unknown): Hex {
  if (typeof block !== "object" || block === null || Array.isArray(block)) {
    throw new HeaderFormatError("block is not an object");
  }
  const json = block as Record<string, unknown>;
  const fields: ByteArray[] = [];
  for (const [name, kind] of LEGACY_FIELDS) {
    if (!has(json, name)) throw new HeaderFormatError(`block has no ${name}`);
    fields.push(encodeField(json[name], name, kind));
  }
  for (const [name, kind] of FORK_FIELDS) {
    if (has(json, name)) fields.push(encodeField(json[name], name, kind));
  }
  return keccak256(toRlp(fields, "bytes"));
}

/** Recomputes a block's hash from its header fields (untrusted JSON) and compares it with the block's `hash`. */
export function verifyHeaderHash(block: unknown): HeaderCheck {
  try {
    const hash = computeHeaderHash(block);
    const claimed = bytesToHex(readData((block as Record<string, unknown>).hash, "hash", { bytes: 32 }));
    if (claimed !== hash) return { ok: false, reason: `header fields hash to ${hash}, block claims ${claimed}` };
    return { ok: true, hash };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const known = error instanceof HeaderFormatError || error instanceof HexFormatError;
    return { ok: false, reason: known ? message : `malformed header: ${message}` };
  }
}

function has(json: Record<string, unknown>, name: string): boolean {
  return Object.hasOwn(json, name) && json[name] !== undefined && json[name] !== null;
}

function encodeField(value: unknown, name: string, kind: FieldKind): ByteArray {
  try {
    switch (kind) {
      case "quantity":
        return quantityBytes(readQuantity(value, name));
      case "bytes":
        return readData(value, name, { maxBytes: MAX_EXTRA_DATA_BYTES });
      default:
        return readData(value, name, { bytes: BYTES_OF[kind] });
    }
  } catch (error) {
    if (error instanceof HexFormatError) throw new HeaderFormatError(error.message, { cause: error });
    throw error;
  }
}
