/**
 * Solana through Multihome, end to end: litesvm nodes in four independent domains behind fault proxies, the gateway at
 * /rpc/solana/localnet, and `@solana/kit` as the client.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  type Address,
  appendTransactionMessageInstruction,
  createSolanaRpc,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  type KeyPairSigner,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from "@solana/kit";
import { getTransferSolInstruction } from "@solana-program/system";
import { TOKEN_PROGRAM } from "../src/devnet/solana/spl-token.ts";
import { signedMintSetup } from "../src/devnet/solana/testing.ts";
import { overviewOf } from "../src/server/admin-api.ts";
import { FUNDED_LAMPORTS, type SolanaTestNetwork, startSolanaTestNetwork } from "./harness/solana-network.ts";
import { waitFor } from "./harness/wait.ts";

let net: SolanaTestNetwork;
before(async () => {
  net = await startSolanaTestNetwork({ config: { transactions: { rebroadcastIntervalMs: 250 } } });
  await net.advance(6);
});
after(() => net?.stop());

/** A signed transfer of `amount` lamports, as base64 wire bytes, with a blockhash the gateway served. */
async function transfer(
  from: KeyPairSigner,
  to: Address,
  amount: bigint,
): Promise<{ wire: string; signature: string }> {
  const rpc = createSolanaRpc(net.rpcUrl);
  const { value: blockhash } = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(from, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) =>
      appendTransactionMessageInstruction(
        getTransferSolInstruction({ source: from, destination: to, amount: lamports(amount) }),
        m,
      ),
  );
  const signed = await signTransactionMessageWithSigners(message);
  return { wire: getBase64EncodedWireTransaction(signed), signature: getSignatureFromTransaction(signed) };
}

test("a balance is served when independent domains agree on it at one slot, with evidence headers", async () => {
  const wallet = net.wallets[0]!.address;
  const r = await net.rpc("getBalance", [wallet, { commitment: "confirmed" }]);
  assert.equal(r.headers.get("multihome-verified"), "quorum");
  const result = r.body.result as { context: { slot: number }; value: number };
  assert.equal(result.value, Number(FUNDED_LAMPORTS));
  assert.equal(Number(r.headers.get("multihome-slot")), result.context.slot);
  assert.ok(result.context.slot >= net.cluster.slot() - 1, "at least the agreed confirmed slot");
  // @solana/kit reads it like a node's answer.
  const kit = await createSolanaRpc(net.rpcUrl).getBalance(wallet).send();
  assert.equal(kit.value, FUNDED_LAMPORTS);
  const genesis = await net.rpc("getGenesisHash");
  assert.equal(genesis.body.result, net.cluster.genesisHash);
});

test("getSlot is the agreed slot and never goes back; a minContextSlot above it is -32016, as a node says", async () => {
  const slot = await net.advance(2);
  const r = await net.rpc("getSlot", [{ commitment: "processed" }]);
  assert.equal(r.body.result, slot);
  assert.equal(r.headers.get("multihome-verified"), "quorum");
  const ahead = await net.rpc("getSlot", [{ commitment: "processed", minContextSlot: slot + 100 }]);
  assert.equal(ahead.body.error?.code, -32016);
  const bad = await net.rpc("getBalance", [net.wallets[0]!.address, { commitment: "soon" }]);
  assert.equal(bad.body.error?.code, -32602);
});

