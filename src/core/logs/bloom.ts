/**
 * A block's logs bloom (the yellow paper's M3:2048: for each log, its address and each of its topics set three bits,
 * the low 11 bits of the first three byte pairs of their keccak256). A bloom has no false negatives: when it lacks the
 * filter's address or every alternative of one topic position, the block holds no matching log — proven by the header
 * hash that binds the bloom.
 */
import { hexToBytes, keccak256 } from "viem";
import type { LogFilter } from "./filter.ts";

const BLOOM_HEX = /^0x[0-9a-fA-F]{512}$/;

/** Whether the 256-byte `bloom` has all three bits of `value` (an address or a topic, hex) set. */
export function inBloom(bloom: Uint8Array, value: string): boolean {
  const h = hexToBytes(keccak256(value as `0x${string}`));
  for (let i = 0; i < 6; i += 2) {
    const bit = ((h[i]! << 8) | h[i + 1]!) & 2047;
    if ((bloom[255 - (bit >> 3)]! & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/** False only when a block's logs bloom proves that none of its logs can match (a bloom has no false negatives). */
export function bloomMayMatch(logsBloom: unknown, filter: LogFilter): boolean {
  if (typeof logsBloom !== "string" || !BLOOM_HEX.test(logsBloom)) return true;
  const bloom = hexToBytes(logsBloom as `0x${string}`);
  if (bloom.every((b) => b === 0)) return false;
  if (filter.addresses.length > 0 && !filter.addresses.some((a) => inBloom(bloom, a))) return false;
  return filter.topics.every((alternatives) => alternatives === null || alternatives.some((t) => inBloom(bloom, t)));
}
