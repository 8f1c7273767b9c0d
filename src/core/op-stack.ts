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
/** EIP-2718 type of an OP-stack deposit transaction. */
export const DEPOSIT_TX_TYPE = 0x7e;

/** Whether a JSON-RPC `type` field (a hex quantity, any case) names a deposit. */
export function isDepositType(type: unknown): boolean {
  return typeof type === "string" && /^0x0*7e$/i.test(type);
}

/** Field readers of the encoding module, so both stacks read JSON the same way. */
export interface FieldReaders {
  quantity(name: string): Uint8Array;
  data(name: string, bytes?: number): Uint8Array;
  /** `to`, empty for a contract creation. */
  to(): Uint8Array;
  input(): Uint8Array;
  /** Whether the field is stated at all (not undefined or null). */
  has(name: string): boolean;
  flag(name: string): boolean;
}

/** The RLP fields of a deposit transaction; the caller prefixes the type byte. */
export function depositTransactionFields(read: FieldReaders): Uint8Array[] {
  return [
    read.data("sourceHash", 32),
    read.data("from", 20),
    read.to(),
    read.has("mint") ? read.quantity("mint") : new Uint8Array(0),
    read.quantity("value"),
    read.quantity("gas"),
    read.flag("isSystemTx") ? Uint8Array.of(1) : new Uint8Array(0),
    read.input(),
  ];
}

/** What a deposit receipt adds to the trie after its logs: nothing before Canyon, its nonce and version since. */
export function depositReceiptExtra(read: FieldReaders): Uint8Array[] {
  if (!read.has("depositReceiptVersion")) return [];
  return [read.quantity("depositNonce"), read.quantity("depositReceiptVersion")];
}
