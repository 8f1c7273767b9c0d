/**
 * Regenerates `src/core/fixtures/bodies.json`, the fixture of `src/core/verification/roots.test.ts`, from a real anvil node:
 * `node scripts/make-root-fixtures.ts`.
 *
 * It mines three blocks on anvil's default fork and saves each with full transactions (`eth_getBlockByNumber(n, true)`)
 * and its `eth_getBlockReceipts`:
 * - "mixed": one of each kind of transaction in one block — legacy without chain id (pre-EIP-155), legacy EIP-155,
 *   EIP-2930 with an access list, EIP-1559, a contract creation whose constructor emits logs, a call emitting three
 *   logs (0, 2 and 4 topics), a reverting call (status 0) and an EIP-7702 set-code transaction;
 * - "empty": no transactions;
 * - "many": more than 128 transactions (multi-byte trie keys), some of them emitting logs.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getContractAddress, type Hex, parseGwei, type TransactionSerializable } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEV_ACCOUNTS } from "../src/devnet/accounts.ts";
import { startAnvil } from "../src/devnet/anvil.ts";
import { createRpcClient, type RpcClient } from "../src/devnet/rpc.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT_FILE = join(ROOT, "src", "core", "fixtures", "bodies.json");
const CHAIN_ID = 31337;
/** A fixed genesis time and fixed block times keep the fixture reproducible. */
const GENESIS_TIMESTAMP = 1_767_225_600;
/** The RPC client's per-call bound, in milliseconds. */
const RPC_TIMEOUT_MS = 10_000;
/** Transactions in the "many" block: more than 128, so trie keys of two and three bytes both occur. */
const MANY_TRANSACTIONS = 140;
/** Every 10th transaction of the "many" block calls the log contract. */
const LOG_CALL_EVERY = 10;

const GAS_PRICE = parseGwei("10");
const FEES = { maxFeePerGas: parseGwei("10"), maxPriorityFeePerGas: parseGwei("1") } as const;
const RECIPIENT: Hex = "0x000000000000000000000000000000000000bEEF";

const hex1 = (n: number) => n.toString(16).padStart(2, "0");

/**
 * Runtime code: with calldata it reverts; without, it emits LOG0 (32 bytes), LOG2 (5 bytes, topics 0xaa 0xbb) and
 * LOG4 (no data, topics 1 2 3 4).
 */
function runtimeCode(): string {
  const word = "c0ffee".padEnd(64, "0");
  let body = "";
  body += `7f${word}600052`; // PUSH32 word, PUSH1 0, MSTORE
  body += "60206000a0"; // LOG0(offset 0, size 32)
  body += "60bb60aa6005601ba2"; // LOG2(offset 27, size 5, 0xaa, 0xbb)
  body += "600460036002600160006000a4"; // LOG4(offset 0, size 0, 1, 2, 3, 4)
  body += "00"; // STOP
  const prologueBytes = 4; // CALLDATASIZE PUSH1 dest JUMPI
  const revertAt = prologueBytes + body.length / 2;
  return `3660${hex1(revertAt)}57${body}5b60006000fd`; // …JUMPDEST PUSH1 0 PUSH1 0 REVERT
}

/** Init code: emits LOG1 (32 bytes, topic 0xc0) and an empty LOG0, then returns the runtime code. */
function initCode(): Hex {
  const runtime = runtimeCode();
  let code = "602a600052" + "60c060206000a1" + "60006000a0";
  const runtimeLength = runtime.length / 2;
  const copyLength = 12; // PUSH1 len PUSH1 off PUSH1 0 CODECOPY PUSH1 len PUSH1 0 RETURN
  const offset = code.length / 2 + copyLength;
  code += `60${hex1(runtimeLength)}60${hex1(offset)}600039` + `60${hex1(runtimeLength)}6000f3`;
  return `0x${code}${runtime}`;
}

const accounts = DEV_ACCOUNTS.map((a) => privateKeyToAccount(a.privateKey));
const nonces = new Map<Hex, number>();

function account(i: number) {
  const found = accounts[i];
  if (!found) throw new Error(`no dev account ${i}`);
  return found;
}

