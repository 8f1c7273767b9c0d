/**
 * Client parity: the same read and send scenarios, with the same assertions, through four real clients — viem and
 * ethers against the gateway's URL (the server path), and viem and ethers over the embedded engine (`multihome()`
 * transport, `createEip1193Provider`), whose upstreams are that gateway next to the devnet's providers directly.
 * Then what only the embedded path can show: every answer carries its evidence, a lying provider changes nothing,
 * and a total outage is an error carrying the last verified value — never a zero.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BrowserProvider, JsonRpcProvider } from "ethers";
import { type Address, type Chain, createPublicClient, defineChain, type Hex, http, type PublicClient } from "viem";
import { createEip1193Provider } from "../src/client/eip1193.ts";
import { type ClientUpstream, createMultihome, type EvidenceEvent, type Multihome } from "../src/client/multihome.ts";
import { multihome } from "../src/client/viem.ts";
import type { FailureDomain } from "../src/core/domains/domain.ts";
import { type BlockView, type ClientUnderTest, ethersClient, lower, viemClient } from "./harness/clients.ts";
import { EMITTER_INIT, EMITTER_TOPIC } from "./harness/contracts.ts";
import { type FaultProxy, startFaultProxy } from "./harness/fault-proxy.ts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { devSender } from "./harness/sender.ts";
import { waitFor } from "./harness/wait.ts";

/** Stores 42 in slot 0; its runtime returns 42 as one 32-byte word. */
const STORE42_INIT = "0x602a600055600a6011600039600a6000f3602a60005260206000f3" as Hex;
const STORE42_RUNTIME = "0x602a60005260206000f3" as Hex;
const WORD_42 = `0x${"2a".padStart(64, "0")}` as Hex;
/** Where the gateway runs: its own operator, cloud and region, independent of every direct provider's. */
const GATEWAY_DOMAIN: FailureDomain = { operator: "multihome", hosting: "azure", region: "westeurope" };
/** Head polling as fast as the test network's gateway polls its upstreams, so a mined block is seen quickly. */
const CLIENT_SETTINGS = { health: { headPollIntervalMs: 250 } };
const SYNC_TIMEOUT_MS = 10_000;
/** Account state an embedded engine proves with `eth_getProof` when asked at a block it can anchor. */
const PROVEN_STATE = new Set(["eth_getBalance", "eth_getTransactionCount", "eth_getCode", "eth_getStorageAt"]);

/** The test network's upstreams seen from a client: the gateway (`gatewayUrl`) and the devnet providers directly. */
function clientUpstreams(net: TestNetwork, gatewayUrl = net.rpcUrl): ClientUpstream[] {
  return [
    { id: "gateway", url: gatewayUrl, domain: GATEWAY_DOMAIN },
    ...net.devnet.nodes.map((n) => ({ id: n.id, url: net.proxies.get(n.id)!.url, domain: n.domain })),
  ];
}

function devnetChain(net: TestNetwork): Chain {
  return defineChain({
    id: net.chainId,
    name: "devnet",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [net.rpcUrl] } },
  });
}

/** Resolves once the engine's agreed head is the devnet's head. */
async function engineSynced(mh: Multihome, net: TestNetwork): Promise<void> {
  await waitFor(() => mh.status().head?.number === net.devnet.head(), {
    timeoutMs: SYNC_TIMEOUT_MS,
    what: "the embedded engine's agreed head to reach the devnet head",
  });
}

// --- the world the scenarios read ----------------------------------------------------------------------------------

interface World {
  net: TestNetwork;
  /** STORE42 contract. */
  contract: Address;
  /** The STORE42 deployment. */
  deployTx: Hex;
  /** The EMITTER deployment: one log with EMITTER_TOPIC. */
  emitTx: Hex;
  emitBlock: bigint;
  /** A funded account nothing sends from or to during the tests. */
  idle: Address;
}

interface RpcTx {
  hash: Hex;
  from: Address;
  to: Address | null;
  value: Hex;
  nonce: Hex;
  blockNumber: Hex;
  blockHash: Hex;
}

interface RpcReceipt {
  status: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  gasUsed: Hex;
  contractAddress: Address | null;
  logs: { address: Address; topics: Hex[]; data: Hex; blockNumber: Hex; transactionHash: Hex }[];
}

interface RpcBlock {
  number: Hex;
  hash: Hex;
  parentHash: Hex;
  timestamp: Hex;
  baseFeePerGas: Hex;
  transactions: Hex[];
}

