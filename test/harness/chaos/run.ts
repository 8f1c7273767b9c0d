/**
 * Plays a fault schedule against a test network while readers (balances, the head, receipts, transaction statuses)
 * and a sender use the gateway as a wallet would, and records every answer with when it was asked and answered. The
 * history is judged afterwards against the chain (oracle.ts): nothing here decides what is right.
 */
import { type Hex, keccak256 } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type FaultRule, mulberry32 } from "../fault-proxy.ts";
import type { TestNetwork } from "../network.ts";
import type { Episode, EpisodeKind, Schedule } from "./schedule.ts";

export type ReadKind = "balance" | "head" | "receipt" | "status";

export interface ReadRecord {
  kind: ReadKind;
  worker: number;
  startMs: number;
  endMs: number;
  /** The highest block this worker had been shown before it asked. */
  shownBefore: number;
  /** The devnet's head when the answer arrived. */
  chainHeadAtEnd: number;
  ok: boolean;
  error?: string;
  /** `multihome-block`, or the block an answer names. */
  block?: number;
  verified?: string | null;
  stale?: string | null;
  address?: Hex;
  hash?: Hex;
  result?: unknown;
}

export interface SendRecord {
  hash: Hex;
  nonce: number;
  acceptedAtMs: number | undefined;
  attempts: number;
  lastError?: string;
}

export interface History {
  reads: ReadRecord[];
  sends: SendRecord[];
  /** The episodes as they ran: start when the fault was set, end once its fault was cleared and the node synced. */
  episodes: Episode[];
  endMs: number;
  /** Wall-clock time of run millisecond 0. */
  t0: number;
  /** Sender and receiver of the sender's transfers; the balance readers watch these and two quiet accounts. */
  accounts: Hex[];
}

/** Readers running side by side, and the pause between the reads each starts (pacing, not synchronisation). */
const WORKERS = 4;
const READ_PACE_MS = 15;
const MAX_IN_FLIGHT_PER_WORKER = 32;
const SEND_PACE_MS = 400;
const REQUEST_TIMEOUT_MS = 15_000;
/** Read kinds a worker draws from uniformly: half are balances, what wallets read most. */
const MIX: ReadKind[] = ["balance", "head", "balance", "receipt", "balance", "status"];
const SENDER = 1;
const RECEIVER = 2;

export async function runSchedule(net: TestNetwork, schedule: Schedule): Promise<History> {
  const t0 = Date.now();
  const now = () => Date.now() - t0;
  const accounts = [SENDER, RECEIVER, 3, 4].map((i) => net.devnet.accounts[i]!.address.toLowerCase() as Hex);
  const sends: SendRecord[] = [];
  const reads: ReadRecord[] = [];
  let running = true;

  const played = playEpisodes(net, schedule, now);
  const sender = sendLoop(net, sends, now, () => running);
  const workers = Array.from({ length: WORKERS }, (_, w) =>
    readLoop(net, w, {
      accounts,
      sends,
      reads,
      now,
      running: () => running,
      random: mulberry32(schedule.seed * 100 + w),
    }),
  );
  const episodes = await played;
  const endMs = Math.max(schedule.durationMs, now());
  // Let the last recovery show in the history before the readers stop.
  await new Promise((r) => setTimeout(r, Math.max(0, endMs + 3_000 - now())));
  running = false;
  await Promise.all([sender, ...workers]);
  return { reads, sends, episodes, endMs: now(), t0, accounts };
}

async function playEpisodes(net: TestNetwork, schedule: Schedule, now: () => number): Promise<Episode[]> {
  const byNode = new Map<string, Episode[]>();
  for (const e of schedule.episodes) byNode.set(e.node, [...(byNode.get(e.node) ?? []), e]);
  const actual: Episode[] = [];
  await Promise.all(
    [...byNode].map(async ([node, episodes]) => {
      for (const e of episodes) {
        await until(now, e.startMs);
        const startMs = now();
        await beginFault(net, node, e.kind);
        await until(now, e.endMs);
        await endFault(net, node, e.kind);
        actual.push({ ...e, startMs, endMs: now() });
      }
    }),
  );
  return actual;
}

