/**
 * The REST views of an EVM chain: `GET /v1/chains/{id}/accounts/{address}` (a wallet's account, proven) and
 * `GET /v1/chains/{id}/transactions/{hash}` (what became of a transaction sent through the outbox). Behind the same
 * front gate as JSON-RPC (keys, their chain scope, rate limits), at a fixed cost each.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ChainKey } from "../core/chain-key.ts";
import { ADDRESS_HEX, HASH_HEX } from "../core/hex.ts";
import type { Engine } from "../engine/engine.ts";

/** Units the REST views cost: the proven reads behind them. */
export const ACCOUNT_VIEW_COST = 4;
export const TRANSACTION_VIEW_COST = 4;

const ACCOUNT_PATH = /^\/v1\/chains\/(\d{1,16})\/accounts\/([^/]{1,64})\/?$/;
const TRANSACTION_PATH = /^\/v1\/chains\/(\d{1,16})\/transactions\/([^/]{1,80})\/?$/;

export interface EvmViewDeps {
  engine: Engine;
  /** Admits a view's caller at `cost` units; false when it was refused (and answered). */
  admitView(req: IncomingMessage, res: ServerResponse, chain: ChainKey, cost: number): Promise<boolean>;
  sendJson(res: ServerResponse, status: number, value: unknown): void;
}

export function createEvmViews(deps: EvmViewDeps) {
  const { engine, admitView, sendJson } = deps;
  const getOnly = (req: IncomingMessage, res: ServerResponse, what: string): boolean => {
    if (req.method === "GET") return true;
    res.setHeader("allow", "GET");
    sendJson(res, 405, { error: { code: "method_not_allowed", message: `${what} uses GET` } });
    return false;
  };
  const unknownChain = (res: ServerResponse, chain: string) =>
    sendJson(res, 404, { error: { code: "unknown_chain", message: `chain ${chain} is not served here` } });

  async function account(req: IncomingMessage, res: ServerResponse, chain: string, address: string) {
    if (!getOnly(req, res, "the account view")) return;
    if (!(await admitView(req, res, Number(chain), ACCOUNT_VIEW_COST))) return;
    if (!ADDRESS_HEX.test(address))
      return sendJson(res, 400, { error: { code: "invalid_params", message: "expected a 20-byte hex address" } });
    const answer = await engine.account(Number(chain), address);
    if (!answer) return unknownChain(res, chain);
    if (!answer.ok) return sendJson(res, 503, { error: { code: "unavailable", message: answer.message } });
    return sendJson(res, 200, answer.view);
  }

  async function transaction(req: IncomingMessage, res: ServerResponse, chain: string, hash: string) {
    if (!getOnly(req, res, "transaction status")) return;
    if (!(await admitView(req, res, Number(chain), TRANSACTION_VIEW_COST))) return;
    if (!engine.chainIds().includes(Number(chain))) return unknownChain(res, chain);
    if (!HASH_HEX.test(hash))
      return sendJson(res, 400, { error: { code: "invalid_params", message: "expected a 32-byte hex hash" } });
    const status = await engine.transaction(Number(chain), hash);
    if (!status)
      return sendJson(res, 404, {
        error: { code: "not_found", message: "no such transaction in the outbox, and none mined with this hash" },
      });
    return sendJson(res, 200, status);
  }

  return {
    /** Answers an EVM view's path (the promise of its handling); undefined for any other path. */
    route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> | undefined {
      const a = ACCOUNT_PATH.exec(path);
      if (a) return account(req, res, a[1]!, a[2]!);
      const t = TRANSACTION_PATH.exec(path);
      if (t) return transaction(req, res, t[1]!, t[2]!);
      return undefined;
    },
  };
}
