/**
 * Verification of EIP-1186 proofs (`eth_getProof`) against a state root the caller already trusts (an anchored
 * header's). Everything a node sends is hostile input: the verifiers return `ok: false` with a reason instead of
 * throwing, and they only ever report values that the Merkle path proves. A node's own `balance`, `nonce`,
 * `storageHash`, `codeHash` and storage `value` fields are claims: when they differ from what the proof shows, the
 * answer is `ok: false`, so the caller can count a dispute against that node.
 *
 * The trie walk is written here rather than taken from `@ethereumjs/mpt`: that library verifies asynchronously by
 * loading the proof into a throw-away trie database, which accepts unused extra nodes and cannot back these
 * synchronous functions; the walk below is small, allocation-light and rejects anything that is not exactly the path.
 */

import { bytesToHex, keccak256 } from "viem";
import { BaseError } from "../errors.ts";
import { bytesToBigInt, equalBytes, type Hex, HexFormatError, readData, readQuantity } from "../hex.ts";

/** Root of a trie with no entries: keccak256(rlp("")). The storage root of every account without storage. */
export const EMPTY_TRIE_ROOT: Hex = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";
/** keccak256 of empty code: the code hash of every account without code. */
export const EMPTY_CODE_HASH: Hex = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470";
const ZERO_HASH: Hex = `0x${"00".repeat(32)}`;

/** Keys of the state and storage tries are 32-byte hashes: 64 nibbles, so a path has at most 65 nodes. */
export const MAX_PROOF_NODES = 65;
/**
 * Largest trie node accepted, in bytes. A branch node is at most 17 × 33 + 3 = 532 bytes and leaves are smaller;
 * the margin admits chains whose account leaves carry more, while a hostile answer still cannot make us hash much.
 */
export const MAX_PROOF_NODE_BYTES = 1_024;
/** Nesting limit of the RLP decoder: trie nodes nest at most a few lists deep (inline children). */
const MAX_RLP_DEPTH = 8;

export interface AccountState {
  nonce: bigint;
  balance: bigint;
  storageRoot: Hex;
  codeHash: Hex;
}

export type AccountProofResult =
  | {
      ok: true;
      /** The proven account; a proven-absent account gives nonce 0, balance 0, empty storage root, empty code hash. */
      account: AccountState;
      /** False when the proof shows the state trie has no entry for the address. */
      exists: boolean;
    }
  | { ok: false; reason: string };

export type StorageProofResult =
  | { ok: true /** 0n when proven absent */; value: bigint }
  | { ok: false; reason: string };

/** What a Merkle walk found: the value under the key, or `null` when the proof shows there is none. */
export type MerkleProofResult = { ok: true; value: Uint8Array | null } | { ok: false; reason: string };

/** A proof or a claim about it does not hold. */
export class ProofError extends BaseError<"proof_invalid"> {
  override readonly name = "ProofError";
  readonly code = "proof_invalid";
}

/**
 * Checks `proof` (an `eth_getProof` result, untrusted) for `address` against `stateRoot`. The storage proofs inside
 * it are not looked at: check each one with {@link verifyStorageProof} against the returned `account.storageRoot`.
 */
export function verifyAccountProof(stateRoot: Hex, address: Hex, proof: unknown): AccountProofResult {
  try {
    const root = readData(stateRoot, "state root", { bytes: 32 });
    const addressBytes = readData(address, "address", { bytes: 20 });
    const claim = asRecord(proof, "proof");
    const claimedAddress = readData(claim.address, "proof address", { bytes: 20 });
    if (!equalBytes(claimedAddress, addressBytes)) {
      throw new ProofError(`proof is for ${String(claim.address)}, not for ${address}`);
    }
    const nodes = readProofNodes(claim.accountProof, "accountProof");
    const leaf = walk(root, keccak256(addressBytes, "bytes"), nodes);
    const account = leaf === null ? ABSENT_ACCOUNT : decodeAccount(leaf);
    checkAccountClaim(claim, account, leaf !== null);
    return { ok: true, account, exists: leaf !== null };
  } catch (error) {
    return { ok: false, reason: reasonOf(error) };
  }
}

/**
 * Checks one entry of an `eth_getProof` result's `storageProof` (untrusted) for `slot` (the 32-byte key as requested)
 * against `storageRoot`, which must come from a verified account proof.
 */
