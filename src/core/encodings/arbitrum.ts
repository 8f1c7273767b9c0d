/**
 * Arbitrum Nitro's own transaction types (Arbitrum One, Nova and Orbit chains). None is signed: every one is
 * `type || rlp(fields)`, and its hash is keccak256 of that, so each field below is bound by the transaction's hash;
 * `from` is one of them (except for the internal transaction, whose sender is ArbOS). Receipts of these types are
 * Ethereum's typed receipts (`type || rlp([status, cumulativeGasUsed, logsBloom, logs])`, nothing more in the trie).
 *
 * Field order and the JSON names nodes state them under are those of OffchainLabs/go-ethereum (core/types/arb_types.go,
 * internal/ethapi `newRPCTransaction`), checked against the encodings it produces for all six types and against
 * Arbitrum One's internal transactions (encodings/arbitrum.test.ts).
 *
 * Not encoded: the Classic (pre-Nitro) legacy type 0x78, whose hash is stored, not computed: such a block is
 * unverifiable.
 */
import { EMPTY, type FieldReaders, type Json, type RlpValue } from "./fields.ts";
import type { OwnType, StackEncoding } from "./stack-encoding.ts";
import { checkStated, type StatedRules } from "./stated.ts";

/** The address ArbOS acts from: the sender and recipient of every internal transaction. */
export const ARBOS_ADDRESS = "0x00000000000000000000000000000000000a4b05";
/** The ArbRetryableTx precompile, which nodes state as the `to` of every retryable submission. */
export const ARB_RETRYABLE_TX_ADDRESS = "0x000000000000000000000000000000000000006e";

const to = (read: FieldReaders, name: string): Uint8Array => (read.has(name) ? read.address(name) : EMPTY);

/** Signature fields nodes state on every Arbitrum type: there is no signature. */
const UNSIGNED = { v: "0x0", r: "0x0", s: "0x0" } as const;

/**
 * Rules for what nodes state outside each encoding, read from the node's source, not yet confirmed against every
 * provider's software: a mismatch makes the block unverifiable (served, not as proven), never a dispute.
 */
function arbitrumType(
  transaction: (read: FieldReaders) => RlpValue[],
  rules: Omit<StatedRules, "mismatch">,
  sender: (json: Json) => string | undefined = (json) => (typeof json.from === "string" ? json.from : undefined),
): OwnType {
  return {
    transaction,
    receiptExtra: () => [],
    sender,
    stated: (json) => checkStated(json, { ...rules, mismatch: "unverifiable" }),
    nonceFromState: false,
  };
}

const DEPOSIT = arbitrumType(
  (r) => [r.quantity("chainId"), r.data("requestId", 32), r.address("from"), r.address("to"), r.quantity("value")],
  { fixed: { ...UNSIGNED, gas: "0x0", gasPrice: "0x0", nonce: "0x0", input: "0x" } },
);

/** An L1 contract's call, unsigned on L2: its fee cap is what nodes state as `gasPrice`. */
const UNSIGNED_TX = arbitrumType(
  (r) => [
    r.quantity("chainId"),
    r.address("from"),
    r.quantity("nonce"),
    r.quantity("gasPrice"),
    r.quantity("gas"),
    to(r, "to"),
    r.quantity("value"),
    r.input(),
  ],
  { fixed: UNSIGNED },
);

const CONTRACT_TX = arbitrumType(
  (r) => [
    r.quantity("chainId"),
    r.data("requestId", 32),
    r.address("from"),
    r.quantity("maxFeePerGas"),
    r.quantity("gas"),
    to(r, "to"),
    r.quantity("value"),
    r.input(),
  ],
  { fixed: { ...UNSIGNED, nonce: "0x0" }, sameAs: { gasPrice: "maxFeePerGas" } },
);

const RETRY_TX = arbitrumType(
  (r) => [
    r.quantity("chainId"),
    r.quantity("nonce"),
    r.address("from"),
    r.quantity("maxFeePerGas"),
    r.quantity("gas"),
    to(r, "to"),
    r.quantity("value"),
    r.input(),
    r.data("ticketId", 32),
    r.address("refundTo"),
    r.quantity("maxRefund"),
    r.quantity("submissionFeeRefund"),
  ],
  { fixed: UNSIGNED, sameAs: { gasPrice: "maxFeePerGas" } },
);

/** A retryable's submission: `retryTo` left out means the retry creates a contract. */
const SUBMIT_RETRYABLE_TX = arbitrumType(
  (r) => [
    r.quantity("chainId"),
    r.data("requestId", 32),
    r.address("from"),
    r.quantity("l1BaseFee"),
    r.quantity("depositValue"),
    r.quantity("maxFeePerGas"),
    r.quantity("gas"),
    to(r, "retryTo"),
    r.quantity("retryValue"),
    r.address("beneficiary"),
    r.quantity("maxSubmissionFee"),
    r.address("refundTo"),
    r.data("retryData"),
  ],
  {
    fixed: { ...UNSIGNED, nonce: "0x0", value: "0x0", to: ARB_RETRYABLE_TX_ADDRESS },
    sameAs: { gasPrice: "maxFeePerGas" },
    // Nodes state an `input` made from the other fields (a call of the precompile); it is not rebuilt here.
    unchecked: ["input"],
  },
);

/** ArbOS's own bookkeeping (the first transaction of every block starts it): its sender is ArbOS. */
const INTERNAL_TX = arbitrumType(
  (r) => [r.quantity("chainId"), r.input()],
  {
    fixed: {
      ...UNSIGNED,
      from: ARBOS_ADDRESS,
      to: ARBOS_ADDRESS,
      gas: "0x0",
      gasPrice: "0x0",
      nonce: "0x0",
      value: "0x0",
    },
  },
  () => ARBOS_ADDRESS,
);

export const ARBITRUM: StackEncoding = {
  ownTypes: new Map([
    [0x64, DEPOSIT],
    [0x65, UNSIGNED_TX],
    [0x66, CONTRACT_TX],
    [0x68, RETRY_TX],
    [0x69, SUBMIT_RETRYABLE_TX],
    [0x6a, INTERNAL_TX],
  ]),
  withdrawals: "root",
};