async function send(rpc: RpcClient, from: number, tx: TransactionSerializable): Promise<Hex> {
  const signer = account(from);
  // The node is asked once per block: an EIP-7702 authorization also moves its signer's nonce.
  const nonce =
    nonces.get(signer.address) ?? Number(await rpc.call<Hex>("eth_getTransactionCount", [signer.address, "latest"]));
  nonces.set(signer.address, nonce + 1);
  const raw = await signer.signTransaction({ ...tx, nonce } as TransactionSerializable);
  return rpc.call<Hex>("eth_sendRawTransaction", [raw]);
}

let nextTimestamp = GENESIS_TIMESTAMP;

async function mine(rpc: RpcClient, name: string, expected: number): Promise<unknown> {
  nextTimestamp += 12;
  await rpc.call("evm_mine", [{ timestamp: nextTimestamp }]);
  nonces.clear();
  const block = await rpc.call<{ number: Hex; transactions: unknown[] }>("eth_getBlockByNumber", ["latest", true]);
  if (block.transactions.length !== expected) {
    throw new Error(`block "${name}" has ${block.transactions.length} transactions, expected ${expected}`);
  }
  const receipts = await rpc.call<unknown[]>("eth_getBlockReceipts", [block.number]);
  return { name, block, receipts };
}

const node = await startAnvil({
  chainId: CHAIN_ID,
  noMining: true,
  timestamp: GENESIS_TIMESTAMP,
  // First come, first mined: the deployment must precede the calls to it in the same block.
  extraArgs: ["--order", "fifo"],
});
try {
  const rpc = createRpcClient(node.url, { timeoutMs: RPC_TIMEOUT_MS });
  const deployer = account(4);
  const contract = getContractAddress({ from: deployer.address, nonce: 0n });
  const authority = account(7);
  const chainId = CHAIN_ID;

  // "mixed"
  await send(rpc, 0, { type: "legacy", to: RECIPIENT, value: 1n, gas: 21_000n, gasPrice: GAS_PRICE });
  await send(rpc, 1, { type: "legacy", chainId, to: RECIPIENT, value: 2n, gas: 21_000n, gasPrice: GAS_PRICE });
  await send(rpc, 2, {
    type: "eip2930",
    chainId,
    to: RECIPIENT,
    value: 3n,
    gas: 60_000n,
    gasPrice: GAS_PRICE,
    accessList: [
      { address: RECIPIENT, storageKeys: [`0x${"00".repeat(31)}01`, `0x${"ab".repeat(32)}`] },
      { address: DEV_ACCOUNTS[9]!.address, storageKeys: [] },
    ],
  });
  await send(rpc, 3, { type: "eip1559", chainId, to: RECIPIENT, value: 4n, gas: 21_000n, ...FEES });
  await send(rpc, 4, { type: "eip1559", chainId, data: initCode(), gas: 200_000n, ...FEES });
  await send(rpc, 4, { type: "eip1559", chainId, to: contract, gas: 100_000n, ...FEES });
  await send(rpc, 5, { type: "eip1559", chainId, to: contract, data: "0x01", gas: 100_000n, ...FEES });
  const authorization = await authority.signAuthorization({ chainId, address: contract, nonce: 0 });
  await send(rpc, 6, {
    type: "eip7702",
    chainId,
    to: authority.address,
    gas: 200_000n,
    authorizationList: [authorization],
    ...FEES,
  });
  const mixed = await mine(rpc, "mixed", 8);

  const empty = await mine(rpc, "empty", 0);

  // "many": spread over every dev account so no sender needs a long nonce run.
  for (let i = 0; i < MANY_TRANSACTIONS; i++) {
    const from = i % accounts.length;
    if (i % LOG_CALL_EVERY === 0) {
      await send(rpc, from, { type: "eip1559", chainId, to: contract, gas: 100_000n, ...FEES });
    } else {
      await send(rpc, from, { type: "eip1559", chainId, to: RECIPIENT, value: BigInt(i), gas: 21_000n, ...FEES });
    }
  }
  const many = await mine(rpc, "many", MANY_TRANSACTIONS);

  writeFileSync(
    OUT_FILE,
    `${JSON.stringify({ generator: "scripts/make-root-fixtures.ts", hardfork: "anvil default", blocks: [mixed, empty, many] })}\n`,
  );
  process.stdout.write("wrote src/core/fixtures/bodies.json\n");
} finally {
  await node.stop();
}

// The repository's formatter has the last word on layout, so a regenerated fixture only differs where its data does.
execFileSync(join(ROOT, "node_modules", ".bin", "biome"), ["format", "--write", OUT_FILE], { stdio: "inherit" });
