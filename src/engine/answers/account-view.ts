/**
 * The wallet's view of one account (`GET /v1/chains/{chainId}/accounts/{address}`): balance and nonce proven at one
 * block, the agreed head — or, when nothing live can be proven or the head itself is stale, the last verified values
 * marked stale with their block and its age. Never a zero that was not proven.
 */
import type { CallAnswer, CallOptions } from "./answer.ts";

export interface AccountView {
  chainId: number;
  address: string;
  /** Wei, as a decimal string. */
  balance: string;
  nonce: number;
  block: { number: number; hash: string };
  evidence: { method: "proof" | "quorum" | "single"; domains: string[] };
  freshness: "live" | "stale";
  ageSeconds: number;
}

export type AccountAnswer = { ok: true; view: AccountView } | { ok: false; message: string };

/** Stale values of any age are acceptable here: the view says how old they are. */
const ANY_AGE_SECONDS = Number.MAX_SAFE_INTEGER;

export async function accountView(
  chainId: number,
  address: string,
  call: (method: string, params: unknown[], options: CallOptions) => Promise<CallAnswer>,
  /** How the reads behind the view are made (a first-head wait, a signal); any stale age is accepted regardless. */
  base: CallOptions = {},
): Promise<AccountAnswer> {
  const options = { ...base, maxStalenessSeconds: ANY_AGE_SECONDS };
  const [balance, latestNonce] = await Promise.all([
    call("eth_getBalance", [address, "latest"], options),
    call("eth_getTransactionCount", [address, "latest"], options),
  ]);
  if (!balance.ok) return unavailable(balance);
  const evidence = balance.evidence;
  if (evidence.blockHash === undefined || evidence.blockNumber === undefined || evidence.verified === "none") {
    return { ok: false, message: "no verified balance is known for this account" };
  }
  // Balance and nonce describe one block: when the head moved between the two reads (or one came from
  // last-known-good), the nonce is read again at the balance's block.
  const nonce =
    latestNonce.ok && latestNonce.evidence.blockHash === evidence.blockHash
      ? latestNonce
      : await call("eth_getTransactionCount", [address, `0x${evidence.blockNumber.toString(16)}`], options);
  if (!nonce.ok) return unavailable(nonce);
  return {
    ok: true,
    view: {
      chainId,
      address,
      balance: BigInt(balance.result as string).toString(10),
      nonce: Number(BigInt(nonce.result as string)),
      block: { number: evidence.blockNumber, hash: evidence.blockHash },
      evidence: { method: evidence.verified, domains: evidence.domains ?? [] },
      freshness: evidence.staleSeconds !== undefined ? "stale" : "live",
      ageSeconds: evidence.staleSeconds ?? 0,
    },
  };
}

function unavailable(failed: Exclude<CallAnswer, { ok: true }>): AccountAnswer {
  const message = "error" in failed ? failed.error.message : failed.rpcError.message;
  return { ok: false, message: `no verified balance or nonce is known for this account: ${message}` };
}
