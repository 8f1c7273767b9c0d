import assert from "node:assert/strict";
import { before, beforeEach, describe, test } from "node:test";
import { getBase58Decoder, type KeyPairSigner } from "@solana/kit";
import type { SolanaLedger } from "./ledger.ts";
import { createSolanaRpcHandler, type SolanaRpcHandler } from "./rpc.ts";
import { TOKEN_PROGRAM } from "./spl-token.ts";
import {
  castLedger,
  handlerCalls,
  signedMintSetup,
  signedTokenTransfer,
  type TokenCast,
  tokenCast,
} from "./testing.ts";
import { fromBase58 } from "./transaction.ts";

// biome-ignore lint/suspicious/noExplicitAny: the cases reach freely into nested answer JSON.
type Json = any;

const SYSTEM_PROGRAM = "11111111111111111111111111111111";
let alice: KeyPairSigner;
let bob: KeyPairSigner;
let mint: KeyPairSigner;
let aliceTokens: KeyPairSigner;
let bobTokens: KeyPairSigner;
let cast: TokenCast;
let ledger: SolanaLedger;
let handle: SolanaRpcHandler;
const { call, result } = handlerCalls(() => handle);

before(async () => {
  cast = await tokenCast("program-test-mint");
  ({ alice, bob, mint, aliceTokens, bobTokens } = cast);
});

/** Slot 1: a mint (6 decimals), alice's token account with 5 tokens and bob's empty one. Slot 2: 1.5 to bob. */
beforeEach(async () => {
  ledger = castLedger("program-test", cast);
  handle = createSolanaRpcHandler(ledger);
  const setup = await signedMintSetup({
    payer: alice,
    mint,
    decimals: 6,
    holders: [
      { account: aliceTokens, owner: alice.address, amount: 5_000_000n },
      { account: bobTokens, owner: bob.address },
    ],
    blockhash: ledger.blockhash(0) as string,
  });
  produce([setup]);
  const transfer = await signedTokenTransfer({
    owner: alice,
    source: aliceTokens.address,
    destination: bobTokens.address,
    amount: 1_500_000n,
    blockhash: ledger.blockhash(1) as string,
  });
  produce([transfer]);
});

function produce(transactions: string[] = []): void {
  const produced = result("devnet_produceSlot", [{ slot: ledger.slot() + 1, transactions }]);
  assert.equal(produced.slot, ledger.slot());
}

const byAddress = (a: string, b: string) =>
  Buffer.compare(Buffer.from(fromBase58(a) ?? []), Buffer.from(fromBase58(b) ?? []));
const addressesOf = (list: Json[]) => list.map((k) => k.pubkey);
const programAccounts = (program: string, config: object = {}) =>
  result("getProgramAccounts", [program, { commitment: "processed", encoding: "base64", ...config }]);

