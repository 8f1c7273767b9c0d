/**
 * One upstream among four independent domains lies about every read a wallet or an exchange makes beyond native
 * balances — token balances and aggregated calls, reverts, logs (omitting and inventing them), fee suggestions, fee
 * history, the blob base fee, gas estimates and access lists — and about the proofs, receipts and headers that back
 * them. The honest upstreams answer those methods more slowly, so the liar is heard first wherever the gateway asks a
 * provider at all. Every answer is judged against the nodes at the same block: 0 wrong, at most 2 % refused, and
 * every answer's evidence named: `proof` for all of them (each family is proven by default on this stack), never one
 * provider's word.
 *
 * Blocks too (counts, a transaction by index and uncles, taken from the proven block), and `eth_getProof` itself.
 *
 * MULTIHOME_LIAR=u1|u2|u3|u4 picks the liar (default u2).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { encodeFunctionData, type Hex, multicall3Abi, parseGwei } from "viem";
import { EMITTER_ON_CALL_INIT, EMITTER_TOPIC, MULTICALL3_INIT, TOKEN_ABI, TOKEN_INIT } from "./harness/contracts.ts";
import { disputesOf, HONEST_DELAY_MS } from "./harness/liar.ts";
import { FOUR_DOMAINS, type RpcReply, startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { type MinedSender, minedSender } from "./harness/sender.ts";

const LIAR = process.env.MULTIHOME_LIAR ?? "u2";
const HONEST = FOUR_DOMAINS.map((n) => n.id).filter((id) => id !== LIAR);
const ROUNDS = 6;
/** Most refusals allowed, as a share of all reads. */
const MAX_REFUSED_SHARE = 0.02;

let net: TestNetwork;
let from: MinedSender;
let token: Hex;
let multicall: Hex;
let emitter: Hex;
const holders = Array.from({ length: 50 }, (_, i) => `0x${(0xc000 + i).toString(16).padStart(40, "0")}` as Hex);

before(async () => {
  net = await startTestNetwork({ nodes: FOUR_DOMAINS, config: { verification: { disputesToCordon: 1_000 } } });
  from = minedSender(net, 7);
  token = await from.deploy(TOKEN_INIT);
  multicall = await from.deploy(MULTICALL3_INIT);
  emitter = await from.deploy(EMITTER_ON_CALL_INIT);
  for (const [i, holder] of holders.slice(0, 8).entries())
    await from.send(setBalance(holder, BigInt(i + 1) * 10n ** 18n), token);
});
after(() => net?.stop());

const hex = (n: number | bigint) => `0x${n.toString(16)}`;
const setBalance = (holder: Hex, amount: bigint) =>
  encodeFunctionData({ abi: TOKEN_ABI, functionName: "set", args: [holder, amount] });
const balanceOf = (holder: Hex) => encodeFunctionData({ abi: TOKEN_ABI, functionName: "balanceOf", args: [holder] });
const aggregate = (calls: { target: Hex; allowFailure: boolean; callData: Hex }[]) =>
  encodeFunctionData({ abi: multicall3Abi, functionName: "aggregate3", args: [calls] });

type Family =
  | "call"
  | "revert"
  | "logs"
  | "estimate"
  | "accessList"
  | "feeHistory"
  | "blobBaseFee"
  | "tip"
  | "block"
  | "proof";
interface Read {
  family: Family;
  method: string;
  params: unknown[];
}

