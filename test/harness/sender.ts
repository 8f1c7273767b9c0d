/** Signed transactions from one dev account, for tests that need blocks with something in them. */
import type { Address, Hex } from "viem";
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
