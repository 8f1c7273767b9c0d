import assert from "node:assert/strict";
import { before, beforeEach, describe, test } from "node:test";
import { zstdDecompressSync } from "node:zlib";
import { getBase58Decoder, getTransactionDecoder, type KeyPairSigner } from "@solana/kit";
import { createSolanaLedger, MAX_PROCESSING_AGE_SLOTS, type SolanaLedger } from "./ledger.ts";
import { createSolanaRpcHandler, type SolanaRpcHandler } from "./rpc.ts";
import { devnetSigner, type HandlerAnswer, handlerCalls, LAMPORTS_PER_SOL, signedTransfer } from "./testing.ts";

let alice: KeyPairSigner;
let bob: KeyPairSigner;
let carol: KeyPairSigner;
let ledger: SolanaLedger;
let handle: SolanaRpcHandler;
const { call, result } = handlerCalls(() => handle);

before(async () => {
  [alice, bob, carol] = (await Promise.all(["alice", "bob", "carol"].map(devnetSigner))) as [
    KeyPairSigner,
    KeyPairSigner,
    KeyPairSigner,
  ];
});

beforeEach(() => {
  ledger = createSolanaLedger({
    name: "rpc-test",
    accounts: [
      { address: alice.address, lamports: 100n * LAMPORTS_PER_SOL },
      { address: bob.address, lamports: 10n * LAMPORTS_PER_SOL },
    ],
    finalizedDepth: 3,
  });
  handle = createSolanaRpcHandler(ledger);
});

function produce(count = 1, transactions: string[] = []): void {
  for (let i = 0; i < count; i++) {
    result("devnet_produceSlot", [{ slot: ledger.slot() + 1, transactions: i === 0 ? transactions : [] }]);
  }
}

async function transferFrom(from: KeyPairSigner, lamports: bigint, to = carol.address): Promise<string> {
  return signedTransfer({ from, to, lamports, blockhash: ledger.blockhash(ledger.slot()) as string });
}

