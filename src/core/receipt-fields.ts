/**
 * The fields of a receipt that no root covers (`from`, `to`, `contractAddress`, `effectiveGasPrice`, an OP-stack
 * deposit's `depositNonce` before Canyon) are facts about its transaction and block: they are checked here against the
 * transaction of the same position in the verified block body, and against the block's base fee. `blobGasPrice` is not checked (its formula changes with the chain's blob
 * schedule).
 */
import { createdAddress, sameAddress } from "./sender.ts";

type Json = Record<string, unknown>;

function quantity(value: unknown): bigint | undefined {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{1,64}$/.test(value)) return undefined;
  return BigInt(value);
}

const isNullish = (v: unknown) => v === null || v === undefined;

/** What a transaction of this type pays per gas, in a block with this base fee; undefined when it cannot be said. */
export function effectiveGasPrice(tx: Json, baseFee: bigint | undefined): bigint | undefined {
  const gasPrice = quantity(tx.gasPrice);
  const maxFee = quantity(tx.maxFeePerGas);
  const maxPriority = quantity(tx.maxPriorityFeePerGas);
  if (maxFee === undefined || maxPriority === undefined) return gasPrice;
  if (baseFee === undefined) return undefined;
  const tipped = baseFee + maxPriority;
  if (tipped < maxFee) return tipped;
  return maxFee;
}

/**
 * Why `receipt` cannot be the receipt of `tx` in a block with `baseFee`, or undefined when the fields agree. `tx.from`
 * is taken as stated: the caller binds it to the signature separately.
 */
export function receiptFieldsMismatch(receipt: Json, tx: Json, baseFee: bigint | undefined): string | undefined {
  if (!sameAddress(receipt.from, tx.from)) return "receipt sender is not the transaction's";
  const creates = isNullish(tx.to);
  if (creates) {
    if (!isNullish(receipt.to)) return "receipt of a contract creation has a recipient";
    const nonce = quantity(tx.nonce);
    if (typeof tx.from !== "string" || nonce === undefined) return "transaction sender or nonce is malformed";
    if (
      !isNullish(receipt.contractAddress) &&
      !sameAddress(receipt.contractAddress, createdAddress(tx.from as `0x${string}`, nonce))
    )
      return "receipt contract address is not the one the creation deploys to";
  } else {
    if (!sameAddress(receipt.to, tx.to)) return "receipt recipient is not the transaction's";
    if (!isNullish(receipt.contractAddress)) return "receipt of a call names a created contract";
  }
  // Before Canyon a deposit's receipt states the nonce it ran with outside the receipts root: it must be the
  // transaction's. Since Canyon the root commits to it (with the receipt's version), and the transaction's nonce is
  // what is checked (against state: engine/unsigned-fields.ts).
  if (
    !isNullish(receipt.depositNonce) &&
    isNullish(receipt.depositReceiptVersion) &&
    quantity(receipt.depositNonce) !== quantity(tx.nonce)
  )
    return "receipt deposit nonce is not the transaction's";
  if (receipt.effectiveGasPrice !== undefined) {
    const expected = effectiveGasPrice(tx, baseFee);
    if (expected !== undefined && quantity(receipt.effectiveGasPrice) !== expected)
      return "receipt effective gas price is not what the transaction paid in this block";
  }
  return undefined;
}
