/**
 * Coming back as fast as the providers do, on real anvil nodes behind fault proxies: after a total outage long enough
 * for every breaker's backoff to grow, traffic returns as soon as the head polls find the upstreams answering again,
 * not when the backoff runs out.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { EMITTER_INIT } from "./harness/contracts.ts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { devSender } from "./harness/sender.ts";
import { waitFor } from "./harness/wait.ts";

let net: TestNetwork;
/** Far longer than the test waits for recovery: an upstream that waited out its backoff would fail the test. */
const OPEN_MS = 60_000;

before(async () => {
  net = await startTestNetwork({
    config: { health: { breakerOpenMs: OPEN_MS, breakerMaxOpenMs: 4 * OPEN_MS, breakerFailureThreshold: 2 } },
  });
  await net.devnet.mine();
  await net.synced();
});
after(() => net?.stop());

const breakers = () => net.app.engine.readiness().chains[0]!.upstreams.map((u) => u.breaker);

test("after a total outage, proven reads come back with the first upstreams, whatever their breakers' backoff", async (t) => {
  const address = net.devnet.accounts[1]!.address;
  for (const p of net.proxies.values()) await p.setFault({ kind: "down" });
  // Reads fail until every breaker is open (with a 60 s backoff) and the gateway counts on no upstream.
  await waitFor(
    async () => {
      await net.rpc("eth_getBalance", [address, "latest"]);
      return breakers().every((b) => b === "open") && !net.app.engine.readiness().ready;
    },
    { timeoutMs: 15_000, what: "every breaker to open and readiness to flip" },
  );
  const truth = await net.direct("eth_getBalance", [address, "latest"]);
  const back = Date.now();
  let last = "";
  t.after(() => t.diagnostic(`last answer before recovery was seen: ${last}`));
  for (const p of net.proxies.values()) await p.clearFault();
  await waitFor(
    async () => {
      const r = await net.rpc("eth_getBalance", [address, "latest"]);
      last = `${JSON.stringify(r.body).slice(0, 200)} ${r.headers.get("multihome-verified")} ${breakers().join(",")}`;
      return r.body.result === truth && r.headers.get("multihome-verified") === "proof";
    },
    { timeoutMs: 10_000, what: "a proven balance once the upstreams answer again" },
  );
  t.diagnostic(`proven reads back ${Date.now() - back} ms after the upstreams (breakers opened for ${OPEN_MS} ms)`);
  assert.ok(
    breakers().some((b) => b !== "open"),
    `breakers: ${breakers().join(", ")}`,
  );
});

test("an upstream just held out by its breaker is head-polled every RECOVERY_POLL_INTERVAL_MS, so its return is seen long before the next regular poll", async (t) => {
  const POLL_MS = 5_000;
  const own = await startTestNetwork({
    config: {
      health: {
        headPollIntervalMs: POLL_MS,
        breakerOpenMs: OPEN_MS,
        breakerMaxOpenMs: 4 * OPEN_MS,
        breakerFailureThreshold: 2,
      },
    },
  });
  t.after(() => own.stop());
  const address = own.devnet.accounts[1]!.address;
  const ownBreakers = () => own.app.engine.readiness().chains[0]!.upstreams.map((u) => u.breaker);
  for (const p of own.proxies.values()) await p.setFault({ kind: "status", status: 503 });
  await waitFor(
    async () => {
      await own.rpc("eth_getBalance", [address, "latest"]);
      return ownBreakers().every((b) => b === "open");
    },
    { timeoutMs: 15_000, what: "every breaker to open" },
  );
  // Three head polls to each upstream in less than one regular interval: only the recovery cadence gives that.
  const polls = () => [...own.proxies.values()].map((p) => p.stats().byMethod.eth_getBlockByNumber ?? 0);
  const before = polls();
  await waitFor(() => polls().every((n, i) => n >= before[i]! + 3), {
    timeoutMs: POLL_MS - 1_000,
    what: `three head polls per held-out upstream within ${POLL_MS - 1_000} ms`,
  });
  const back = Date.now();
  for (const p of own.proxies.values()) await p.clearFault();
  await waitFor(
    async () => {
      const r = await own.rpc("eth_getBalance", [address, "latest"]);
      return r.headers.get("multihome-verified") === "proof";
    },
    { timeoutMs: POLL_MS, what: "a proven balance within one regular poll interval of the upstreams' return" },
  );
  t.diagnostic(`proven reads back ${Date.now() - back} ms after the upstreams (regular head poll every ${POLL_MS} ms)`);
});