export function verifyStorageProof(storageRoot: Hex, slot: Hex, storageProofEntry: unknown): StorageProofResult {
  try {
    const root = readData(storageRoot, "storage root", { bytes: 32 });
    const key = readData(slot, "slot", { bytes: 32 });
    const claim = asRecord(storageProofEntry, "storage proof entry");
    // Nodes echo the key as requested or as a quantity: both name the same slot.
    if (readQuantity(claim.key, "storage proof key") !== bytesToBigInt(key)) {
      throw new ProofError(`storage proof is for key ${String(claim.key)}, not for ${slot}`);
    }
    const nodes = readProofNodes(claim.proof, "storage proof");
    const leaf = walk(root, keccak256(key, "bytes"), nodes);
    const value = leaf === null ? 0n : decodeStorageValue(leaf);
    const claimed = readQuantity(claim.value, "storage value");
    if (claimed !== value) throw new ProofError(`storage value claimed ${hexOf(claimed)}, proven ${hexOf(value)}`);
    return { ok: true, value };
  } catch (error) {
    return { ok: false, reason: reasonOf(error) };
  }
}

/**
 * Checks a whole `eth_getProof` answer (untrusted) for `address` and the storage `slots` asked for (32-byte keys, in
 * the order asked) against `stateRoot`: the account proof and every field it claims, then each storage proof against
 * the proven storage root. The value is the answer with only the fields a proof has, each of them checked.
 */
export function verifyProofAnswer(
  stateRoot: Hex,
  address: Hex,
  slots: readonly Hex[],
  answer: unknown,
): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  const account = verifyAccountProof(stateRoot, address, answer);
  if (!account.ok) return { ok: false, reason: `account proof: ${account.reason}` };
  const claim = answer as Record<string, unknown>;
  const entries = claim.storageProof;
  if (!Array.isArray(entries) || entries.length !== slots.length)
    return { ok: false, reason: `storage proofs: expected ${slots.length}` };
  const storageProof = [];
  for (const [i, slot] of slots.entries()) {
    const storage = verifyStorageProof(account.account.storageRoot, slot, entries[i]);
    if (!storage.ok) return { ok: false, reason: `storage proof ${i}: ${storage.reason}` };
    const { key, value, proof } = entries[i] as Record<string, unknown>;
    storageProof.push({ key, value, proof });
  }
  const { address: stated, accountProof, balance, codeHash, nonce, storageHash } = claim;
  return { ok: true, value: { address: stated, accountProof, balance, codeHash, nonce, storageHash, storageProof } };
}

/** True when `code` (an `eth_getCode` result, untrusted) is well-formed hex whose keccak256 is `codeHash`. */
export function verifyCode(codeHash: Hex, code: unknown): boolean {
  try {
    const expected = readData(codeHash, "code hash", { bytes: 32 });
    return equalBytes(keccak256(readData(code, "code"), "bytes"), expected);
  } catch {
    return false;
  }
}

/**
 * Walks a Merkle-Patricia proof from `root` along `key` (already hashed, as the secure tries store it). The proof must
 * be exactly the hashed nodes of that path, in order: a node that does not hash to its parent's reference, a path that
 * stops early or nodes left over at the end all fail.
 */
export function verifyMerkleProof(root: Uint8Array, key: Uint8Array, proof: readonly Uint8Array[]): MerkleProofResult {
  try {
    return { ok: true, value: walk(root, key, proof) };
  } catch (error) {
    return { ok: false, reason: reasonOf(error) };
  }
}

const ABSENT_ACCOUNT: AccountState = {
  nonce: 0n,
  balance: 0n,
  storageRoot: EMPTY_TRIE_ROOT,
  codeHash: EMPTY_CODE_HASH,
};
const EMPTY_TRIE_ROOT_BYTES = readData(EMPTY_TRIE_ROOT, "empty trie root");

type RlpItem = Uint8Array | RlpItem[];

