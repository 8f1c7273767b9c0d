/** A Solana cluster's entry of `chains`: `{ family: "solana", name, genesisHash?, upstreams }` (docs/solana.md). */
import * as z from "zod";
import { plainUpstreamWith, uniqueUpstreamIds } from "./upstream-schema.ts";

/** A Solana cluster's name: the last segment of `/rpc/solana/{name}`. */
export const SOLANA_CLUSTER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
/** A base58-encoded 32-byte hash (Solana's genesis hash, blockhashes). */
export const BASE58_HASH = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;

/** A Solana cluster in `chains`: `{ family: "solana", name, upstreams }`, served at `/rpc/solana/{name}`. */
export const solanaClusterSchemaWith = <D extends z.ZodType>(domain: D) =>
  z
    .strictObject({
      family: z.literal("solana"),
      name: z.string().regex(SOLANA_CLUSTER_NAME, "lower-case letters, digits and '-', at most 32"),
      /** When given, every upstream's `getGenesisHash` must be this; otherwise independent domains must agree on it. */
      genesisHash: z.string().regex(BASE58_HASH, "a base58 hash").optional(),
      upstreams: z.array(plainUpstreamWith(domain)).min(1).max(64),
    })
    .superRefine(uniqueUpstreamIds);
