/**
 * createSolanaMultihome: Multihome's Solana cluster embedded in an app, in Node or in a browser — reads agreed by
 * independent domains at one slot, sends through several domains with the outbox behind them, over the upstreams the
 * app lists. `transport` is a `@solana/kit` RPC transport: `createSolanaRpcFromTransport(mh.transport)` gives kit's
 * whole client, every answer checked here.
 */
import { MultihomeError, toRpcError } from "../core/errors.ts";
import { callShapeProblem, type RpcErrorObject } from "../core/rpc/jsonrpc.ts";
import { solanaRpcCode } from "../core/solana/methods.ts";
import type { SolanaAnswer, SolanaClusterStatus, SolanaEvidence } from "../engine/engine.ts";
import {
  CLIENT_READY_TIMEOUT_MS_DEFAULT,
  type MultihomeOptions,
  parseClientConfig,
  startClientEngine,
  upstreamIds,
} from "./multihome.ts";

export interface SolanaMultihomeOptions extends Omit<MultihomeOptions, "chainId" | "minEvidence"> {
  /** The cluster's name, as evidence and status show it. @default "mainnet" */
  cluster?: string;
  /** Every upstream's `getGenesisHash` must be this; without it, independent domains must agree on one. */
  genesisHash?: string;
}

/** An answer with how it was established, as the Solana endpoint's headers say it. */
export type SolanaClientAnswer =
  | { ok: true; result: unknown; evidence: SolanaEvidence }
  | { ok: false; error: RpcErrorObject; evidence: SolanaEvidence };

export interface SolanaMultihome {
  cluster: string;
  /** One call, with its evidence. */
  call(method: string, params?: unknown[]): Promise<SolanaClientAnswer>;
  /** A `@solana/kit` RPC transport: a JSON-RPC payload (or batch) in, the response object out. */
  transport<TResponse>(config: { payload: unknown; signal?: AbortSignal }): Promise<TResponse>;
  /** Resolves once every commitment has an agreed slot (or after `timeoutMs`). */
  ready(timeoutMs?: number): Promise<{ ready: boolean; status: SolanaClusterStatus }>;
  status(): SolanaClusterStatus;
  close(): Promise<void>;
}

function toClientAnswer(answer: SolanaAnswer): SolanaClientAnswer {
  if (answer.ok) return { ok: true, result: answer.result, evidence: answer.evidence };
  if ("rpcError" in answer) return { ok: false, error: answer.rpcError, evidence: answer.evidence };
  const error = toRpcError(answer.error);
  return {
    ok: false,
    error: { ...error, code: solanaRpcCode(answer.error.code, error.code) },
    evidence: answer.evidence,
  };
}

export function createSolanaMultihome(options: SolanaMultihomeOptions): SolanaMultihome {
  const cluster = options.cluster ?? "mainnet";
  const ids = upstreamIds(options.upstreams);
  const byId = new Map(options.upstreams.map((u, i) => [ids[i]!, u]));
  const chain = {
    family: "solana",
    name: cluster,
    ...(options.genesisHash !== undefined ? { genesisHash: options.genesisHash } : {}),
  };
  const config = parseClientConfig(options.settings ?? {}, chain, options.upstreams, ids);
  const engine = startClientEngine(config, options, byId);
  let closed = false;
  const status = () => engine.solanaStatus()[0]!;

  async function call(method: string, params: unknown[] = []): Promise<SolanaClientAnswer> {
    const none: SolanaEvidence = { verified: "none" };
    const refuse = (e: MultihomeError) => toClientAnswer({ ok: false, error: e, evidence: none });
    if (closed) return refuse(new MultihomeError("unavailable", "this Multihome is closed"));
    const problem = callShapeProblem(method, params, config.server.maxMethodLength);
    if (problem !== undefined) return refuse(new MultihomeError("invalid_request", `invalid request: ${problem}`));
    const answer = await engine.solanaCall(cluster, {
      id: 0,
      method,
      params: params as unknown[],
      notification: false,
    });
    return toClientAnswer(answer!);
  }

  /** One JSON-RPC request object answered as a node would: its id echoed, a result or an error. */
  async function respond(request: unknown): Promise<Record<string, unknown>> {
    const { id = null, method, params } = (request ?? {}) as { id?: unknown; method?: unknown; params?: unknown };
    const answer = await call(String(method), Array.isArray(params) ? params : []);
    return answer.ok ? { jsonrpc: "2.0", id, result: answer.result } : { jsonrpc: "2.0", id, error: answer.error };
  }

  return {
    cluster,
    call,
    async transport<TResponse>({ payload }: { payload: unknown; signal?: AbortSignal }): Promise<TResponse> {
      if (Array.isArray(payload)) return (await Promise.all(payload.map(respond))) as TResponse;
      return (await respond(payload)) as TResponse;
    },
    async ready(timeoutMs = CLIENT_READY_TIMEOUT_MS_DEFAULT) {
      await engine.ready(timeoutMs);
      return { ready: status().ready, status: status() };
    },
    status,
    async close() {
      if (closed) return;
      closed = true;
      await engine.stop();
    },
  };
}
