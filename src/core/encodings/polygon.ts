/**
 * Polygon PoS (bor): Ethereum's encodings, plus one quirk. A block that ends a sprint and carries state syncs from
 * Ethereum lists, after its real transactions, a state-sync transaction (and its receipt, holding the sync's logs)
 * that is in neither the transactions root nor the receipts root. Its hash is not computed from its fields but derived
 * from the block: keccak256("matic-bor-receipt-" ‖ number as 8 bytes ‖ block hash). Such an item is left out of the
 * roots: the rest is checked as usual, and the block is served as not proven (nothing commits to the sync's content).
 */
import { concatBytes, keccak256, stringToBytes } from "viem";
import { equalBytes, readData, readQuantity } from "../hex.ts";
import type { Json } from "./fields.ts";
import type { StackEncoding } from "./stack-encoding.ts";

const PREFIX = stringToBytes("matic-bor-receipt-");

/** The hash bor gives the state-sync transaction of the block with this number and hash. */
export function stateSyncTransactionHash(number: bigint, blockHash: Uint8Array): Uint8Array {
  const height = new Uint8Array(8);
  new DataView(height.buffer).setBigUint64(0, number);
  return keccak256(concatBytes([PREFIX, height, blockHash]), "bytes");
}

/** Whether a transaction (`hash`) or receipt (`transactionHash`) placed in a block is that block's state sync. */
function isStateSync(item: Json): boolean {
  try {
    const hash = readData(item.hash ?? item.transactionHash, "hash", { bytes: 32 });
    const block = readData(item.blockHash, "blockHash", { bytes: 32 });
    return equalBytes(hash, stateSyncTransactionHash(readQuantity(item.blockNumber, "blockNumber"), block));
  } catch {
    return false;
  }
}

export const POLYGON: StackEncoding = {
  ownTypes: new Map(),
  withdrawals: "root",
  uncommitted: isStateSync,
};