const hex = (n: bigint | number) => `0x${n.toString(16)}`;

/** The ground truth: straight from the first devnet node, bypassing proxies, gateway and engine. */
const truth = {
  block: async (w: World, n: bigint) => (await w.net.direct("eth_getBlockByNumber", [hex(n), false])) as RpcBlock,
  receipt: async (w: World, h: Hex) => (await w.net.direct("eth_getTransactionReceipt", [h])) as RpcReceipt,
  tx: async (w: World, h: Hex) => (await w.net.direct("eth_getTransactionByHash", [h])) as RpcTx,
  quantity: async (w: World, method: string, params: unknown[]) => BigInt((await w.net.direct(method, params)) as Hex),
};

function assertBlock(actual: BlockView, expected: RpcBlock): void {
  assert.deepEqual(actual, {
    number: BigInt(expected.number),
    hash: expected.hash,
    parentHash: expected.parentHash,
    timestamp: BigInt(expected.timestamp),
    transactions: expected.transactions,
  });
}

interface Scenario {
  name: string;
  run(client: ClientUnderTest, w: World): Promise<void>;
}

/** One table, run unchanged against every client: parity is the point. */
const READS: Scenario[] = [
  {
    name: "chain id",
    async run(c, w) {
      assert.equal(await c.chainId(), w.net.chainId);
    },
  },
  {
    name: "block number",
    async run(c, w) {
      assert.equal(await c.blockNumber(), BigInt(w.net.devnet.head()));
    },
  },
  {
    name: "balance",
    async run(c, w) {
      const expected = await truth.quantity(w, "eth_getBalance", [w.idle, "latest"]);
      assert.ok(expected > 0n);
      assert.equal(await c.balance(w.idle), expected);
    },
  },
  {
    name: "balance at an older block",
    async run(c, w) {
      const expected = await truth.quantity(w, "eth_getBalance", [w.idle, "0x1"]);
      assert.equal(await c.balance(w.idle, 1n), expected);
    },
  },
  {
    name: "nonce",
    async run(c, w) {
      const deployer = (await truth.tx(w, w.deployTx)).from;
      assert.equal(await c.nonce(deployer), 2, "the deployer sent two transactions");
      assert.equal(await c.nonce(w.idle), 0);
    },
  },
  {
    name: "code",
    async run(c, w) {
      assert.equal(await c.code(w.contract), STORE42_RUNTIME);
      assert.equal(await c.code(w.idle), "0x");
    },
  },
  {
    name: "storage slot",
    async run(c, w) {
      assert.equal(BigInt(await c.storage(w.contract, 0n)), 42n);
      assert.equal(BigInt(await c.storage(w.contract, 1n)), 0n);
    },
  },
  {
    name: "eth_call of a deployed contract",
    async run(c, w) {
      assert.equal(await c.call(w.contract, "0x"), WORD_42);
    },
  },
  {
    name: "block by number and by hash",
    async run(c, w) {
      const expected = await truth.block(w, w.emitBlock);
      assert.ok(expected.transactions.length >= 1);
      const byNumber = await c.blockByNumber(w.emitBlock);
      assertBlock(byNumber, expected);
      assertBlock(await c.blockByHash(expected.hash), expected);
    },
  },
  {
    name: "transaction",
    async run(c, w) {
      const expected = await truth.tx(w, w.deployTx);
      assert.deepEqual(await c.transaction(w.deployTx), {
        hash: expected.hash,
        from: lower(expected.from),
        to: null,
        value: BigInt(expected.value),
        nonce: Number(expected.nonce),
        blockNumber: BigInt(expected.blockNumber),
        blockHash: expected.blockHash,
      });
    },
  },
  {
    name: "receipt",
    async run(c, w) {
      for (const hash of [w.deployTx, w.emitTx]) {
        const expected = await truth.receipt(w, hash);
        assert.deepEqual(await c.receipt(hash), {
          status: "success",
          blockNumber: BigInt(expected.blockNumber),
          blockHash: expected.blockHash,
          gasUsed: BigInt(expected.gasUsed),
          contractAddress: expected.contractAddress ? lower(expected.contractAddress) : null,
          logs: expected.logs.length,
        });
      }
    },
  },
  {
    name: "getLogs over a small range",
    async run(c, w) {
      const expected = (await truth.receipt(w, w.emitTx)).logs;
      assert.equal(expected.length, 1);
      const logs = await c.logs(w.emitBlock - 1n, w.emitBlock + 1n, EMITTER_TOPIC);
      assert.deepEqual(
        logs,
        expected.map((l) => ({
          address: lower(l.address),
          topics: l.topics,
          data: l.data,
          blockNumber: BigInt(l.blockNumber),
          transactionHash: l.transactionHash,
        })),
      );
      // A range with no matching log is an empty list, not an error.
      assert.deepEqual(await c.logs(1n, 1n, EMITTER_TOPIC), []);
    },
  },
  {
    name: "estimateGas",
    async run(c, w) {
      assert.equal(await c.estimateGas(c.sender, w.idle, 1n), 21_000n);
    },
  },
  {
    name: "fee data",
    async run(c, w) {
      const fees = await c.fees();
      const head = await truth.block(w, BigInt(w.net.devnet.head()));
      // Suggested from the proven recent blocks, as go-ethereum does: the tip they paid (1 gwei here, as the node's
      // own suggestion), the gas price that plus the head's base fee (the node adds the next block's).
      assert.equal(fees.maxPriorityFeePerGas, await truth.quantity(w, "eth_maxPriorityFeePerGas", []));
      assert.equal(fees.gasPrice, fees.maxPriorityFeePerGas + BigInt(head.baseFeePerGas));
      // viem and ethers differ in the headroom they add over the base fee, but both cover base fee plus tip.
      assert.ok(fees.maxFeePerGas >= BigInt(head.baseFeePerGas) + fees.maxPriorityFeePerGas, String(fees.maxFeePerGas));
    },
  },
];

