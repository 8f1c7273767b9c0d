/**
 * The ordered trie a header commits to its transactions, receipts and withdrawals with: a Merkle-Patricia trie keyed by
 * RLP(index), built here in one pass from the items' encodings.
 */
import { bytesToHex, concatBytes, keccak256, toRlp } from "viem";
import { type Hex, quantityBytes } from "../hex.ts";
import { EMPTY_TRIE_ROOT, toNibbles } from "../verification/proof.ts";
import { EMPTY, type RlpValue, RootFormatError } from "./fields.ts";

interface TrieEntry {
  path: Uint8Array;
  value: Uint8Array;
}

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
