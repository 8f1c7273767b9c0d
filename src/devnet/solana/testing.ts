/**
 * Deterministic signers and signed transactions for the Solana devnet's tests and the demo: System transfers, and SPL
 * Token mints, token accounts, mintTo and transfers. Keys derive from a label, so every run (and every node's genesis)
 * names the same accounts.
 */

import { createHash } from "node:crypto";
import {
  type Address,
  appendTransactionMessageInstructions,
  createKeyPairSignerFromPrivateKeyBytes,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  type Instruction,
  type KeyPairSigner,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from "@solana/kit";
import { getCreateAccountInstruction, getTransferSolInstruction } from "@solana-program/system";
import {
  getInitializeAccount3Instruction,
  getInitializeMint2Instruction,
  getMintSize,
  getMintToInstruction,
  getTokenSize,
  getTransferInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from "@solana-program/token";
import { firstSignature, transactionBytes } from "../../core/solana/transaction.ts";
import { createSolanaLedger, type SolanaLedger } from "./ledger.ts";
import type { SolanaRpcHandler } from "./rpc.ts";

/** One SOL, in lamports. */
export const LAMPORTS_PER_SOL = 1_000_000_000n;

/** A key pair whose private key is sha256 of `label`: the same address on every run. */
export function devnetSigner(label: string): Promise<KeyPairSigner> {
  const seed = createHash("sha256").update(`multihome-solana-devnet:${label}`).digest();
  return createKeyPairSignerFromPrivateKeyBytes(seed);
}

export interface TransferOptions {
  from: KeyPairSigner;
  to: string;
  /** In lamports. A new account needs at least the rent-exempt minimum. */
  lamports: bigint;
  /** A recent blockhash (`getLatestBlockhash`). */
  blockhash: string;
  /** @default 0 */
  version?: 0 | "legacy";
}

/** A signed System-program transfer, as base64 wire bytes. */
export async function signedTransfer(options: TransferOptions): Promise<string> {
  const { from, to, lamports, blockhash, version = 0 } = options;
  const transfer = getTransferSolInstruction({ source: from, destination: to as Address, amount: lamports });
  return signedTransaction({ feePayer: from, instructions: [transfer], blockhash, version });
}

/** A signed transaction's id: its first signature, base58, read from its base64 wire bytes. */
export function signatureOf(wire: string): string {
  const signature = firstSignature(transactionBytes(wire, { encoding: "base64" }) ?? new Uint8Array());
  if (!signature) throw new TypeError("not a signed transaction");
  return signature;
}

export interface TransactionOptions {
  /** Pays the fee; every other signer an instruction names signs too. */
  feePayer: KeyPairSigner;
  instructions: readonly Instruction[];
  /** A recent blockhash (`getLatestBlockhash`). */
  blockhash: string;
  /** @default 0 */
  version?: 0 | "legacy";
}

/** Any instructions, signed by every signer they name, as base64 wire bytes. */
export async function signedTransaction(options: TransactionOptions): Promise<string> {
  const { feePayer, instructions, blockhash, version = 0 } = options;
  const message = pipe(
    createTransactionMessage({ version }),
    (m) => setTransactionMessageFeePayerSigner(feePayer, m),
    (m) =>
      setTransactionMessageLifetimeUsingBlockhash(
        {
          blockhash: blockhash as Parameters<typeof setTransactionMessageLifetimeUsingBlockhash>[0]["blockhash"],
          lastValidBlockHeight: 0n,
        },
        m,
      ),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  return getBase64EncodedWireTransaction(await signTransactionMessageWithSigners(message));
}

/** What a `space`-byte account needs to be rent exempt under the default rent (litesvm's and mainnet's), in lamports. */
export const rentExemptLamports = (space: number): bigint => BigInt(128 + space) * 6_960n;

/** A token account to create (and fund) for a mint. */
export interface TokenHolder {
  /** The new token account's key pair. */
  account: KeyPairSigner;
  /** Who owns the tokens (signs their transfers). */
  owner: string;
  /** Base units minted to it. @default 0n */
  amount?: bigint;
}

export interface TokenMintOptions {
  /** Pays the fee and the rent, and is the mint authority. */
  payer: KeyPairSigner;
  /** The new mint's key pair. */
  mint: KeyPairSigner;
  decimals: number;
  /** Token accounts to create for the mint, each minted its `amount`. @default [] */
  holders?: readonly TokenHolder[];
  /** A recent blockhash (`getLatestBlockhash`). */
  blockhash: string;
}

/**
 * One signed Token-program transaction that creates a mint (System createAccount + initializeMint2, `payer` the mint
 * authority, no freeze authority), then each holder's token account (createAccount + initializeAccount3) and mints
 * its amount to it (mintTo); base64 wire bytes. Every account is rent exempt.
 */
export async function signedMintSetup(options: TokenMintOptions): Promise<string> {
  const { payer, mint, decimals, holders = [], blockhash } = options;
  const instructions: Instruction[] = [
    ...createAccount(payer, mint, getMintSize()),
    getInitializeMint2Instruction({ mint: mint.address, decimals, mintAuthority: payer.address }),
  ];
  for (const { account, owner, amount = 0n } of holders) {
    instructions.push(...createTokenAccount(payer, account, mint.address, owner));
    if (amount > 0n) {
      instructions.push(
        getMintToInstruction({ mint: mint.address, token: account.address, mintAuthority: payer, amount }),
      );
    }
  }
  return signedTransaction({ feePayer: payer, instructions, blockhash });
}

export interface TokenAccountOptions {
  /** Pays the fee and the rent. */
  payer: KeyPairSigner;
  /** The new token account's key pair. */
  account: KeyPairSigner;
  mint: string;
  owner: string;
  /** A recent blockhash (`getLatestBlockhash`). */
  blockhash: string;
}

/** A signed transaction creating one empty token account for an existing mint; base64 wire bytes. */
export async function signedTokenAccount(options: TokenAccountOptions): Promise<string> {
  const { payer, account, mint, owner, blockhash } = options;
  return signedTransaction({
    feePayer: payer,
    instructions: createTokenAccount(payer, account, mint, owner),
    blockhash,
  });
}

export interface TokenTransferOptions {
  /** The source account's owner: signs and, unless `payer` is given, pays the fee. */
  owner: KeyPairSigner;
  /** Token accounts of one mint. */
  source: string;
  destination: string;
  /** In base units. */
  amount: bigint;
  /** A recent blockhash (`getLatestBlockhash`). */
  blockhash: string;
  payer?: KeyPairSigner;
}

/** A signed Token-program transfer between two token accounts of one mint; base64 wire bytes. */
export async function signedTokenTransfer(options: TokenTransferOptions): Promise<string> {
  const { owner, source, destination, amount, blockhash, payer = owner } = options;
  const transfer = getTransferInstruction({
    source: source as Address,
    destination: destination as Address,
    authority: owner,
    amount,
  });
  return signedTransaction({ feePayer: payer, instructions: [transfer], blockhash });
}

function createAccount(payer: KeyPairSigner, account: KeyPairSigner, space: number): Instruction[] {
  const lamports = rentExemptLamports(space);
  return [
    getCreateAccountInstruction({ payer, newAccount: account, lamports, space, programAddress: TOKEN_PROGRAM_ADDRESS }),
  ];
}

function createTokenAccount(payer: KeyPairSigner, account: KeyPairSigner, mint: string, owner: string): Instruction[] {
  return [
    ...createAccount(payer, account, getTokenSize()),
    getInitializeAccount3Instruction({ account: account.address, mint: mint as Address, owner: owner as Address }),
  ];
}

// biome-ignore lint/suspicious/noExplicitAny: a handler test reaches freely into nested answer JSON.
type Json = any;

/** A node handler's answer to one call, parsed. */
export interface HandlerAnswer {
  jsonrpc: "2.0";
  id: unknown;
  result?: Json;
  error?: { code: number; message: string; data?: Json };
}

/**
 * Calls straight into a node's JSON-RPC handler (`handler()`: the one in use now, a test may make a new one per
 * case): `call` gives the whole answer, `result` the result of one that must not fail.
 */
export function handlerCalls(handler: () => SolanaRpcHandler) {
  function call(method: string, params?: unknown[]): HandlerAnswer {
    const text = handler()(JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params ? { params } : {}) }));
    if (text === undefined) throw new Error(`${method}: the handler gave no answer`);
    return JSON.parse(text) as HandlerAnswer;
  }
  function result(method: string, params?: unknown[]): Json {
    const answer = call(method, params);
    if (answer.error !== undefined) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
    return answer.result;
  }
  return { call, result };
}

/** The cast of the token tests: alice (100 SOL) and bob (10 SOL), a mint, and a token account for each. */
export interface TokenCast {
  alice: KeyPairSigner;
  bob: KeyPairSigner;
  mint: KeyPairSigner;
  aliceTokens: KeyPairSigner;
  bobTokens: KeyPairSigner;
}

/** The cast, with a mint of its own per test file (`mintLabel`). */
export async function tokenCast(mintLabel: string): Promise<TokenCast> {
  const [alice, bob, mint, aliceTokens, bobTokens] = await Promise.all(
    ["alice", "bob", mintLabel, "alice-tokens", "bob-tokens"].map(devnetSigner),
  );
  return { alice: alice!, bob: bob!, mint: mint!, aliceTokens: aliceTokens!, bobTokens: bobTokens! };
}

/** A fresh ledger where alice holds 100 SOL and bob 10, finalized 3 slots behind. */
export function castLedger(name: string, cast: TokenCast): SolanaLedger {
  return createSolanaLedger({
    name,
    accounts: [
      { address: cast.alice.address, lamports: 100n * LAMPORTS_PER_SOL },
      { address: cast.bob.address, lamports: 10n * LAMPORTS_PER_SOL },
    ],
    finalizedDepth: 3,
  });
}
