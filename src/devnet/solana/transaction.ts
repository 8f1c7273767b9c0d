/**
 * Solana transactions as the devnet nodes see them: wire bytes decoded once (signature, blockhash, static account
 * keys), signatures checked, the fee a validator would charge, and litesvm's error objects turned into the JSON and
 * the words a real validator uses (`"BlockhashNotFound"`, `{"InstructionError":[0,{"Custom":1}]}`).
 */

import { createPublicKey, verify } from "node:crypto";
import {
  type Address,
  type CompiledTransactionMessage,
  type CompiledTransactionMessageWithLifetime,
  getAddressEncoder,
  getBase58Decoder,
  getBase58Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  type Transaction,
} from "@solana/kit";
import { BaseError } from "../../core/errors.ts";

/** Fee per signature, in lamports (litesvm's and mainnet's). */
export const LAMPORTS_PER_SIGNATURE = 5_000n;
/** Largest serialized transaction a validator takes, in bytes (`PACKET_DATA_SIZE`). */
export const MAX_TRANSACTION_BYTES = 1_232;
/** Compute units one instruction may use when the transaction does not set a limit (used for the priority fee). */
const DEFAULT_INSTRUCTION_COMPUTE_UNITS = 200_000n;
/** Most compute units a transaction may ask for. */
const MAX_TRANSACTION_COMPUTE_UNITS = 1_400_000n;
/** Micro-lamports per lamport: the unit of `SetComputeUnitPrice`. */
const MICRO_LAMPORTS_PER_LAMPORT = 1_000_000n;
const COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111";
/** Instruction tags of the compute-budget program. */
const SET_COMPUTE_UNIT_LIMIT = 2;
const SET_COMPUTE_UNIT_PRICE = 3;
/** DER prefix of an Ed25519 public key in SubjectPublicKeyInfo form; the 32 raw key bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** A legacy or v0 message, decoded. */
export type DecodedMessage = Exclude<CompiledTransactionMessage, { version: 1 }> &
  CompiledTransactionMessageWithLifetime;

/** One transaction from the wire, decoded once. */
export interface WireTransaction {
  /** The first signature (the fee payer's), base58: the transaction's id. */
  signature: string;
  raw: Uint8Array;
  base64: string;
  transaction: Transaction;
  message: DecodedMessage;
  /** The recent blockhash it names (its lifetime token). */
  blockhash: string;
  /** The message's static account keys, fee payer first. */
  accounts: string[];
}

/** A transaction error as a validator serializes it: `"BlockhashNotFound"`, `{"InstructionError":[0,"InsufficientFunds"]}`. */
export type TransactionErrorJson = string | { [variant: string]: unknown };

/** The bytes are not a transaction (or one of a version this devnet does not run). */
export class TransactionDecodeError extends BaseError<"transaction_decode"> {
  override readonly name = "TransactionDecodeError";
  readonly code = "transaction_decode";
}

/** Decodes wire bytes; throws {@link TransactionDecodeError}. */
export function decodeWireTransaction(raw: Uint8Array): WireTransaction {
  let transaction: Transaction;
  let message: CompiledTransactionMessage & CompiledTransactionMessageWithLifetime;
  try {
    transaction = getTransactionDecoder().decode(raw);
    message = getCompiledTransactionMessageDecoder().decode(transaction.messageBytes);
  } catch (error) {
    throw new TransactionDecodeError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  if (message.version === 1) throw new TransactionDecodeError("transaction version 1 is not supported");
  const signatures = Object.values(transaction.signatures);
  const first = signatures[0];
  if (signatures.length === 0 || signatures.length !== message.header.numSignerAccounts) {
    throw new TransactionDecodeError("the signature count does not match the message's signers");
  }
  return {
    // An unsigned slot (all zeros) still names the transaction: base58 of 64 zero bytes.
    signature: getBase58Decoder().decode(first ?? new Uint8Array(64)),
    raw,
    base64: Buffer.from(raw).toString("base64"),
    transaction,
    message,
    blockhash: message.lifetimeToken,
    accounts: [...message.staticAccounts],
  };
}

/** Whether every signer's signature is present and verifies over the message bytes. */
export function verifySignatures(tx: WireTransaction): boolean {
  const encoder = getAddressEncoder();
  for (const [address, signature] of Object.entries(tx.transaction.signatures)) {
    if (!signature) return false;
    const key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, Uint8Array.from(encoder.encode(address as Address))]),
      format: "der",
      type: "spki",
    });
    if (!verify(null, Uint8Array.from(tx.transaction.messageBytes), key, signature)) return false;
  }
  return true;
}