describe("solana rpc", () => {
  test("account reads answer { context: { slot, apiVersion }, value } at the asked commitment", async () => {
    const tx = await transferFrom(alice, 2n * LAMPORTS_PER_SOL);
    produce(1, [tx]);
    assert.deepEqual(result("getBalance", [carol.address, { commitment: "processed" }]), {
      context: { slot: 1, apiVersion: "2.2.0" },
      value: 2_000_000_000,
    });
    assert.deepEqual(result("getBalance", [carol.address]), { context: { slot: 0, apiVersion: "2.2.0" }, value: 0 });
    assert.equal(result("getAccountInfo", [carol.address, { commitment: "confirmed" }]).value, null);
    const info = result("getAccountInfo", [carol.address, { commitment: "processed", encoding: "base64" }]);
    assert.deepEqual(info.value, {
      data: ["", "base64"],
      executable: false,
      lamports: 2_000_000_000,
      owner: "11111111111111111111111111111111",
      rentEpoch: 2 ** 64, // u64::MAX as a double; the text check below pins the digits
      space: 0,
    });
    const text = handle(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "getAccountInfo",
        params: [carol.address, { commitment: "processed" }],
      }),
    );
    assert.match(text ?? "", /"rentEpoch":18446744073709551615[,}]/, "u64::MAX written exactly");
  });

  test("account data encodings and dataSlice", () => {
    const system = "11111111111111111111111111111111";
    const name = Buffer.from("solana_system_program");
    const at = (config: object) => result("getAccountInfo", [system, { commitment: "processed", ...config }]).value;
    assert.equal(at({}).data, getBase58Decoder().decode(name), "the legacy `binary` default: a bare base58 string");
    assert.deepEqual(at({ encoding: "base58" }).data, [getBase58Decoder().decode(name), "base58"]);
    assert.deepEqual(at({ encoding: "base64", dataSlice: { offset: 7, length: 6 } }).data, ["c3lzdGVt", "base64"]);
    const [zstd, tag] = at({ encoding: "base64+zstd" }).data;
    assert.equal(tag, "base64+zstd");
    assert.deepEqual(zstdDecompressSync(Buffer.from(zstd, "base64")), name);
    assert.equal(call("getAccountInfo", [system, { encoding: "hex" }]).error?.code, -32602);
    const many = result("getMultipleAccounts", [[system, carol.address], { commitment: "processed" }]);
    assert.equal(many.value[0].data[1], "base64", "getMultipleAccounts defaults to base64");
    assert.equal(many.value[1], null);
  });

  test("minContextSlot above the commitment's slot answers -32016 with the context slot", () => {
    produce(5);
    assert.deepEqual(call("getBalance", [alice.address, { commitment: "finalized", minContextSlot: 3 }]).error, {
      code: -32016,
      message: "Minimum context slot has not been reached",
      data: { contextSlot: 2 },
    });
    assert.equal(result("getSlot", [{ commitment: "processed", minContextSlot: 5 }]), 5);
    assert.equal(call("getLatestBlockhash", [{ minContextSlot: 99 }]).error?.code, -32016);
  });

  test("bad params answer -32602, unknown methods -32601, bad JSON -32700, bad requests -32600", () => {
    assert.deepEqual(call("getBalance").error, {
      code: -32602,
      message: "`params` should have at least 1 argument(s)",
    });
    assert.deepEqual(call("getBalance", ["abc"]).error, { code: -32602, message: "Invalid param: WrongSize" });
    assert.deepEqual(call("getBalance", ["0OIl"]).error, { code: -32602, message: "Invalid param: Invalid" });
    assert.equal(call("getBalance", [alice.address, { commitment: "max" }]).error?.code, -32602);
    assert.equal(call("getBalance", [alice.address, "finalized"]).error?.code, -32602);
    assert.equal(call("getMinimumBalanceForRentExemption", [-1]).error?.code, -32602);
    assert.equal(call("getMultipleAccounts", [Array(101).fill(alice.address)]).error?.code, -32602);
    assert.deepEqual(call("eth_blockNumber").error, { code: -32601, message: "Method not found" });
    assert.deepEqual(JSON.parse(handle("{") ?? ""), {
      jsonrpc: "2.0",
      error: { code: -32700, message: "Parse error" },
      id: null,
    });
    assert.equal(JSON.parse(handle('{"id":1,"method":"getSlot"}') ?? "").error.code, -32600, "no jsonrpc: 2.0");
    assert.equal(JSON.parse(handle("[]") ?? "").error.code, -32600);
  });

  test("a batch answers every request in order; notifications get no answer", () => {
    const body = [
      { jsonrpc: "2.0", id: 1, method: "getSlot", params: [{ commitment: "processed" }] },
      { jsonrpc: "2.0", id: "two", method: "nope" },
      { jsonrpc: "2.0", method: "getSlot" },
      { jsonrpc: "2.0", id: 3, method: "getHealth" },
      42,
    ];
    const answers = JSON.parse(handle(JSON.stringify(body)) ?? "") as HandlerAnswer[];
    assert.deepEqual(answers, [
      { jsonrpc: "2.0", result: 0, id: 1 },
      { jsonrpc: "2.0", error: { code: -32601, message: "Method not found" }, id: "two" },
      { jsonrpc: "2.0", result: "ok", id: 3 },
      { jsonrpc: "2.0", error: { code: -32600, message: "Invalid request" }, id: null },
    ]);
    assert.equal(handle(JSON.stringify({ jsonrpc: "2.0", method: "getSlot" })), undefined);
  });

  test("sendTransaction: base58 by default, base64 with `encoding`; the signature; the pool", async () => {
    const tx = await transferFrom(alice, LAMPORTS_PER_SOL);
    const raw = Buffer.from(tx, "base64");
    const signature = result("sendTransaction", [getBase58Decoder().decode(raw)]);
    const decoded = getTransactionDecoder().decode(raw);
    assert.equal(signature, getBase58Decoder().decode(Object.values(decoded.signatures)[0] as Uint8Array));
    assert.equal(result("sendTransaction", [tx, { encoding: "base64" }]), signature, "again: same signature");
    assert.deepEqual(result("devnet_pool"), [tx]);
    produce(1, [tx]);
    assert.deepEqual(result("devnet_pool"), []);
    const again = call("sendTransaction", [tx, { encoding: "base64" }]).error;
    assert.equal(again?.code, -32002);
    assert.equal(again?.message, "Transaction simulation failed: This transaction has already been processed");
    assert.equal(call("sendTransaction", ["AAAA", { encoding: "base64" }]).error?.code, -32602);
    assert.equal(call("sendTransaction", [tx, { encoding: "jsonParsed" }]).error?.code, -32602);
  });

  test("sendTransaction: a bad signature answers -32003, a stale blockhash -32002 Blockhash not found", async () => {
    const tx = Buffer.from(await transferFrom(alice, LAMPORTS_PER_SOL), "base64");
    tx.writeUInt8((tx.at(-5) as number) ^ 1, tx.length - 5); // a byte of the amount: the message changes under the signature
    assert.deepEqual(call("sendTransaction", [tx.toString("base64"), { encoding: "base64" }]).error, {
      code: -32003,
      message: "Transaction signature verification failure",
    });
    const stale = await transferFrom(alice, LAMPORTS_PER_SOL);
    produce(MAX_PROCESSING_AGE_SLOTS);
    const error = call("sendTransaction", [stale, { encoding: "base64" }]).error;
    assert.equal(error?.code, -32002);
    assert.equal(error?.message, "Transaction simulation failed: Blockhash not found");
    assert.equal(error?.data.err, "BlockhashNotFound");
    assert.deepEqual(error?.data.logs, []);
    assert.equal(result("sendTransaction", [stale, { encoding: "base64", skipPreflight: true }]).length > 80, true);
  });

  test("sendTransaction: a failing simulation answers -32002 with data.err and data.logs; skipPreflight pools it", async () => {
    const tx = await transferFrom(bob, 1_000n * LAMPORTS_PER_SOL);
    const error = call("sendTransaction", [tx, { encoding: "base64" }]).error;
    assert.equal(error?.code, -32002);
    assert.equal(
      error?.message,
      "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1",
    );
    assert.deepEqual(error?.data.err, { InstructionError: [0, { Custom: 1 }] });
    assert.ok(error?.data.logs.some((l: string) => l.includes("insufficient lamports")));
    assert.deepEqual(result("devnet_pool"), []);
    const signature = result("sendTransaction", [tx, { encoding: "base64", skipPreflight: true }]);
    produce(1, result("devnet_pool"));
    const [status] = result("getSignatureStatuses", [[signature]]).value;
    assert.deepEqual(status.err, { InstructionError: [0, { Custom: 1 }] });
    assert.deepEqual(status.status, { Err: { InstructionError: [0, { Custom: 1 }] } });
  });

  test("getSignatureStatuses: processed → confirmed → finalized", async () => {
    const tx = await transferFrom(alice, LAMPORTS_PER_SOL);
    const signature = result("sendTransaction", [tx, { encoding: "base64" }]);
    assert.deepEqual(result("getSignatureStatuses", [[signature]]).value, [null]);
    produce(1, [tx]);
    const statusAt = () => result("getSignatureStatuses", [[signature]]).value[0];
    assert.deepEqual(statusAt(), {
      slot: 1,
      confirmations: 0,
      err: null,
      status: { Ok: null },
      confirmationStatus: "processed",
    });
    produce(1);
    assert.equal(statusAt().confirmationStatus, "confirmed");
    assert.equal(statusAt().confirmations, 1);
    produce(2);
    assert.deepEqual(statusAt(), {
      slot: 1,
      confirmations: null,
      err: null,
      status: { Ok: null },
      confirmationStatus: "finalized",
    });
  });

  test("getTransaction: confirmed or finalized only, v0 needs maxSupportedTransactionVersion", async () => {
    const tx = await transferFrom(alice, LAMPORTS_PER_SOL);
    const signature = result("sendTransaction", [tx, { encoding: "base64" }]);
    produce(1, [tx]);
    assert.equal(call("getTransaction", [signature, { commitment: "processed" }]).error?.code, -32602);
    assert.equal(
      result("getTransaction", [signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 }]),
      null,
    );
    produce(1);
    assert.equal(call("getTransaction", [signature, { commitment: "confirmed" }]).error?.code, -32015);
    const found = result("getTransaction", [
      signature,
      { commitment: "confirmed", encoding: "base64", maxSupportedTransactionVersion: 0 },
    ]);
    assert.equal(found.slot, 1);
    assert.equal(found.version, 0);
    assert.equal(found.meta.err, null);
    assert.equal(found.meta.fee, 5_000);
    assert.deepEqual(found.transaction, [tx, "base64"]);
    assert.equal(found.blockTime, ledger.blockTime(1));
    const json = result("getTransaction", [signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 }]);
    assert.deepEqual(json.transaction.signatures, [signature]);
    assert.equal(json.transaction.message.accountKeys[0], alice.address);
  });

  test("getLatestBlockhash, isBlockhashValid, getFeeForMessage", async () => {
    produce(2);
    const latest = result("getLatestBlockhash", [{ commitment: "processed" }]);
    assert.deepEqual(latest, {
      context: { slot: 2, apiVersion: "2.2.0" },
      value: { blockhash: ledger.blockhash(2), lastValidBlockHeight: 2 + MAX_PROCESSING_AGE_SLOTS },
    });
    assert.equal(result("getLatestBlockhash").value.blockhash, ledger.blockhash(0), "finalized by default");
    assert.equal(result("isBlockhashValid", [ledger.blockhash(2), { commitment: "processed" }]).value, true);
    assert.equal(result("isBlockhashValid", [alice.address, { commitment: "processed" }]).value, false);
    const tx = getTransactionDecoder().decode(Buffer.from(await transferFrom(alice, 1n), "base64"));
    const message = Buffer.from(tx.messageBytes).toString("base64");
    assert.equal(result("getFeeForMessage", [message, { commitment: "processed" }]).value, 5_000);
    assert.equal(result("getMinimumBalanceForRentExemption", [0]), 890_880);
    assert.deepEqual(result("getVersion"), { "solana-core": "2.2.0", "feature-set": 3_294_202_862 });
    assert.equal(result("getGenesisHash"), ledger.genesisHash);
    assert.equal(result("getBlockHeight", [{ commitment: "processed" }]), 2);
  });

  test("devnet_produceSlot for another slot than the next answers the node's slot", () => {
    produce(1);
    assert.deepEqual(call("devnet_produceSlot", [{ slot: 5, transactions: [] }]).error?.data, { slot: 1 });
    assert.deepEqual(Object.keys(result("devnet_status")), ["slot", "blockhash", "stateHash", "pool"]);
  });
});
