/**
 * An `eth_call`'s transaction object, read into what the EVM runs, or the reason it cannot be run here (then it is
 * answered by the agreement of independent domains instead). Lenient where nodes are: `data` or `input` (equal when
 * both), no `from` (the zero address), no gas (the block's gas limit, under the call gas cap), no price (free: a call
 * pays nothing, and nodes then run it with a zero base fee).
 */
import type { Hex } from "../hex.ts";

export interface CallRequest {
  from: Hex;
  to?: Hex;
  data: Hex;
  value: bigint;
  gas: bigint;
  gasPrice: bigint;
  blobVersionedHashes?: Hex[];
}

export type ReadCall = { ok: true; request: CallRequest } | { ok: false; reason: string };

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const DATA = /^0x([0-9a-fA-F]{2})*$/;
const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;
const ZERO_ADDRESS: Hex = `0x${"0".repeat(40)}`;
/** Fields a call object may carry that change nothing this EVM runs (or that it runs as given). */
const KNOWN = new Set([
  "from",
  "to",
  "data",
  "input",
  "value",
  "gas",
  "gasPrice",
  "maxFeePerGas",
  "maxPriorityFeePerGas",
  "maxFeePerBlobGas",
  "blobVersionedHashes",
  "accessList",
  "nonce",
  "type",
  "chainId",
]);

function quantity(value: unknown): bigint | undefined | "bad" {
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" && QUANTITY.test(value) ? BigInt(value) : "bad";
}

/**
 * `params` of an eth_call (block already pinned); `gasLimit` the block's, `gasCap` the configured most, `baseFee` the
 * block's (for an EIP-1559 price).
 */
export function readCall(
  params: readonly unknown[],
  gasLimit: bigint,
  gasCap: bigint,
  baseFee: bigint | undefined,
): ReadCall {
  if (params.length > 2) return { ok: false, reason: "state or block overrides" };
  const call = params[0];
  if (typeof call !== "object" || call === null || Array.isArray(call)) return { ok: false, reason: "no call object" };
  const c = call as Record<string, unknown>;
  const unknown = Object.keys(c).find((k) => !KNOWN.has(k));
  if (unknown) return { ok: false, reason: `call field ${unknown.slice(0, 40)}` };
  const from = c.from ?? ZERO_ADDRESS;
  if (typeof from !== "string" || !ADDRESS.test(from)) return { ok: false, reason: "from" };
  if (c.to !== undefined && c.to !== null && (typeof c.to !== "string" || !ADDRESS.test(c.to)))
    return { ok: false, reason: "to" };
  const data = c.data ?? c.input ?? "0x";
  if (typeof data !== "string" || !DATA.test(data)) return { ok: false, reason: "data" };
  if (c.data !== undefined && c.input !== undefined && c.data !== c.input)
    return { ok: false, reason: "data and input differ" };
  const fields = { value: quantity(c.value), gas: quantity(c.gas), gasPrice: quantity(c.gasPrice) };
  const maxFee = quantity(c.maxFeePerGas);
  const tip = quantity(c.maxPriorityFeePerGas);
  if ([...Object.values(fields), maxFee, tip].includes("bad")) return { ok: false, reason: "a quantity field" };
  const hashes = c.blobVersionedHashes;
  if (hashes !== undefined && (!Array.isArray(hashes) || hashes.some((h) => typeof h !== "string")))
    return { ok: false, reason: "blobVersionedHashes" };
  const gas = (fields.gas as bigint | undefined) ?? gasLimit;
  return {
    ok: true,
    request: {
      from: from.toLowerCase() as Hex,
      ...(typeof c.to === "string" ? { to: c.to.toLowerCase() as Hex } : {}),
      data: data.toLowerCase() as Hex,
      value: (fields.value as bigint | undefined) ?? 0n,
      gas: gas < gasCap ? gas : gasCap,
      gasPrice: priceOf(
        fields.gasPrice as bigint | undefined,
        maxFee as bigint | undefined,
        tip as bigint | undefined,
        baseFee,
      ),
      ...(hashes ? { blobVersionedHashes: hashes as Hex[] } : {}),
    },
  };
}

/** What the call pays per gas: its gas price, or its EIP-1559 fee in this block; nothing when it states neither. */
function priceOf(
  gasPrice: bigint | undefined,
  maxFee: bigint | undefined,
  tip: bigint | undefined,
  baseFee: bigint | undefined,
) {
  if (gasPrice !== undefined) return gasPrice;
  if (maxFee === undefined) return 0n;
  if (baseFee === undefined) return maxFee;
  const tipped = baseFee + (tip ?? 0n);
  return tipped < maxFee ? tipped : maxFee;
}