/**
 * The fee a validator charges for a message, in lamports: {@link LAMPORTS_PER_SIGNATURE} per signature plus the
 * priority fee (`SetComputeUnitPrice` × the compute-unit limit). Without `SetComputeUnitLimit` the limit is
 * 200,000 per instruction other than compute-budget ones (validators count builtins lower: a small overestimate).
 */
export function feeOf(message: DecodedMessage): bigint {
  let price = 0n;
  let limit: bigint | undefined;
  let others = 0n;
  for (const ix of message.instructions) {
    const data = ix.data;
    if (message.staticAccounts[ix.programAddressIndex] !== COMPUTE_BUDGET_PROGRAM || !data || data.length === 0) {
      others++;
      continue;
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data[0] === SET_COMPUTE_UNIT_LIMIT && data.length >= 5) limit = BigInt(view.getUint32(1, true));
    if (data[0] === SET_COMPUTE_UNIT_PRICE && data.length >= 9) price = view.getBigUint64(1, true);
  }
  const units = limit ?? others * DEFAULT_INSTRUCTION_COMPUTE_UNITS;
  const capped = units > MAX_TRANSACTION_COMPUTE_UNITS ? MAX_TRANSACTION_COMPUTE_UNITS : units;
  const priority = (price * capped + MICRO_LAMPORTS_PER_LAMPORT - 1n) / MICRO_LAMPORTS_PER_LAMPORT;
  return LAMPORTS_PER_SIGNATURE * BigInt(message.header.numSignerAccounts) + priority;
}

/** `TransactionError` variants without fields, in litesvm's `TransactionErrorFieldless` order, with their words. */
const TRANSACTION_ERRORS: readonly (readonly [string, string])[] = [
  ["AccountInUse", "Account in use"],
  ["AccountLoadedTwice", "Account loaded twice"],
  ["AccountNotFound", "Attempt to debit an account but found no record of a prior credit."],
  ["ProgramAccountNotFound", "Attempt to load a program that does not exist"],
  ["InsufficientFundsForFee", "Insufficient funds for fee"],
  ["InvalidAccountForFee", "This account may not be used to pay transaction fees"],
  ["AlreadyProcessed", "This transaction has already been processed"],
  ["BlockhashNotFound", "Blockhash not found"],
  ["CallChainTooDeep", "Loader call chain is too deep"],
  ["MissingSignatureForFee", "Transaction requires a fee but has no signature present"],
  ["InvalidAccountIndex", "Transaction contains an invalid account reference"],
  ["SignatureFailure", "Transaction did not pass signature verification"],
  ["InvalidProgramForExecution", "This program may not be used for executing instructions"],
  ["SanitizeFailure", "Transaction failed to sanitize accounts offsets correctly"],
  ["ClusterMaintenance", "Transactions are currently disabled due to cluster maintenance"],
  ["AccountBorrowOutstanding", "Transaction processing left an account with an outstanding borrowed reference"],
  ["WouldExceedMaxBlockCostLimit", "Transaction would exceed max Block Cost Limit"],
  ["UnsupportedVersion", "Transaction version is unsupported"],
  ["InvalidWritableAccount", "Transaction loads a writable account that cannot be written"],
  ["WouldExceedMaxAccountCostLimit", "Transaction would exceed max account limit within the block"],
  ["WouldExceedAccountDataBlockLimit", "Transaction would exceed account data limit within the block"],
  ["TooManyAccountLocks", "Transaction locked too many accounts"],
  ["AddressLookupTableNotFound", "Transaction loads an address table account that doesn't exist"],
  ["InvalidAddressLookupTableOwner", "Transaction loads an address table account with an invalid owner"],
  ["InvalidAddressLookupTableData", "Transaction loads an address table account with invalid data"],
  ["InvalidAddressLookupTableIndex", "Transaction address table lookup uses an invalid index"],
  ["InvalidRentPayingAccount", "Transaction leaves an account with a lower balance than rent-exempt minimum"],
  ["WouldExceedMaxVoteCostLimit", "Transaction would exceed max Vote Cost Limit"],
  ["WouldExceedAccountDataTotalLimit", "Transaction would exceed total account data limit"],
  ["MaxLoadedAccountsDataSizeExceeded", "Transaction exceeded max loaded accounts data size cap"],
  ["ResanitizationNeeded", "ResanitizationNeeded"],
  ["InvalidLoadedAccountsDataSizeLimit", "LoadedAccountsDataSizeLimit set for transaction must be greater than 0."],
  ["UnbalancedTransaction", "Sum of account balances before and after transaction do not match"],
  ["ProgramCacheHitMaxLimit", "Program cache hit max limit"],
  ["CommitCancelled", "CommitCancelled"],
];

