/**
 * SPL Token state as the RPC reads it: the token account (165 bytes), mint (82 bytes) and multisig (355 bytes) layouts
 * of the Token program, which Token-2022 shares (its accounts may carry extensions after byte 165), decoded the way a
 * validator's account decoder does (`StateWithExtensions::unpack`), and the `jsonParsed` form it answers with.
 */

import { getBase58Decoder } from "@solana/kit";
import type { AccountState, SolanaLedger } from "./ledger.ts";

export const TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
export const TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
/** Wrapped SOL: validators know its decimals without reading it. */
export const NATIVE_MINT = "So11111111111111111111111111111111111111112";
export const NATIVE_MINT_DECIMALS = 9;
export const TOKEN_ACCOUNT_SIZE = 165;
export const MINT_SIZE = 82;
export const MULTISIG_SIZE = 355;
/** Where a token account keeps its mint and its owner. */
export const TOKEN_ACCOUNT_MINT_OFFSET = 0;
export const TOKEN_ACCOUNT_OWNER_OFFSET = 32;
const ACCOUNT_TYPE_MINT = 1;
const ACCOUNT_TYPE_ACCOUNT = 2;

/** Whether accounts owned by `program` are token accounts and mints (`is_known_spl_token_id`). */
export const isTokenProgram = (program: string): boolean => program === TOKEN_PROGRAM || program === TOKEN_2022_PROGRAM;

export interface TokenAccountData {
  mint: string;
  owner: string;
  amount: bigint;
  delegate: string | null;
  state: "initialized" | "frozen";
  /** For wrapped SOL: the rent-exempt reserve, in lamports; null otherwise. */
  nativeReserve: bigint | null;
  delegatedAmount: bigint;
  closeAuthority: string | null;
  /** Token-2022 extensions follow the base state. */
  extended: boolean;
}

export interface MintData {
  mintAuthority: string | null;
  supply: bigint;
  decimals: number;
  freezeAuthority: string | null;
  extended: boolean;
}

/** `{ amount, decimals, uiAmount, uiAmountString }` as validators compute it (no interest-bearing or scaled mints). */
export interface UiTokenAmount {
  amount: string;
  decimals: number;
  uiAmount: number | null;
  uiAmountString: string;
}

const key = (data: Uint8Array, at: number): string => getBase58Decoder().decode(data.subarray(at, at + 32));
const bytes = (data: Uint8Array): Buffer => Buffer.from(data.buffer, data.byteOffset, data.byteLength);
const u64 = (data: Uint8Array, at: number): bigint => bytes(data).readBigUInt64LE(at);
const u32 = (data: Uint8Array, at: number): number => bytes(data).readUInt32LE(at);

/** A `COption<Pubkey>` (u32 tag then the key); undefined when the tag is neither 0 nor 1. */
function optionalKey(data: Uint8Array, at: number): string | null | undefined {
  const tag = u32(data, at);
  return tag === 0 ? null : tag === 1 ? key(data, at + 4) : undefined;
}

/** Whether `data` is a token account or mint with extensions: longer than the base, not a multisig, tagged `type`. */
function extendedAs(data: Uint8Array, base: number, type: number): boolean | undefined {
  if (data.length === base) return false;
  if (data.length <= TOKEN_ACCOUNT_SIZE || data.length === MULTISIG_SIZE) return undefined;
  // A mint is padded with zeros up to the account size, so that the account type sits at the same offset in both.
  for (let i = base; i < TOKEN_ACCOUNT_SIZE; i++) if (data[i] !== 0) return undefined;
  return data[TOKEN_ACCOUNT_SIZE] === type ? true : undefined;
}

/** An initialized token account, or undefined (validators: "not a Token account"). */
export function decodeTokenAccount(data: Uint8Array): TokenAccountData | undefined {
  if (data.length < TOKEN_ACCOUNT_SIZE) return undefined;
  const extended = extendedAs(data, TOKEN_ACCOUNT_SIZE, ACCOUNT_TYPE_ACCOUNT);
  const state = data[108];
  const delegate = optionalKey(data, 72);
  const closeAuthority = optionalKey(data, 129);
  const nativeTag = u32(data, 109);
  if (extended === undefined || (state !== 1 && state !== 2) || delegate === undefined) return undefined;
  if (closeAuthority === undefined || nativeTag > 1) return undefined;
  return {
    mint: key(data, 0),
    owner: key(data, 32),
    amount: u64(data, 64),
    delegate,
    state: state === 1 ? "initialized" : "frozen",
    nativeReserve: nativeTag === 1 ? u64(data, 113) : null,
    delegatedAmount: u64(data, 121),
    closeAuthority,
    extended,
  };
}

