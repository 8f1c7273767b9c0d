/**
 * Per-call limits checked before anything is asked of an upstream: how many params, how large a call's data, how
 * much gas an `eth_call` may burn, how many addresses and topics a log filter may hold. A call over a limit is
 * refused (-32602) — except gas, which is capped: a call asking for more runs with the cap, as geth's own
 * `RPCGasCap` would do, so an infinite loop costs at most the cap on the node.
 */
import { MultihomeError } from "../errors.ts";
import { toHex } from "./methods.ts";

/** Most params one call may carry (no Ethereum method takes more than four). */
export const MAX_CALL_PARAMS = 16;

export interface CallLimits {
  /** Highest `gas` an eth_call / eth_estimateGas / eth_createAccessList runs with. */
  maxGas: number;
  /** Largest `data`/`input` of such a call, in bytes. */
  maxDataBytes: number;
  /** Most addresses in one log filter. */
  maxLogAddresses: number;
  /** Most topic values (every alternative of every position) in one log filter. */
  maxLogTopicValues: number;
}

const CALL_METHODS = new Set(["eth_call", "eth_estimateGas", "eth_createAccessList"]);

export type LimitedCall =
  | { ok: true; params: unknown[] | Record<string, unknown> }
  | { ok: false; error: MultihomeError };

function refuse(message: string, limit: number): LimitedCall {
  return { ok: false, error: new MultihomeError("invalid_params", `invalid params: ${message}`, { data: { limit } }) };
}

/** Check a call against the limits; the params come back unchanged, or with the gas capped. */
export function limitCall(
  method: string,
  params: unknown[] | Record<string, unknown>,
  limits: CallLimits,
): LimitedCall {
  if (Array.isArray(params) && params.length > MAX_CALL_PARAMS)
    return refuse(`more than ${MAX_CALL_PARAMS} params`, MAX_CALL_PARAMS);
  if (!Array.isArray(params)) return { ok: true, params };
  const first = params[0];
  if (first === null || typeof first !== "object" || Array.isArray(first)) return { ok: true, params };
  const object = first as Record<string, unknown>;
  if (CALL_METHODS.has(method)) return limitTransactionCall(params, object, limits);
  if (method === "eth_getLogs") return limitLogFilter(params, object, limits);
  return { ok: true, params };
}

function limitTransactionCall(params: unknown[], call: Record<string, unknown>, limits: CallLimits): LimitedCall {
  for (const field of ["data", "input"] as const) {
    const data = call[field];
    if (typeof data === "string" && data.length > 2 + 2 * limits.maxDataBytes)
      return refuse(`${field} larger than ${limits.maxDataBytes} bytes`, limits.maxDataBytes);
  }
  if (call.gas === undefined || call.gas === null) return { ok: true, params };
  const gas = parseGas(call.gas);
  if (gas === undefined) return refuse("gas must be a hex quantity", limits.maxGas);
  if (gas <= limits.maxGas) return { ok: true, params };
  const capped = params.slice();
  capped[0] = { ...call, gas: toHex(limits.maxGas) };
  return { ok: true, params: capped };
}

/** Gas as a number; anything above 2^53 is just "more than any cap". */
function parseGas(value: unknown): number | undefined {
  if (typeof value !== "string" || !/^0x[0-9a-f]{1,64}$/i.test(value)) return undefined;
  const gas = BigInt(value);
  return gas > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(gas);
}

function limitLogFilter(params: unknown[], filter: Record<string, unknown>, limits: CallLimits): LimitedCall {
  const { address, topics } = filter;
  if (Array.isArray(address) && address.length > limits.maxLogAddresses)
    return refuse(`more than ${limits.maxLogAddresses} addresses in the log filter`, limits.maxLogAddresses);
  if (Array.isArray(topics)) {
    let values = 0;
    for (const position of topics) values += Array.isArray(position) ? position.length : 1;
    if (values > limits.maxLogTopicValues)
      return refuse(`more than ${limits.maxLogTopicValues} topic values in the log filter`, limits.maxLogTopicValues);
  }
  return { ok: true, params };
}
