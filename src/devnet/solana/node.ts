/**
 * One devnet Solana node as a process: `node src/devnet/solana/node.ts --port P --config <json>`.
 *
 * It serves the JSON-RPC of rpc.ts over HTTP POST on 127.0.0.1 (a free port when `--port` is absent or 0) and prints
 * one line, `{"url":"http://127.0.0.1:PORT"}`, once it listens. `--config` is a {@link SolanaNodeConfig} as JSON. With
 * `--exit-with-stdin` it exits when its stdin closes (its parent died). It never produces a slot by itself: the driver
 * (cluster.ts) tells it to.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { SOLANA_DRIVER_PATH } from "./driver-rpc.ts";
import { createSolanaLedger, type GenesisAccount } from "./ledger.ts";
import { createSolanaRpcHandler, type SolanaRpcHandler } from "./rpc.ts";

/** Largest request body a client may send, in bytes: a validator's own limit. */
export const SOLANA_MAX_REQUEST_BODY_BYTES = 50 * 1024;
/** Largest body on the driver's path ({@link SOLANA_DRIVER_PATH}): it replays many slots per batch, in bytes. */
export const SOLANA_DRIVER_MAX_BODY_BYTES = 64 * 1024 * 1024;

/** What a node is started with; every node of a cluster gets the same. */
export interface SolanaNodeConfig {
  /** The cluster's name (part of the genesis hash). */
  name: string;
  accounts: GenesisAccount[];
  /** @default 32 */
  finalizedDepth?: number;
}

/** Parses `--config`; throws a TypeError naming what is wrong. */
export function parseNodeConfig(text: string): SolanaNodeConfig {
  const value = JSON.parse(text) as Partial<SolanaNodeConfig>;
  if (typeof value.name !== "string") throw new TypeError("config.name must be a string");
  if (!Array.isArray(value.accounts)) throw new TypeError("config.accounts must be an array");
  for (const a of value.accounts) {
    if (typeof a?.address !== "string") throw new TypeError("config.accounts[].address must be a string");
    if (!/^\d+$/.test(String(a.lamports))) throw new TypeError("config.accounts[].lamports must be an integer");
  }
  if (value.finalizedDepth !== undefined && !Number.isInteger(value.finalizedDepth)) {
    throw new TypeError("config.finalizedDepth must be an integer");
  }
  return value as SolanaNodeConfig;
}

/** Serves `handler` on 127.0.0.1:`port`; resolves once listening. */
export function serveSolanaRpc(handler: SolanaRpcHandler, port: number): Promise<Server> {
  const server = createServer((req, res) => void respond(handler, req, res));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

async function respond(handler: SolanaRpcHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") {
    res.writeHead(405, { allow: "POST" }).end();
    return;
  }
  const limit = req.url === SOLANA_DRIVER_PATH ? SOLANA_DRIVER_MAX_BODY_BYTES : SOLANA_MAX_REQUEST_BODY_BYTES;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        res.writeHead(413, { connection: "close" }).end();
        req.destroy();
        return;
      }
      chunks.push(chunk);
    }
  } catch {
    return; // the client went away
  }
  const text = handler(Buffer.concat(chunks).toString("utf8"));
  if (text === undefined) {
    res.writeHead(200).end();
    return;
  }
  res.writeHead(200, { "content-type": "application/json" }).end(text);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: "string" }, config: { type: "string" }, "exit-with-stdin": { type: "boolean" } },
  });
  if (values.config === undefined) throw new TypeError("--config <json> is required");
  const config = parseNodeConfig(values.config);
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError(`--port: not a port: ${values.port}`);
  const ledger = createSolanaLedger(config);
  const server = await serveSolanaRpc(createSolanaRpcHandler(ledger), port);
  const { port: bound } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${bound}` })}\n`);
  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    process.stdin.destroy();
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
  // The driver holds our stdin: when it dies, even by SIGKILL, the pipe closes and this node goes too (no orphans).
  if (values["exit-with-stdin"]) process.stdin.once("end", shutdown).resume();
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`solana devnet node: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
