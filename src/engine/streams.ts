/**
 * Subscriptions (`eth_subscribe` `newHeads` and `logs`) fed from the anchored chain: the agreed head (a block
 * independent upstreams in different domains report alike) and its ancestors, linked by parent hash from there, each
 * header's hash recomputed from its fields. Every subscriber sees every block once, in order:
 *
 * - when the agreed head jumps (an upstream or a whole domain dropped, then came back; or simply several blocks
 *   between polls), the gap is filled block by block from the last delivered one;
 * - when a delivered block is no longer an ancestor of the agreed head (a reorg), the logs delivered from the orphaned
 *   blocks are sent again with `removed: true`, newest first, and the new branch's heads and logs follow.
 *
 * Subscription ids are Multihome's own, so no upstream failover can change them. One delivery loop per chain runs
 * while anyone is subscribed; it remembers the last STREAM_WINDOW_BLOCKS delivered blocks, nothing more.
 */
import { MultihomeError } from "../core/errors.ts";
import { ADDRESS_HEX, HASH_HEX } from "../core/hex.ts";
import { bloomMayMatch } from "../core/logs/bloom.ts";
import { type LogFilter, logMatches } from "../core/logs/filter.ts";
import { parseBlockNumber } from "../core/rpc/methods.ts";
import { BLOCK_BODY_KEYS, checkHeader } from "../core/verification/header.ts";
import type { CallAnswer } from "./answers/answer.ts";
import type { EngineContext } from "./context.ts";

/** Delivered blocks remembered per chain (to link the next block and to withdraw logs on a reorg). */
export const STREAM_WINDOW_BLOCKS = 128;
/** Most addresses plus topic alternatives in one `logs` subscription filter. */
export const STREAM_MAX_FILTER_VALUES = 1_024;

type Json = Record<string, unknown>;

/** The log filter, its matching and the bloom test live in core/logs/ (eth_getLogs derives logs by the same rules). */
export { bloomMayMatch, type LogFilter, logMatches };

export type Subscription = { kind: "newHeads" } | { kind: "logs"; filter: LogFilter };

export type SubscribeResult = { ok: true; id: string; unsubscribe(): void } | { ok: false; error: MultihomeError };

export interface StreamIo {
  /** The agreed head. */
  head(): { number: number; hash: string } | undefined;
  /** The hash independent upstreams agree on at `number` (asked of a quorum when the head polls never saw it). */
  hashAt(number: number): Promise<string | undefined>;
  /** One call through the chain's normal pipeline (cache, routing, verification). */
  call(method: string, params: unknown[]): Promise<CallAnswer>;
}

export interface StreamOptions {
  /** Take a block's logs from its receipts (verified against the receipts root) rather than `eth_getLogs`. */
  logsFromReceipts: boolean;
  /** After a failed fetch, try again after this long, ms. */
  retryMs: number;
}

export interface Streams {
  /** `params` are eth_subscribe's; `deliver` gets each notification's `result`, in order. */
  subscribe(params: unknown, deliver: (result: unknown) => void): SubscribeResult;
  /** The agreed head changed or a reorg was learned: catch subscribers up. */
  wake(): void;
  /** Subscriptions open now. */
  size(): number;
  stop(): void;
}

const invalid = (message: string) => ({
  ok: false as const,
  error: new MultihomeError("invalid_params", `invalid params: ${message}`),
});

/** Reads eth_subscribe's params; what cannot be served is an error, never a subscription that stays silent. */
export function parseSubscription(params: unknown): { ok: true; value: Subscription } | ReturnType<typeof invalid> {
  if (!Array.isArray(params) || params.length < 1) return invalid('expected [kind] or ["logs", filter]');
  const [kind, arg] = params as [unknown, unknown];
  if (kind === "newHeads") {
    if (params.length > 1 && !(params.length === 2 && arg && typeof arg === "object" && Object.keys(arg).length === 0))
      return invalid("newHeads takes no filter");
    return { ok: true, value: { kind: "newHeads" } };
  }
  if (kind === "newPendingTransactions" || kind === "syncing") {
    return {
      ok: false,
      error: new MultihomeError(
        "method_not_found",
        `${kind} subscriptions are not supported: only what independent upstreams agree on is streamed (newHeads, logs)`,
      ),
    };
  }
  if (kind !== "logs") return invalid(`unknown subscription ${JSON.stringify(String(kind).slice(0, 32))}`);
  if (params.length > 2) return invalid("logs takes one filter");
  const filter = (arg ?? {}) as Json;
  if (typeof filter !== "object" || Array.isArray(filter)) return invalid("the logs filter must be an object");
  for (const key of Object.keys(filter)) {
    if (key !== "address" && key !== "topics")
      return invalid(`the logs filter takes address and topics only (${key.slice(0, 32)}: subscriptions are live)`);
  }
  let count = 0;
  const raw = filter.address;
  const addresses = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw];
  for (const a of addresses) if (typeof a !== "string" || !ADDRESS_HEX.test(a)) return invalid("address: 20-byte hex");
  count += addresses.length;
  const rawTopics = filter.topics ?? [];
  if (!Array.isArray(rawTopics) || rawTopics.length > 4) return invalid("topics: at most 4 positions");
  const topics: (string[] | null)[] = [];
  for (const t of rawTopics) {
    const alternatives = t === null ? null : Array.isArray(t) ? t : [t];
    if (alternatives !== null) {
      for (const x of alternatives)
        if (typeof x !== "string" || !HASH_HEX.test(x)) return invalid("topics: 32-byte hex");
      count += alternatives.length;
    }
    // An empty list of alternatives matches anything, as on Ethereum nodes.
    topics.push(alternatives === null || alternatives.length === 0 ? null : alternatives.map((x) => x.toLowerCase()));
  }
  if (count > STREAM_MAX_FILTER_VALUES)
    return invalid(`the logs filter has more than ${STREAM_MAX_FILTER_VALUES} addresses and topics`);
  return {
    ok: true,
    value: { kind: "logs", filter: { addresses: (addresses as string[]).map((a) => a.toLowerCase()), topics } },
  };
}