test("a transfer sent through the gateway lands on every node; balances move by exactly what was sent", async () => {
  const [from] = net.wallets;
  const to = (await generateKeyPairSigner()).address;
  const { wire, signature } = await transfer(from!, to, 2_000_000_000n);
  const sent = await net.rpc("sendTransaction", [wire, { encoding: "base64" }]);
  assert.equal(sent.body.result, signature, JSON.stringify(sent.body));
  await net.advance(6);
  const statuses = await net.rpc("getSignatureStatuses", [[signature]]);
  const [status] = (statuses.body.result as { value: { confirmationStatus: string; err: unknown }[] }).value;
  assert.deepEqual([status?.confirmationStatus, status?.err], ["finalized", null]);
  assert.equal(statuses.headers.get("multihome-verified"), "quorum");
  const balance = await net.rpc("getBalance", [to]);
  assert.equal((balance.body.result as { value: number }).value, 2_000_000_000);
  // Final, it never changes: agreed exactly once, then served from memory.
  const params = [signature, { encoding: "base64", maxSupportedTransactionVersion: 0 }];
  const tx = await net.rpc("getTransaction", params);
  assert.equal(tx.headers.get("multihome-verified"), "quorum");
  assert.deepEqual(tx.body.result, await net.direct("getTransaction", params));
  for (const p of net.proxies.values()) p.resetStats();
  const again = await net.rpc("getTransaction", params);
  assert.deepEqual(again.body.result, tx.body.result);
  assert.equal(
    [...net.proxies.values()].reduce((n, p) => n + (p.stats().byMethod.getTransaction ?? 0), 0),
    0,
  );
  for (let node = 0; node < net.cluster.nodes.length; node++)
    assert.equal(((await net.direct("getBalance", [to], node)) as { value: number }).value, 2_000_000_000);
});

test("one provider lying about an account at the honest slot among four domains: 0 wrong answers, the liar disputed", async () => {
  const wallet = net.wallets[1]!.address;
  const liar = net.proxies.get("u1")!;
  let lies = 0;
  await liar.setFault({
    fault: {
      kind: "rewrite",
      fn: (_request, response) => {
        const r = response as { result?: { context: unknown; value: unknown } };
        if (!r.result) return response;
        lies++;
        return { ...r, result: { ...r.result, value: 0 } };
      },
    },
    methods: ["getBalance"],
  });
  try {
    const wrong: string[] = [];
    // Until the liar has been asked a few times: which domains a read goes to is the router's choice.
    let reads = 0;
    for (; reads < 300 && lies < 3; reads++) {
      const r = await net.rpc("getBalance", [wallet, { commitment: "confirmed" }]);
      const value = (r.body.result as { value?: number } | undefined)?.value;
      if (value !== Number(FUNDED_LAMPORTS)) wrong.push(JSON.stringify(r.body).slice(0, 200));
    }
    assert.deepEqual(wrong, []);
    assert.ok(lies >= 3, `the liar was asked (${lies} lies in ${reads} reads)`);
    assert.ok(net.logs.some((l) => l.includes("answer failed agreement") && l.includes('"u1"')));
  } finally {
    await liar.clearFault();
  }
});

test("one provider answering from an invented future slot is not compared, and sends no one else to -32016", async () => {
  const wallet = net.wallets[1]!.address;
  const liar = net.proxies.get("u3")!;
  await liar.setFault({
    fault: {
      kind: "rewrite",
      fn: (_request, response) => {
        const r = response as { result?: { context: { slot: number }; value: unknown } };
        if (!r.result?.context) return response;
        return { ...r, result: { context: { ...r.result.context, slot: r.result.context.slot + 500 }, value: 0 } };
      },
    },
    methods: ["getBalance"],
  });
  try {
    for (let i = 0; i < 10; i++) {
      const r = await net.rpc("getBalance", [wallet, { commitment: "confirmed" }]);
      assert.equal(
        (r.body.result as { value?: number } | undefined)?.value,
        Number(FUNDED_LAMPORTS),
        JSON.stringify(r.body),
      );
    }
  } finally {
    await liar.clearFault();
  }
});