/** An initialized mint, or undefined (validators: "mint could not be unpacked"). */
export function decodeMint(data: Uint8Array): MintData | undefined {
  if (data.length < MINT_SIZE) return undefined;
  const extended = extendedAs(data, MINT_SIZE, ACCOUNT_TYPE_MINT);
  const mintAuthority = optionalKey(data, 0);
  const freezeAuthority = optionalKey(data, 46);
  if (extended === undefined || data[45] !== 1 || mintAuthority === undefined || freezeAuthority === undefined) {
    return undefined;
  }
  return { mintAuthority, supply: u64(data, 36), decimals: data[44] as number, freezeAuthority, extended };
}

/** The `tokenAccountState` filter: a token account's size and type with a state other than uninitialized. */
export function isTokenAccountData(data: Uint8Array): boolean {
  if (data.length < TOKEN_ACCOUNT_SIZE || data[108] === 0) return false;
  return (
    data.length === TOKEN_ACCOUNT_SIZE ||
    (data.length !== MULTISIG_SIZE && data[TOKEN_ACCOUNT_SIZE] === ACCOUNT_TYPE_ACCOUNT)
  );
}

/** `uiAmountString` is the amount with its decimal point, trailing zeros trimmed; `uiAmount` null past 19 decimals. */
export function uiTokenAmount(amount: bigint, decimals: number): UiTokenAmount {
  let text = amount.toString();
  if (decimals > 0) {
    text = text.padStart(decimals + 1, "0");
    text = `${text.slice(0, -decimals)}.${text.slice(-decimals)}`.replace(/0+$/, "").replace(/\.$/, "");
  }
  return {
    amount: amount.toString(),
    decimals,
    uiAmount: decimals < 20 ? Number(amount) / Number(10n ** BigInt(decimals)) : null,
    uiAmountString: text,
  };
}

/** The decimals of `mint` as of `slot`, or undefined when it is not a mint there. */
export function mintDecimals(ledger: SolanaLedger, mint: string, slot: number): number | undefined {
  if (mint === NATIVE_MINT) return NATIVE_MINT_DECIMALS;
  const account = ledger.account(mint, slot);
  return account ? decodeMint(account.data)?.decimals : undefined;
}

/**
 * The `jsonParsed` data of a token-program account as of `slot`: `{ program, parsed: { type, info }, space }`, or
 * undefined where a validator falls back to base64 (not a token program's, not parsable, a token account whose mint is
 * missing). Accounts with Token-2022 extensions are not parsed here (the devnet has no extension parsers).
 */
export function parsedTokenData(ledger: SolanaLedger, account: AccountState, slot: number): unknown {
  if (!isTokenProgram(account.owner)) return undefined;
  const program = account.owner === TOKEN_PROGRAM ? "spl-token" : "spl-token-2022";
  const parsed = (type: string, info: unknown) => ({ program, parsed: { info, type }, space: account.data.length });
  const data = account.data;
  const tokenAccount = decodeTokenAccount(data);
  if (tokenAccount) {
    const decimals = mintDecimals(ledger, tokenAccount.mint, slot);
    if (decimals === undefined || tokenAccount.extended) return undefined;
    const amount = (value: bigint) => uiTokenAmount(value, decimals);
    // Keys in alphabetical order, as a validator writes them; absent options are left out.
    return parsed("account", {
      ...(tokenAccount.closeAuthority === null ? {} : { closeAuthority: tokenAccount.closeAuthority }),
      ...(tokenAccount.delegate === null
        ? {}
        : { delegate: tokenAccount.delegate, delegatedAmount: amount(tokenAccount.delegatedAmount) }),
      isNative: tokenAccount.nativeReserve !== null,
      mint: tokenAccount.mint,
      owner: tokenAccount.owner,
      ...(tokenAccount.nativeReserve === null ? {} : { rentExemptReserve: amount(tokenAccount.nativeReserve) }),
      state: tokenAccount.state,
      tokenAmount: amount(tokenAccount.amount),
    });
  }
  const mint = decodeMint(data);
  if (mint) {
    if (mint.extended) return undefined;
    return parsed("mint", {
      decimals: mint.decimals,
      freezeAuthority: mint.freezeAuthority,
      isInitialized: true,
      mintAuthority: mint.mintAuthority,
      supply: mint.supply.toString(),
    });
  }
  if (data.length === MULTISIG_SIZE && data[2] === 1) {
    const signers: string[] = [];
    for (let i = 0; i < 11; i++) {
      const signer = data.subarray(3 + i * 32, 35 + i * 32);
      if (signer.some((b) => b !== 0)) signers.push(key(data, 3 + i * 32));
    }
    return parsed("multisig", {
      isInitialized: true,
      numRequiredSigners: data[0],
      numValidSigners: data[1],
      signers,
    });
  }
  return undefined;
}
