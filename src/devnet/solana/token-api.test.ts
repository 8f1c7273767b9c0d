import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { address, createSolanaRpc, getBase58Decoder, type KeyPairSigner } from "@solana/kit";
import { startSolanaCluster } from "./cluster.ts";
import type { SolanaLedger } from "./ledger.ts";
import { createSolanaRpcHandler, type SolanaRpcHandler } from "./rpc.ts";
import { NATIVE_MINT, TOKEN_2022_PROGRAM, TOKEN_PROGRAM } from "./spl-token.ts";
import {
  castLedger,
  devnetSigner,
  handlerCalls,
  LAMPORTS_PER_SOL,
  signedMintSetup,
  signedTokenAccount,
  signedTokenTransfer,
  signedTransfer,
  type TokenCast,
  tokenCast,
} from "./testing.ts";

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
  cast = await tokenCast("token-test-mint");
  ({ alice, bob, mint, aliceTokens, bobTokens } = cast);
});

/** Slot 1: a mint (6 decimals) and alice's token account with 5 tokens. Slot 2: bob's account. Slot 3: 1.5 to bob. */
beforeEach(async () => {
  ledger = castLedger("token-test", cast);
  handle = createSolanaRpcHandler(ledger);
  const blockhash = () => ledger.blockhash(ledger.slot()) as string;
  const holders = [{ account: aliceTokens, owner: alice.address, amount: 5_000_000n }];
  send(await signedMintSetup({ payer: alice, mint, decimals: 6, holders, blockhash: blockhash() }));
  const account = { payer: bob, account: bobTokens, mint: mint.address, owner: bob.address };
  send(await signedTokenAccount({ ...account, blockhash: blockhash() }));
  const transfer = { owner: alice, source: aliceTokens.address, destination: bobTokens.address, amount: 1_500_000n };
  send(await signedTokenTransfer({ ...transfer, blockhash: blockhash() }));
});

/** Sends with preflight, then produces the next slot with it; it must succeed. */
function send(tx: string): void {
  const signature = result("sendTransaction", [tx, { encoding: "base64" }]);
  produce([tx]);
  assert.equal(ledger.transaction(signature)?.err, null);
}

function produce(transactions: string[] = []): void {
  result("devnet_produceSlot", [{ slot: ledger.slot() + 1, transactions }]);
}

const at = (commitment: string) => ({ commitment });
const ui = (amount: string, uiAmount: number, uiAmountString = String(uiAmount)) => ({
  amount,
  decimals: 6,
  uiAmount,
  uiAmountString,
});