/** The reads of one round, all pinned to block `n` (or, for what only has a `latest`, the head, which stands still). */
function roundReads(n: number, round: number, hash: Hex): Read[] {
  const at = hex(n);
  const sender = net.devnet.accounts[7]!.address;
  const fifty = holders.map((h) => ({ target: token, allowFailure: false, callData: balanceOf(h) }));
  const call = (params: unknown[]): Read => ({ family: "call", method: "eth_call", params });
  return [
    call([{ to: token, data: balanceOf(holders[round % 8]!) }, at]),
    call([{ to: token, data: balanceOf(holders[40]!) }, at]),
    call([{ to: multicall, data: aggregate(fifty) }, at]),
    {
      family: "revert",
      method: "eth_call",
      params: [
        { to: multicall, data: aggregate([{ target: multicall, allowFailure: false, callData: "0xdeadbeef" }]) },
        at,
      ],
    },
    { family: "logs", method: "eth_getLogs", params: [{ address: emitter, fromBlock: hex(n - 12), toBlock: at }] },
    {
      family: "logs",
      method: "eth_getLogs",
      params: [{ topics: [EMITTER_TOPIC], fromBlock: hex(n - 5), toBlock: at }],
    },
    { family: "logs", method: "eth_getLogs", params: [{ address: token, fromBlock: hex(n - 5), toBlock: at }] },
    {
      family: "estimate",
      method: "eth_estimateGas",
      params: [{ from: sender, to: token, data: setBalance(holders[9 + round]!, 5n) }, at],
    },
    { family: "estimate", method: "eth_estimateGas", params: [{ from: sender, to: emitter, data: "0x" }, at] },
    {
      family: "accessList",
      method: "eth_createAccessList",
      params: [{ from: sender, to: multicall, data: aggregate(fifty.slice(0, 3)) }, at],
    },
    { family: "feeHistory", method: "eth_feeHistory", params: [hex(4), at, [25, 75]] },
    { family: "blobBaseFee", method: "eth_blobBaseFee", params: [] },
    { family: "tip", method: "eth_maxPriorityFeePerGas", params: [] },
    { family: "tip", method: "eth_gasPrice", params: [] },
    {
      family: "proof",
      method: "eth_getProof",
      params: [token, [`0x${holders[round % 8]!.slice(2).padStart(64, "0")}`, `0x${"00".repeat(32)}`], at],
    },
    ...[
      ["eth_getBlockTransactionCountByNumber", [at]],
      ["eth_getBlockTransactionCountByHash", [hash]],
      ["eth_getTransactionByBlockNumberAndIndex", [at, "0x0"]],
      ["eth_getTransactionByBlockHashAndIndex", [hash, "0x0"]],
      ["eth_getUncleCountByBlockNumber", [at]],
      ["eth_getUncleByBlockHashAndIndex", [hash, "0x0"]],
    ].map(([method, params]) => ({ family: "block" as const, method: method as string, params: params as unknown[] })),
  ];
}

/** What the liar answers instead of the truth, for every method a read of the round may lead the gateway to ask. */
function lie(method: string, response: { result?: unknown; error?: { code: number; data?: unknown } }): unknown {
  const { result, error } = response;
  const inflate = (q: unknown) => (typeof q === "string" ? hex(BigInt(q) * 100n + 1n) : q);
  switch (method) {
    case "eth_call":
      if (error?.code === 3) return { ...response, error: undefined, result: `0x${"00".repeat(32)}` };
      if (typeof result !== "string" || result === "0x") return response;
      // A fake zero for a single word; anything longer gets one byte changed.
      return result.length === 66
        ? { ...response, result: `0x${"00".repeat(32)}` }
        : { ...response, result: `${result.slice(0, -2)}${result.endsWith("ff") ? "00" : "ff"}` };
    case "eth_getLogs": {
      if (!Array.isArray(result) || result.length === 0) return response;
      const invented = { ...(result[0] as object), data: `0x${"77".repeat(32)}` };
      return { ...response, result: result.length % 2 === 0 ? result.slice(1) : [...result, invented] };
    }
    case "eth_getBlockReceipts":
      return Array.isArray(result)
        ? { ...response, result: result.map((r) => ({ ...(r as object), logs: [] })) }
        : response;
    case "eth_getTransactionReceipt":
      return result && typeof result === "object" ? { ...response, result: { ...result, logs: [] } } : response;
    case "eth_getProof": {
      const proof = result as { balance?: string; storageProof?: { value: string }[] } | null;
      if (!proof) return response;
      const storageProof = proof.storageProof?.map((s) => ({ ...s, value: "0x0" }));
      return { ...response, result: { ...proof, balance: "0x0", ...(storageProof ? { storageProof } : {}) } };
    }
    case "eth_estimateGas":
      return { ...response, result: hex(21_000) };
    case "eth_createAccessList":
      return result ? { ...response, result: { accessList: [], gasUsed: hex(21_000) } } : response;
    case "eth_feeHistory": {
      const history = result as { baseFeePerGas: string[]; reward?: string[][] } | null;
      if (!history) return response;
      const reward = history.reward?.map((r) => r.map(inflate));
      return {
        ...response,
        result: { ...history, baseFeePerGas: history.baseFeePerGas.map(inflate), ...(reward ? { reward } : {}) },
      };
    }
    case "eth_maxPriorityFeePerGas":
    case "eth_gasPrice":
    case "eth_blobBaseFee":
      return { ...response, result: inflate(result) };
    case "eth_getBlockByNumber":
    case "eth_getBlockByHash":
      return result && typeof result === "object"
        ? { ...response, result: { ...result, logsBloom: `0x${"00".repeat(256)}` } }
        : response;
    default:
      return response;
  }
}

