/**
 * The fields of a receipt that no root covers (`from`, `to`, `contractAddress`, `effectiveGasPrice`, an OP-stack
 * deposit's `depositNonce` before Canyon) are facts about its transaction and block: they are checked here against the
 * transaction of the same position in the verified block body, and against the block's base fee. `blobGasPrice` is not checked (its formula changes with the chain's blob
 * schedule).
 *
 * Only what the body's root binds may be held against a receipt. An OP-stack deposit's encoding has no nonce and no
 * gas price, so the `nonce` and `gasPrice` a body states for one are its supplier's word: a deposit pays no gas price
 * (its effective price is 0), and the nonce a deposit creation deploys with is the one its receipt records
 * (`depositNonce`, the sender's nonce before the deposit, since Regolith; committed by the receipts root since Canyon).
 * Before Regolith a receipt records none, and the address of a deposit creation is checked against nothing.
 */
import type { ChainStack } from "../chain-presets.ts";
import { isDepositType } from "../encodings/op-stack.ts";
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
export function receiptFieldsMismatch(
  receipt: Json,
  tx: Json,
  baseFee: bigint | undefined,
  stack: ChainStack = "ethereum",
): string | undefined {
  if (!sameAddress(receipt.from, tx.from)) return "receipt sender is not the transaction's";
  const deposit = stack === "op-stack" && isDepositType(tx.type);
  const creates = isNullish(tx.to);
  if (creates) {
    if (!isNullish(receipt.to)) return "receipt of a contract creation has a recipient";
    if (typeof tx.from !== "string") return "transaction sender is malformed";
    if (deposit) {
      // Checked apart (depositCreationMismatch): node software differs on the nonce a deposit records.
      if (!isNullish(receipt.depositNonce) && quantity(receipt.depositNonce) === undefined)
        return "receipt depositNonce is malformed";
    } else {
      const nonce = quantity(tx.nonce);
      if (nonce === undefined) return "transaction nonce is malformed";
      if (
        !isNullish(receipt.contractAddress) &&
        !sameAddress(receipt.contractAddress, createdAddress(tx.from as `0x${string}`, nonce))
      )
        return "receipt contract address is not the one the creation deploys to";
    }
  } else {
    if (!sameAddress(receipt.to, tx.to)) return "receipt recipient is not the transaction's";
    if (!isNullish(receipt.contractAddress)) return "receipt of a call names a created contract";
  }
  // Before Canyon a deposit's receipt states the nonce it ran with outside the receipts root: it must be the
  // transaction's. Since Canyon the root commits to it (with the receipt's version), and the transaction's nonce is
  // what is checked (against state: engine/verification/stack-fields.ts).
  if (
    !isNullish(receipt.depositNonce) &&
    isNullish(receipt.depositReceiptVersion) &&
    quantity(receipt.depositNonce) !== quantity(tx.nonce)
  )
    return "receipt deposit nonce is not the transaction's";
  if (receipt.effectiveGasPrice !== undefined) {
    const expected = deposit ? 0n : effectiveGasPrice(tx, baseFee);
    if (expected !== undefined && quantity(receipt.effectiveGasPrice) !== expected)
      return "receipt effective gas price is not what the transaction paid in this block";
  }
  return undefined;
}

/**
 * Why the contract a deposit creation's receipt names is not the one its own `depositNonce` (the nonce it ran with,
 * since Regolith; committed by the receipts root since Canyon) deploys to, or undefined. Not proof of a lie: anvil 1.7
 * records the nonce after the deposit. Such a receipt is served, not as proven. Before Regolith nothing records the
 * nonce, and nothing is checked.
 */
export function depositCreationMismatch(receipt: Json, tx: Json, stack: ChainStack): string | undefined {
  if (stack !== "op-stack" || !isDepositType(tx.type) || !isNullish(tx.to) || isNullish(receipt.contractAddress))
    return undefined;
  const nonce = quantity(receipt.depositNonce);
  if (nonce === undefined || typeof tx.from !== "string") return undefined;
  return sameAddress(receipt.contractAddress, createdAddress(tx.from as `0x${string}`, nonce))
    ? undefined
    : "receipt contract address is not the one the deposit's depositNonce deploys to";
}
