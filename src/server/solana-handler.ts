/**
 * Solana JSON-RPC over HTTP (`POST /rpc/solana/{name}`): body → calls → the engine's cluster → one response, in
 * Solana's wire format. Single calls carry the evidence headers `multihome-verified` and `multihome-slot`. Multihome's
 * own failures use codes a Solana client will not misread (core/solana/methods.ts: never -32002, which `@solana/kit`
 * reads as a failed simulation); the chain's own errors pass through as the nodes gave them.
 */
import { MultihomeError, toRpcError } from "../core/errors.ts";
import { type Metrics, noopMetrics } from "../core/ports.ts";
import {
  type ParsedItem,
  type ParseLimits,
  parseRequestBody,
  type RpcCall,
  type RpcId,
  serializeError,
  serializeResult,
} from "../core/rpc/jsonrpc.ts";
import { solanaCallCost, solanaRpcCode } from "../core/solana/methods.ts";
import { type Engine, SOLANA_SUBSCRIPTION_METHODS, type SolanaAnswer } from "../engine/engine.ts";
import type { RpcGate, RpcHttpResponse } from "./rpc-handler.ts";

/** A Multihome error as the Solana endpoint writes it. */
function solanaError(id: RpcId, error: MultihomeError): string {
  const rpc = toRpcError(error);
  return serializeError(id, { ...rpc, code: solanaRpcCode(error.code, rpc.code) });
}

function answerToJson(id: RpcId, answer: SolanaAnswer): string {
  if (answer.ok) return serializeResult(id, answer.result);
  return "rpcError" in answer ? serializeError(id, answer.rpcError) : solanaError(id, answer.error);
}

export async function handleSolanaBody(
  engine: Engine,
  name: string,
  text: string,
  options: {
    limits: ParseLimits;
    requestId: string;
    gate?: RpcGate;
    metrics?: Metrics;
    /** The caller's `multihome-max-staleness`: last-known-good up to this old answers when nothing can be agreed. */
    maxStalenessSeconds?: number;
    /** Answers the subscription methods (a WebSocket connection's own state); absent over HTTP. */
    subscriptions?: (call: RpcCall) => SolanaAnswer;
  },
): Promise<RpcHttpResponse> {
  const startedAt = performance.now();
  const metrics = options.metrics ?? noopMetrics;
  const count = (method: string | undefined, answer: SolanaAnswer) =>
    metrics.request(
      `solana/${name}`,
      method,
      answer.ok ? "ok" : "rpcError" in answer ? "execution_error" : answer.error.code,
      (performance.now() - startedAt) / 1000,
    );
  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": options.requestId };
  const whole = (error: MultihomeError): RpcHttpResponse => ({
    status: error.httpStatus,
    headers,
    body: solanaError(null, error),
  });
  let parsed: ReturnType<typeof parseRequestBody>;
  try {
    parsed = parseRequestBody(text, options.limits);
  } catch (error) {
    if (!(error instanceof MultihomeError)) throw error;
    const items = typeof error.data?.items === "number" ? error.data.items : 1;
    const refused = await options.gate?.charge(items * solanaCallCost(undefined, options.gate.costs));
    return whole(refused ?? error);
  }
  const items = parsed.batch ? parsed.items : [parsed.item];
  // Every item is paid for, valid or not, before any runs (as on the EVM endpoints), at Solana's own prices.
  const refused = await options.gate?.charge(
    items.reduce((sum, i) => sum + solanaCallCost(i.ok ? i.call.method : undefined, options.gate!.costs), 0),
  );
  if (refused) return whole(refused);

  const run = async (item: ParsedItem): Promise<{ id: RpcId; answer: SolanaAnswer }> => {
    const out = await runItem(item);
    count(item.ok ? item.call.method : undefined, out.answer);
    return out;
  };
  const runItem = async (item: ParsedItem): Promise<{ id: RpcId; answer: SolanaAnswer }> => {
    if (!item.ok) return { id: item.id, answer: { ok: false, error: item.error, evidence: { verified: "none" } } };
    if (options.gate && !options.gate.mayCall(item.call.method)) {
      const error = new MultihomeError(
        "method_not_found",
        `method ${item.call.method} is not allowed for this API key`,
      );
      return { id: item.call.id, answer: { ok: false, error, evidence: { verified: "none" } } };
    }
    if (SOLANA_SUBSCRIPTION_METHODS.has(item.call.method)) {
      if (options.subscriptions) return { id: item.call.id, answer: options.subscriptions(item.call) };
      const error = new MultihomeError("method_not_found", `${item.call.method} needs a WebSocket connection`);
      return { id: item.call.id, answer: { ok: false, error, evidence: { verified: "none" } } };
    }
    const staleness = options.maxStalenessSeconds;
    const answer = await engine.solanaCall(
      name,
      item.call,
      staleness === undefined ? undefined : { maxStalenessSeconds: staleness },
    );
    if (answer) return { id: item.call.id, answer };
    const error = new MultihomeError("unknown_chain", `Solana cluster ${name} is not served here`);
    return { id: item.call.id, answer: { ok: false, error, evidence: { verified: "none" } } };
  };

  if (!parsed.batch) {
    const { id, answer } = await run(parsed.item);
    if (parsed.item.ok && parsed.item.call.notification)
      return { status: 204, headers: { "x-request-id": options.requestId }, body: "" };
    headers["multihome-verified"] = answer.evidence.verified;
    if (answer.evidence.slot !== undefined) headers["multihome-slot"] = String(answer.evidence.slot);
    if (answer.evidence.staleSeconds !== undefined) headers["multihome-stale"] = String(answer.evidence.staleSeconds);
    const status = !answer.ok && "error" in answer && answer.error.httpStatus === 429 ? 429 : 200;
    return { status, headers, body: answerToJson(id, answer) };
  }
  const outs = await Promise.all(parsed.items.map(run));
  const parts = outs
    .filter((_, i) => {
      const item = parsed.items[i]!;
      return !(item.ok && item.call.notification);
    })
    .map((out) => answerToJson(out.id, out.answer));
  if (parts.length === 0) return { status: 204, headers: { "x-request-id": options.requestId }, body: "" };
  return { status: 200, headers, body: `[${parts.join(",")}]` };
}
