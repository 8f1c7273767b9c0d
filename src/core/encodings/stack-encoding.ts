import type { FieldReaders, Json, RlpValue } from "./fields.ts";
import type { StatedCheck } from "./stated.ts";

/** A transaction type of a stack's own (beyond Ethereum's 0–4). Every such type so far is unsigned. */
export interface OwnType {
  /** The RLP list its type byte prefixes. */
  transaction(read: FieldReaders): RlpValue[];
  /** What its receipt commits to after `[status, cumulativeGasUsed, logsBloom, logs]`. */
  receiptExtra(read: FieldReaders): RlpValue[];
  /**
   * Its sender, which the encoding binds (so the transaction's hash does): its stated `from` where `from` is an
   * encoded field, or the address the type fixes.
   */
  sender(json: Json): string | undefined;
  /** The fields nodes state beside it that its encoding does not hold. */
  stated(json: Json): StatedCheck;
  /** Its stated `nonce` is its sender's account nonce when it ran, to be checked against state. */
  nonceFromState: boolean;
}

/** What a chain stack encodes differently from Ethereum. */
export interface StackEncoding {
  ownTypes: ReadonlyMap<number, OwnType>;
  /**
   * `root`: a block's `withdrawals` make up its header's `withdrawalsRoot` (Ethereum). `empty`: the stack has no
   * withdrawals; the list must be empty and the header field means something else.
   */
  withdrawals: "root" | "empty";
  /**
   * Where a header's `withdrawalsRoot`, when not the empty list's root, is the storage root of this account at that
   * block (the OP stack since Isthmus: the L2ToL1MessagePasser).
   */
  withdrawalsRootAccount?: `0x${string}`;
  /**
   * A transaction (or its receipt) node software lists in a block although no root commits to it (Polygon's state
   * sync): left out of the roots, and the block is not proven.
   */
  uncommitted?: (item: Json) => boolean;
}
