/**
 * A WebSocket upgrade on the public listener: only `GET` with `Upgrade: websocket`, to a chain or Solana cluster served
 * here, admitted like a JSON-RPC request (key, origin, limit: browsers send Origin on upgrades and do not preflight
 * them, so the origin check is the only guard), then handed to the WebSocket server with the connection's gate.
 */
import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { type ChainKey, solanaChainKey } from "../core/chain-key.ts";
import { MultihomeError } from "../core/errors.ts";
import type { Engine } from "../engine/engine.ts";
import type { Access } from "./access.ts";
import type { CallerCheck } from "./admission.ts";
import { MIN_EVIDENCE_HEADER, minEvidenceOf } from "./rpc-handler.ts";
import { SOLANA_PATH } from "./solana-routes.ts";
import { refuseUpgrade, type WsServer } from "./ws-server.ts";

export interface UpgradeDeps {
  engine: Engine;
  access: Access;
  websockets: Pick<WsServer, "upgrade">;
  /** The chain a JSON-RPC path names, and the API key in it. */
  rpcTarget(path: string): { chainId: number; pathKey: string | undefined } | undefined;
  checkCaller(req: IncomingMessage, chain: ChainKey, pathKey: string | undefined): CallerCheck;
}

export function createUpgradeHandler(deps: UpgradeDeps) {
  const { engine, access, websockets, rpcTarget, checkCaller } = deps;
  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const path = (req.url ?? "/").split("?", 1)[0]!;
    const target = rpcTarget(path);
    const solana = SOLANA_PATH.exec(path)?.[1];
    const chainId = target?.chainId;
    if (req.method !== "GET" || String(req.headers.upgrade).toLowerCase() !== "websocket") {
      return refuseUpgrade(socket, 400, "Bad Request", {
        error: { code: "invalid_request", message: "only GET with Upgrade: websocket is accepted" },
      });
    }
    const chain = solana === undefined ? chainId : solanaChainKey(solana);
    const served =
      solana === undefined ? engine.chainIds().includes(chainId!) : engine.solanaClusters().includes(solana);
    if (chain === undefined || !served) {
      return refuseUpgrade(socket, 404, "Not Found", {
        error: { code: "unknown_chain", message: "no such chain; JSON-RPC over WebSocket is served at /rpc/{chainId}" },
      });
    }
    // Browsers send Origin on WebSocket upgrades and do not preflight them: the origin check is the only guard.
    const checked = checkCaller(req, chain, target?.pathKey);
    if (!checked.ok) {
      const { error } = checked;
      return refuseUpgrade(socket, error.httpStatus, STATUS_CODES[error.httpStatus] ?? "Error", {
        error: { code: error.code, message: error.message },
      });
    }
    // A browser cannot set headers on an upgrade; other clients hold every call of the connection to this minimum.
    const minEvidence = minEvidenceOf(req.headers[MIN_EVIDENCE_HEADER]);
    if (minEvidence instanceof MultihomeError) {
      return refuseUpgrade(socket, 400, "Bad Request", {
        error: { code: minEvidence.code, message: minEvidence.message },
      });
    }
    websockets.upgrade(req, socket, head, solana === undefined ? { chainId: chainId! } : { solana }, {
      client: access.clientOf(req),
      gate: access.gate(checked.caller, chain),
      ...(minEvidence !== undefined ? { minEvidence } : {}),
    });
  };
}