/** A delivered block, and the logs some subscriber received from it (to withdraw on a reorg). */
interface Delivered {
  number: number;
  hash: string;
  logs: Json[];
}

interface Subscriber {
  id: string;
  sub: Subscription;
  deliver: (result: unknown) => void;
  /** Blocks below this were delivered before it subscribed: their logs are not withdrawn from it. */
  from: number;
}

/** The header fields of a block (a `newHeads` notification carries no body). */
function headerOf(block: Json): Json {
  return Object.fromEntries(Object.entries(block).filter(([k]) => !BLOCK_BODY_KEYS.has(k)));
}

export function createStreams(
  ctx: Pick<EngineContext, "clock" | "logger">,
  io: StreamIo,
  options: StreamOptions,
): Streams {
  const { clock, logger } = ctx;
  // Ids only need to be unique on this chain (the server keys subscriptions per connection, so nobody can address
  // another client's); a counter keeps the engine free of its own randomness.
  let lastId = 0;
  const newId = () => `0x${(++lastId).toString(16).padStart(32, "0")}`;
  const subscribers = new Map<string, Subscriber>();
  /** Delivered blocks, oldest first, consecutive numbers. */
  let window: Delivered[] = [];
  let running = false;
  let again = false;
  let stopped = false;
  let cancelRetry: (() => void) | undefined;

  const at = (number: number) => {
    const first = window[0];
    return first === undefined ? undefined : window[number - first.number];
  };

  /**
   * The verified block with this hash (header hash recomputed from its fields, or, for a header with a field Multihome
   * does not know, one independent upstreams agreed on), or undefined.
   */
  async function blockByHash(hash: string): Promise<Json | undefined> {
    const answer = await io.call("eth_getBlockByHash", [hash, false]);
    if (!answer.ok || answer.result === null || typeof answer.result !== "object") return undefined;
    const check = checkHeader(answer.result);
    if (check.ok === false || check.hash !== hash.toLowerCase()) return undefined;
    if (check.ok === "unverifiable" && answer.evidence.verified !== "quorum") return undefined;
    return answer.result as Json;
  }

  /** The logs of a block some subscriber may want, or undefined when they could not be had. */
  async function logsOf(block: Json, logFilters: LogFilter[]): Promise<Json[] | undefined> {
    if (logFilters.length === 0 || !logFilters.some((f) => bloomMayMatch(block.logsBloom, f))) return [];
    const hash = String(block.hash).toLowerCase();
    const answer = options.logsFromReceipts
      ? await io.call("eth_getBlockReceipts", [hash])
      : await io.call("eth_getLogs", [{ blockHash: hash }]);
    if (!answer.ok || !Array.isArray(answer.result)) return undefined;
    const logs = options.logsFromReceipts
      ? (answer.result as Json[]).flatMap((r) => (Array.isArray(r?.logs) ? (r.logs as Json[]) : []))
      : (answer.result as Json[]);
    // Logs said to be of another block are not this block's: no answer at all rather than a wrong one.
    if (logs.some((l) => String(l?.blockHash).toLowerCase() !== hash)) return undefined;
    return logs;
  }

  function withdraw(orphaned: Delivered[]) {
    for (const block of orphaned.toReversed()) {
      for (const log of block.logs.toReversed()) {
        const removed = { ...log, removed: true };
        for (const s of subscribers.values())
          if (s.sub.kind === "logs" && block.number >= s.from && logMatches(log, s.sub.filter)) s.deliver(removed);
      }
    }
  }

  function deliver(block: Json, logs: Json[], number: number) {
    const header = headerOf(block);
    const kept: Json[] = [];
    for (const s of [...subscribers.values()]) if (s.sub.kind === "newHeads") s.deliver(header);
    for (const log of logs) {
      let wanted = false;
      for (const s of [...subscribers.values()]) {
        if (s.sub.kind !== "logs" || !logMatches(log, s.sub.filter)) continue;
        wanted = true;
        s.deliver({ ...log, removed: false });
      }
      if (wanted) kept.push(log);
    }
    window.push({ number, hash: String(block.hash).toLowerCase(), logs: kept });
    if (window.length > STREAM_WINDOW_BLOCKS) window = window.slice(window.length - STREAM_WINDOW_BLOCKS);
  }

  /** Nobody to deliver to any more (after an await: the last subscriber may have left meanwhile). */
  const idle = () => stopped || subscribers.size === 0;

  /** One step towards the agreed head. Returns "done", "progress", or "retry" (something could not be fetched). */
  async function step(): Promise<"done" | "progress" | "retry"> {
    const head = io.head();
    if (!head) return "retry";
    const headHash = head.hash.toLowerCase();
    const tip = window.at(-1);
    if (!tip) {
      // Subscribers see blocks after the head they subscribed at.
      const block = await blockByHash(headHash);
      if (idle()) return "done";
      if (!block) return "retry";
      window = [{ number: head.number, hash: headHash, logs: [] }];
      return "progress";
    }
    if (at(head.number)?.hash === headHash) return "done";
    // Link the head to what was delivered by parent hashes; a gap wider than the window is crossed one anchored block
    // at a time, so the walk (and what it holds) stays bounded.
    let target = headHash;
    if (head.number - tip.number > STREAM_WINDOW_BLOCKS) {
      const hash = await io.hashAt(tip.number + 1);
      if (idle()) return "done";
      if (!hash) return "retry";
      target = hash.toLowerCase();
    }
    const branch: { block: Json; number: number }[] = [];
    let fork: number | undefined;
    for (let hash = target; fork === undefined; ) {
      const block = await blockByHash(hash);
      if (idle()) return "done";
      const number = parseBlockNumber(block?.number);
      if (!block || number === undefined) return "retry";
      branch.push({ block, number });
      const parent = String(block.parentHash).toLowerCase();
      if (at(number - 1)?.hash === parent) fork = number - 1;
      // Deeper than what is remembered (the walk goes down one block a step, so it ends here at the latest): everything
      // remembered is withdrawn.
      else if (number - 1 < window[0]!.number) fork = number - 1;
      else hash = parent;
    }
    const orphaned = window.filter((b) => b.number > fork);
    if (orphaned.length > 0) {
      logger.info(
        { orphaned: orphaned.length, from: orphaned[0]!.number, to: orphaned.at(-1)!.number },
        "reorg: withdrawing delivered logs",
      );
      withdraw(orphaned);
      window = window.filter((b) => b.number <= fork);
    }
    for (const { block, number } of branch.toReversed()) {
      const filters = [...subscribers.values()].flatMap((s) => (s.sub.kind === "logs" ? [s.sub.filter] : []));
      const logs = await logsOf(block, filters);
      if (idle()) return "done";
      if (logs === undefined) return "retry";
      deliver(block, logs, number);
    }
    return "progress";
  }

  /** The one place the window changes outside a step: so a step never finds it emptied under its feet. */
  async function run() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    cancelRetry?.();
    cancelRetry = undefined;
    let retry = false;
    try {
      for (;;) {
        again = false;
        if (idle()) break;
        const outcome = await step();
        if (outcome === "progress") continue;
        // A failed fetch waits for the retry timer (or the next wake), even if heads arrived meanwhile: no busy loop.
        retry = outcome === "retry";
        if (retry || !again) break;
      }
    } catch (error) {
      logger.error({ err: (error as Error).message }, "subscription delivery failed unexpectedly");
      retry = true;
    } finally {
      running = false;
    }
    // Nobody listening: nothing is fetched, and the next subscriber starts from the head of its time.
    if (idle()) window = [];
    else if (retry) cancelRetry = clock.setTimer(options.retryMs, () => void run());
  }

  return {
    subscribe(params, deliver) {
      if (stopped) return { ok: false, error: new MultihomeError("unavailable", "the chain is shutting down") };
      const parsed = parseSubscription(params);
      if (!parsed.ok) return parsed;
      const id = newId();
      const tip = window.at(-1);
      subscribers.set(id, { id, sub: parsed.value, deliver, from: tip ? tip.number + 1 : 0 });
      void run();
      return {
        ok: true,
        id,
        unsubscribe() {
          subscribers.delete(id);
          if (subscribers.size > 0) return;
          cancelRetry?.();
          cancelRetry = undefined;
          // A step in flight sees it after its await; with none, the window is dropped now.
          if (!running) window = [];
        },
      };
    },
    wake() {
      if (subscribers.size > 0) void run();
    },
    size: () => subscribers.size,
    stop() {
      stopped = true;
      cancelRetry?.();
      cancelRetry = undefined;
      subscribers.clear();
      if (!running) window = [];
    },
  };
}
