/**
 * Verified state reads on real anvil nodes (FAULTS A13, A14): balances, nonces, code and storage come from proofs
 * checked against a state root independent domains agree on; liars and forgers are rejected and cordoned.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createWalletClient, defineChain, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { makeBalanceLiar } from "./harness/reads.ts";

/** Stores 42 in slot 0; its runtime returns 42. */
const CONTRACT_INIT = "0x602a600055600a6011600039600a6000f3602a60005260206000f3";
const NEVER_USED = "0x000000000000000000000000000000000000dEaD";

let net: TestNetwork;
let contract: `0x${string}`;

before(async () => {
  // Every read must reach the upstreams here (the liars are the point): no cache.
  net = await startTestNetwork({ config: { verification: { disputesToCordon: 3 }, cache: { enabled: false } } });
  const chain = defineChain({
    id: net.chainId,
    name: "devnet",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [net.rpcUrl] } },
  });
  const wallet = createWalletClient({
    account: privateKeyToAccount(net.devnet.accounts[5]!.privateKey),
    chain,
    transport: http(net.devnet.nodes[0]!.url),
  });
  const hash = await wallet.deployContract({ abi: [], bytecode: CONTRACT_INIT });
  await net.devnet.mine();
  const receipt = (await net.direct("eth_getTransactionReceipt", [hash])) as { contractAddress: `0x${string}` };
  contract = receipt.contractAddress;
  await net.synced();
});
after(async () => {
  await net?.stop();
});

describe("proven reads", () => {
  test("a balance is served from a verified proof, with evidence", async () => {
    const address = net.devnet.accounts[0]!.address;
    const r = await net.rpc("eth_getBalance", [address, "latest"]);
    assert.equal(r.headers.get("multihome-verified"), "proof");
    assert.equal(r.headers.get("multihome-block"), String(net.devnet.head()));
    assert.equal(r.body.result, await net.direct("eth_getBalance", [address, "latest"]));
  });

  test("proven reads count as traffic served by the upstreams that supplied the proofs (what the dashboard shows)", async () => {
    const before = net.app.engine.activity.traffic();
    const proofsBefore = new Map([...net.proxies].map(([id, p]) => [id, p.stats().byMethod.eth_getProof ?? 0]));
    const reads = 12;
    for (let i = 0; i < reads; i++) await net.rpc("eth_getBalance", [net.devnet.accounts[i % 10]!.address, "latest"]);
    const after = net.app.engine.activity.traffic();
    const served = [...after].map(([id, n]) => [id, n - (before.get(id) ?? 0)] as const);
    const proofs = [...net.proxies].map(([id, p]) => [
      id,
      (p.stats().byMethod.eth_getProof ?? 0) - proofsBefore.get(id)!,
    ]);
    assert.equal(
      served.reduce((sum, [, n]) => sum + n, 0),
      reads,
      `every proven read is counted once: ${JSON.stringify(served)}`,
    );
    // The cache is off here, so each read's proof came from the upstream it is counted for.
    for (const [id, n] of served) assert.ok(n <= (proofs.find(([p]) => p === id)?.[1] as number), `${id}: ${n}`);
  });

  test("a never-used account is a proven zero", async () => {
    const r = await net.rpc("eth_getBalance", [NEVER_USED, "latest"]);
    assert.equal(r.body.result, "0x0");
    assert.equal(r.headers.get("multihome-verified"), "proof");
    const nonce = await net.rpc("eth_getTransactionCount", [NEVER_USED, "latest"]);
    assert.equal(nonce.body.result, "0x0");
    const code = await net.rpc("eth_getCode", [NEVER_USED, "latest"]);
    assert.equal(code.body.result, "0x");
  });

  test("nonce, code and storage are proven too", async () => {
    const sender = net.devnet.accounts[5]!.address;
    assert.equal((await net.rpc("eth_getTransactionCount", [sender, "latest"])).body.result, "0x1");
    const code = await net.rpc("eth_getCode", [contract, "latest"]);
    assert.equal(code.body.result, "0x602a60005260206000f3");
    assert.equal(code.headers.get("multihome-verified"), "proof");
    const slot0 = await net.rpc("eth_getStorageAt", [contract, "0x0", "latest"]);
    assert.equal(BigInt(slot0.body.result as string), 42n);
    assert.equal(slot0.headers.get("multihome-verified"), "proof");
    const slot1 = await net.rpc("eth_getStorageAt", [contract, "0x1", "latest"]);
    assert.equal(BigInt(slot1.body.result as string), 0n);
  });
});

describe("old blocks", () => {
  test("a read at a block the head polls never saw is proven against a header independent upstreams agree on", async () => {
    await net.devnet.mine(300);
    await net.synced();
    const address = net.devnet.accounts[0]!.address;
    const r = await net.rpc("eth_getBalance", [address, "0x2"]);
    assert.equal(r.headers.get("multihome-verified"), "proof", JSON.stringify(r.body));
    assert.equal(r.headers.get("multihome-block"), "2");
    assert.equal(r.body.result, await net.direct("eth_getBalance", [address, "0x2"]));
  });
});

