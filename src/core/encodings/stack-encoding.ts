import type { FieldReaders, RlpValue } from "./fields.ts";

/** A transaction type of a stack's own (beyond Ethereum's 0–4). */
export interface OwnType {
  /** The RLP list its type byte prefixes. */
  transaction(read: FieldReaders): RlpValue[];
  /** What its receipt commits to after `[status, cumulativeGasUsed, logsBloom, logs]`. */
  receiptExtra(read: FieldReaders): RlpValue[];
  /** Not signed: its `from` is a field of its encoding, so the hash that binds the transaction binds its sender. */
  unsigned: boolean;
}

/** What a chain stack encodes differently from Ethereum. */
export interface StackEncoding {
  ownTypes: ReadonlyMap<number, OwnType>;
  /**
   * `root`: a block's `withdrawals` make up its header's `withdrawalsRoot` (Ethereum). `empty`: the stack has no
   * withdrawals; the list must be empty and the header field means something else.
   */
  withdrawals: "root" | "empty";
}
