/** Signed transactions from one dev account, for tests that need blocks with something in them. */
import { type Address, type Hex, parseGwei } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { TestNetwork } from "./network.ts";

/**
 * Signs EIP-1559 transactions from dev account `account`, counting its nonce from `firstNonce`, and submits each
 * through the devnet (every node hears of it); mined by the next `mine()`. With `data` and no `to`, a contract
 * creation (gas 100,000); otherwise a transfer of `value` (default 1 wei) to `to` (default dev account 8).
 */
export function devSender(net: TestNetwork, account: number, firstNonce = 0) {
  const signer = privateKeyToAccount(net.devnet.accounts[account]!.privateKey);
  let nonce = firstNonce;
  return async (tx: { data?: Hex; to?: Address; value?: bigint } = {}): Promise<Hex> => {
    const raw = await signer.signTransaction({
      chainId: net.chainId,
      type: "eip1559",
      nonce: nonce++,
      ...(tx.data
        ? { data: tx.data, gas: 100_000n }
        : { to: tx.to ?? net.devnet.accounts[8]!.address, value: tx.value ?? 1n, gas: 21_000n }),
      maxFeePerGas: 10n ** 11n,
      maxPriorityFeePerGas: 1n,
    });
    return await net.devnet.sendRawTransaction(raw);
  };
}

export interface MinedSender {
  /** Sends `data` (to `to`, or a creation), mines it, waits until the gateway's head has it; its hash. */
  send(data: Hex, to?: Hex): Promise<Hex>;
  /** Deploys `init`; the contract's address. */
  deploy(init: Hex): Promise<Hex>;
}

/**
 * Transactions from dev account `account` that set up contracts and state, each mined in a block of its own. Any
 * network of devnet nodes will do (a bench's, without the test network's gateway): `synced` waits for whatever serves.
 */
export function minedSender(
  net: Pick<TestNetwork, "devnet" | "chainId" | "synced" | "direct">,
  account: number,
): MinedSender {
  const signer = privateKeyToAccount(net.devnet.accounts[account]!.privateKey);
  let nonce = 0;
  async function send(data: Hex, to?: Hex): Promise<Hex> {
    const raw = await signer.signTransaction({
      chainId: net.chainId,
      nonce: nonce++,
      ...(to ? { to } : {}),
      data,
      gas: 3_000_000n,
      maxFeePerGas: parseGwei("20"),
      maxPriorityFeePerGas: parseGwei("1"),
    });
    const hash = await net.devnet.sendRawTransaction(raw);
    await net.devnet.mine();
    await net.synced();
    return hash;
  }
  return {
    send,
    async deploy(init) {
      const hash = await send(init);
      return ((await net.direct("eth_getTransactionReceipt", [hash])) as { contractAddress: Hex }).contractAddress;
    },
  };
}