test("one provider dropping sends silently: every transfer confirmed, balances moved by exactly what was sent", async () => {
  const dropper = net.proxies.get("u2")!;
  const [from] = net.wallets;
  const to = (await generateKeyPairSigner()).address;
  const signatures: string[] = [];
  for (let i = 0; i < 5; i++) {
    const { wire, signature } = await transfer(from!, to, 1_000_000_000n + BigInt(i));
    // It says it took the transaction, and drops it.
    await dropper.setFault({
      fault: { kind: "status", status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, result: signature }) },
      methods: ["sendTransaction"],
    });
    const sent = await net.rpc("sendTransaction", [wire, { encoding: "base64" }]);
    assert.equal(sent.body.result, signature);
    signatures.push(signature);
    await net.advance(1);
  }
  await dropper.clearFault();
  await net.advance(6);
  const statuses = await net.rpc("getSignatureStatuses", [signatures]);
  const value = (statuses.body.result as { value: ({ confirmationStatus: string } | null)[] }).value;
  assert.deepEqual(
    value.map((s) => s?.confirmationStatus),
    signatures.map(() => "finalized"),
  );
  const balance = await net.rpc("getBalance", [to]);
  assert.equal((balance.body.result as { value: number }).value, 5_000_000_000 + 0 + 1 + 2 + 3 + 4);
});

test("every provider down: an error carrying the last agreed value and its slot, never 0", async () => {
  const wallet = net.wallets[1]!.address;
  const before = await net.rpc("getBalance", [wallet, { commitment: "finalized" }]);
  const known = before.body.result as { context: { slot: number }; value: number };
  for (const p of net.proxies.values()) await p.setFault({ kind: "down" });
  try {
    const r = await net.rpc("getBalance", [wallet, { commitment: "finalized" }]);
    assert.equal(r.body.result, undefined);
    assert.equal(r.body.error?.code, -32099);
    const data = r.body.error?.data as {
      multihomeCode: string;
      lastKnownGood: { value: unknown; slot: number; ageSeconds: number };
    };
    assert.equal(data.multihomeCode, "unavailable");
    assert.deepEqual(data.lastKnownGood.value, known);
    assert.equal(data.lastKnownGood.slot, known.context.slot);
    assert.equal(typeof data.lastKnownGood.ageSeconds, "number");
    assert.equal(r.headers.get("multihome-verified"), "none");
    // Opted into staleness: the last agreed value is the answer, labelled with its age.
    const stale = await fetch(net.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "multihome-max-staleness": "3600" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "getBalance",
        params: [wallet, { commitment: "finalized" }],
      }),
    });
    assert.deepEqual(((await stale.json()) as { result: unknown }).result, known);
    assert.equal(stale.headers.get("multihome-slot"), String(known.context.slot));
    assert.match(stale.headers.get("multihome-stale") ?? "", /^\d+$/);
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
  }
  await waitFor(async () => (await net.rpc("getBalance", [wallet])).body.result !== undefined, {
    timeoutMs: 10_000,
    what: "reads to be served again",
  });
});

/** A fault that says the transaction was taken, and drops it. */
const dropSend = (signature: string) => ({
  fault: { kind: "status" as const, status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, result: signature }) },
  methods: ["sendTransaction"],
});

