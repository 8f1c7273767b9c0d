/**
 * An EIP-1193 provider over an embedded Multihome: what ethers' `BrowserProvider` and wallet code take. It is a
 * read-and-broadcast provider: it holds no accounts (`eth_accounts` is empty) and signs nothing, so signed
 * transactions go out with `eth_sendRawTransaction` (ethers: a `Wallet` connected to it).
 */
import { BaseError } from "../core/errors.ts";
import type { Multihome, RequestArguments } from "./multihome.ts";

/** EIP-1193: the provider does not support the requested method. */
export const EIP1193_UNSUPPORTED_METHOD = 4200;
/** EIP-1193: the user has not authorized the requested account or method. */
export const EIP1193_UNAUTHORIZED = 4100;

/** How long each wait for an agreed head lasts before `connect` is waited for again, ms. */
export const EIP1193_CONNECT_WAIT_MS = 1_000;

/** Methods that ask a wallet to act: not this provider's job. */
const WALLET_ONLY = /^(eth_requestAccounts|eth_sendTransaction|eth_sign.*|personal_.*|wallet_.*)$/;

export class ProviderRpcError extends BaseError<number> {
  override readonly name = "ProviderRpcError";
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

type Listener = (...args: unknown[]) => void;

export interface Eip1193Provider {
  request(args: RequestArguments): Promise<unknown>;
  on(event: string, listener: Listener): Eip1193Provider;
  removeListener(event: string, listener: Listener): Eip1193Provider;
  /** The engine behind it: its `call` gives each answer's evidence, `account` the wallet view. */
  readonly multihome: Multihome;
}

export function createEip1193Provider(multihome: Multihome): Eip1193Provider {
  const listeners = new Map<string, Set<Listener>>();
  const emit = (event: string, ...args: unknown[]) => {
    for (const listener of listeners.get(event) ?? []) {
      // A listener's bug is the app's: it must not become an unhandled rejection here.
      try {
        listener(...args);
      } catch {}
    }
  };
  const chainIdHex = `0x${multihome.chainId.toString(16)}`;
  // EIP-1193 `connect` once the engine has an agreed head, however long that takes (a wallet may start offline), so a
  // wallet UI can tell "connecting" from "connected".
  void (async () => {
    while (!multihome.closed) {
      if ((await multihome.ready(EIP1193_CONNECT_WAIT_MS)).ready) {
        if (!multihome.closed) emit("connect", { chainId: chainIdHex });
        return;
      }
    }
  })();

  const provider: Eip1193Provider = {
    multihome,
    async request(args) {
      if (args?.method === "eth_accounts") return [];
      if (typeof args?.method === "string" && WALLET_ONLY.test(args.method)) {
        const code = args.method === "eth_requestAccounts" ? EIP1193_UNAUTHORIZED : EIP1193_UNSUPPORTED_METHOD;
        throw new ProviderRpcError(code, `${args.method}: this provider holds no accounts and signs nothing`);
      }
      return multihome.request(args);
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set<Listener>();
      listeners.set(event, set.add(listener));
      return provider;
    },
    removeListener(event, listener) {
      listeners.get(event)?.delete(listener);
      return provider;
    },
  };
  return provider;
}