const SEND: Scenario = {
  name: "send: a locally signed value transfer is mined, succeeds and moves exactly the value",
  async run(c, w) {
    const value = 1_234_567_891n;
    // A fresh recipient per client, so no other send can move its balance.
    const recipient = lower(`0x${"c1"}${c.sender.slice(4)}` as Address);
    const nonceBefore = await c.nonce(c.sender);
    const hash = await c.sendValue(recipient, value);
    assert.match(hash, /^0x[0-9a-f]{64}$/);
    await w.net.devnet.mine();
    const receipt = await waitFor(async () => (await c.receipt(hash)) ?? false, {
      timeoutMs: SYNC_TIMEOUT_MS,
      what: `${c.name}: the receipt of ${hash}`,
    });
    assert.equal(receipt.status, "success");
    assert.equal(receipt.gasUsed, 21_000n);
    assert.equal(receipt.blockNumber, BigInt(w.net.devnet.head()));
    const expected = await truth.receipt(w, hash);
    assert.equal(receipt.blockHash, expected.blockHash);
    const before = await c.balance(recipient, receipt.blockNumber - 1n);
    const afterSend = await c.balance(recipient, receipt.blockNumber);
    assert.equal(afterSend - before, value);
    const tx = await c.transaction(hash);
    assert.equal(tx.value, value);
    assert.equal(tx.from, lower(c.sender));
    assert.equal(tx.to, recipient);
    assert.equal(tx.nonce, nonceBefore);
    // And "latest" catches up with it once the client has seen the block.
    await waitFor(
      async () => (await c.balance(recipient)) === afterSend && (await c.nonce(c.sender)) === nonceBefore + 1,
      {
        timeoutMs: SYNC_TIMEOUT_MS,
        what: `${c.name}: latest balance and nonce after the send`,
      },
    );
  },
};

// --- parity ------------------------------------------------------------------------------------------------------