describe("liars and forgers", () => {
  test("A13: a node whose state was changed (balance set to 0) is never believed, however often it is asked", async (t) => {
    const address = net.devnet.accounts[2]!.address;
    await makeBalanceLiar(net, "u3", address);
    const truth = await net.direct("eth_getBalance", [address, "latest"]);
    assert.notEqual(truth, "0x0");
    await net.synced();
    let wrong = 0;
    const reads = 10_000;
    const clients = 10;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = 0; i < reads / clients; i++) {
          const r = await net.rpc("eth_getBalance", [address, "latest"]);
          if (r.body.result !== truth) wrong++;
        }
      }),
    );
    const status = net.app.engine.readiness().chains[0]!;
    const head = status.head!;
    const liarStatus = status.upstreams.find((u) => u.id === "u3")!;
    t.diagnostic(`A13: liar ${liarStatus.cordonReason ? `cordoned (${liarStatus.cordonReason})` : "not cordoned"}`);
    assert.ok(liarStatus.cordonReason, "the liar is cordoned after a few disputes");
    const liarHead = (await net.direct("eth_getBlockByNumber", ["latest", false], 2)) as {
      hash: string;
      number: string;
    };
    t.diagnostic(
      `A13: ${reads} reads, ${wrong} wrong; liar's head ${liarHead.hash.slice(0, 10)}…, agreed ${head.hash.slice(0, 10)}…`,
    );
    assert.equal(wrong, 0);
    assert.equal(Number(liarHead.number), head.number);
    assert.notEqual(liarHead.hash, head.hash, "the liar's self-consistent block is never anchored");
  });

  test("A14: forged proofs are rejected every time and the forger is cordoned", async (t) => {
    const address = net.devnet.accounts[1]!.address;
    const truth = await net.direct("eth_getBalance", [address, "latest"]);
    const u2 = net.proxies.get("u2")!;
    let forged = 0;
    await u2.setFault({
      fault: {
        kind: "rewrite",
        fn: (_request, response) => {
          const r = response as { result?: { balance?: string; accountProof?: string[] } };
          if (!r.result?.accountProof?.length) return response;
          forged++;
          const proof = [...r.result.accountProof];
          const last = proof[proof.length - 1]!;
          proof[proof.length - 1] = `${last.slice(0, -2)}${last.endsWith("00") ? "01" : "00"}`;
          return { ...r, result: { ...r.result, balance: "0x0", accountProof: proof } };
        },
      },
      methods: ["eth_getProof"],
    });
    try {
      // Routing steers away from an upstream whose answers fail: keep reading (bounded) until the forger has been
      // asked as often as it takes to cordon it.
      for (let i = 0; i < 60 || (forged < 3 && i < 2_000); i++) {
        const r = await net.rpc("eth_getBalance", [address, "latest"]);
        assert.equal(r.body.result, truth, JSON.stringify(r.body));
      }
      const status = net.app.engine.readiness().chains[0]!.upstreams.find((u) => u.id === "u2")!;
      t.diagnostic(`A14: ${forged} forged proofs sent, all rejected; u2: ${status.cordonReason}`);
      assert.ok(forged >= 1, "the forger was asked at least once");
      assert.match(status.cordonReason ?? "", /failed verification/);
    } finally {
      await u2.clearFault();
    }
  });
});

describe("blocks", () => {
  test("a block is checked against its hash and the agreed chain; a forged or empty one is never served", async (t) => {
    // Its own network: the forger here gets cordoned, which must not change the other tests' world.
    const net = await startTestNetwork();
    t.after(() => net.stop());
    await net.devnet.mine(2);
    await net.synced();
    const u1 = net.proxies.get("u1")!;
    const u2 = net.proxies.get("u2")!;
    // The head polls ("latest") are answered honestly, so both liars stay in the running to be asked for blocks; every
    // other block they are asked for, by number or by hash, u1 forges and u2 denies.
    const polled = (request: { params: unknown }) => (request.params as unknown[])[0] === "latest";
    let forged = 0;
    let emptied = 0;
    await u1.setFault({
      fault: {
        kind: "rewrite",
        fn: (request, response) => {
          const r = response as { result?: Record<string, unknown> | null };
          if (!r.result || polled(request)) return response;
          forged++;
          return { ...r, result: { ...r.result, stateRoot: `0x${"11".repeat(32)}` } };
        },
      },
      methods: ["eth_getBlockByNumber", "eth_getBlockByHash"],
    });
    await u2.setFault({
      fault: {
        kind: "rewrite",
        fn: (request, response) => {
          if (polled(request)) return response;
          emptied++;
          return { ...(response as object), result: null };
        },
      },
      methods: ["eth_getBlockByNumber", "eth_getBlockByHash"],
    });
    try {
      // A fresh block per read (a verified one is kept), until both liars have been asked: bounded.
      let reads = 0;
      for (; reads < 20 || ((forged === 0 || emptied === 0) && reads < 100); reads++) {
        const n = await net.devnet.mine();
        await net.synced();
        const tag = `0x${n.toString(16)}`;
        const truth = (await net.direct("eth_getBlockByNumber", [tag, false])) as { hash: string };
        const r = await net.rpc("eth_getBlockByNumber", [tag, false]);
        assert.equal((r.body.result as { hash: string }).hash, truth.hash, JSON.stringify(r.body).slice(0, 200));
        assert.equal(r.headers.get("multihome-verified"), "proof");
      }
      t.diagnostic(`blocks: ${reads} reads, ${forged} forged and ${emptied} emptied answers, none served`);
      assert.ok(forged > 0, "the forger was never asked for a block");
      assert.ok(emptied > 0, "the upstream that denies blocks was never asked for one");
    } finally {
      await u1.clearFault();
      await u2.clearFault();
    }
  });
});

