/**
 * The OP stack's own consensus encodings (Optimism, Base and the other OP-stack chains): the deposit transaction
 * (type 0x7e), which every block starts with and which carries L1 deposits, and its receipt. A deposit has no
 * signature: its `from` is committed by its encoding, and so by its hash, like every other field.
 *
 * - Transaction: `0x7e || rlp([sourceHash, from, to, mint, value, gas, isSystemTx, input])`.
 * - Receipt in the receipts trie: `0x7e || rlp([status, cumulativeGasUsed, logsBloom, logs])`, and since Canyon, when
 *   the receipt states a `depositReceiptVersion`, `depositNonce` and `depositReceiptVersion` appended. Before Canyon a
 *   receipt may state `depositNonce` (Regolith) but the trie does not commit to it.
 *
 * Sources: the OP specification ("Deposits"), op-geth's receipt encoding, checked against deposit transactions of
 * OP mainnet (see op-stack.test.ts).
 */

import { EMPTY, type FieldReaders } from "./fields.ts";
import type { StackEncoding } from "./stack-encoding.ts";
import { checkStated } from "./stated.ts";

/** EIP-2718 type of an OP-stack deposit transaction. */
export const DEPOSIT_TX_TYPE = 0x7e;

/** The L2ToL1MessagePasser predeploy: since Isthmus a header's `withdrawalsRoot` is its storage root. */
export const L2_TO_L1_MESSAGE_PASSER = "0x4200000000000000000000000000000000000016";

/** Whether a JSON-RPC `type` field (a hex quantity, any case) names a deposit. */
export function isDepositType(type: unknown): boolean {
  return typeof type === "string" && /^0x0*7e$/i.test(type);
}

/** The RLP fields of a deposit transaction; the caller prefixes the type byte. */
export function depositTransactionFields(read: FieldReaders): Uint8Array[] {
  return [
    read.data("sourceHash", 32),
    read.address("from"),
    read.to(),
    read.has("mint") ? read.quantity("mint") : EMPTY,
    read.quantity("value"),
    read.quantity("gas"),
    read.flag("isSystemTx") ? Uint8Array.of(1) : EMPTY,
    read.input(),
  ];
}

/** What a deposit receipt adds to the trie after its logs: nothing before Canyon, its nonce and version since. */
export function depositReceiptExtra(read: FieldReaders): Uint8Array[] {
  if (!read.has("depositReceiptVersion")) return [];
  return [read.quantity("depositNonce"), read.quantity("depositReceiptVersion")];
}

/**
 * The OP stack: Ethereum's types plus the deposit. It has no withdrawals: a block's list is always empty, and since
 * Isthmus the header's `withdrawalsRoot` is the storage root of the L2ToL1MessagePasser contract — a fact about state
 * that the header hash binds, not a root of that list.
 *
 * Beside a deposit, nodes state `gasPrice`, `v`, `r` and `s` as zero (op-geth, op-reth and anvil alike: anything else
 * is a lie), and its `nonce`: the sender's nonce when it ran (checked against state).
 */
export const OP_STACK: StackEncoding = {
  ownTypes: new Map([
    [
      DEPOSIT_TX_TYPE,
      {
        transaction: depositTransactionFields,
        receiptExtra: depositReceiptExtra,
        sender: (json) => (typeof json.from === "string" ? json.from : undefined),
        stated: (json) =>
          checkStated(json, { fixed: { gasPrice: "0x0", v: "0x0", r: "0x0", s: "0x0" }, mismatch: false }),
        nonceFromState: true,
      },
    ],
  ]),
  withdrawals: "empty",
  withdrawalsRootAccount: L2_TO_L1_MESSAGE_PASSER,
};