describe("four clients, one table", () => {
  /** Set as soon as it starts, so `after` stops it even when the rest of the setup fails. */
  let net: TestNetwork | undefined;
  let w: World;
  let chain: Chain;
  const clients: ClientUnderTest[] = [];
  let embeddedViem: Multihome;
  let embeddedEthers: Multihome;
  /** Every answer the embedded engines gave the clients, with its evidence. */
  const answers: EvidenceEvent[] = [];

  before(async () => {
    net = await startTestNetwork();
    chain = devnetChain(net);
    const deployer = devSender(net, 5);
    const deployTx = await deployer({ data: STORE42_INIT });
    await net.devnet.mine();
    const emitTx = await deployer({ data: EMITTER_INIT });
    await net.devnet.mine();
    const deployed = (await net.direct("eth_getTransactionReceipt", [deployTx])) as RpcReceipt;
    const emitted = (await net.direct("eth_getTransactionReceipt", [emitTx])) as RpcReceipt;
    assert.equal(deployed.status, "0x1");
    assert.equal(emitted.status, "0x1");
    await net.devnet.mine();
    w = {
      net,
      contract: deployed.contractAddress!,
      deployTx,
      emitTx,
      emitBlock: BigInt(emitted.blockNumber),
      idle: net.devnet.accounts[7]!.address,
    };
    await net.synced();

    const keys = net.devnet.accounts.map((a) => a.privateKey);
    const serverViem = viemClient("server viem", chain, http(net.rpcUrl, { retryCount: 0 }), keys[0]!, async () => {});
    const jsonRpc = new JsonRpcProvider(net.rpcUrl, net.chainId, { staticNetwork: true });
    const serverEthers = ethersClient("server ethers", jsonRpc, keys[1]!, async () => jsonRpc.destroy());
    const transport = multihome({ upstreams: clientUpstreams(net), settings: CLIENT_SETTINGS });
    const embedded = viemClient("embedded viem", chain, transport, keys[2]!, async () => embeddedViem.close());
    embeddedViem = (embedded.public.transport as unknown as { multihome: Multihome }).multihome;
    embeddedEthers = createMultihome({
      chainId: net.chainId,
      upstreams: clientUpstreams(net),
      settings: CLIENT_SETTINGS,
    });
    const browser = new BrowserProvider(createEip1193Provider(embeddedEthers));
    const embeddedEthersClient = ethersClient("embedded ethers", browser, keys[3]!, async () => {
      browser.destroy();
      await embeddedEthers.close();
    });
    clients.push(serverViem, serverEthers, embedded, embeddedEthersClient);
    for (const mh of [embeddedViem, embeddedEthers]) mh.onAnswer((event) => answers.push(event));
    for (const mh of [embeddedViem, embeddedEthers]) {
      const { ready, status } = await mh.ready(SYNC_TIMEOUT_MS);
      assert.ok(ready, JSON.stringify(status));
      await engineSynced(mh, net);
    }
  });

  after(async () => {
    for (const c of clients) await c.close();
    await net?.stop();
  });

  for (const scenario of READS) {
    describe(scenario.name, () => {
      for (const name of ["server viem", "server ethers", "embedded viem", "embedded ethers"]) {
        test(name, async () => {
          const client = clients.find((c) => c.name === name)!;
          await scenario.run(client, w);
        });
      }
    });
  }

  test("the embedded engine's answers carry their evidence: a balance is proven at a block, by named domains", async () => {
    for (const mh of [embeddedViem, embeddedEthers]) {
      const answer = await mh.call({ method: "eth_getBalance", params: [w.idle, "latest"] });
      assert.ok(answer.ok, JSON.stringify(answer));
      assert.equal(answer.result, await w.net.direct("eth_getBalance", [w.idle, "latest"]));
      assert.equal(answer.evidence.verified, "proof");
      assert.equal(answer.evidence.blockNumber, w.net.devnet.head());
      assert.match(answer.evidence.blockHash ?? "", /^0x[0-9a-f]{64}$/);
      const domains = answer.evidence.domains ?? [];
      assert.ok(domains.length >= 2, JSON.stringify(answer.evidence));
      const known = ["azure/westeurope", ...w.net.devnet.nodes.map((n) => `${n.domain.hosting}/${n.domain.region}`)];
      for (const d of domains) assert.ok(known.includes(d), `unknown domain ${d}`);
    }
  });

  describe(SEND.name, () => {
    for (const name of ["server viem", "server ethers", "embedded viem", "embedded ethers"]) {
      test(name, async () => {
        const client = clients.find((c) => c.name === name)!;
        await SEND.run(client, w);
      });
    }
  });

  test("what the embedded clients were told was checked: state and blocks by proof, and every answer says how", (t) => {
    const byMethod = new Map<string, Map<string, number>>();
    // How many answers each rule below applied to: a rule that matched none would hold of nothing.
    let stateChecked = 0;
    let blocksChecked = 0;
    for (const { method, params, answer } of answers) {
      const kinds = byMethod.get(method) ?? new Map<string, number>();
      const key = `${answer.ok ? "ok" : `error ${answer.error.code}`}:${answer.evidence.verified}`;
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
      byMethod.set(method, kinds);
      // "pending" has no block to prove against; anything at the head or a mined block (past anvil's genesis) has.
      const tag = Array.isArray(params) ? params[params.length - 1] : undefined;
      const provable = tag === "latest" || (typeof tag === "string" && /^0x[0-9a-f]+$/.test(tag) && BigInt(tag) > 0n);
      if (PROVEN_STATE.has(method) && provable) {
        assert.equal(answer.evidence.verified, "proof", `${method} ${JSON.stringify(params)}`);
        stateChecked++;
      }
      // A block's own tag or hash is its first param (the second is the full-transactions flag).
      const block = Array.isArray(params) ? params[0] : undefined;
      if ((method === "eth_getBlockByNumber" || method === "eth_getBlockByHash") && answer.ok && block !== "pending") {
        assert.equal(answer.evidence.verified, "proof", `${method} ${JSON.stringify(params)}`);
        blocksChecked++;
      }
    }
    const table = [...byMethod].map(([m, kinds]) => `${m} ${JSON.stringify(Object.fromEntries(kinds))}`);
    t.diagnostic(`embedded answers by method:\n${table.join("\n")}`);
    t.diagnostic(`${stateChecked} state answers and ${blocksChecked} block answers checked for proof`);
    assert.ok(answers.length > 50, `${answers.length} answers`);
    // The table above reads balances, nonces, code, storage and blocks through both embedded clients.
    assert.ok(stateChecked >= 8, `only ${stateChecked} state answers were checked for a proof`);
    assert.ok(blocksChecked >= 2, `only ${blocksChecked} block answers were checked for a proof`);
  });
});