describe("SPL Token methods", () => {
  test("after a mint and a transfer: balances and supply at processed; confirmed and finalized lag", () => {
    assert.deepEqual(result("getTokenAccountBalance", [aliceTokens.address, at("processed")]), {
      context: { slot: 3, apiVersion: "2.2.0" },
      value: ui("3500000", 3.5),
    });
    assert.deepEqual(result("getTokenAccountBalance", [bobTokens.address, at("processed")]).value, ui("1500000", 1.5));
    assert.deepEqual(result("getTokenAccountBalance", [bobTokens.address, at("confirmed")]), {
      context: { slot: 2, apiVersion: "2.2.0" },
      value: ui("0", 0),
    });
    assert.deepEqual(result("getTokenSupply", [mint.address, at("processed")]), {
      context: { slot: 3, apiVersion: "2.2.0" },
      value: ui("5000000", 5),
    });
    // finalizedDepth 3: finalized is slot 0, before the mint.
    assert.deepEqual(call("getTokenSupply", [mint.address]).error, {
      code: -32602,
      message: "Invalid param: could not find account",
    });
    produce();
    assert.deepEqual(result("getTokenAccountBalance", [aliceTokens.address]), {
      context: { slot: 1, apiVersion: "2.2.0" },
      value: ui("5000000", 5),
    });
    produce();
    produce();
    assert.deepEqual(result("getTokenAccountBalance", [aliceTokens.address]).value, ui("3500000", 3.5));
    assert.deepEqual(result("getTokenSupply", [mint.address, at("finalized")]).value, ui("5000000", 5));
  });

  test("getTokenAccountsByOwner: by mint or by program id, base64 or jsonParsed, in a context", () => {
    const byMint = result("getTokenAccountsByOwner", [
      bob.address,
      { mint: mint.address },
      { commitment: "processed", encoding: "base64" },
    ]);
    assert.equal(byMint.context.slot, 3);
    assert.equal(byMint.value.length, 1);
    const [entry] = byMint.value;
    assert.equal(entry.pubkey, bobTokens.address);
    assert.equal(entry.account.owner, TOKEN_PROGRAM);
    assert.equal(entry.account.space, 165);
    assert.equal(entry.account.lamports, 2_039_280);
    const data = Buffer.from(entry.account.data[0], "base64");
    assert.equal(getBase58Decoder().decode(data.subarray(0, 32)), mint.address);
    assert.equal(getBase58Decoder().decode(data.subarray(32, 64)), bob.address);
    assert.equal(data.readBigUInt64LE(64), 1_500_000n);

    const byProgram = result("getTokenAccountsByOwner", [
      alice.address,
      { programId: TOKEN_PROGRAM },
      { commitment: "processed", encoding: "jsonParsed" },
    ]);
    assert.deepEqual(byProgram.value, [
      {
        pubkey: aliceTokens.address,
        account: {
          data: {
            program: "spl-token",
            parsed: {
              info: {
                isNative: false,
                mint: mint.address,
                owner: alice.address,
                state: "initialized",
                tokenAmount: ui("3500000", 3.5),
              },
              type: "account",
            },
            space: 165,
          },
          executable: false,
          lamports: 2_039_280,
          owner: TOKEN_PROGRAM,
          rentEpoch: 2 ** 64,
          space: 165,
        },
      },
    ]);
    const ofProgram2022 = [
      bob.address,
      { programId: TOKEN_2022_PROGRAM },
      { commitment: "processed", encoding: "base64" },
    ];
    assert.deepEqual(result("getTokenAccountsByOwner", ofProgram2022).value, []);
    const finalized = [bob.address, { mint: mint.address }, { encoding: "base64" }];
    assert.deepEqual(call("getTokenAccountsByOwner", finalized).error?.message, "Invalid param: could not find mint");
    produce();
    assert.deepEqual(
      result("getTokenAccountsByOwner", finalized).value,
      [],
      "finalized slot 1: the mint, no account yet",
    );
    assert.deepEqual(call("getTokenAccountsByOwner", [bob.address, { mint: mint.address }, at("processed")]).error, {
      code: -32600,
      message: "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.",
    });
  });

  test("minContextSlot: -32016 on getTokenAccountsByOwner; balance and supply take a bare commitment", () => {
    const params = [alice.address, { mint: mint.address }, { encoding: "base64", commitment: "processed" }];
    assert.deepEqual(
      call("getTokenAccountsByOwner", [
        ...params.slice(0, 2),
        { encoding: "base64", commitment: "confirmed", minContextSlot: 3 },
      ]).error,
      { code: -32016, message: "Minimum context slot has not been reached", data: { contextSlot: 2 } },
    );
    assert.equal(result("getTokenAccountsByOwner", params).value.length, 1);
    // A validator's getTokenAccountBalance / getTokenSupply config is `CommitmentConfig`: no minContextSlot.
    const balance = result("getTokenAccountBalance", [
      aliceTokens.address,
      { commitment: "processed", minContextSlot: 99 },
    ]);
    assert.equal(balance.context.slot, 3);
    assert.deepEqual(call("getTokenSupply", [mint.address, { minContextSlot: 1 }]).error, {
      code: -32602,
      message: "Invalid params: missing field `commitment`.",
    });
  });

  test("errors in a validator's words", async () => {
    const errorOf = (method: string, params: unknown[]) => call(method, params).error;
    const invalid = (message: string) => ({ code: -32602, message });
    assert.deepEqual(
      errorOf("getTokenAccountBalance", [bob.address, at("processed")]),
      invalid("Invalid param: not a Token account"),
    );
    assert.deepEqual(
      errorOf("getTokenAccountBalance", [mint.address, at("processed")]),
      invalid("Invalid param: not a Token account"),
    );
    const nobody = (await devnetSigner("nobody")).address;
    assert.deepEqual(errorOf("getTokenAccountBalance", [nobody]), invalid("Invalid param: could not find account"));
    assert.deepEqual(
      errorOf("getTokenSupply", [bob.address, at("processed")]),
      invalid("Invalid param: not a Token mint"),
    );
    assert.deepEqual(
      errorOf("getTokenSupply", [aliceTokens.address, at("processed")]),
      invalid("Invalid param: mint could not be unpacked"),
    );
    const byOwner = (filter: unknown) => errorOf("getTokenAccountsByOwner", [bob.address, filter, at("processed")]);
    assert.deepEqual(byOwner({ programId: bob.address }), invalid("Invalid param: unrecognized Token program id"));
    assert.deepEqual(byOwner({ mint: bob.address }), invalid("Invalid param: Token mint could not be unpacked"));
    assert.deepEqual(byOwner({ mint: nobody }), invalid("Invalid param: could not find mint"));
    assert.deepEqual(byOwner({ mint: "abc" }), invalid("Invalid param: WrongSize"));
    assert.equal(byOwner({ owner: bob.address })?.code, -32602);
    assert.equal(byOwner({ mint: mint.address, programId: TOKEN_PROGRAM })?.code, -32602);
    assert.deepEqual(
      errorOf("getTokenAccountsByOwner", [bob.address]),
      invalid("`params` should have at least 2 argument(s)"),
    );
    // The native mint's decimals are known without reading it; it exists, as on every cluster.
    assert.equal(
      result("getTokenAccountsByOwner", [bob.address, { mint: NATIVE_MINT }, at("processed")]).value.length,
      0,
    );
  });

  test("getAccountInfo and getMultipleAccounts parse token accounts and mints with jsonParsed", () => {
    const info = result("getAccountInfo", [bobTokens.address, { commitment: "processed", encoding: "jsonParsed" }]);
    assert.deepEqual(info.value.data.parsed.info.tokenAmount, ui("1500000", 1.5));
    const many = result("getMultipleAccounts", [
      [mint.address, bob.address, NATIVE_MINT],
      { commitment: "processed", encoding: "jsonParsed" },
    ]);
    assert.equal(many.value[0].data.parsed.info.supply, "5000000");
    assert.deepEqual(many.value[1].data, ["", "base64"], "a system account: base64, no parser");
    assert.equal(many.value[2].data.parsed.info.decimals, 9);
  });
});