const LIED_ABOUT = [
  "eth_call",
  "eth_getLogs",
  "eth_getBlockReceipts",
  "eth_getTransactionReceipt",
  "eth_getProof",
  "eth_estimateGas",
  "eth_createAccessList",
  "eth_feeHistory",
  "eth_maxPriorityFeePerGas",
  "eth_gasPrice",
  "eth_blobBaseFee",
  "eth_getBlockByNumber",
  "eth_getBlockByHash",
];

/** The liar rewrites its answers (errors too); the honest upstreams answer the same methods more slowly. */
async function startLying(t: { after(fn: () => Promise<void>): void }): Promise<Map<string, number>> {
  const lies = new Map<string, number>();
  await net.proxies.get(LIAR)!.setFault({
    fault: {
      kind: "rewrite",
      fn: (request, response) => {
        const lied = lie(request.method, response as Parameters<typeof lie>[1]);
        if (JSON.stringify(lied) !== JSON.stringify(response))
          lies.set(request.method, (lies.get(request.method) ?? 0) + 1);
        return lied;
      },
    },
    methods: LIED_ABOUT,
  });
  for (const id of HONEST)
    await net.proxies.get(id)!.setFault({ fault: { kind: "latency", ms: HONEST_DELAY_MS }, methods: LIED_ABOUT });
  t.after(async () => {
    for (const p of net.proxies.values()) await p.clearFault();
  });
  return lies;
}

type Verdict = "right" | "wrong" | "refused";

/** The highest tip any of the last 20 blocks paid (1 gwei on an idle chain), and the head's base fee. */
async function tipBounds(head: number): Promise<{ maxTip: bigint; baseFee: bigint }> {
  let maxTip = parseGwei("1");
  let baseFee = 0n;
  for (let n = head; n > Math.max(-1, head - 20); n--) {
    const block = (await net.direct("eth_getBlockByNumber", [hex(n), true])) as {
      baseFeePerGas: Hex;
      transactions: { maxFeePerGas?: Hex; maxPriorityFeePerGas?: Hex; gasPrice: Hex }[];
    };
    const base = BigInt(block.baseFeePerGas);
    if (n === head) baseFee = base;
    for (const tx of block.transactions) {
      const tip = tx.maxPriorityFeePerGas
        ? BigInt(tx.maxPriorityFeePerGas) < BigInt(tx.maxFeePerGas!) - base
          ? BigInt(tx.maxPriorityFeePerGas)
          : BigInt(tx.maxFeePerGas!) - base
        : BigInt(tx.gasPrice) - base;
      if (tip > maxTip) maxTip = tip;
    }
  }
  return { maxTip, baseFee };
}

