/**
 * The upstream nodes every scenario shares: the demo's four anvil nodes (its failure domains included), on
 * identical blocks mined to block 2 and then left still — no block timer — so the state each scenario reads never
 * moves. Block 1 is empty and any node can answer the pinned `eth_getBalance` at "0x1" with the same work; block 2
 * holds {@link RECEIPT_BLOCK_TRANSACTIONS} transfers, so a proven receipt read has a block of real size to verify.
 */
import { Pool } from "undici";
import { privateKeyToAccount } from "viem/accounts";
import { DEMO_NODES } from "../src/app/demo.ts";
import { DEV_ACCOUNTS } from "../src/devnet/accounts.ts";
import { type Devnet, startDevnet } from "../src/devnet/devnet.ts";

export interface BenchNodes {
  devnet: Devnet;
  /** Block 1's hash, identical on every node. */
  block1Hash: string;
  /** Block 2's hash, identical on every node. */
  block2Hash: string;
  /** The hash of the transaction in the middle of block 2, whose receipt the receipt scenarios read. */
  receiptTx: string;
  stop(): Promise<void>;
}

/** Transfers in block 2. */
export const RECEIPT_BLOCK_TRANSACTIONS = 100;
/** Dev accounts signing them, in turn: several senders, as in a real block. */
const RECEIPT_BLOCK_SENDERS = 5;
export const TRANSFER_GAS = 21_000n;
/** Well above anvil's base fee after one empty block (under 1 gwei), so every transfer fits block 2. */
export const MAX_FEE_PER_GAS = 10_000_000_000n;
export const MAX_PRIORITY_FEE_PER_GAS = 1_000_000n;

const RPC_TIMEOUT_MS = 10_000;

export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const pool = new Pool(url, { connections: 1 });
  try {
    const res = await pool.request({
      method: "POST",
      path: "/",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      headersTimeout: RPC_TIMEOUT_MS,
      bodyTimeout: RPC_TIMEOUT_MS,
    });
    const body = (await res.body.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  } finally {
    await pool.close();
  }
}

/** Signs and submits the transfers of block 2 to every node; nonces start at 0 (block 1 is empty). */
async function submitTransfers(devnet: Devnet): Promise<void> {
  const senders = DEV_ACCOUNTS.slice(0, RECEIPT_BLOCK_SENDERS).map((a) => privateKeyToAccount(a.privateKey));
  const recipients = DEV_ACCOUNTS.slice(RECEIPT_BLOCK_SENDERS);
  for (let i = 0; i < RECEIPT_BLOCK_TRANSACTIONS; i++) {
    const sender = senders[i % senders.length]!;
    const raw = await sender.signTransaction({
      chainId: devnet.chainId,
      type: "eip1559",
      nonce: Math.floor(i / senders.length),
      to: recipients[i % recipients.length]!.address,
      // Distinct values, so no two transfers look alike.
      value: BigInt(i + 1),
      gas: TRANSFER_GAS,
      maxFeePerGas: MAX_FEE_PER_GAS,
      maxPriorityFeePerGas: MAX_PRIORITY_FEE_PER_GAS,
    });
    await devnet.sendRawTransaction(raw);
  }
}

/** The hash of block `number` on every node; throws unless they all agree. */
async function agreedBlock(devnet: Devnet, number: number): Promise<{ hash: string; transactions: string[] }> {
  const blocks: { hash: string; transactions: string[] }[] = [];
  for (const n of devnet.nodes) {
    blocks.push(
      (await rpc(n.url, "eth_getBlockByNumber", [`0x${number.toString(16)}`, false])) as {
        hash: string;
        transactions: string[];
      },
    );
  }
  const hashes = blocks.map((b) => b.hash);
  if (new Set(hashes).size !== 1) throw new Error(`nodes disagree on block ${number}: ${hashes.join(", ")}`);
  return blocks[0]!;
}

export async function startBenchNodes(): Promise<BenchNodes> {
  const devnet = await startDevnet({ nodes: DEMO_NODES, blockTimeMs: 0 });
  try {
    // Per-request log lines cost the node CPU on every call; no scenario (nor the set-up below) should pay for them.
    for (const n of devnet.nodes) await rpc(n.url, "anvil_setLoggingEnabled", [false]);
    // The devnet starts with block 1 mined (genesis has no state root to prove against).
    if (devnet.head() !== 1) throw new Error(`the devnet started at block ${devnet.head()}, expected 1`);
    const block1 = await agreedBlock(devnet, 1);
    await submitTransfers(devnet);
    if ((await devnet.mine(1)) !== 2) throw new Error(`mining block 2 left the head at ${devnet.head()}`);
    const block2 = await agreedBlock(devnet, 2);
    if (block2.transactions.length !== RECEIPT_BLOCK_TRANSACTIONS) {
      throw new Error(
        `block 2 holds ${block2.transactions.length} transactions, expected ${RECEIPT_BLOCK_TRANSACTIONS}`,
      );
    }
    const receiptTx = block2.transactions[Math.floor(RECEIPT_BLOCK_TRANSACTIONS / 2)]!;
    return { devnet, block1Hash: block1.hash, block2Hash: block2.hash, receiptTx, stop: () => devnet.stop() };
  } catch (error) {
    await devnet.stop();
    throw error;
  }
}
