import assert from "node:assert/strict";
import { test } from "node:test";
import { MultihomeError, toRpcError } from "../../core/errors.ts";
import { type CallAnswer, type Evidence, holdToFloor, type Verification } from "./answer.ts";

const at = (verified: Verification, extra: Partial<Evidence> = {}): Evidence => ({
  blockNumber: 12,
  verified,
  ...extra,
});
const result = (verified: Verification, extra: Partial<Evidence> = {}): CallAnswer => ({
  ok: true,
  result: "0x1",
  evidence: at(verified, extra),
});

/** The Multihome code of a held answer, or "served" when it came through as it was. */
function outcome(method: string, answer: CallAnswer, floor: Verification | undefined): string {
  const held = holdToFloor(method, answer, floor);
  if (held === answer) return "served";
  assert.ok(!held.ok && "error" in held);
  return held.error.code;
}

test("proof > quorum > single > none: an answer is served at its own level and below, refused above it", () => {
  const table: [Verification, Verification, string][] = [
    ["proof", "proof", "served"],
    ["quorum", "proof", "insufficient_evidence"],
    ["quorum", "quorum", "served"],
    ["single", "quorum", "insufficient_evidence"],
    ["single", "single", "served"],
    ["none", "single", "insufficient_evidence"],
    ["single", "none", "served"],
    ["none", "none", "served"],
  ];
  for (const [verified, floor, expected] of table) {
    assert.equal(outcome("eth_getBalance", result(verified), floor), expected, `${verified} at ${floor}`);
  }
  assert.equal(outcome("eth_gasPrice", result("single"), undefined), "served");
});

test("the refusal names the minimum and the evidence the answer had, never its upstream, and keeps its evidence", () => {
  const answer = result("single", { upstream: "vendor-a", domains: ["aws/us-east-1"] });
  const held = holdToFloor("eth_gasPrice", answer, "quorum");
  assert.ok(!held.ok && "error" in held);
  assert.deepEqual(toRpcError(held.error), {
    code: -32002,
    message: "the answer's evidence (single) is below the minimum asked for (quorum)",
    data: {
      minEvidence: "quorum",
      evidence: { verified: "single", blockNumber: 12 },
      multihomeCode: "insufficient_evidence",
    },
  });
  assert.equal(held.evidence, answer.evidence);
});

test("what Multihome answers itself and writes are below nothing; its own errors pass as they are", () => {
  for (const method of ["eth_chainId", "net_version", "eth_blockNumber"]) {
    assert.equal(outcome(method, result("none"), "proof"), "served", method);
  }
  assert.equal(outcome("eth_sendRawTransaction", result("none"), "proof"), "served");
  const rejected: CallAnswer = {
    ok: false,
    rpcError: { code: -32000, message: "nonce too low" },
    evidence: at("single"),
  };
  assert.equal(outcome("eth_sendRawTransaction", rejected, "proof"), "served");
  const unavailable: CallAnswer = {
    ok: false,
    error: new MultihomeError("unavailable", "no verifiable answer", { data: { lastKnownGood: { value: "0x5" } } }),
    evidence: at("none"),
  };
  assert.equal(outcome("eth_getBalance", unavailable, "proof"), "served");
});

test("the chain's own errors, pass-through methods and stale values are judged by their evidence", () => {
  const revert: CallAnswer = {
    ok: false,
    rpcError: { code: 3, message: "execution reverted", data: "0x08c379a0" },
    evidence: at("single"),
  };
  assert.equal(outcome("eth_call", revert, "quorum"), "insufficient_evidence");
  assert.equal(outcome("eth_call", { ...revert, evidence: at("quorum") }, "quorum"), "served");
  // A method only a config allows: one upstream's word, like any other.
  assert.equal(outcome("trace_block", result("single"), "quorum"), "insufficient_evidence");
  // A last verified value served by the staleness opt-in was proven: its age is that opt-in's business.
  assert.equal(outcome("eth_getBalance", result("proof", { staleSeconds: 90 }), "proof"), "served");
  const held = holdToFloor("eth_getBalance", result("quorum", { staleSeconds: 90 }), "proof");
  assert.ok(!held.ok && "error" in held);
  assert.deepEqual(held.error.data, {
    minEvidence: "proof",
    evidence: { verified: "quorum", blockNumber: 12, staleSeconds: 90 },
  });
});
