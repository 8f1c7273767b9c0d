/**
 * What Multihome knows about a signed transaction before any upstream sees it: it decodes it locally, refuses what no
 * honest chain would take (malformed, another chain, no replay protection), and computes its hash itself — so the
 * hash a client gets never depends on an upstream's word. Also: how an upstream's answer to a send is read. No I/O.
 */
import { keccak256, parseTransaction, recoverTransactionAddress } from "viem";
import type { Hex } from "../hex.ts";

export interface DecodedTransaction {
  /** keccak256 of the raw bytes, lower-case. */
  hash: Hex;
  /** Recovered from the signature, lower-case. */
  from: Hex;
  nonce: number;
  /** undefined: a legacy transaction signed without a chain id (valid on every chain that accepts it). */
  chainId: number | undefined;
}

export type DecodeOutcome =
  | { ok: true; tx: DecodedTransaction }
  /** `invalid_params`: not a signed transaction. `tx_rejected`: a transaction this chain must not take. */
  | { ok: false; code: "invalid_params" | "tx_rejected"; message: string };

export async function decodeRawTransaction(
  raw: string,
  chainId: number,
  options: { allowUnprotected: boolean },
): Promise<DecodeOutcome> {
  let parsed: ReturnType<typeof parseTransaction>;
  let from: string;
  try {
    parsed = parseTransaction(raw as Hex);
    from = await recoverTransactionAddress({ serializedTransaction: raw as never });
  } catch (error) {
    return { ok: false, code: "invalid_params", message: `not a signed transaction: ${firstLine(error)}` };
  }
  if (parsed.r === undefined || parsed.s === undefined) {
    return { ok: false, code: "invalid_params", message: "not a signed transaction: no signature" };
  }
  const nonce = parsed.nonce ?? 0;
  if (!Number.isSafeInteger(nonce)) return { ok: false, code: "invalid_params", message: "nonce out of range" };
  const txChain = parsed.chainId;
  if (txChain === undefined) {
    if (!options.allowUnprotected)
      return {
        ok: false,
        code: "tx_rejected",
        message:
          "transaction has no replay protection (no chain id in its signature, EIP-155); sign it for chain " +
          `${chainId}, or allow it with transactions.allowUnprotected`,
      };
  } else if (txChain !== chainId) {
    return {
      ok: false,
      code: "tx_rejected",
      message: `transaction is signed for chain ${txChain}, this endpoint serves chain ${chainId}`,
    };
  }
  return {
    ok: true,
    tx: { hash: keccak256(raw as Hex), from: from.toLowerCase() as Hex, nonce, chainId: txChain },
  };
}

function firstLine(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split("\n")[0]!.slice(0, 200);
}

/** How one upstream answered a broadcast. */
export type SendVerdict =
  /** It has the transaction (it answered our hash, or said it already knows it). */
  | "accepted"
  /** It answered a different hash: it altered or substituted the transaction. */
  | "wrong_hash"
  /** "nonce too low": the transaction may already be mined, or another one took its nonce — look it up. */
  | "nonce_used"
  /** The chain refused it (funds, fee, gas…): an answer, passed to the client when no upstream accepted. */
  | "rejected";

// Geth, Nethermind, Erigon, Besu, Reth and anvil spell "I already have it" in these ways.
const KNOWN =
  /already known|known transaction|already imported|already in (?:the )?(?:tx)?pool|alreadyknown|transaction already exists/i;
const NONCE_TOO_LOW = /nonce too low|nonce is too low|oldnonce|nonce has already been used|invalid nonce.*lower/i;

/** Reads a JSON-RPC answer to `eth_sendRawTransaction` for a transaction whose hash is `hash`. */
export function sendVerdict(
  hash: string,
  answer: { ok: true; result: unknown } | { ok: false; message: string },
): SendVerdict {
  if (answer.ok)
    return typeof answer.result === "string" && answer.result.toLowerCase() === hash ? "accepted" : "wrong_hash";
  if (KNOWN.test(answer.message)) return "accepted";
  if (NONCE_TOO_LOW.test(answer.message)) return "nonce_used";
  return "rejected";
}