describe("getProgramAccounts", () => {
  test("the program's accounts at the commitment's slot, sorted by address; withContext wraps them", () => {
    const tokens = [mint.address, aliceTokens.address, bobTokens.address].sort(byAddress);
    const plain = programAccounts(TOKEN_PROGRAM);
    assert.ok(Array.isArray(plain), "without withContext: a plain array, as from a validator");
    assert.deepEqual(addressesOf(plain), tokens);
    const mintEntry = plain.find((k: Json) => k.pubkey === mint.address);
    assert.deepEqual(Object.keys(mintEntry.account), ["data", "executable", "lamports", "owner", "rentEpoch", "space"]);
    assert.equal(mintEntry.account.owner, TOKEN_PROGRAM);
    assert.equal(mintEntry.account.space, 82);
    assert.equal(mintEntry.account.lamports, 1_461_600);

    const wrapped = programAccounts(TOKEN_PROGRAM, { withContext: true });
    assert.deepEqual(wrapped, { context: { slot: 2, apiVersion: "2.2.0" }, value: plain });

    // finalizedDepth 3: finalized is slot 0, before the mint existed; confirmed (slot 1) has it all.
    assert.deepEqual(result("getProgramAccounts", [TOKEN_PROGRAM, { withContext: true }]), {
      context: { slot: 0, apiVersion: "2.2.0" },
      value: [],
    });
    assert.deepEqual(addressesOf(programAccounts(TOKEN_PROGRAM, { commitment: "confirmed" })), tokens);

    const system = programAccounts(SYSTEM_PROGRAM);
    assert.deepEqual(addressesOf(system), [alice.address, bob.address].sort(byAddress));
    assert.equal(system.find((k: Json) => k.pubkey === bob.address).account.lamports, 10 * 1e9);
  });

  test("a balance at finalized lags processed until the slot is finalized", () => {
    const bobAt = (commitment: string) =>
      result("getProgramAccounts", [
        TOKEN_PROGRAM,
        {
          commitment,
          encoding: "jsonParsed",
          filters: [{ dataSize: 165 }, { memcmp: { offset: 32, bytes: bob.address } }],
        },
      ]).map((k: Json) => k.account.data.parsed.info.tokenAmount.amount);
    assert.deepEqual(bobAt("processed"), ["1500000"]);
    assert.deepEqual(bobAt("confirmed"), ["0"], "confirmed: slot 1, before the transfer");
    assert.deepEqual(bobAt("finalized"), [], "finalized: slot 0, before the account existed");
    produce();
    produce();
    assert.deepEqual(bobAt("finalized"), ["0"]);
    produce();
    assert.deepEqual(bobAt("finalized"), ["1500000"]);
  });

  test("filters: dataSize, memcmp (base58, base64, raw bytes) at an offset, tokenAccountState; every one must pass", () => {
    const list = (filters: unknown[]) => addressesOf(programAccounts(TOKEN_PROGRAM, { filters }));
    const holders = [aliceTokens.address, bobTokens.address].sort(byAddress);
    assert.deepEqual(list([{ dataSize: 82 }]), [mint.address]);
    assert.deepEqual(list([{ dataSize: 165 }]), holders);
    assert.deepEqual(list([{ dataSize: 0 }]), []);
    assert.deepEqual(list(["tokenAccountState"]), holders);
    assert.deepEqual(list([{ memcmp: { offset: 32, bytes: alice.address } }]), [aliceTokens.address]);
    const mintBytes = Buffer.from(fromBase58(mint.address) ?? []);
    assert.deepEqual(
      list([{ memcmp: { offset: 0, bytes: mintBytes.toString("base64"), encoding: "base64" } }]),
      holders,
    );
    assert.deepEqual(list([{ memcmp: { offset: 0, bytes: [...mintBytes.subarray(0, 4)] } }]), holders);
    assert.deepEqual(list([{ dataSize: 165 }, { memcmp: { offset: 32, bytes: bob.address, encoding: "base58" } }]), [
      bobTokens.address,
    ]);
    // Byte 44 of a mint is its decimals; a match past the end of the data never passes.
    assert.deepEqual(list([{ memcmp: { offset: 44, bytes: [6] } }]), [mint.address]);
    assert.deepEqual(list([{ memcmp: { offset: 160, bytes: [0, 0, 0, 0, 0, 0] } }]), []);
    assert.deepEqual(list([{ memcmp: { offset: 165, bytes: [] } }]), holders, "empty bytes at the end match");
    assert.deepEqual(list([{ dataSize: 82 }, { dataSize: 165 }]), []);
  });

  test("encodings: base64 with dataSlice, the base58 default only up to 128 bytes, jsonParsed for token accounts", () => {
    const sliced = programAccounts(TOKEN_PROGRAM, {
      filters: [{ dataSize: 82 }],
      dataSlice: { offset: 44, length: 2 },
    });
    assert.deepEqual(sliced[0].account.data, ["BgE=", "base64"], "decimals 6, initialized");
    assert.equal(sliced[0].account.space, 82);
    assert.deepEqual(call("getProgramAccounts", [TOKEN_PROGRAM, { commitment: "processed" }]).error, {
      code: -32600,
      message: "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.",
    });
    const bare = result("getProgramAccounts", [
      TOKEN_PROGRAM,
      { commitment: "processed", dataSlice: { offset: 0, length: 32 } },
    ]);
    assert.equal(bare.find((k: Json) => k.pubkey === aliceTokens.address).account.data, mint.address);
    const parsed = programAccounts(TOKEN_PROGRAM, { encoding: "jsonParsed" });
    const mintData = parsed.find((k: Json) => k.pubkey === mint.address).account.data;
    assert.deepEqual(mintData, {
      program: "spl-token",
      parsed: {
        info: {
          decimals: 6,
          freezeAuthority: null,
          isInitialized: true,
          mintAuthority: alice.address,
          supply: "5000000",
        },
        type: "mint",
      },
      space: 82,
    });
    const alices = parsed.find((k: Json) => k.pubkey === aliceTokens.address).account.data.parsed;
    assert.deepEqual(alices, {
      info: {
        isNative: false,
        mint: mint.address,
        owner: alice.address,
        state: "initialized",
        tokenAmount: { amount: "3500000", decimals: 6, uiAmount: 3.5, uiAmountString: "3.5" },
      },
      type: "account",
    });
    const system = programAccounts(SYSTEM_PROGRAM, { encoding: "jsonParsed" });
    assert.deepEqual(system[0].account.data, ["", "base64"], "no parser: base64, as a validator falls back");
  });

  test("bad params and filters answer -32602 in a validator's words; minContextSlot above the slot -32016", () => {
    const errorOf = (params: unknown[]) => call("getProgramAccounts", params).error;
    const filters = (list: unknown[]) => errorOf([TOKEN_PROGRAM, { encoding: "base64", filters: list }]);
    assert.deepEqual(filters(Array(5).fill({ dataSize: 1 })), {
      code: -32602,
      message: "Too many filters provided; max 4",
    });
    assert.deepEqual(filters([{ memcmp: { offset: 0, bytes: Array(129).fill(1) } }]), {
      code: -32602,
      message: "Invalid param: DataTooLarge",
    });
    const long = getBase58Decoder().decode(new Uint8Array(129).fill(255));
    assert.equal(filters([{ memcmp: { offset: 0, bytes: long } }])?.message, "Invalid param: DataTooLarge");
    assert.deepEqual(filters([{ memcmp: { offset: 0, bytes: "abcl" } }]), {
      code: -32602,
      message: "Invalid param: Base58DecodeError(InvalidCharacter { character: 'l', index: 3 })",
    });
    assert.equal(
      filters([{ memcmp: { offset: 0, bytes: "AQ", encoding: "base64" } }])?.message,
      "Invalid param: Base64DecodeError(InvalidPadding)",
    );
    assert.equal(filters([{ memcmp: { offset: 0, bytes: "a", encoding: "hex" } }])?.code, -32602);
    assert.equal(filters([{ memcmp: { offset: 0 } }])?.message, "Invalid params: missing field `bytes`.");
    assert.equal(filters([{ memcmp: { offset: -1, bytes: "1" } }])?.code, -32602);
    assert.equal(
      filters([{ size: 1 }])?.message,
      "Invalid params: unknown variant `size`, expected one of `dataSize`, `memcmp`, `tokenAccountState`.",
    );
    assert.equal(filters([{ dataSize: "82" }])?.code, -32602);
    assert.equal(errorOf([TOKEN_PROGRAM, { filters: { dataSize: 82 } }])?.code, -32602);
    assert.deepEqual(errorOf(["abc"]), { code: -32602, message: "Invalid param: WrongSize" });
    assert.deepEqual(errorOf([]), { code: -32602, message: "`params` should have at least 1 argument(s)" });
    assert.equal(errorOf([TOKEN_PROGRAM, { withContext: "yes" }])?.code, -32602);
    assert.deepEqual(errorOf([TOKEN_PROGRAM, { encoding: "base64", commitment: "finalized", minContextSlot: 1 }]), {
      code: -32016,
      message: "Minimum context slot has not been reached",
      data: { contextSlot: 0 },
    });
    assert.equal(programAccounts(TOKEN_PROGRAM, { minContextSlot: 2 }).length, 3);
  });
});