/** A node's own answer, its error included. */
async function nodeAnswer(method: string, params: unknown[]): Promise<RpcReply["body"]> {
  const res = await fetch(net.devnet.nodes[0]!.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return (await res.json()) as RpcReply["body"];
}

/** The gateway's answer to `read` against the node's own answer to the same question. */
async function judge(read: Read, reply: RpcReply, head: number): Promise<Verdict> {
  const { body } = reply;
  const truth = await nodeAnswer(read.method, read.params);
  // Fields in any order: a proven answer is rebuilt from the fields a proof has.
  const same = (a: unknown, b: unknown) => isDeepStrictEqual(a, b);
  if (body.error) {
    // A revert is an answer: the node's, with its data.
    if (truth.error && body.error.code === truth.error.code && same(body.error.data, truth.error.data)) return "right";
    return "refused";
  }
  if (truth.error) return "wrong";
  if (read.family === "estimate") {
    // Sufficient (the call runs with that much gas) and not inflated beyond 10 % of the node's own estimate.
    const estimate = BigInt(body.result as Hex);
    const runs = await nodeAnswer("eth_call", [{ ...(read.params[0] as object), gas: hex(estimate) }, read.params[1]]);
    return runs.error === undefined && estimate <= (BigInt(truth.result as Hex) * 11n) / 10n ? "right" : "wrong";
  }
  if (read.family === "tip") {
    const { maxTip, baseFee } = await tipBounds(head);
    const ceiling = read.method === "eth_gasPrice" ? maxTip + baseFee : maxTip;
    return BigInt(body.result as Hex) <= ceiling ? "right" : "wrong";
  }
  return same(body.result, truth.result) ? "right" : "wrong";
}

test("one liar among four domains: calls, reverts, logs, fees and gas estimates are served true, with their evidence named", async (t) => {
  const honestBefore = HONEST.map((id) => disputesOf(net, id));
  const liarBefore = disputesOf(net, LIAR);
  const lies = await startLying(t);
  const tally = new Map<Family, Record<Verdict, number> & { evidence: Record<string, number> }>();
  const unnamed: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // New state each round: a block with logs (the emitter called) and a moved balance, nothing of it proven yet.
    await from.send("0x", emitter);
    await from.send(setBalance(holders[round % 8]!, BigInt(round + 100)), token);
    const head = Number(BigInt((await net.direct("eth_blockNumber", [])) as Hex));
    const { hash } = (await net.direct("eth_getBlockByNumber", [hex(head), false])) as { hash: Hex };
    const reads = roundReads(head, round, hash);
    const replies = await Promise.all(reads.map((r) => net.rpc(r.method, r.params)));
    for (const [i, read] of reads.entries()) {
      const reply = replies[i]!;
      const verdict = await judge(read, reply, head);
      const evidence = reply.headers.get("multihome-verified") ?? "(none)";
      const entry = tally.get(read.family) ?? { right: 0, wrong: 0, refused: 0, evidence: {} };
      entry[verdict]++;
      entry.evidence[evidence] = (entry.evidence[evidence] ?? 0) + 1;
      tally.set(read.family, entry);
      if (verdict !== "refused" && evidence !== "proof")
        unnamed.push(`${read.method} ${JSON.stringify(read.params).slice(0, 80)}: ${evidence}`);
      if (verdict !== "right") t.diagnostic(`${verdict}: ${read.method} ${JSON.stringify(reply.body).slice(0, 200)}`);
    }
  }
  for (const [family, entry] of tally)
    t.diagnostic(
      `${family}: ${entry.right} right, ${entry.wrong} wrong, ${entry.refused} refused, evidence ${JSON.stringify(entry.evidence)}`,
    );
  t.diagnostic(`lies told: ${JSON.stringify(Object.fromEntries(lies))}`);
  const all = [...tally.values()];
  const total = all.reduce((s, e) => s + e.right + e.wrong + e.refused, 0);
  const refused = all.reduce((s, e) => s + e.refused, 0);
  assert.equal(
    all.reduce((s, e) => s + e.wrong, 0),
    0,
    "no wrong answer",
  );
  assert.ok(refused <= total * MAX_REFUSED_SHARE, `${refused} of ${total} refused (at most 2 %)`);
  assert.deepEqual(unnamed, [], "every answer's evidence is proof");
  assert.ok((lies.get("eth_call") ?? 0) > 0, "the liar was asked for calls, and lied");
  assert.deepEqual(
    HONEST.map((id, i) => disputesOf(net, id) - honestBefore[i]!),
    [0, 0, 0],
    "no honest upstream is disputed",
  );
  assert.ok(disputesOf(net, LIAR) > liarBefore, "the liar is disputed");
});
