import assert from "node:assert/strict";
import { test } from "node:test";
import {
  clientMinContextSlot,
  commitmentOfCall,
  contextOf,
  SOLANA_DEFAULT_METHOD_COST,
  SOLANA_UNAVAILABLE_CODE,
  solanaCallCost,
  solanaMethodKind,
  solanaRpcCode,
  withContextAsked,
  withMinContextSlot,
} from "./methods.ts";
import { firstSignature, recentBlockhash, transactionBytes } from "./transaction.ts";

test("methods: account reads are agreed, the slot and genesis come from the agreed view, sends go wide", () => {
  assert.equal(solanaMethodKind("getBalance"), "agreed");
  assert.equal(solanaMethodKind("getSlot"), "slot");
  assert.equal(solanaMethodKind("getGenesisHash"), "genesis");
  assert.equal(solanaMethodKind("sendTransaction"), "send");
  assert.equal(solanaMethodKind("getVersion"), "single");
});

test("minContextSlot is raised to the floor in the method's config object, kept when the client asked higher", () => {
  assert.deepEqual(withMinContextSlot("getBalance", ["addr"], 40), [
    "addr",
    { commitment: "finalized", minContextSlot: 40 },
  ]);
  assert.deepEqual(withMinContextSlot("getBalance", ["addr", { commitment: "confirmed", minContextSlot: 90 }], 40), [
    "addr",
    { commitment: "confirmed", minContextSlot: 90 },
  ]);
  assert.deepEqual(withMinContextSlot("getLatestBlockhash", [], 7), [{ commitment: "finalized", minContextSlot: 7 }]);
  assert.deepEqual(withMinContextSlot("getTokenAccountsByOwner", ["o", { mint: "m" }], 3), [
    "o",
    { mint: "m" },
    { commitment: "finalized", minContextSlot: 3 },
  ]);
  // An old name is sent as the new one; a bare commitment config gets its commitment.
  assert.deepEqual(withMinContextSlot("getTokenSupply", ["m", { commitment: "max" }], 2), [
    "m",
    { commitment: "finalized", minContextSlot: 2 },
  ]);
  assert.deepEqual(withMinContextSlot("getSignatureStatuses", [["s"]], 3), [["s"]], "takes no config");
});

test("getProgramAccounts is always asked with its context (the slot to agree at); the client gets what it asked", () => {
  assert.deepEqual(withContextAsked("getProgramAccounts", ["prog"]), {
    params: ["prog", { withContext: true }],
    clientAsked: false,
  });
  const asked = ["prog", { withContext: true, filters: [{ dataSize: 165 }] }];
  assert.deepEqual(withContextAsked("getProgramAccounts", asked), { params: asked, clientAsked: true });
  assert.deepEqual(withContextAsked("getBalance", ["a"]), { params: ["a"], clientAsked: true });
  assert.equal(solanaMethodKind("getProgramAccounts"), "agreed");
});

test("a call's commitment and minContextSlot", () => {
  assert.equal(commitmentOfCall("getBalance", ["a"]), "finalized");
  assert.equal(commitmentOfCall("getBalance", ["a", { commitment: "processed" }]), "processed");
  assert.equal(commitmentOfCall("getSignatureStatuses", [["s"], { commitment: "finalized" }]), "processed");
  assert.equal(clientMinContextSlot("getBalance", ["a", { minContextSlot: 5 }]), 5);
  assert.equal(clientMinContextSlot("getBalance", ["a", { minContextSlot: -1 }]), "invalid");
  assert.equal(clientMinContextSlot("getBalance", ["a"]), undefined);
});

test("a context envelope is read only when it has an integer slot and a value", () => {
  assert.deepEqual(contextOf({ context: { slot: 3, apiVersion: "2.2.0" }, value: null }), { slot: 3, value: null });
  assert.equal(contextOf({ context: { slot: "3" }, value: 1 }), undefined);
  assert.equal(contextOf({ context: { slot: 3 } }), undefined);
  assert.equal(contextOf(5), undefined);
});

test("Multihome's failures never use Solana's server codes on this endpoint", () => {
  for (const code of ["unavailable", "timeout", "insufficient_evidence"])
    assert.equal(solanaRpcCode(code, -32002), SOLANA_UNAVAILABLE_CODE);
  const used = ["unavailable", "rate_limited", "tx_rejected", "limit_exceeded"].map((c) => solanaRpcCode(c, -32002));
  for (const code of used) assert.ok(code < -32021 || code > -32001, `${code} is not one of Solana's`);
  assert.equal(solanaRpcCode("invalid_params", -32602), -32602);
});

test("a transaction's id is its first signature, read from its bytes in either encoding", () => {
  const bytes = new Uint8Array(1 + 64 + 10);
  bytes[0] = 1;
  bytes.fill(7, 1, 65);
  const b64 = Buffer.from(bytes).toString("base64");
  const fromB64 = transactionBytes(b64, { encoding: "base64" })!;
  assert.deepEqual([...fromB64], [...bytes]);
  const signature = firstSignature(fromB64)!;
  assert.equal(typeof signature, "string");
  assert.equal(firstSignature(new Uint8Array([0])), undefined, "no signature");
  assert.equal(firstSignature(new Uint8Array([1, 2, 3])), undefined, "too short");
  assert.equal(transactionBytes("not base64!", { encoding: "base64" }), undefined);
  assert.equal(transactionBytes(b64, { encoding: "jsonParsed" }), undefined);
});

test("a transaction's blockhash is read from its message, legacy or versioned", async () => {
  const {
    generateKeyPairSigner,
    createTransactionMessage,
    pipe,
    setTransactionMessageFeePayerSigner,
    setTransactionMessageLifetimeUsingBlockhash,
    appendTransactionMessageInstruction,
    signTransactionMessageWithSigners,
    getBase64EncodedWireTransaction,
    blockhash,
  } = await import("@solana/kit");
  const { getTransferSolInstruction } = await import("@solana-program/system");
  const payer = await generateKeyPairSigner();
  const lifetime = { blockhash: blockhash("4QjEBrJnATvydaCoPb7j4cneA5vSJNFsAYHQwRAjAjmQ"), lastValidBlockHeight: 150n };
  for (const version of [0, "legacy"] as const) {
    const message = pipe(
      createTransactionMessage({ version }),
      (m) => setTransactionMessageFeePayerSigner(payer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
      (m) =>
        appendTransactionMessageInstruction(
          getTransferSolInstruction({ source: payer, destination: payer.address, amount: 1n }),
          m,
        ),
    );
    const wire = getBase64EncodedWireTransaction(await signTransactionMessageWithSigners(message));
    const bytes = transactionBytes(wire, { encoding: "base64" })!;
    assert.equal(recentBlockhash(bytes), lifetime.blockhash, `version ${version}`);
  }
  assert.equal(recentBlockhash(new Uint8Array([1, 2])), undefined);
});

test("Solana calls cost Solana's prices, not those of a method unknown to the EVM table", () => {
  assert.equal(solanaCallCost("getSlot", {}), 1);
  assert.equal(solanaCallCost("getBalance", {}), SOLANA_DEFAULT_METHOD_COST);
  assert.equal(solanaCallCost("getProgramAccounts", {}), 20);
  assert.equal(solanaCallCost("getProgramAccounts", { getProgramAccounts: 100 }), 100, "the config's override first");
  assert.equal(solanaCallCost(undefined, {}), SOLANA_DEFAULT_METHOD_COST);
});
