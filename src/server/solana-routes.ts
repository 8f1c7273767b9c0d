/**
 * The Solana routes of the public listener: `POST /rpc/solana/{name}` (JSON-RPC, through the same front gate as every
 * other call) and `GET /v1/solana/{name}/transactions/{signature}` (where a send stands in the cluster's outbox).
 */
import { isUtf8 } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ChainKey, solanaChainKey } from "../core/chain-key.ts";
import type { MultihomeError } from "../core/errors.ts";
import type { Metrics } from "../core/ports.ts";
import type { ParseLimits } from "../core/rpc/jsonrpc.ts";
import type { Engine } from "../engine/engine.ts";
import { MAX_STALENESS_SECONDS, parseMaxStaleness, type RpcGate } from "./rpc-handler.ts";
import { handleSolanaBody } from "./solana-handler.ts";

/** `/rpc/solana/{name}`: a Solana cluster's JSON-RPC (and its WebSocket). */
export const SOLANA_PATH = /^\/rpc\/solana\/([a-z0-9-]{1,32})\/?$/;
/** `/v1/solana/{name}/transactions/{signature}`: what became of a Solana transaction sent through the outbox. */
const SOLANA_TRANSACTION_PATH = /^\/v1\/solana\/([a-z0-9-]{1,32})\/transactions\/([1-9A-HJ-NP-Za-km-z]{64,88})\/?$/;

/** What the listener lends these routes: its gate, body reading and answering. */
export interface SolanaRouteDeps {
  engine: Engine;
  limits: ParseLimits;
  metrics: Metrics;
  newRequestId(): string;
  admit(
    req: IncomingMessage,
    res: ServerResponse,
    chain: ChainKey,
    pathKey: string | undefined,
    refuse: (error: MultihomeError) => void,
  ): RpcGate | undefined;
  refuseRpc(res: ServerResponse): (error: MultihomeError) => void;
  admitView(req: IncomingMessage, res: ServerResponse, chain: ChainKey, cost: number): Promise<boolean>;
  readBody(req: IncomingMessage): Promise<Buffer | "too_large">;
  send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void;
  sendJson(res: ServerResponse, status: number, value: unknown): void;
  preflight(req: IncomingMessage, res: ServerResponse): void;
  transactionViewCost: number;
}

export function createSolanaRoutes(deps: SolanaRouteDeps) {
  const { engine, limits, metrics, newRequestId, admit, refuseRpc, admitView, readBody, send, sendJson, preflight } =
    deps;
  const TRANSACTION_VIEW_COST = deps.transactionViewCost;

  /** One JSON-RPC body (or batch) for the cluster `name`, paid for at the front gate like every other call. */
  async function handleSolana(req: IncomingMessage, res: ServerResponse, name: string) {
    if (req.method === "OPTIONS") return preflight(req, res);
    if (req.method !== "POST") {
      res.setHeader("allow", "POST, OPTIONS");
      return sendJson(res, 405, { error: { code: "method_not_allowed", message: "JSON-RPC requests use POST" } });
    }
    if (!engine.solanaClusters().includes(name))
      return sendJson(res, 404, {
        error: { code: "unknown_chain", message: `Solana cluster ${name} is not served here` },
      });
    const gate = admit(req, res, solanaChainKey(name), undefined, refuseRpc(res));
    if (!gate) return;
    const body = await readBody(req);
    if (body === "too_large" || !isUtf8(body)) {
      res.shouldKeepAlive = false;
      return sendJson(res, body === "too_large" ? 413 : 400, {
        error: { code: body === "too_large" ? "limit_exceeded" : "parse_error", message: "request body refused" },
      });
    }
    const staleness = parseMaxStaleness(req.headers["multihome-max-staleness"]);
    if (staleness === "invalid")
      return sendJson(res, 400, {
        error: {
          code: "invalid_request",
          message: `multihome-max-staleness must be whole seconds from 0 to ${MAX_STALENESS_SECONDS}`,
        },
      });
    const r = await handleSolanaBody(engine, name, body.toString("utf8"), {
      ...(staleness !== undefined ? { maxStalenessSeconds: staleness } : {}),
      limits,
      requestId: newRequestId(),
      gate,
      metrics,
    });
    send(res, r.status, r.headers, r.body);
  }

  /** Where a send stands in the cluster's outbox; the transaction's bytes are not echoed. */
  async function transaction(req: IncomingMessage, res: ServerResponse, name: string, signature: string) {
    if (req.method !== "GET") {
      res.setHeader("allow", "GET");
      return sendJson(res, 405, { error: { code: "method_not_allowed", message: "transaction status uses GET" } });
    }
    if (!(await admitView(req, res, solanaChainKey(name), TRANSACTION_VIEW_COST))) return;
    if (!engine.solanaClusters().includes(name))
      return sendJson(res, 404, {
        error: { code: "unknown_chain", message: `Solana cluster ${name} is not served here` },
      });
    const sent = await engine.solanaTransaction(name, signature).catch(() => undefined);
    if (!sent)
      return sendJson(res, 404, { error: { code: "not_found", message: "no such transaction in the outbox" } });
    const { encoded: _bytes, ...status } = sent;
    return sendJson(res, 200, status);
  }

  return {
    /** Answers a Solana path (the promise of its handling); undefined for any other path. */
    route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> | undefined {
      const tx = SOLANA_TRANSACTION_PATH.exec(path);
      if (tx) return transaction(req, res, tx[1]!, tx[2]!);
      const rpc = SOLANA_PATH.exec(path);
      if (rpc) return handleSolana(req, res, rpc[1]!);
      return undefined;
    },
  };
}