describe("SPL Token through a node process and @solana/kit", () => {
  let cluster: Awaited<ReturnType<typeof startSolanaCluster>>;
  before(async () => {
    cluster = await startSolanaCluster({
      name: "token-cluster-test",
      nodes: [{ id: "alpha", domain: { operator: "alpha-rpc", hosting: "aws", region: "us-east-1" } }],
      accounts: [{ address: alice.address, lamports: 100n * LAMPORTS_PER_SOL }],
      finalizedDepth: 2,
    });
  });
  after(() => cluster.stop());

  test("kit parses the token answers and getProgramAccounts with filters and its context", async () => {
    const rpc = createSolanaRpc(cluster.nodes[0]?.url as string);
    const blockhash = async () => (await rpc.getLatestBlockhash({ commitment: "processed" }).send()).value.blockhash;
    const holders = [
      { account: aliceTokens, owner: alice.address, amount: 5_000_000n },
      { account: bobTokens, owner: bob.address },
    ];
    const sendAndProduce = async (tx: string) => {
      await rpc.sendTransaction(tx as Parameters<typeof rpc.sendTransaction>[0], { encoding: "base64" }).send();
      await cluster.produceSlots(1);
    };
    await sendAndProduce(
      await signedMintSetup({ payer: alice, mint, decimals: 6, holders, blockhash: await blockhash() }),
    );
    const fund = { from: alice, to: bob.address, lamports: LAMPORTS_PER_SOL };
    await sendAndProduce(await signedTransfer({ ...fund, blockhash: await blockhash() }));
    const transfer = { owner: bob, source: bobTokens.address, destination: aliceTokens.address, amount: 0n };
    await sendAndProduce(await signedTokenTransfer({ ...transfer, blockhash: await blockhash() }));

    const balance = await rpc.getTokenAccountBalance(aliceTokens.address, { commitment: "processed" }).send();
    assert.equal(balance.context.slot, 3n);
    assert.deepEqual(balance.value, { amount: "5000000", decimals: 6, uiAmount: 5, uiAmountString: "5" });
    const supply = await rpc.getTokenSupply(mint.address, { commitment: "confirmed" }).send();
    assert.equal(supply.value.amount, "5000000");
    const owned = await rpc
      .getTokenAccountsByOwner(
        alice.address,
        { mint: mint.address },
        { commitment: "processed", encoding: "jsonParsed" },
      )
      .send();
    assert.equal(owned.value[0]?.pubkey, aliceTokens.address);
    assert.equal(owned.value[0]?.account.data.parsed.info.tokenAmount.uiAmountString, "5");
    assert.equal(owned.value[0]?.account.lamports, 2_039_280n);
    const finalizedBalance = await rpc.getTokenAccountBalance(aliceTokens.address, { commitment: "finalized" }).send();
    assert.equal(finalizedBalance.context.slot, 1n);

    const program = address(TOKEN_PROGRAM);
    const withContext = await rpc
      .getProgramAccounts(program, {
        commitment: "processed",
        encoding: "base64",
        withContext: true,
        filters: [
          { dataSize: 165n },
          { memcmp: { offset: 32n, bytes: bob.address as string as never, encoding: "base58" } },
        ],
      })
      .send();
    assert.equal(withContext.context.slot, 3n);
    assert.deepEqual(
      withContext.value.map((k) => k.pubkey),
      [bobTokens.address],
    );
    const plain = await rpc.getProgramAccounts(program, { commitment: "processed", encoding: "base64" }).send();
    assert.equal(plain.length, 3);
  });
});