// --- honesty under lies and outages ------------------------------------------------------------------------------

describe("the embedded engine under a liar and a total outage (its own network)", () => {
  let net: TestNetwork;
  /** The gateway as the client reaches it: through a fault proxy of its own, so the test can take it away too. */
  let gatewayProxy: FaultProxy;
  let mh: Multihome;
  let viemPublic: PublicClient;
  let browser: BrowserProvider;
  let lastVerified: Hex;
  /** The block the last verified balance was proven at. */
  let lastVerifiedAt: number;
  const proxies = (): FaultProxy[] => [gatewayProxy, ...net.proxies.values()];

  before(async () => {
    net = await startTestNetwork();
    await net.devnet.mine();
    await net.synced();
    gatewayProxy = await startFaultProxy({ target: net.rpcUrl, seed: 7 });
    const chain = devnetChain(net);
    viemPublic = createPublicClient({
      chain,
      cacheTime: 0,
      // No answer cache: every read below must reach the upstreams, the liar among them.
      transport: multihome({
        upstreams: clientUpstreams(net, gatewayProxy.url),
        settings: { ...CLIENT_SETTINGS, cache: { enabled: false } },
      }),
    }) as PublicClient;
    mh = (viemPublic.transport as unknown as { multihome: Multihome }).multihome;
    browser = new BrowserProvider(createEip1193Provider(mh));
    assert.ok((await mh.ready(SYNC_TIMEOUT_MS)).ready);
    await engineSynced(mh, net);
  });

  after(async () => {
    browser?.destroy();
    await mh?.close();
    await gatewayProxy?.close();
    await net?.stop();
  });

  test("a direct provider that lies about a balance does not change what the client returns", async (t) => {
    const victim = net.devnet.accounts[4]!.address;
    const honest = (await net.direct("eth_getBalance", [victim, "latest"])) as Hex;
    assert.equal(await viemPublic.getBalance({ address: victim }), BigInt(honest));
    // u3 alone now says the account is empty, and builds a self-consistent block on that.
    const liar = net.devnet.nodes.findIndex((n) => n.id === "u3");
    await net.direct("anvil_setBalance", [victim, "0x0"], liar);
    await net.devnet.mine();
    assert.equal(await net.direct("eth_getBalance", [victim, "latest"], liar), "0x0");
    await engineSynced(mh, net);
    // Every honest upstream (the gateway too) is slowed, so the liar is the fastest and is asked first.
    const liarProxy = net.proxies.get("u3")!;
    const honestProxies = proxies().filter((p) => p !== liarProxy);
    liarProxy.resetStats();
    try {
      for (const p of honestProxies) await p.setFault({ kind: "latency", ms: 150 });
      // Bounded: read until the liar has been caught often enough to be cordoned (it takes a few disputes).
      const cordoned = () => mh.status().upstreams.find((u) => u.id === "u3")?.cordoned === true;
      for (let i = 0; i < 5 || (!cordoned() && i < 40); i++) {
        assert.equal(await viemPublic.getBalance({ address: victim }), BigInt(honest));
        assert.equal(await browser.getBalance(victim), BigInt(honest));
      }
    } finally {
      for (const p of honestProxies) await p.clearFault();
    }
    const asked = liarProxy.stats().byMethod;
    const u3 = mh.status().upstreams.find((u) => u.id === "u3")!;
    t.diagnostic(`liar asked ${JSON.stringify(asked)}; its status ${JSON.stringify(u3)}`);
    assert.ok((asked["eth_getProof"] ?? 0) + (asked["eth_getBalance"] ?? 0) >= 1, "the liar was asked for the balance");
    assert.ok(u3.cordoned, "a provider caught lying is cordoned");
    assert.match(u3.cordonReason ?? "", /failed verification/);
    const answer = await mh.call({ method: "eth_getBalance", params: [victim, "latest"] });
    assert.ok(answer.ok);
    assert.equal(answer.result, honest);
    assert.equal(answer.evidence.verified, "proof");
    assert.ok(!(answer.evidence.domains ?? []).includes("hetzner/eu-central"), JSON.stringify(answer.evidence));
    lastVerified = honest;
    lastVerifiedAt = answer.evidence.blockNumber!;
    assert.equal(lastVerifiedAt, net.devnet.head());
  });

  test("a total outage: viem rejects with -32002 carrying the last verified balance, never 0n; stale on opt-in", async () => {
    const victim = net.devnet.accounts[4]!.address;
    assert.ok(lastVerified, "the liar test ran first and proved the balance");
    try {
      for (const p of proxies()) await p.setFault({ kind: "down" });
      await waitFor(() => !mh.status().ready, { timeoutMs: SYNC_TIMEOUT_MS, what: "the engine to notice the outage" });

      const outcome = await viemPublic.getBalance({ address: victim }).then(
        (value) => ({ resolved: value }),
        (error: unknown) => ({ rejected: error }),
      );
      assert.ok("rejected" in outcome, `getBalance resolved ${String((outcome as { resolved: bigint }).resolved)}`);
      const rpc = rpcErrorIn(outcome.rejected);
      assert.ok(rpc, `no JSON-RPC error in the cause chain: ${String(outcome.rejected)}`);
      assert.equal(rpc.code, -32002);
      const lkg = (
        rpc.data as {
          lastKnownGood?: { value: unknown; blockNumber: number; blockHash: string; ageSeconds: number };
        }
      ).lastKnownGood;
      assert.ok(lkg, JSON.stringify(rpc.data));
      // What was proven: the value, at the block it was proven at, that block's hash on the chain.
      assert.equal(lkg.value, lastVerified);
      assert.equal(lkg.blockNumber, lastVerifiedAt);
      const provenBlock = (await net.direct("eth_getBlockByNumber", [`0x${lastVerifiedAt.toString(16)}`, false])) as {
        hash: string;
      };
      assert.equal(lkg.blockHash, provenBlock.hash);
      assert.equal(typeof lkg.ageSeconds, "number");

      // ethers does not know -32002 ("could not coalesce error") but keeps the JSON-RPC error, data and all.
      await assert.rejects(browser.getBalance(victim), (error: Error) => {
        const inner = (error as { error?: { code?: number; data?: { lastKnownGood?: { value?: unknown } } } }).error;
        assert.equal(inner?.code, -32002, error.message.slice(0, 300));
        assert.equal(inner?.data?.lastKnownGood?.value, lastVerified);
        return true;
      });

      const stale = await mh.request(
        { method: "eth_getBalance", params: [victim, "latest"] },
        { maxStalenessSeconds: 3600 },
      );
      assert.equal(stale, lastVerified);
      const answer = await mh.call(
        { method: "eth_getBalance", params: [victim, "latest"] },
        { maxStalenessSeconds: 3600 },
      );
      assert.ok(answer.ok, JSON.stringify(answer));
      assert.equal(answer.result, lastVerified);
      assert.equal(answer.evidence.blockNumber, lastVerifiedAt, "stale, labelled with the block it was proven at");
      assert.equal(typeof answer.evidence.staleSeconds, "number");
      assert.ok(answer.evidence.staleSeconds! >= 0);
    } finally {
      for (const p of proxies()) await p.clearFault();
    }
  });
});

/** The first `{ code: number }` error on viem's `cause` chain that carries JSON-RPC `data`. */
function rpcErrorIn(error: unknown): { code: number; data: unknown } | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    const candidate = e as { code?: unknown; data?: unknown; cause?: unknown };
    if (typeof candidate.code === "number" && candidate.data !== undefined) {
      return { code: candidate.code, data: candidate.data };
    }
    e = candidate.cause;
  }
  return undefined;
}