/** `InstructionError` variants without fields, in litesvm's `InstructionErrorFieldless` order, with their words. */
const INSTRUCTION_ERRORS: readonly (readonly [string, string])[] = [
  ["GenericError", "generic instruction error"],
  ["InvalidArgument", "invalid program argument"],
  ["InvalidInstructionData", "invalid instruction data"],
  ["InvalidAccountData", "invalid account data for instruction"],
  ["AccountDataTooSmall", "account data too small for instruction"],
  ["InsufficientFunds", "insufficient funds for instruction"],
  ["IncorrectProgramId", "incorrect program id for instruction"],
  ["MissingRequiredSignature", "missing required signature for instruction"],
  ["AccountAlreadyInitialized", "instruction requires an uninitialized account"],
  ["UninitializedAccount", "instruction requires an initialized account"],
  ["UnbalancedInstruction", "sum of account balances before and after instruction do not match"],
  ["ModifiedProgramId", "instruction illegally modified the program id of an account"],
  ["ExternalAccountLamportSpend", "instruction spent from the balance of an account it does not own"],
  ["ExternalAccountDataModified", "instruction modified data of an account it does not own"],
  ["ReadonlyLamportChange", "instruction changed the balance of a read-only account"],
  ["ReadonlyDataModified", "instruction modified data of a read-only account"],
  ["DuplicateAccountIndex", "instruction contains duplicate accounts"],
  ["ExecutableModified", "instruction changed executable bit of an account"],
  ["RentEpochModified", "instruction modified rent epoch of an account"],
  ["NotEnoughAccountKeys", "insufficient account keys for instruction"],
  ["AccountDataSizeChanged", "program other than the account's owner changed the size of the account data"],
  ["AccountNotExecutable", "instruction expected an executable account"],
  ["AccountBorrowFailed", "instruction tries to borrow reference for an account which is already borrowed"],
  ["AccountBorrowOutstanding", "instruction left account with an outstanding borrowed reference"],
  ["DuplicateAccountOutOfSync", "instruction modifications of multiply-passed account differ"],
  ["InvalidError", "program returned invalid error code"],
  ["ExecutableDataModified", "instruction changed executable accounts data"],
  ["ExecutableLamportChange", "instruction changed the balance of an executable account"],
  ["ExecutableAccountNotRentExempt", "executable accounts must be rent exempt"],
  ["UnsupportedProgramId", "Unsupported program id"],
  ["CallDepth", "Cross-program invocation call depth too deep"],
  ["MissingAccount", "An account required by the instruction is missing"],
  ["ReentrancyNotAllowed", "Cross-program invocation reentrancy not allowed for this instruction"],
  ["MaxSeedLengthExceeded", "Length of the seed is too long for address generation"],
  ["InvalidSeeds", "Provided seeds do not result in a valid address"],
  ["InvalidRealloc", "Failed to reallocate account data"],
  ["ComputationalBudgetExceeded", "Computational budget exceeded"],
  ["PrivilegeEscalation", "Cross-program invocation with unauthorized signer or writable account"],
  ["ProgramEnvironmentSetupFailure", "Failed to create program execution environment"],
  ["ProgramFailedToComplete", "Program failed to complete"],
  ["ProgramFailedToCompile", "Program failed to compile"],
  ["Immutable", "Account is immutable"],
  ["IncorrectAuthority", "Incorrect authority provided"],
  ["AccountNotRentExempt", "An account does not have enough lamports to be rent-exempt"],
  ["InvalidAccountOwner", "Invalid account owner"],
  ["ArithmeticOverflow", "Program arithmetic overflowed"],
  ["UnsupportedSysvar", "Unsupported sysvar"],
  ["IllegalOwner", "Provided owner is not allowed"],
  ["MaxAccountsDataAllocationsExceeded", "Accounts data allocations exceeded the maximum allowed per transaction"],
  ["MaxAccountsExceeded", "Max accounts exceeded"],
  ["MaxInstructionTraceLengthExceeded", "Max instruction trace length exceeded"],
  ["BuiltinProgramsMustConsumeComputeUnits", "Builtin programs must consume compute units"],
  ["BorshIoError", "Failed to serialize or deserialize account data"],
];

