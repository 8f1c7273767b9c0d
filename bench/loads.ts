/** The fixed requests the closed-loop scenarios send (`bench/run.ts`, `bench/before-after.ts`), checked on a node first. */
import { DEV_ACCOUNTS } from "../src/devnet/accounts.ts";
import { type BenchNodes, rpc } from "./nodes.ts";

/** The request a scenario sends, and a substring of its only correct answer. */
export interface Load {
  body: string;
  expect: string;
  /** Checks the parsed JSON-RPC `result` of the answer taken before the run; returns what is wrong with it. */
  check?(result: unknown): string | undefined;
}

/** The balance scenarios' request: `eth_getBalance` of the first dev account at block 1 (final, so cacheable). */
export async function balanceLoadOf(url: string): Promise<Load> {
  const account = DEV_ACCOUNTS[0]!.address;
  const balance = await rpc(url, "eth_getBalance", [account, "0x1"]);
  if (typeof balance !== "string" || BigInt(balance) === 0n) throw new Error(`unexpected balance ${balance}`);
  return {
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBalance", params: [account, "0x1"] }),
    expect: `"result":${JSON.stringify(balance)}`,
  };
}

/** The receipt scenarios' request: `eth_getTransactionReceipt` of `nodes.receiptTx`, a successful transfer in block 2. */
export async function receiptLoadOf(nodes: BenchNodes, url: string): Promise<Load> {
  const txHash = nodes.receiptTx.toLowerCase();
  const check = (result: unknown): string | undefined => {
    const r = result as { transactionHash?: unknown; status?: unknown; blockHash?: unknown } | null | undefined;
    if (typeof r !== "object" || r === null) return "no receipt";
    if (String(r.transactionHash).toLowerCase() !== txHash) return `receipt of ${String(r.transactionHash)}`;
    if (r.status !== "0x1") return `receipt status ${String(r.status)}`;
    if (String(r.blockHash).toLowerCase() !== nodes.block2Hash.toLowerCase())
      return `receipt in block ${String(r.blockHash)}`;
    return undefined;
  };
  const wrong = check(await rpc(url, "eth_getTransactionReceipt", [nodes.receiptTx]));
  if (wrong) throw new Error(`unexpected receipt from the node: ${wrong}`);
  return {
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getTransactionReceipt", params: [nodes.receiptTx] }),
    expect: `"transactionHash":"${txHash}"`,
    check,
  };
}
