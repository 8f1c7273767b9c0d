/**
 * Who may make a request, decided before a byte of its body is read: the caller's key (or its address), its browser
 * origin, and whether it is over its limit already. The one front gate of JSON-RPC requests, the REST views and
 * WebSocket upgrades; a refusal is counted here, by reason.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { ChainKey } from "../core/chain-key.ts";
import { MultihomeError } from "../core/errors.ts";
import type { Metrics } from "../core/ports.ts";
import type { Caller } from "../core/rpc/access.ts";
import { type Access, RATE_LIMIT_HOLD_MS, rateLimited } from "./access.ts";
import type { RpcGate } from "./rpc-handler.ts";

/**
 * A refused request's unread body up to this many bytes is read and dropped, keeping the connection alive; a bigger
 * one (or one of unknown length) closes the connection instead.
 */
export const MAX_DRAINED_BODY_BYTES = 65_536;

export type CallerCheck =
  | { ok: true; caller: Caller; corsHeaders: Record<string, string> }
  | { ok: false; error: MultihomeError; corsHeaders: Record<string, string>; blockedMs?: number };

export interface AdmissionDeps {
  access: Access;
  metrics: Metrics;
  /** A request on `socket` was refused for its caller's rate (a worker tells the primary: the client is noisy). */
  onRateLimited?(socket: Socket): void;
}

export function createAdmission(deps: AdmissionDeps) {
  const { access, metrics } = deps;
  /** The caller's key, origin and limit, checked; a refusal counted by reason. */
  const checkCaller = (req: IncomingMessage, chain: ChainKey, pathKey: string | undefined): CallerCheck => {
    const caller = access.authenticate(req, chain, pathKey);
    if (caller instanceof MultihomeError) {
      metrics.refused("auth");
      return { ok: false, error: caller, corsHeaders: {} };
    }
    const cors = access.cors(req, caller);
    if (!cors.allowed) {
      metrics.refused("cors");
      const error = new MultihomeError("forbidden", "forbidden: this origin may not call this endpoint");
      return { ok: false, error, corsHeaders: cors.headers };
    }
    const blockedMs = access.blocked(caller);
    if (blockedMs === undefined) return { ok: true, caller, corsHeaders: cors.headers };
    metrics.refused("rate_limit");
    deps.onRateLimited?.(req.socket);
    const error = rateLimited(Math.max(1, Math.ceil(blockedMs / 1000)));
    return { ok: false, error, corsHeaders: cors.headers, blockedMs };
  };

  /**
   * Who may make this request, decided before a byte of the body is read (see checkCaller). Undefined: refused and
   * answered.
   */
  const admit = (
    req: IncomingMessage,
    res: ServerResponse,
    chain: ChainKey,
    pathKey: string | undefined,
    refuse: (error: MultihomeError) => void,
  ): RpcGate | undefined => {
    const checked = checkCaller(req, chain, pathKey);
    for (const [name, value] of Object.entries(checked.corsHeaders)) res.setHeader(name, value);
    if (checked.ok) return access.gate(checked.caller, chain);
    const { blockedMs } = checked;
    if (blockedMs === undefined) return void refuse(checked.error);
    // Already over its limit: the refusal is held back (the body stays unread), so a client that keeps sending is
    // answered once per connection per hold, not as fast as it can ask. Each hold is a different length, so a flood's
    // connections come back spread out, not all at the window's turn (where they would be served as one burst).
    const holdMs = RATE_LIMIT_HOLD_MS * (0.5 + Math.random() / 2);
    // A body too big to drain cheaply closes the connection instead: Node would read and drop all of it to keep the
    // connection alive, and the garbage of a big body sent over and over makes the collector stall everyone.
    const declared = Number(req.headers["content-length"] ?? 0);
    if (!(declared <= MAX_DRAINED_BODY_BYTES)) {
      res.shouldKeepAlive = false;
      res.setHeader("connection", "close");
    }
    const timer = setTimeout(() => refuse(rateLimited(Math.max(1, Math.ceil((blockedMs - holdMs) / 1000)))), holdMs);
    res.once("close", () => clearTimeout(timer));
    return undefined;
  };

  return { checkCaller, admit };
}