function walk(root: Uint8Array, key: Uint8Array, proof: readonly Uint8Array[]): Uint8Array | null {
  if (root.length !== 32) throw new ProofError("root must be 32 bytes");
  // Some nodes prove an empty trie with no nodes at all, others with the single empty node `0x80`.
  if (proof.length === 0 && equalBytes(root, EMPTY_TRIE_ROOT_BYTES)) return null;
  const path = toNibbles(key);
  let depth = 0;
  let used = 0;
  /** A 32-byte hash of the next node, the next node itself (inlined in its parent when shorter than 32 bytes), or empty. */
  let ref: RlpItem = root;
  const end = (value: Uint8Array | null): Uint8Array | null => {
    if (used !== proof.length) throw new ProofError(`${proof.length - used} extra node(s) after the end of the path`);
    return value;
  };
  for (;;) {
    let node: RlpItem;
    if (ref instanceof Uint8Array) {
      if (ref.length === 0) return end(null);
      if (ref.length !== 32) throw new ProofError(`child reference of ${ref.length} bytes`);
      const encoded = proof[used];
      if (encoded === undefined) throw new ProofError(`proof ends after ${used} node(s), before the path does`);
      if (!equalBytes(keccak256(encoded, "bytes"), ref)) {
        throw new ProofError(
          used === 0 ? "first node does not hash to the root" : `node ${used} does not hash to its parent's reference`,
        );
      }
      used++;
      node = decodeRlp(encoded);
    } else {
      // Inline nodes are part of their parent's bytes, which are already authenticated.
      node = ref;
    }
    if (node instanceof Uint8Array) {
      if (node.length === 0) return end(null);
      throw new ProofError("trie node is a string, not a list");
    }
    if (node.length === 17) {
      if (depth === path.length) {
        const value = bytesItem(node[16], "branch value");
        return end(value.length > 0 ? value : null);
      }
      ref = node[path[depth]!]!;
      depth++;
      continue;
    }
    if (node.length !== 2) throw new ProofError(`trie node has ${node.length} items`);
    const { nibbles, leaf } = decodeCompactPath(bytesItem(node[0], "node path"));
    if (leaf) {
      const value = bytesItem(node[1], "leaf value");
      if (value.length === 0) throw new ProofError("leaf with an empty value");
      // A leaf for another key where ours would be proves that ours is not in the trie.
      return end(nibblesEqual(nibbles, path, depth, path.length - depth) ? value : null);
    }
    if (nibbles.length === 0 || depth + nibbles.length > path.length) {
      throw new ProofError("extension node with an impossible path");
    }
    if (!nibblesEqual(nibbles, path, depth, nibbles.length)) return end(null);
    depth += nibbles.length;
    ref = node[1]!;
  }
}

/** A trie key as its 4-bit nibbles, high nibble first. */
export function toNibbles(key: Uint8Array): Uint8Array {
  const nibbles = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    nibbles[2 * i] = key[i]! >> 4;
    nibbles[2 * i + 1] = key[i]! & 0x0f;
  }
  return nibbles;
}

function nibblesEqual(part: Uint8Array, path: Uint8Array, from: number, length: number): boolean {
  if (part.length !== length) return false;
  for (let i = 0; i < length; i++) if (part[i] !== path[from + i]) return false;
  return true;
}

/** Hex-prefix encoding: the first nibble says leaf (2, 3) or extension (0, 1) and odd (1, 3) or even length. */
function decodeCompactPath(encoded: Uint8Array): { nibbles: Uint8Array; leaf: boolean } {
  const first = encoded[0];
  if (first === undefined) throw new ProofError("empty node path");
  const flag = first >> 4;
  if (flag > 3) throw new ProofError(`node path flag ${flag}`);
  const odd = (flag & 1) === 1;
  if (!odd && (first & 0x0f) !== 0) throw new ProofError("even node path with padding that is not zero");
  const all = toNibbles(encoded);
  return { nibbles: all.subarray(odd ? 1 : 2), leaf: flag >= 2 };
}

function decodeAccount(leaf: Uint8Array): AccountState {
  const item = decodeRlp(leaf);
  if (item instanceof Uint8Array || item.length !== 4) throw new ProofError("account leaf is not a 4-item list");
  return {
    nonce: integerItem(item[0], "account nonce", 8),
    balance: integerItem(item[1], "account balance", 32),
    storageRoot: hashItem(item[2], "account storage root"),
    codeHash: hashItem(item[3], "account code hash"),
  };
}

/** Storage leaves hold the RLP encoding of the value's minimal big-endian bytes. */
function decodeStorageValue(leaf: Uint8Array): bigint {
  const value = integerItem(decodeRlp(leaf), "storage value", 32);
  if (value === 0n) throw new ProofError("storage leaf holds zero (zero slots are not stored)");
  return value;
}

function checkAccountClaim(claim: Record<string, unknown>, proven: AccountState, exists: boolean): void {
  const nonce = readQuantity(claim.nonce, "nonce");
  if (nonce !== proven.nonce) throw new ProofError(`nonce claimed ${hexOf(nonce)}, proven ${hexOf(proven.nonce)}`);
  const balance = readQuantity(claim.balance, "balance");
  if (balance !== proven.balance) {
    throw new ProofError(`balance claimed ${hexOf(balance)}, proven ${hexOf(proven.balance)}`);
  }
  checkHashClaim(claim.storageHash, "storageHash", proven.storageRoot, exists);
  checkHashClaim(claim.codeHash, "codeHash", proven.codeHash, exists);
}