describe("anchoring needs independent domains", () => {
  const oneRegion = [
    { id: "u1", domain: { operator: "vendor-a", hosting: "aws", region: "us-east-1" } },
    { id: "u2", domain: { operator: "vendor-b", hosting: "aws", region: "us-east-1" } },
  ];

  test("upstreams all in one outage domain anchor nothing: proven reads say so instead of answering", async (t) => {
    const single = await startTestNetwork({ nodes: oneRegion });
    t.after(() => single.stop());
    const address = single.devnet.accounts[0]!.address;
    const r = await single.rpc("eth_getBalance", [address, "latest"]);
    assert.equal(r.body.error?.code, -32002, JSON.stringify(r.body));
    assert.match(r.body.error!.message, /not anchored/);
    const block = await single.rpc("eth_getBlockByNumber", ["latest", false]);
    assert.equal(block.body.error?.code, -32002, JSON.stringify(block.body).slice(0, 200));
  });

  test("an operator may anchor on one domain by saying so (verification.anchorMinDomains: 1)", async (t) => {
    const single = await startTestNetwork({ nodes: oneRegion, config: { verification: { anchorMinDomains: 1 } } });
    t.after(() => single.stop());
    const address = single.devnet.accounts[0]!.address;
    const r = await single.rpc("eth_getBalance", [address, "latest"]);
    assert.equal(r.headers.get("multihome-verified"), "proof", JSON.stringify(r.body));
    assert.equal(BigInt(r.body.result as string) > 0n, true);
  });
});

describe("quorum", () => {
  test("a quorum method is served only when independent upstreams agree; the odd one out is disputed", async (t) => {
    const net = await startTestNetwork({
      config: { verification: { methods: { eth_call: "quorum" }, quorumSize: 2 }, cache: { enabled: false } },
    });
    t.after(() => net.stop());
    const call = [{ to: net.devnet.accounts[1]!.address, data: "0x" }, "latest"];
    const honest = await net.rpc("eth_call", call);
    assert.equal(honest.headers.get("multihome-verified"), "quorum");
    assert.equal(honest.body.result, "0x");
    // One liar: the other two still agree, so the truth is served and the liar disputed.
    let lies = 0;
    await net.proxies.get("u1")!.setFault({
      fault: {
        kind: "rewrite",
        fn: (_req, response) => {
          lies++;
          return { ...(response as object), result: "0x1337" };
        },
      },
      methods: ["eth_call"],
    });
    // Which two upstreams witness a call is the router's choice: read (bounded) until the liar has been one.
    for (let i = 0; i < 10 || (lies === 0 && i < 100); i++) {
      const r = await net.rpc("eth_call", call);
      assert.equal(r.body.result, "0x", JSON.stringify(r.body));
    }
    assert.ok(lies > 0, "the liar was never asked");
    const disputed = net.logs.filter(
      (l) =>
        l.includes("answer failed verification") &&
        l.includes('"upstream":"u1"') &&
        l.includes("answer differs from the quorum"),
    );
    t.diagnostic(`quorum: the liar answered ${lies} calls and was disputed ${disputed.length} times`);
    assert.ok(disputed.length > 0, "the odd one out was never disputed");
    // Two liars that agree with each other but are not independent would still not be enough; here two
    // independent upstreams disagree with the third and with each other: no quorum, no answer.
    await net.proxies.get("u2")!.setFault({
      fault: { kind: "rewrite", fn: (_req, response) => ({ ...(response as object), result: "0x4242" }) },
      methods: ["eth_call"],
    });
    const split = await net.rpc("eth_call", call);
    assert.equal(split.body.result, undefined, "no coin flip");
    assert.equal(split.body.error?.code, -32002);
  });
});
