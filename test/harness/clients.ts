/**
 * The same questions asked through viem and through ethers, each with its own API, so that a scenario can assert
 * once and run against every client: results come back in one shape (bigints, lowercase addresses), after each
 * library's own parsing and formatting.
 */
import assert from "node:assert/strict";
import { type Provider, Wallet } from "ethers";
import {
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  type Hex,
  type PublicClient,
  type Transport,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

export interface BlockView {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  timestamp: bigint;
  transactions: Hex[];
}

export interface TxView {
  hash: Hex;
  from: Address;
  to: Address | null;
  value: bigint;
  nonce: number;
  blockNumber: bigint | null;
  blockHash: Hex | null;
}

export interface ReceiptView {
  status: "success" | "reverted";
  blockNumber: bigint;
  blockHash: Hex;
  gasUsed: bigint;
  contractAddress: Address | null;
  logs: number;
}

export interface LogView {
  address: Address;
  topics: Hex[];
  data: Hex;
  blockNumber: bigint;
  transactionHash: Hex;
}

export interface FeeView {
  gasPrice: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** What a scenario asks of a client; each adapter calls its library's own API, so the library's parsing is tested too. */
export interface ClientUnderTest {
  name: string;
  /** The dev account this client signs with (nobody else sends from it). */
  sender: Address;
  chainId(): Promise<number>;
  blockNumber(): Promise<bigint>;
  balance(address: Address, block?: bigint): Promise<bigint>;
  nonce(address: Address): Promise<number>;
  code(address: Address): Promise<Hex>;
  storage(address: Address, slot: bigint): Promise<Hex>;
  call(to: Address, data: Hex): Promise<Hex>;
  blockByNumber(n: bigint): Promise<BlockView>;
  blockByHash(hash: Hex): Promise<BlockView>;
  transaction(hash: Hex): Promise<TxView>;
  receipt(hash: Hex): Promise<ReceiptView | null>;
  logs(fromBlock: bigint, toBlock: bigint, topic: Hex): Promise<LogView[]>;
  estimateGas(from: Address, to: Address, value: bigint): Promise<bigint>;
  fees(): Promise<FeeView>;
  /** Signs locally (a local account or key) and broadcasts a value transfer; returns the hash. */
  sendValue(to: Address, value: bigint): Promise<Hex>;
  close(): Promise<void>;
}

export const lower = <T extends string>(s: T): T => s.toLowerCase() as T;

export function viemClient(
  name: string,
  chain: Chain,
  transport: Transport,
  privateKey: Hex,
  close: () => Promise<void>,
): ClientUnderTest & { public: PublicClient } {
  // No caching in the client: every scenario must reach the path under test.
  const client = createPublicClient({ chain, transport, cacheTime: 0 });
  const account = privateKeyToAccount(privateKey);
  const wallet = createWalletClient({ chain, transport, account, cacheTime: 0 });
  const blockView = (b: {
    number: bigint | null;
    hash: Hex | null;
    parentHash: Hex;
    timestamp: bigint;
    transactions: readonly Hex[];
  }): BlockView => ({
    number: b.number!,
    hash: b.hash!,
    parentHash: b.parentHash,
    timestamp: b.timestamp,
    transactions: [...b.transactions],
  });
  return {
    name,
    public: client as PublicClient,
    sender: account.address,
    chainId: () => client.getChainId(),
    blockNumber: () => client.getBlockNumber({ cacheTime: 0 }),
    balance: (address, block) =>
      block === undefined ? client.getBalance({ address }) : client.getBalance({ address, blockNumber: block }),
    nonce: (address) => client.getTransactionCount({ address }),
    code: async (address) => (await client.getCode({ address })) ?? "0x",
    storage: async (address, slot) => (await client.getStorageAt({ address, slot: `0x${slot.toString(16)}` }))!,
    call: async (to, data) => (await client.call({ to, data })).data ?? "0x",
    blockByNumber: async (n) => blockView(await client.getBlock({ blockNumber: n })),
    blockByHash: async (hash) => blockView(await client.getBlock({ blockHash: hash })),
    async transaction(hash) {
      const tx = await client.getTransaction({ hash });
      return {
        hash: tx.hash,
        from: lower(tx.from),
        to: tx.to ? lower(tx.to) : null,
        value: tx.value,
        nonce: tx.nonce,
        blockNumber: tx.blockNumber,
        blockHash: tx.blockHash,
      };
    },
    async receipt(hash) {
      try {
        const r = await client.getTransactionReceipt({ hash });
        return {
          status: r.status,
          blockNumber: r.blockNumber,
          blockHash: r.blockHash,
          gasUsed: r.gasUsed,
          contractAddress: r.contractAddress ? lower(r.contractAddress) : null,
          logs: r.logs.length,
        };
      } catch (error) {
        if ((error as Error).name === "TransactionReceiptNotFoundError") return null;
        throw error;
      }
    },
    async logs(fromBlock, toBlock, topic) {
      // viem filters by topic only through an ABI event; an arbitrary topic goes through `getLogs` for the range and
      // is matched here, so the logs are still viem's formatted ones.
      const logs = await client.getLogs({ fromBlock, toBlock });
      return logs
        .filter((l) => l.topics[0] === topic)
        .map((l) => ({
          address: lower(l.address),
          topics: [...l.topics] as Hex[],
          data: l.data,
          blockNumber: l.blockNumber,
          transactionHash: l.transactionHash,
        }));
    },
    estimateGas: (from, to, value) => client.estimateGas({ account: from, to, value }),
    async fees() {
      const [gasPrice, fees] = await Promise.all([client.getGasPrice(), client.estimateFeesPerGas()]);
      return { gasPrice, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
    },
    sendValue: (to, value) => wallet.sendTransaction({ to, value }),
    close,
  };
}

export function ethersClient(
  name: string,
  provider: Provider,
  privateKey: Hex,
  close: () => Promise<void>,
): ClientUnderTest {
  const wallet = new Wallet(privateKey, provider);
  const blockView = (b: {
    number: number;
    hash: string | null;
    parentHash: string;
    timestamp: number;
    transactions: readonly string[];
  }): BlockView => ({
    number: BigInt(b.number),
    hash: b.hash as Hex,
    parentHash: b.parentHash as Hex,
    timestamp: BigInt(b.timestamp),
    transactions: [...b.transactions] as Hex[],
  });
  const required = <T>(value: T | null, what: string): T => {
    assert.notEqual(value, null, `${name}: ${what} is null`);
    return value as T;
  };
  return {
    name,
    sender: wallet.address as Address,
    chainId: async () => Number((await provider.getNetwork()).chainId),
    blockNumber: async () => BigInt(await provider.getBlockNumber()),
    balance: (address, block) => provider.getBalance(address, block === undefined ? "latest" : Number(block)),
    nonce: (address) => provider.getTransactionCount(address, "latest"),
    code: async (address) => (await provider.getCode(address)) as Hex,
    storage: async (address, slot) => (await provider.getStorage(address, slot)) as Hex,
    call: async (to, data) => (await provider.call({ to, data })) as Hex,
    blockByNumber: async (n) => blockView(required(await provider.getBlock(Number(n)), "block")),
    blockByHash: async (hash) => blockView(required(await provider.getBlock(hash), "block")),
    async transaction(hash) {
      const tx = required(await provider.getTransaction(hash), "transaction");
      return {
        hash: tx.hash as Hex,
        from: lower(tx.from) as Address,
        to: tx.to ? (lower(tx.to) as Address) : null,
        value: tx.value,
        nonce: tx.nonce,
        blockNumber: tx.blockNumber === null ? null : BigInt(tx.blockNumber),
        blockHash: tx.blockHash as Hex | null,
      };
    },
    async receipt(hash) {
      const r = await provider.getTransactionReceipt(hash);
      if (r === null) return null;
      return {
        status: r.status === 1 ? "success" : "reverted",
        blockNumber: BigInt(r.blockNumber),
        blockHash: r.blockHash as Hex,
        gasUsed: r.gasUsed,
        contractAddress: r.contractAddress ? (lower(r.contractAddress) as Address) : null,
        logs: r.logs.length,
      };
    },
    async logs(fromBlock, toBlock, topic) {
      const logs = await provider.getLogs({ fromBlock: Number(fromBlock), toBlock: Number(toBlock), topics: [topic] });
      return logs.map((l) => ({
        address: lower(l.address) as Address,
        topics: [...l.topics] as Hex[],
        data: l.data as Hex,
        blockNumber: BigInt(l.blockNumber),
        transactionHash: l.transactionHash as Hex,
      }));
    },
    estimateGas: (from, to, value) => provider.estimateGas({ from, to, value }),
    async fees() {
      const fee = await provider.getFeeData();
      return {
        gasPrice: required(fee.gasPrice, "gasPrice"),
        maxFeePerGas: required(fee.maxFeePerGas, "maxFeePerGas"),
        maxPriorityFeePerGas: required(fee.maxPriorityFeePerGas, "maxPriorityFeePerGas"),
      };
    },
    async sendValue(to, value) {
      const tx = await wallet.sendTransaction({ to, value });
      return tx.hash as Hex;
    },
    close,
  };
}
