/**
 * Regenerates the fixtures of `src/core/verification/proof.test.ts` and `src/core/verification/header.test.ts` from real anvil nodes, so those
 * unit tests run without starting a node: `node scripts/make-proof-fixtures.ts`.
 *
 * Per hardfork (anvil's default plus `--hardfork berlin | london | shanghai | cancun`) it sends value transfers,
 * deploys a contract with storage and mines an empty block, then saves every block as `eth_getBlockByNumber` returns
 * it. On the default fork it also saves `eth_getProof` answers at the latest block: a funded sender, a recipient that
 * only ever received, an address that was never used, and the contract (code, three set slots, one empty slot).
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createWalletClient, type Hex, http, publicActions } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil as anvilChain } from "viem/chains";
import { startAnvil } from "../src/devnet/anvil.ts";
import { createRpcClient } from "../src/devnet/rpc.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT_DIR = join(ROOT, "src", "core", "fixtures");
/** anvil's first dev key (public knowledge, dev chains only). */
const DEV_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const RECIPIENT: Hex = "0x000000000000000000000000000000000000bEEF";
const NEVER_USED: Hex = "0x1111111111111111111111111111111111111111";
/** A fixed genesis time keeps the fixtures close to reproducible. */
const GENESIS_TIMESTAMP = 1_767_225_600;
/** The RPC client's per-call bound, in milliseconds. */
const RPC_TIMEOUT_MS = 10_000;

/** Slot values written by the contract's init code. Slot 1 has leading zero bytes, slot 2 uses all 32 bytes. */
const SLOT_VALUES = [
  { slot: 0n, value: 0x2an },
  { slot: 1n, value: 0xdeadbeefn },
  { slot: 2n, value: (1n << 256n) - 2n },
] as const;
const EMPTY_SLOT = 7n;

/** Runtime code: returns storage slot 0. `PUSH1 0 SLOAD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN`. */
const RUNTIME = "60005460005260206000f3";

function initCode(): Hex {
  let code = "";
  for (const { slot, value } of SLOT_VALUES) {
    code += `7f${value.toString(16).padStart(64, "0")}60${slot.toString(16).padStart(2, "0")}55`; // PUSH32 v PUSH1 s SSTORE
  }
  const runtimeLength = RUNTIME.length / 2;
  const copyLength = 12; // PUSH1 len PUSH1 off PUSH1 0 CODECOPY PUSH1 len PUSH1 0 RETURN
  const offset = code.length / 2 + copyLength;
  const hex1 = (n: number) => n.toString(16).padStart(2, "0");
  code += `60${hex1(runtimeLength)}60${hex1(offset)}600039` + `60${hex1(runtimeLength)}6000f3`;
  return `0x${code}${RUNTIME}`;
}

function slotKey(slot: bigint): Hex {
  return `0x${slot.toString(16).padStart(64, "0")}`;
}

interface ForkRun {
  blocks: unknown[];
  contract: Hex;
  sender: Hex;
  url: string;
  stop(): Promise<void>;
}

async function runFork(hardfork: string | undefined): Promise<ForkRun> {
  const node = await startAnvil({
    noMining: false,
    timestamp: GENESIS_TIMESTAMP,
    extraArgs: hardfork ? ["--hardfork", hardfork] : [],
  });
  try {
    const account = privateKeyToAccount(DEV_KEY);
    // Before London a node takes only legacy transactions.
    const txType = hardfork === "berlin" ? ({ type: "legacy" } as const) : {};
    const client = createWalletClient({ account, chain: anvilChain, transport: http(node.url) }).extend(publicActions);
    await client.waitForTransactionReceipt({
      hash: await client.sendTransaction({ ...txType, to: RECIPIENT, value: 1_234_567_890_123n }),
    });
    await client.waitForTransactionReceipt({
      hash: await client.sendTransaction({ ...txType, to: RECIPIENT, value: 1n }),
    });
    const deployed = await client.waitForTransactionReceipt({
      hash: await client.sendTransaction({ ...txType, data: initCode() }),
    });
    if (!deployed.contractAddress) throw new Error("contract was not deployed");
    const rpc = createRpcClient(node.url, { timeoutMs: RPC_TIMEOUT_MS });
    await rpc.call("evm_mine", []);
    const head = Number(await rpc.call<string>("eth_blockNumber", []));
    const blocks: unknown[] = [];
    for (let n = 0; n <= head; n++) {
      blocks.push(await rpc.call("eth_getBlockByNumber", [`0x${n.toString(16)}`, false]));
    }
    return { blocks, contract: deployed.contractAddress, sender: account.address, url: node.url, stop: node.stop };
  } catch (error) {
    await node.stop();
    throw error;
  }
}

function write(name: string, data: unknown): void {
  writeFileSync(join(OUT_DIR, name), `${JSON.stringify(data, null, 2)}\n`);
  process.stdout.write(`wrote src/core/fixtures/${name}\n`);
}

const FORKS = [
  { name: "berlin", arg: "berlin" },
  { name: "london", arg: "london" },
  { name: "shanghai", arg: "shanghai" },
  { name: "cancun", arg: "cancun" },
  { name: "default", arg: undefined },
] as const;

for (const fork of FORKS) {
  const run = await runFork(fork.arg);
  try {
    write(`blocks-${fork.name}.json`, { hardfork: fork.arg ?? "anvil default", blocks: run.blocks });
    if (fork.arg !== undefined) continue;
    const rpc = createRpcClient(run.url, { timeoutMs: RPC_TIMEOUT_MS });
    const block = await rpc.call<{ number: Hex; hash: Hex; stateRoot: Hex }>("eth_getBlockByNumber", ["latest", false]);
    const at = block.number;
    const proof = (address: Hex, slots: bigint[]) => rpc.call("eth_getProof", [address, slots.map(slotKey), at]);
    write("proofs.json", {
      block: { number: block.number, hash: block.hash, stateRoot: block.stateRoot },
      funded: { address: run.sender, proof: await proof(run.sender, []) },
      recipient: { address: RECIPIENT, proof: await proof(RECIPIENT, [0n]) },
      neverUsed: { address: NEVER_USED, proof: await proof(NEVER_USED, [0n]) },
      contract: {
        address: run.contract,
        code: await rpc.call("eth_getCode", [run.contract, at]),
        slots: SLOT_VALUES.map(({ slot, value }) => ({ key: slotKey(slot), value: `0x${value.toString(16)}` })),
        emptySlot: slotKey(EMPTY_SLOT),
        proof: await proof(run.contract, [...SLOT_VALUES.map((s) => s.slot), EMPTY_SLOT]),
      },
    });
  } finally {
    await run.stop();
  }
}

// The repository's formatter has the last word on layout, so a regenerated fixture only differs where its data does.
execFileSync(join(ROOT, "node_modules", ".bin", "biome"), ["format", "--write", OUT_DIR], { stdio: "inherit" });
