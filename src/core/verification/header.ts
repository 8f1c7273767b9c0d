/**
 * Block hashes recomputed from header fields. A block hash is keccak256 of the RLP list of the header's fields, so a
 * node cannot hand over a header whose content (state root, number, timestamp…) differs from the hash it claims.
 * Only the header fields are bound: the keys of a block's JSON that are not header fields (`NOT_HEADER_FIELDS`:
 * `transactions`, `withdrawals`, `uncles`, `size`, `totalDifficulty`…) are not covered by this check.
 *
 * Which fork fields a header carries follows from the chain's fork schedule when it is known: a header with other
 * fields is a lie even if they hash to its hash (a Shanghai header's `withdrawalsRoot` relabelled as
 * `parentBeaconBlockRoot` hashes alike and would hide its withdrawals). A header with a field this code does not know
 * (a fork newer than it) cannot be hashed: it is unverifiable, which is not a lie.
 */

import { type ByteArray, bytesToHex, keccak256, stringToBytes, toRlp } from "viem";
import type { ForkSchedule } from "../chain-presets.ts";
import { BaseError } from "../errors.ts";
import { type Hex, HexFormatError, quantityBytes, readData, readQuantity } from "../hex.ts";
import { canonicalJson } from "../rpc/cache-policy.ts";

export type HeaderCheck =
  /** The header's fields hash to its hash (and carry what the fork schedule requires). */
  | { ok: true; hash: Hex }
  /** Malformed, or its fields contradict its hash or the fork schedule: a lie or corruption. */
  | { ok: false; reason: string }
  /** It carries a field this code does not know and its known fields do not hash to `hash`, the one it claims. */
  | { ok: "unverifiable"; hash: Hex; reason: string };