function checkHashClaim(value: unknown, what: string, proven: Hex, exists: boolean): void {
  const claimed = bytesToHex(readData(value, what, { bytes: 32 }));
  if (claimed === proven) return;
  // Older geth versions answer zero hashes for an account that does not exist: the same fact, spelled differently.
  if (!exists && claimed === ZERO_HASH) return;
  throw new ProofError(`${what} claimed ${claimed}, proven ${proven}`);
}

function readProofNodes(value: unknown, what: string): Uint8Array[] {
  if (!Array.isArray(value)) throw new ProofError(`${what} is not an array`);
  if (value.length > MAX_PROOF_NODES) throw new ProofError(`${what} has more than ${MAX_PROOF_NODES} nodes`);
  return value.map((node, i) => readData(node, `${what}[${i}]`, { maxBytes: MAX_PROOF_NODE_BYTES }));
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ProofError(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function bytesItem(item: RlpItem | undefined, what: string): Uint8Array {
  if (!(item instanceof Uint8Array)) throw new ProofError(`${what} is not a byte string`);
  return item;
}

function integerItem(item: RlpItem | undefined, what: string, maxBytes: number): bigint {
  const bytes = bytesItem(item, what);
  if (bytes.length > maxBytes) throw new ProofError(`${what} is longer than ${maxBytes} bytes`);
  if (bytes[0] === 0) throw new ProofError(`${what} has a leading zero byte`);
  return bytesToBigInt(bytes);
}

function hashItem(item: RlpItem | undefined, what: string): Hex {
  const bytes = bytesItem(item, what);
  if (bytes.length !== 32) throw new ProofError(`${what} is not 32 bytes`);
  return bytesToHex(bytes);
}

/** Strict RLP: canonical lengths only, the whole input consumed, bounded nesting. */
function decodeRlp(bytes: Uint8Array): RlpItem {
  const [item, next] = decodeItem(bytes, 0, bytes.length, 0);
  if (next !== bytes.length) throw new ProofError("bytes after the end of an RLP item");
  return item;
}

/** Decodes the item at `at`, which must end by `limit` (the end of its enclosing list). */
function decodeItem(bytes: Uint8Array, at: number, limit: number, depth: number): [RlpItem, number] {
  const prefix = bytes[at];
  if (prefix === undefined || at >= limit) throw new ProofError("RLP item ends early");
  if (prefix < 0x80) return [bytes.subarray(at, at + 1), at + 1];
  if (prefix < 0xc0) {
    const [start, length] = lengthOf(bytes, at, limit, prefix - 0x80);
    if (length === 1 && bytes[start]! < 0x80) throw new ProofError("RLP single byte encoded as a string");
    return [bytes.subarray(start, start + length), start + length];
  }
  if (depth >= MAX_RLP_DEPTH) throw new ProofError("RLP nested too deeply");
  const [start, length] = lengthOf(bytes, at, limit, prefix - 0xc0);
  const end = start + length;
  const items: RlpItem[] = [];
  let pos = start;
  while (pos < end) {
    const [item, next] = decodeItem(bytes, pos, end, depth + 1);
    items.push(item);
    pos = next;
  }
  return [items, end];
}

/** For a string or list prefix at `at` with `short` = prefix minus its base: where the payload starts, how long. */
function lengthOf(bytes: Uint8Array, at: number, limit: number, short: number): [number, number] {
  let start = at + 1;
  let length = short;
  if (short > 55) {
    const lengthBytes = short - 55;
    if (lengthBytes > 4) throw new ProofError("RLP length too large");
    if (bytes[start] === 0) throw new ProofError("RLP length with a leading zero");
    length = 0;
    for (let i = 0; i < lengthBytes; i++) {
      const byte = bytes[start + i];
      if (byte === undefined) throw new ProofError("RLP length ends early");
      length = length * 256 + byte;
    }
    if (length <= 55) throw new ProofError("RLP long length used for a short payload");
    start += lengthBytes;
  }
  if (start + length > limit) throw new ProofError("RLP payload ends early");
  return [start, length];
}

function hexOf(value: bigint): string {
  return `0x${value.toString(16)}`;
}

function reasonOf(error: unknown): string {
  if (error instanceof ProofError || error instanceof HexFormatError) return error.message;
  return `malformed proof: ${error instanceof Error ? error.message : String(error)}`;
}