async function until(now: () => number, ms: number): Promise<void> {
  const wait = ms - now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

async function beginFault(net: TestNetwork, node: string, kind: EpisodeKind): Promise<void> {
  const proxy = net.proxies.get(node)!;
  await proxy.setFault(faultRule(kind));
  if (kind === "crash") net.devnet.pause(node);
}

async function endFault(net: TestNetwork, node: string, kind: EpisodeKind): Promise<void> {
  await net.proxies.get(node)!.clearFault();
  // A restarted node answers at once, from where it stopped, and catches up while it serves: it counts as up (its
  // episode ends) only once it is back at the chain's head.
  if (kind === "crash") await net.devnet.resume(node);
}

function faultRule(kind: EpisodeKind): FaultRule {
  switch (kind) {
    case "crash":
    case "blackout":
      return { fault: { kind: "down" } };
    case "hang":
      return { fault: { kind: "blackhole" } };
    case "http500":
      return { fault: { kind: "status", status: 500, body: "internal error" } };
    case "stall":
      return { fault: { kind: "latency", ms: 2_000 } };
    case "truncate":
      return { fault: { kind: "truncate", fraction: 0.5 }, ratio: 0.5 };
    case "reset":
      return { fault: { kind: "reset" }, ratio: 0.5 };
    case "lie":
      return { fault: { kind: "rewrite", fn: (_request, response) => lie(response) } };
  }
}

/**
 * The lies of a provider that wants a wallet to see nothing: every short quantity zero (balances, the head, nonces,
 * the chain id), failed transfers, another state root.
 */
function lie(response: unknown): unknown {
  const r = response as { result?: unknown };
  const result = r.result as Record<string, unknown> | string | null | undefined;
  if (result === undefined || result === null) return response;
  if (typeof result === "string") return result.length <= 66 && result !== "0x" ? { ...r, result: "0x0" } : response;
  if ("accountProof" in result) return { ...r, result: { ...result, balance: "0x0" } };
  if ("status" in result && "logs" in result) return { ...r, result: { ...result, status: "0x0" } };
  if ("stateRoot" in result) return { ...r, result: { ...result, stateRoot: `0x${"0".repeat(63)}1` } };
  return response;
}

function sendLoop(net: TestNetwork, sends: SendRecord[], now: () => number, running: () => boolean): Promise<void> {
  const signer = privateKeyToAccount(net.devnet.accounts[SENDER]!.privateKey);
  const to = net.devnet.accounts[RECEIVER]!.address;
  return (async () => {
    let current: { raw: Hex; record: SendRecord } | undefined;
    while (running()) {
      if (!current) {
        const nonce = sends.length;
        const raw = await signer.signTransaction({
          chainId: net.chainId,
          type: "eip1559",
          nonce,
          to,
          value: 1_000_000_000n + BigInt(nonce),
          gas: 21_000n,
          maxFeePerGas: 10n ** 11n,
          maxPriorityFeePerGas: 1n,
        });
        current = { raw, record: { hash: keccak256(raw), nonce, acceptedAtMs: undefined, attempts: 0 } };
        sends.push(current.record);
      }
      const { raw, record } = current;
      record.attempts++;
      // A wallet whose send was not acknowledged sends the same bytes again: never a new nonce for an unknown fate.
      const reply = await post(net.rpcUrl, { jsonrpc: "2.0", id: 1, method: "eth_sendRawTransaction", params: [raw] });
      if (reply.body?.result === record.hash) {
        record.acceptedAtMs = now();
        current = undefined;
      } else {
        record.lastError = reply.error ?? JSON.stringify(reply.body?.error ?? reply.body).slice(0, 160);
      }
      await new Promise((r) => setTimeout(r, SEND_PACE_MS));
    }
  })();
}

interface Reply {
  status?: number;
  headers?: Headers;
  body?: { result?: unknown; error?: { code: number; message: string; data?: unknown } } & Record<string, unknown>;
  /** Transport failure or unparseable body. */
  error?: string;
}

async function post(url: string, payload: unknown): Promise<Reply> {
  return request(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
}

async function request(url: string, init: RequestInit): Promise<Reply> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    try {
      return { status: res.status, headers: res.headers, body: JSON.parse(text) };
    } catch {
      return { status: res.status, headers: res.headers, error: `HTTP ${res.status}: ${text.slice(0, 120)}` };
    }
  } catch (error) {
    return { error: `transport: ${(error as Error).message}` };
  }
}