test("a read whose attempt dies mid-flight (reset, truncated body) is answered from another domain, for every read method", async (t) => {
  const own = await startTestNetwork({ config: { cache: { enabled: false } } });
  t.after(() => own.stop());
  const send = devSender(own, 1);
  const transfer = await send();
  const deploy = await send({ data: EMITTER_INIT });
  await own.devnet.mine();
  await own.synced();
  const receipt = (await own.direct("eth_getTransactionReceipt", [deploy])) as { contractAddress: string };
  const block = (await own.direct("eth_getBlockByNumber", ["latest", false])) as { hash: string; number: string };
  const from = own.devnet.accounts[1]!.address;
  const reads: [string, unknown[]][] = [
    ["eth_getBalance", [from, "latest"]],
    ["eth_getTransactionCount", [from, "latest"]],
    ["eth_getCode", [receipt.contractAddress, "latest"]],
    ["eth_getStorageAt", [receipt.contractAddress, "0x0", "latest"]],
    ["eth_getTransactionReceipt", [transfer]],
    ["eth_getTransactionByHash", [deploy]],
    ["eth_getBlockByHash", [block.hash, true]],
    ["eth_getBlockReceipts", [block.number]],
    ["eth_call", [{ to: receipt.contractAddress, data: "0x" }, "latest"]],
    ["eth_estimateGas", [{ from, to: own.devnet.accounts[2]!.address, value: "0x1" }]],
    ["eth_getLogs", [{ fromBlock: block.number, toBlock: block.number }]],
    ["eth_feeHistory", ["0x2", "latest", [50]]],
    ["eth_gasPrice", []],
  ];
  // Every upstream call these reads make dies half the time on one node — first u1 (connection reset), then u2 (body
  // cut short); the head polls (eth_getBlockByNumber) are spared so it stays admitted and keeps being chosen.
  const methods = [...reads.map(([m]) => m), "eth_getProof", "eth_getBlockByHash", "eth_maxPriorityFeePerGas"];
  const failures: string[] = [];
  const struck: number[] = [];
  let readsDone = 0;
  for (const [id, fault] of [
    ["u1", { kind: "reset" }],
    ["u2", { kind: "truncate", fraction: 0.5 }],
  ] as const) {
    const proxy = own.proxies.get(id)!;
    await proxy.setFault({ fault, ratio: 0.5, methods });
    // Six rounds, and more (up to 40) until the fault has struck at least five attempts: which upstream each read asks
    // is the router's choice, and many reads are answered without an upstream call (proofs kept, fees computed here).
    for (let round = 0; round < 40 && (round < 6 || proxy.stats().faulted < 5); round++) {
      // A new head each round: reads of `latest` need new proofs, bodies and receipts, not the ones kept.
      await own.devnet.mine();
      await own.synced();
      readsDone += reads.length;
      for (const [method, params] of reads) {
        const r = await own.rpc(method, params);
        const e = r.body.error;
        if (e) failures.push(`${id} ${fault.kind}, ${method}: ${e.code} ${e.message} ${JSON.stringify(e.data ?? {})}`);
      }
    }
    struck.push(proxy.stats().faulted);
    await proxy.clearFault();
    // One node at a time: the next phase starts once this one is trusted again.
    await waitFor(() => own.app.engine.readiness().chains[0]!.upstreams.every((u) => u.breaker === "closed"), {
      timeoutMs: 5_000,
      what: `${id}'s breaker to close`,
    });
  }
  t.diagnostic(`${readsDone} reads, attempts cut on u1/u2: ${struck.join("/")}`);
  assert.ok(
    struck.every((n) => n >= 5),
    `faults struck ${struck.join("/")} times`,
  );
  assert.deepEqual(failures, []);
});