/** A block's JSON cannot be hashed: a header field is missing or is not the hex it must be. */
export class HeaderFormatError extends BaseError<"header_format"> {
  override readonly name = "HeaderFormatError";
  readonly code = "header_format";
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
 * Fields later forks append, in RLP order, with the fork that added each. A block's hash covers exactly the fields its
 * header has, and not always a prefix of this list: anvil's genesis block of a pre-Cancun fork carries the blob-gas
 * fields without `baseFeePerGas`/`withdrawalsRoot`. Positions of fork fields are therefore not self-describing (a
 * 16-field header could be read as London's `baseFeePerGas` or as a lone `blobGasUsed`): the hash binds every legacy
 * field and the sequence of fork values, not which fork field a lone value is. The fork schedule says which it is.
 */
const FORK_FIELDS: readonly (readonly [string, FieldKind, keyof ForkSchedule])[] = [
  ["baseFeePerGas", "quantity", "london"],
  ["withdrawalsRoot", "hash", "shanghai"],
  ["blobGasUsed", "quantity", "cancun"],
  ["excessBlobGas", "quantity", "cancun"],
  ["parentBeaconBlockRoot", "hash", "cancun"],
  ["requestsHash", "hash", "prague"],
];

/** Every header field this code can hash. */
const HEADER_FIELDS: ReadonlySet<string> = new Set([...LEGACY_FIELDS, ...FORK_FIELDS].map(([name]) => name));

/** What a block's JSON carries beside its hash and header: its lists and sizes (a `newHeads` header has none). */
export const BLOCK_BODY_KEYS: ReadonlySet<string> = new Set([
  "transactions",
  "withdrawals",
  "uncles",
  "size",
  "totalDifficulty",
]);

/**
 * Keys of an `eth_getBlockBy*` answer that are not header fields: the block's own hash, `BLOCK_BODY_KEYS`, and values
 * nodes derive from header fields (Nethermind's `author` is the miner again; Arbitrum's `l1BlockNumber`, `sendCount`
 * and `sendRoot` are read from `mixHash` and `extraData`). Any other key is a header field this code does not know.
 */
export const NOT_HEADER_FIELDS: ReadonlySet<string> = new Set([
  "hash",
  ...BLOCK_BODY_KEYS,
  "author",
  "l1BlockNumber",
  "sendCount",
  "sendRoot",
]);

/** Unknown field names named in a reason, at most, each cut to `MAX_REPORTED_FIELD_CHARS` characters. */
export const MAX_REPORTED_UNKNOWN_FIELDS = 3;
export const MAX_REPORTED_FIELD_CHARS = 64;

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
  const json = asObject(block);
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

/**
 * Checks a block's header (untrusted JSON) against the hash it claims and, when `forks` is given, against the fork
 * fields its number and timestamp require. A header that carries a field this code does not know and does not hash
 * to its claim is `unverifiable`: a newer fork's header, or a lie this check cannot tell from one.
 */
export function checkHeader(block: unknown, forks?: ForkSchedule): HeaderCheck {
  try {
    const hash = computeHeaderHash(block);
    const json = block as Record<string, unknown>;
    const claimed = bytesToHex(readData(json.hash, "hash", { bytes: 32 }));
    if (claimed !== hash) {
      const unknown = unknownFields(json);
      if (unknown.length === 0) return { ok: false, reason: `header fields hash to ${hash}, block claims ${claimed}` };
      const named = unknown.slice(0, MAX_REPORTED_UNKNOWN_FIELDS).map((f) => f.slice(0, MAX_REPORTED_FIELD_CHARS));
      return {
        ok: "unverifiable",
        hash: claimed,
        reason: `header carries fields Multihome does not know (${named.join(", ")}): its hash cannot be recomputed`,
      };
    }
    const problem = forks ? forkFieldsProblem(json, forks) : undefined;
    return problem ? { ok: false, reason: problem } : { ok: true, hash };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const known = error instanceof HeaderFormatError || error instanceof HexFormatError;
    return { ok: false, reason: known ? message : `malformed header: ${message}` };
  }
}

/**
 * `checkHeader` where only a recomputed hash will do: an unverifiable header fails like a wrong one.
 */
export function verifyHeaderHash(block: unknown, forks?: ForkSchedule): Exclude<HeaderCheck, { ok: "unverifiable" }> {
  const check = checkHeader(block, forks);
  return check.ok === "unverifiable" ? { ok: false, reason: check.reason } : check;
}

/** The fork fields a header at this number and timestamp carries under `forks`, in RLP order. */
export function forkFieldsAt(forks: ForkSchedule, number: bigint, timestamp: bigint): string[] {
  const active = (fork: keyof ForkSchedule) => {
    const at = forks[fork];
    if (at === undefined) return false;
    return BigInt(at) <= (fork === "london" ? number : timestamp);
  };
  return FORK_FIELDS.filter(([, , fork]) => active(fork)).map(([name]) => name);
}

/**
 * keccak256 of the header fields (every key but `NOT_HEADER_FIELDS`, unknown ones included) as canonical JSON: what
 * independent upstreams must agree on when a header cannot be verified by its hash.
 */
export function headerDigest(block: unknown): Hex {
  const json = asObject(block);
  const fields = Object.fromEntries(
    Object.entries(json).filter(([k, v]) => !NOT_HEADER_FIELDS.has(k) && v !== null && v !== undefined),
  );
  return keccak256(stringToBytes(canonicalJson(fields)));
}

function forkFieldsProblem(json: Record<string, unknown>, forks: ForkSchedule): string | undefined {
  const number = readQuantity(json.number, "number");
  const timestamp = readQuantity(json.timestamp, "timestamp");
  const expected = forkFieldsAt(forks, number, timestamp);
  const present = FORK_FIELDS.filter(([name]) => has(json, name)).map(([name]) => name);
  if (expected.join() === present.join()) return undefined;
  const list = (names: string[]) => (names.length === 0 ? "none" : names.join(", "));
  return (
    `header of block ${number} (timestamp ${timestamp}) carries fork fields ${list(present)}; ` +
    `the chain's fork schedule requires ${list(expected)}`
  );
}

function unknownFields(json: Record<string, unknown>): string[] {
  return Object.keys(json).filter((k) => has(json, k) && !HEADER_FIELDS.has(k) && !NOT_HEADER_FIELDS.has(k));
}

function asObject(block: unknown): Record<string, unknown> {
  if (typeof block !== "object" || block === null || Array.isArray(block)) {
    throw new HeaderFormatError("block is not an object");
  }
  return block as Record<string, unknown>;
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