interface ReadContext {
  accounts: Hex[];
  sends: SendRecord[];
  reads: ReadRecord[];
  now: () => number;
  running: () => boolean;
  /** Each worker draws its own reads, so workers do not march in step (and share every answer in flight). */
  random: () => number;
}

/**
 * One worker is a population of wallets: it starts a read every READ_PACE_MS whether or not the earlier ones were
 * answered (a slow answer holds up its own wallet, not everyone's), up to MAX_IN_FLIGHT_PER_WORKER at once.
 */
async function readLoop(net: TestNetwork, worker: number, ctx: ReadContext): Promise<void> {
  let shown = 0;
  const inFlight = new Set<Promise<void>>();
  const pick = <T>(list: readonly T[]): T => list[Math.floor(ctx.random() * list.length)]!;
  const readOne = async () => {
    // Receipts and statuses of the newest transactions: the ones a wallet polls for (the head until there are any).
    const hash = pick(ctx.sends.filter((s) => s.acceptedAtMs !== undefined).slice(-4))?.hash;
    const drawn = pick(MIX);
    const kind = (drawn === "receipt" || drawn === "status") && !hash ? "head" : drawn;
    const startMs = ctx.now();
    const shownBefore = shown;
    const record = await readOnce(net, kind, pick(ctx.accounts), hash!);
    const full: ReadRecord = {
      kind,
      worker,
      startMs,
      endMs: ctx.now(),
      shownBefore,
      chainHeadAtEnd: net.devnet.head(),
      ...record,
    };
    ctx.reads.push(full);
    if (full.ok && full.block !== undefined) shown = Math.max(shown, full.block);
  };
  while (ctx.running()) {
    if (inFlight.size >= MAX_IN_FLIGHT_PER_WORKER) await Promise.race(inFlight);
    const read = readOne().finally(() => inFlight.delete(read));
    inFlight.add(read);
    await new Promise((r) => setTimeout(r, READ_PACE_MS));
  }
  await Promise.all(inFlight);
}

type ReadOutcome = Omit<ReadRecord, "kind" | "worker" | "startMs" | "endMs" | "shownBefore" | "chainHeadAtEnd">;

async function readOnce(net: TestNetwork, kind: ReadKind, address: Hex, hash: Hex): Promise<ReadOutcome> {
  if (kind === "status") {
    const reply = await request(`${net.baseUrl}/v1/chains/${net.chainId}/transactions/${hash}`, {});
    if (reply.error || reply.status !== 200) {
      return { ok: false, hash, error: reply.error ?? `HTTP ${reply.status}: ${JSON.stringify(reply.body)}` };
    }
    return { ok: true, hash, result: reply.body };
  }
  const [method, params] =
    kind === "balance"
      ? ["eth_getBalance", [address, "latest"]]
      : kind === "head"
        ? ["eth_blockNumber", []]
        : ["eth_getTransactionReceipt", [hash]];
  const reply = await post(net.rpcUrl, { jsonrpc: "2.0", id: 1, method, params });
  const base = { ...(kind === "balance" ? { address } : {}), ...(kind === "receipt" ? { hash } : {}) };
  if (reply.error) return { ...base, ok: false, error: reply.error };
  if (reply.body?.error) {
    const e = reply.body.error;
    return { ...base, ok: false, error: `${e.code} ${e.message} ${JSON.stringify(e.data ?? {})}`.slice(0, 240) };
  }
  const header = reply.headers?.get("multihome-block");
  const result = reply.body?.result;
  const block = kind === "head" ? Number(result) : header ? Number(header) : undefined;
  return {
    ...base,
    ok: true,
    result,
    verified: reply.headers?.get("multihome-verified") ?? null,
    stale: reply.headers?.get("multihome-stale") ?? null,
    ...(block !== undefined && Number.isSafeInteger(block) ? { block } : {}),
  };
}