async function outboxStatus(signature: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const base = net.rpcUrl.replace(/\/rpc\/solana\/.*$/, "");
  const res = await fetch(`${base}/v1/solana/localnet/transactions/${signature}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test("every provider drops the first broadcast: the outbox sends it again until it is finalized", async () => {
  const to = (await generateKeyPairSigner()).address;
  const { wire, signature } = await transfer(net.wallets[0]!, to, 3_000_000_000n);
  for (const p of net.proxies.values()) await p.setFault(dropSend(signature));
  const sent = await net.rpc("sendTransaction", [wire, { encoding: "base64" }]);
  assert.equal(sent.body.result, signature);
  await net.advance(2);
  assert.equal((await outboxStatus(signature)).body.status, "pending", "nobody has it yet");
  for (const p of net.proxies.values()) await p.clearFault();
  // The outbox rebroadcasts on its own; the slots go on until it is final.
  await waitFor(
    async () => {
      await net.advance(1);
      return (await outboxStatus(signature)).body.status === "finalized";
    },
    { timeoutMs: 15_000, what: "the dropped transaction to be rebroadcast and finalized" },
  );
  const status = (await outboxStatus(signature)).body;
  assert.ok((status.broadcasts as number) >= 2, JSON.stringify(status));
  assert.equal(status.encoded, undefined, "the status does not echo the transaction");
  const balance = await net.rpc("getBalance", [to]);
  assert.equal((balance.body.result as { value: number }).value, 3_000_000_000);
  assert.equal((await outboxStatus("1".repeat(88))).status, 404);
});

test("a transaction nobody takes until its blockhash expired is given up as expired, by agreement", async () => {
  const to = (await generateKeyPairSigner()).address;
  const { wire, signature } = await transfer(net.wallets[0]!, to, 1_000_000_000n);
  for (const p of net.proxies.values()) await p.setFault(dropSend(signature));
  try {
    await net.rpc("sendTransaction", [wire, { encoding: "base64" }]);
    // 150 slots is a blockhash's life.
    await net.advance(160);
    await waitFor(async () => (await outboxStatus(signature)).body.status === "expired", {
      timeoutMs: 10_000,
      what: "the transaction to be given up as expired",
    });
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
  }
  await net.advance(2);
  const balance = await net.rpc("getBalance", [to, { commitment: "processed" }]);
  assert.equal((balance.body.result as { value: number }).value, 0, "never landed");
});

test("a drill takes a domain down for Solana too: reads are served by the others and the drilled upstream is not asked", async () => {
  const wallet = net.wallets[1]!.address;
  const drilled = net.proxies.get("u2")!;
  const drill = net.app.engine.startDrill({ hosting: "gcp" }, 60_000);
  assert.ok("id" in drill, JSON.stringify(drill));
  drilled.resetStats();
  try {
    for (let i = 0; i < 10; i++) {
      const r = await net.rpc("getBalance", [wallet, { commitment: "confirmed" }]);
      assert.equal((r.body.result as { value?: number } | undefined)?.value, Number(FUNDED_LAMPORTS));
    }
    assert.equal(drilled.stats().requests, 0, "the drilled domain's upstream was not reached");
    const report = net.app.engine.activity.drills().find((d) => d.id === drill.id)!;
    assert.deepEqual(report.upstreams, ["u2"]);
    assert.ok(report.during.requests >= 10 && report.during.failed === 0, JSON.stringify(report.during));
  } finally {
    net.app.engine.activity.stopDrill(drill.id);
  }
});

test("the operator's overview shows the cluster like a chain: its agreed slots, every upstream's health and slot", async () => {
  const slot = await net.advance(1);
  // The agreed slot needs two domains; the overview is read once the others have reported it too.
  const caughtUp = () =>
    net.app.engine
      .solanaStatus()[0]!
      .upstreams.filter((u) => !u.cordoned)
      .every((u) => u.head === slot);
  await waitFor(caughtUp, {
    timeoutMs: 5_000,
    what: `every upstream not cordoned at slot ${slot}`,
  });
  const overview = overviewOf(net.app.engine, Date.now());
  const cluster = overview.chains.find((c) => c.chainId === "solana/localnet")!;
  assert.equal(cluster.head?.number, slot);
  assert.equal(cluster.slots?.processed, slot);
  // An upstream cordoned by an earlier test's lies is shown so, with why; every other is healthy at the slot.
  const cordoned = cluster.upstreams.filter((u) => u.health === "cordoned");
  for (const u of cordoned) assert.match(u.cordonReason ?? "", /failed agreement/);
  const others = cluster.upstreams.filter((u) => u.health !== "cordoned");
  assert.ok(others.length >= 3);
  // (one just back from the drill above may still be on probation: degraded, not down)
  assert.deepEqual(
    others.map((u) => [u.health === "healthy" || u.health === "degraded", u.head]),
    others.map(() => [true, slot]),
  );
  assert.ok(overview.concentration.upstreams.byHosting.length === 4);
});

test("token reads a wallet makes are agreed at one slot: balance, accounts by owner, supply, program accounts", async () => {
  const [payer] = net.wallets;
  const mint = await generateKeyPairSigner();
  const holder = await generateKeyPairSigner();
  const owner = (await generateKeyPairSigner()).address;
  const { blockhash } = (
    (await net.rpc("getLatestBlockhash", [{ commitment: "confirmed" }])).body.result as {
      value: { blockhash: string };
    }
  ).value;
  const wire = await signedMintSetup({
    payer: payer!,
    mint,
    decimals: 6,
    holders: [{ account: holder, owner, amount: 1_500_000n }],
    blockhash,
  });
  assert.equal(typeof (await net.rpc("sendTransaction", [wire, { encoding: "base64" }])).body.result, "string");
  await net.advance(6);
  const calls: [string, unknown[]][] = [
    ["getTokenAccountBalance", [holder.address]],
    ["getTokenAccountsByOwner", [owner, { mint: mint.address }, { encoding: "base64" }]],
    ["getTokenSupply", [mint.address]],
    [
      "getProgramAccounts",
      [TOKEN_PROGRAM, { encoding: "base64", filters: [{ dataSize: 165 }, { memcmp: { offset: 32, bytes: owner } }] }],
    ],
  ];
  for (const [method, params] of calls) {
    const r = await net.rpc(method, params);
    assert.equal(r.headers.get("multihome-verified"), "quorum", `${method}: ${JSON.stringify(r.body).slice(0, 200)}`);
    const truth = await net.direct(method, params);
    // A node's own answer may be at a later slot: the values must be the same.
    const value = (x: unknown) =>
      x && typeof x === "object" && "context" in x ? (x as unknown as { value: unknown }).value : x;
    assert.deepEqual(value(r.body.result), value(truth), method);
  }
  const balance = (await net.rpc("getTokenAccountBalance", [holder.address])).body.result as {
    value: { amount: string };
  };
  assert.equal(balance.value.amount, "1500000");
  const program = (
    await net.rpc("getProgramAccounts", [
      TOKEN_PROGRAM,
      { encoding: "base64", filters: [{ memcmp: { offset: 32, bytes: owner } }] },
    ])
  ).body.result;
  assert.ok(Array.isArray(program) && program.length === 1, "a plain array, as the client asked no context");
});

test("a refusal from one domain is not the chain's answer: the send is held and lands once the others are back", async () => {
  const to = (await generateKeyPairSigner()).address;
  const { wire, signature } = await transfer(net.wallets[0]!, to, 1_000_000_000n);
  // One provider refuses it (as a liar could); every other domain is unreachable.
  await net.proxies.get("u1")!.setFault({
    fault: { kind: "rpcError", code: -32002, message: "Transaction simulation failed: Blockhash not found" },
    methods: ["sendTransaction"],
  });
  for (const id of ["u2", "u3", "u4"]) await net.proxies.get(id)!.setFault({ kind: "down" });
  try {
    const sent = await net.rpc("sendTransaction", [wire, { encoding: "base64" }]);
    assert.equal(sent.body.error?.code, -32099, JSON.stringify(sent.body));
    assert.equal((await outboxStatus(signature)).body.status, "pending", "held, not given up on one domain's word");
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
  }
  await waitFor(
    async () => {
      await net.advance(1);
      return (await outboxStatus(signature)).body.status === "finalized";
    },
    { timeoutMs: 15_000, what: "the held transaction to be sent again and finalized" },
  );
});

test("a refusal independent domains agree on is the chain's answer, and the outbox never sends it again", async () => {
  const to = (await generateKeyPairSigner()).address;
  // More than the wallet holds: every node's preflight refuses it.
  const { wire, signature } = await transfer(net.wallets[0]!, to, 10n ** 15n);
  const sent = await net.rpc("sendTransaction", [wire, { encoding: "base64" }]);
  assert.equal(sent.body.error?.code, -32002, JSON.stringify(sent.body).slice(0, 300));
  assert.equal(sent.headers.get("multihome-verified"), "quorum");
  assert.equal((await outboxStatus(signature)).body.status, "rejected");
  await net.advance(6);
  const status = (await net.rpc("getSignatureStatuses", [[signature]])).body.result as { value: unknown[] };
  assert.deepEqual(status.value, [null], "never landed (a failed transaction would have paid its fee)");
});
