/**
 * A viem transport over an embedded Multihome: `multihome({ upstreams })` goes wherever `http()` or `fallback()` does.
 * viem's own retries are off (the engine retries across domains, within its budget); a failed verification reaches
 * viem as the JSON-RPC error it is, with `lastKnownGood` in its data.
 */
import { createTransport, type Transport } from "viem";
import { createMultihome, type Multihome, type MultihomeOptions, type RequestOptions } from "./multihome.ts";

export type MultihomeTransportOptions = Omit<MultihomeOptions, "chainId"> & {
  /** @default the viem client's `chain.id` */
  chainId?: number;
};

export type MultihomeTransport = Transport<"multihome", { multihome: Multihome }>;

/**
 * From options, the engine is created on the first client that uses the transport (its chain id comes from the
 * client's `chain` when not given) and shared by every later one; from a `Multihome`, that one is used, and `calls`
 * sets this transport's own `minEvidence` (two viem clients over one engine: one strict, one that polls receipts).
 */
export function multihome(
  source: MultihomeTransportOptions | Multihome,
  calls: Pick<RequestOptions, "minEvidence"> = {},
): MultihomeTransport {
  let engine: Multihome | undefined = "request" in source ? source : undefined;
  return ({ chain }) => {
    if (engine === undefined) {
      const options = source as MultihomeTransportOptions;
      const chainId = options.chainId ?? chain?.id;
      if (chainId === undefined) throw new TypeError("multihome(): give a chainId, or a chain to the viem client");
      engine = createMultihome({ ...options, chainId });
    }
    if (chain !== undefined && chain.id !== engine.chainId) {
      throw new TypeError(`multihome(): the client's chain ${chain.id} is not this Multihome's ${engine.chainId}`);
    }
    const bound = engine;
    return createTransport(
      {
        key: "multihome",
        name: "Multihome",
        type: "multihome",
        retryCount: 0,
        // viem types each method's result; the engine's answers are the chain's JSON, as an http() transport's are.
        request: ({ method, params }) =>
          bound.request({ method, params: params as unknown[] | undefined }, calls) as Promise<never>,
      },
      { multihome: bound },
    );
  };
}