/** The transaction error variant name for one of litesvm's `TransactionErrorFieldless` values. */
export function transactionErrorName(value: number): string {
  return TRANSACTION_ERRORS[value]?.[0] ?? `UnknownTransactionError${value}`;
}

/** litesvm's error object (`FailedTransactionMetadata.err()`) as a validator's JSON. */
export function transactionErrorJson(err: unknown): TransactionErrorJson {
  if (typeof err === "number") return transactionErrorName(err);
  const e = err as { constructor?: { name?: string }; index?: number; accountIndex?: number; err?: () => unknown };
  const kind = e?.constructor?.name ?? "";
  if (typeof e.err === "function") return { InstructionError: [e.index, instructionErrorJson(e.err())] };
  if (kind.endsWith("DuplicateInstruction")) return { DuplicateInstruction: e.index };
  if (kind.endsWith("InsufficientFundsForRent")) return { InsufficientFundsForRent: { account_index: e.accountIndex } };
  if (kind.endsWith("ProgramExecutionTemporarilyRestricted")) {
    return { ProgramExecutionTemporarilyRestricted: { account_index: e.accountIndex } };
  }
  return String(err);
}

function instructionErrorJson(err: unknown): unknown {
  if (typeof err === "number") return INSTRUCTION_ERRORS[err]?.[0] ?? `UnknownInstructionError${err}`;
  const e = err as { code?: number; msg?: string };
  if (typeof e.code === "number") return { Custom: e.code };
  if (typeof e.msg === "string") return { BorshIoError: e.msg };
  return String(err);
}

/** A validator's words for an error (its `Display`): what follows `Transaction simulation failed: `. */
export function transactionErrorMessage(err: TransactionErrorJson): string {
  if (typeof err === "string") return TRANSACTION_ERRORS.find(([name]) => name === err)?.[1] ?? err;
  const [variant, value] = Object.entries(err)[0] ?? ["", undefined];
  if (variant === "InstructionError" && Array.isArray(value)) {
    return `Error processing Instruction ${value[0]}: ${instructionErrorMessage(value[1])}`;
  }
  if (variant === "DuplicateInstruction") {
    return `Transaction contains a duplicate instruction (${value}) that is not allowed`;
  }
  const index = (value as { account_index?: number } | undefined)?.account_index;
  if (variant === "InsufficientFundsForRent") {
    return `Transaction results in an account (${index}) with insufficient funds for rent`;
  }
  if (variant === "ProgramExecutionTemporarilyRestricted") {
    return `Execution of the program referenced by account at index ${index} is temporarily restricted.`;
  }
  return variant;
}

function instructionErrorMessage(err: unknown): string {
  if (typeof err === "string") return INSTRUCTION_ERRORS.find(([name]) => name === err)?.[1] ?? err;
  const e = err as { Custom?: number; BorshIoError?: string };
  if (typeof e.Custom === "number") return `custom program error: 0x${e.Custom.toString(16)}`;
  if (typeof e.BorshIoError === "string") return `Failed to serialize or deserialize account data: ${e.BorshIoError}`;
  return JSON.stringify(err);
}

/** Decodes a base58 string to bytes; undefined when it is not base58. */
export function fromBase58(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(getBase58Encoder().encode(text));
  } catch {
    return undefined;
  }
}
