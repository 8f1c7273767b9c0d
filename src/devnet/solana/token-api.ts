/**
 * The SPL Token methods: `getTokenAccountBalance`, `getTokenAccountsByOwner`, `getTokenSupply`, for accounts of the
 * Token and Token-2022 programs as of the commitment's slot, with a validator's checks and words.
 */

import { dataSliceOf, encodeAccount, encodingOf, type RpcMethod } from "./accounts-api.ts";
import type { SolanaLedger } from "./ledger.ts";
import {
  base58Param,
  type Config,
  commitmentOf,
  configParam,
  contextSlotOf,
  invalidParams,
  requireParams,
  typeName,
  withContext,
} from "./params.ts";
import { parsedTokenAccounts, programAccounts } from "./program-api.ts";
import {
  decodeMint,
  decodeTokenAccount,
  isTokenProgram,
  NATIVE_MINT,
  NATIVE_MINT_DECIMALS,
  TOKEN_ACCOUNT_MINT_OFFSET,
  TOKEN_ACCOUNT_OWNER_OFFSET,
  TOKEN_PROGRAM,
  uiTokenAmount,
} from "./spl-token.ts";
import { fromBase58 } from "./transaction.ts";

/** The token methods over one ledger. */
export function tokenMethods(ledger: SolanaLedger): Record<string, RpcMethod> {
  return {
    getTokenAccountBalance(params) {
      requireParams(params, 1);
      const slot = bareCommitmentSlot(ledger, params);
      const key = base58Param(params[0], 32);
      const account = ledger.account(key, slot);
      if (!account) throw invalidParams("Invalid param: could not find account");
      const tokenAccount = isTokenProgram(account.owner) ? decodeTokenAccount(account.data) : undefined;
      if (!tokenAccount) throw invalidParams("Invalid param: not a Token account");
      const { decimals } = mintOf(ledger, tokenAccount.mint, slot);
      return withContext(slot, uiTokenAmount(tokenAccount.amount, decimals));
    },
    getTokenSupply(params) {
      requireParams(params, 1);
      const slot = bareCommitmentSlot(ledger, params);
      const key = base58Param(params[0], 32);
      const account = ledger.account(key, slot);
      if (!account) throw invalidParams("Invalid param: could not find account");
      if (!isTokenProgram(account.owner)) throw invalidParams("Invalid param: not a Token mint");
      const mint = decodeMint(account.data);
      if (!mint) throw invalidParams("Invalid param: mint could not be unpacked");
      return withContext(slot, uiTokenAmount(mint.supply, mint.decimals));
    },
    getTokenAccountsByOwner(params) {
      requireParams(params, 2);
      const filter = tokenAccountsFilterOf(params[1]);
      const config = configParam(params, 2);
      const encoding = encodingOf(config, "binary");
      const slice = dataSliceOf(config);
      const owner = base58Param(params[0], 32);
      const key = base58Param(filter.value, 32);
      const slot = contextSlotOf(ledger, config);
      let program: string;
      let mint: string | undefined;
      if (filter.by === "mint") {
        program = mintOf(ledger, key, slot).owner;
        if (!isTokenProgram(program)) throw invalidParams("Invalid param: not a Token mint");
        mint = key;
      } else {
        if (!isTokenProgram(key)) throw invalidParams("Invalid param: unrecognized Token program id");
        program = key;
      }
      const accounts = programAccounts(ledger, program, slot, [
        ...(mint ? [{ memcmp: { offset: TOKEN_ACCOUNT_MINT_OFFSET, bytes: keyBytes(mint) } }] : []),
        { tokenAccountState: true },
        { memcmp: { offset: TOKEN_ACCOUNT_OWNER_OFFSET, bytes: keyBytes(owner) } },
      ]);
      return withContext(
        slot,
        encoding === "jsonParsed"
          ? parsedTokenAccounts(ledger, slot, accounts)
          : accounts.map((k) => ({ pubkey: k.pubkey, account: encodeAccount(k.account, encoding, slice) })),
      );
    },
  };
}

/**
 * The slot of `getTokenAccountBalance` / `getTokenSupply`, whose config is a bare `CommitmentConfig`: `commitment` is
 * required when a config is given, and `minContextSlot` is not read (a validator ignores unknown fields).
 */
function bareCommitmentSlot(ledger: SolanaLedger, params: readonly unknown[]): number {
  const config = configParam(params, 1);
  if (params[1] !== undefined && params[1] !== null && config["commitment"] === undefined) {
    throw invalidParams("Invalid params: missing field `commitment`.");
  }
  return ledger.commitmentSlot(commitmentOf(config));
}

/** A mint's program and decimals as of `slot` (the native mint's without reading it), or a validator's -32602. */
function mintOf(ledger: SolanaLedger, mint: string, slot: number): { owner: string; decimals: number } {
  if (mint === NATIVE_MINT) return { owner: TOKEN_PROGRAM, decimals: NATIVE_MINT_DECIMALS };
  const account = ledger.account(mint, slot);
  if (!account) throw invalidParams("Invalid param: could not find mint");
  const decoded = decodeMint(account.data);
  if (!decoded) throw invalidParams("Invalid param: Token mint could not be unpacked");
  return { owner: account.owner, decimals: decoded.decimals };
}

/** `{ mint }` or `{ programId }`, as a validator deserializes `RpcTokenAccountsFilter`. */
function tokenAccountsFilterOf(value: unknown): { by: "mint" | "programId"; value: string } {
  const keys = typeof value === "object" && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
  if (keys.length !== 1) {
    throw invalidParams(`Invalid params: invalid type: ${typeName(value)}, expected enum RpcTokenAccountsFilter.`);
  }
  const [by] = keys as [string];
  if (by !== "mint" && by !== "programId") {
    throw invalidParams(`Invalid params: unknown variant \`${by}\`, expected \`mint\` or \`programId\`.`);
  }
  const inner = (value as Config)[by];
  if (typeof inner !== "string") {
    throw invalidParams(`Invalid params: invalid type: ${typeName(inner)}, expected a string.`);
  }
  return { by, value: inner };
}

const keyBytes = (key: string): Uint8Array => fromBase58(key) ?? new Uint8Array();
