/**
 * Getting a signed transaction onto the chain exactly once, through whatever domains are up.
 *
 * A send is decoded locally (its hash is Multihome's own), recorded in the store's outbox *before* any upstream sees
 * it, then broadcast concurrently to one upstream in each of up to `broadcastDomains` failure domains. "Already known"
 * counts as accepted; "nonce too low" is accepted when the transaction is found; an upstream answering another hash
 * is disputed. When no upstream accepted, the hash is looked up before a failure is reported. Identical concurrent
 * sends share one broadcast. A background loop rebroadcasts pending transactions — after an outage, after a restart —
 * until they are included, replaced (their nonce used by another transaction) or expired.
 */
import { areIndependent } from "../../core/domains/domain.ts";
import { MultihomeError } from "../../core/errors.ts";
import type { Hex } from "../../core/hex.ts";
import { choosePendingNonce, type NonceReport } from "../../core/outbox/pending-nonce.ts";
import { decodeRawTransaction, sendVerdict } from "../../core/outbox/tx.ts";
import { noopMetrics } from "../../core/ports.ts";
import { expectedCostMs, unusableReason } from "../../core/routing/select.ts";
import type { RpcErrorObject } from "../../core/rpc/jsonrpc.ts";
import { parseBlockNumber } from "../../core/rpc/methods.ts";
import type { OutboxEntry } from "../../core/store.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { CallAnswer, Evidence } from "../answers/answer.ts";
import type { EngineContext } from "../context.ts";
import { type ExecuteTarget, recordOutcome } from "../routing/execute.ts";

export interface TransactionSettings {
  /** Accept legacy transactions without EIP-155 replay protection. */
  allowUnprotected: boolean;
  /** A send goes to one upstream in each of at most this many failure domains, concurrently. */
  broadcastDomains: number;
  /** How often pending transactions are checked, and rebroadcast when still unmined, ms. */
  rebroadcastIntervalMs: number;
  /** A transaction neither included nor replaced this long after it was first sent is given up, ms. */
  expiryMs: number;
}

/** Pending transactions checked per round; more wait for the next round (oldest first). */
export const REBROADCAST_BATCH = 256;
/**
 * A transaction is called replaced only when its sender's nonce is proven past it and no receipt is found (by two
 * independent failure domains) at two agreed heads at least this many blocks apart: a receipt an index had not caught
 * up with at the first look shows up by the second.
 */
export const REPLACED_CONFIRM_BLOCKS = 2;

export interface TransactionStatus {
  chainId: number;
  hash: Hex;
  status: OutboxEntry["status"];
  from?: Hex;
  nonce?: number;
  firstSeenAt?: number;
  broadcasts?: number;
  lastBroadcastAt?: number;
  block?: { number: number; hash: Hex };
  replacedBy?: Hex;
  lastError?: string;
}

export interface Transactions {
  send(raw: string): Promise<CallAnswer>;
  /** What became of a transaction: from the outbox, or from the chain for one sent elsewhere. */
  status(hash: string): Promise<TransactionStatus | undefined>;
  /** The next nonce of `address` counting pending transactions (see core/outbox/pending-nonce.ts). */
  pendingNonce(address: string): Promise<CallAnswer>;
  start(): void;
  stop(): void;
}

export interface TransactionDeps {
  chainId: number;
  target: ExecuteTarget;
  settings: TransactionSettings;
  /** A read through the chain's own pipeline (verified as its policy says), for receipts and nonces. */
  read(method: string, params: unknown[]): Promise<CallAnswer>;
  headNumber(): number | undefined;
  /** Strips configured upstream URLs and keys from a node's error (it may echo them back). */
  redactRpcError(error: RpcErrorObject): RpcErrorObject;
}

type Broadcast =
  | { accepted: true; upstreams: string[] }
  | {
      accepted: false;
      rejection?: RpcErrorObject;
      unknown: boolean;
      nonceUsed: boolean;
      reasons: string[];
      /** Upstreams that refused it outright. */
      refusers: Upstream[];
    };

export function createTransactions(ctx: EngineContext, deps: TransactionDeps): Transactions {
  const { clock, logger, store } = ctx;
  const { chainId, target, settings } = deps;
  const metrics = (ctx.metrics ?? noopMetrics).chain(chainId);
  const flights = new Map<string, Promise<CallAnswer>>();
  const none = (): Evidence => ({ blockNumber: deps.headNumber(), verified: "none" });

  /** Whether the chain could ever show two independent domains (else one refusal is all there can be). */
  const independentPairExists = target.upstreams.some((a) =>
    target.upstreams.some((b) => areIndependent(a.domain, b.domain)),
  );
  const refusedForGood = (refusers: Upstream[]) =>
    independentPairExists
      ? refusers.some((a) => refusers.some((b) => areIndependent(a.domain, b.domain)))
      : refusers.length > 0;

  /**
   * One upstream per failure domain, up to `broadcastDomains`: the cheapest usable one of each domain first; then, if
   * that is too few domains, admitted upstreams whose breaker is open or whose domain is judged down. A send is rare,
   * idempotent and must get out: trying an upstream that failed lately costs one attempt, missing a domain that works
   * may cost the transaction.
   */
  function broadcastTargets(): Upstream[] {
    const now = clock.now();
    const options = { now, random: ctx.random, exclude: new Set<string>(), avoidDomains: new Set<string>() };
    const views = target.views(now).sort((a, b) => expectedCostMs(a) - expectedCostMs(b));
    const byDomain = new Map<string, Upstream>();
    const take = (usableOnly: boolean) => {
      for (const v of views) {
        if (byDomain.size >= settings.broadcastDomains) return;
        if (byDomain.has(v.domain) || v.cordoned) continue;
        const reason = unusableReason(v, options);
        if (usableOnly ? reason !== undefined : reason === "excluded") continue;
        const u = target.upstreams.find((x) => x.id === v.id);
        if (u && u.admission === "admitted") byDomain.set(v.domain, u);
      }
    };
    take(true);
    take(false);
    return [...byDomain.values()];
  }

  /**
   * One call to one upstream, past its breaker (see broadcastTargets); what it shows still feeds the breaker.
   * Returns the result, the chain's error, or undefined when it gave no answer (timeout, refused, 5xx…).
   */
  async function attemptOn(
    u: Upstream,
    method: string,
    params: unknown[],
  ): Promise<{ ok: true; result: unknown } | { ok: false; rpcError: RpcErrorObject } | undefined> {
    const { outcome, elapsedMs } = await u.attempt(method, params, { timeoutMs: target.routing.attemptTimeoutMs });
    recordOutcome(target, u, outcome, elapsedMs, clock.now());
    if (outcome.decision !== "answer") return undefined;
    return outcome.kind === "result" ? { ok: true, result: outcome.result } : { ok: false, rpcError: outcome.error };
  }

  /** Whether one of `upstreams` knows the transaction (in its pool or mined). */
  async function known(hash: Hex, upstreams: Upstream[]): Promise<boolean> {
    const answers = await Promise.all(upstreams.map((u) => attemptOn(u, "eth_getTransactionByHash", [hash])));
    return answers.some((a) => a?.ok && (a.result as { hash?: unknown } | null)?.hash === hash);
  }

  /**
   * Sends to one upstream per domain at once. Resolves at the first acceptance (the others finish in the background:
   * a domain that is slow or cut costs the client nothing once another took it), else when all have answered.
   */
  function broadcast(entry: OutboxEntry): Promise<Broadcast> {
    const targets = broadcastTargets();
    const reasons: string[] = targets.length === 0 ? ["no usable upstream"] : [];
    let rejection: RpcErrorObject | undefined;
    let unknown = targets.length === 0;
    let nonceUsed = false;
    const refusers: Upstream[] = [];
    const settle = async (): Promise<Broadcast> => {
      // Nobody said yes: an upstream that timed out after taking it, or a "nonce too low" for a transaction already
      // mined, still means it is out there.
      if ((unknown || nonceUsed) && (await known(entry.hash, broadcastTargets())))
        return { accepted: true, upstreams: [] };
      return { accepted: false, ...(rejection ? { rejection } : {}), unknown, nonceUsed, reasons, refusers };
    };
    if (targets.length === 0) return settle();
    return new Promise((resolve) => {
      let left = targets.length;
      let done = false;
      for (const u of targets) {
        void attemptOn(u, "eth_sendRawTransaction", [entry.raw]).then((result) => {
          left--;
          if (!result) {
            unknown = true;
            reasons.push("no_answer");
          } else {
            const verdict = sendVerdict(
              entry.hash,
              result.ok ? { ok: true, result: result.result } : { ok: false, message: result.rpcError.message },
            );
            if (verdict === "accepted" && !done) {
              done = true;
              resolve({ accepted: true, upstreams: [u.id] });
            } else if (verdict === "wrong_hash") {
              reasons.push("wrong_hash");
              target.onDispute?.(u, `answered another hash for transaction ${entry.hash}`);
            } else if (verdict === "nonce_used") nonceUsed = true;
            // A node's error reaches the client and the outbox, never a configured URL or key it echoed.
            if (!result.ok && verdict !== "accepted") {
              rejection ??= deps.redactRpcError(result.rpcError);
              refusers.push(u);
            }
          }
          if (left === 0 && !done) {
            done = true;
            resolve(settle());
          }
        });
      }
    });
  }

  async function record(entry: OutboxEntry): Promise<void> {
    try {
      await store.putOutbox(entry);
    } catch (error) {
      // Serving never depends on the store; a transaction that is not recorded is still broadcast now.
      logger.error(
        { chainId, hash: entry.hash, err: (error as Error).message },
        "transaction not recorded in the outbox",
      );
    }
  }

  async function sendOnce(raw: string, hash: Hex, from: Hex, nonce: number): Promise<CallAnswer> {
    const now = clock.now();
    const existing = await store.getOutbox(chainId, hash).catch(() => undefined);
    const entry: OutboxEntry = existing ?? {
      chainId,
      hash,
      raw: raw as Hex,
      from,
      nonce,
      status: "pending",
      firstSeenAt: now,
      updatedAt: now,
      broadcasts: 0,
    };
    // Already out there: included, or broadcast moments ago (the outbox rebroadcasts it when due).
    const recent = entry.lastBroadcastAt !== undefined && now - entry.lastBroadcastAt < settings.rebroadcastIntervalMs;
    if (entry.status === "included" || (entry.status === "pending" && recent && entry.lastError === undefined))
      return { ok: true, result: hash, evidence: none() };
    if (!existing) {
      await record(entry);
      metrics.outboxTransition("pending");
    }
    const outcome = await broadcast(entry);
    const after = clock.now();
    const next: OutboxEntry = { ...entry, broadcasts: entry.broadcasts + 1, lastBroadcastAt: after, updatedAt: after };
    if (outcome.accepted) {
      await record(next);
      return { ok: true, result: hash, evidence: none() };
    }
    const lastError = outcome.rejection?.message ?? outcome.reasons.join(", ");
    if (outcome.rejection && !outcome.unknown && refusedForGood(outcome.refusers)) {
      // Every upstream that answered refused it, none may have it, and independent domains agree: a definitive answer
      // of the chain (one domain's refusal alone never ends a transaction's life in the outbox).
      const status = outcome.nonceUsed ? "replaced" : "expired";
      await record({ ...next, status, lastError });
      metrics.outboxTransition(status);
      return { ok: false, rpcError: outcome.rejection, evidence: none() };
    }
    await record({ ...next, lastError });
    if (outcome.rejection) return { ok: false, rpcError: outcome.rejection, evidence: none() };
    return {
      ok: false,
      error: new MultihomeError(
        "unavailable",
        "no upstream took the transaction yet; it is kept and rebroadcast until it is mined or expires",
        { data: { transactionHash: hash, status: "pending", reasons: outcome.reasons } },
      ),
      evidence: none(),
    };
  }

  async function decodeAndSend(raw: string): Promise<CallAnswer> {
    const decoded = await decodeRawTransaction(raw, chainId, { allowUnprotected: settings.allowUnprotected });
    if (!decoded.ok) return { ok: false, error: new MultihomeError(decoded.code, decoded.message), evidence: none() };
    const { hash, from, nonce } = decoded.tx;
    return sendOnce(raw, hash, from, nonce);
  }

  function send(raw: string): Promise<CallAnswer> {
    // Identical concurrent sends share one decode and one broadcast, and get the same answer.
    const key = raw.toLowerCase();
    let flight = flights.get(key);
    if (!flight) {
      flight = decodeAndSend(key);
      flights.set(key, flight);
      const settled = flight;
      void settled.finally(() => flights.get(key) === settled && flights.delete(key));
    }
    return flight;
  }

  /**
   * A verified receipt for `hash`: where it was mined, null when it is not mined, undefined when that cannot be known
   * now (no verified answer).
   */
  async function receipt(hash: string): Promise<{ blockNumber: number; blockHash: Hex } | null | undefined> {
    const answer = await deps.read("eth_getTransactionReceipt", [hash]);
    if (!answer.ok) return undefined;
    if (answer.result === null) return null;
    if (typeof answer.result !== "object") return undefined;
    const r = answer.result as { blockNumber?: unknown; blockHash?: unknown };
    const blockNumber = parseBlockNumber(r.blockNumber);
    if (blockNumber === undefined || typeof r.blockHash !== "string") return undefined;
    return { blockNumber, blockHash: r.blockHash as Hex };
  }

  /** The account's mined nonce (verified), or undefined when it cannot be known now. */
  async function minedNonce(address: string): Promise<number | undefined> {
    const answer = await deps.read("eth_getTransactionCount", [address, "latest"]);
    return answer.ok ? parseBlockNumber(answer.result) : undefined;
  }

  /** Pending transactions seen replaced once (their nonce used, no receipt): hash → the agreed head then. */
  const replacedSeenAt = new Map<string, number>();

  /** One check of a pending transaction: included, replaced, expired, or rebroadcast when due. */
  async function check(entry: OutboxEntry): Promise<void> {
    const now = clock.now();
    // The nonce first: if it is used and the receipt is still not ours afterwards, another transaction took it.
    const nonce = await minedNonce(entry.from);
    const mined = await receipt(entry.hash);
    if (mined) {
      replacedSeenAt.delete(entry.hash);
      await record({
        ...entry,
        status: "included",
        blockNumber: mined.blockNumber,
        blockHash: mined.blockHash,
        updatedAt: now,
      });
      metrics.outboxTransition("included");
      logger.info({ chainId, hash: entry.hash, block: mined.blockNumber }, "transaction included");
      return;
    }
    // Replaced only when the receipt is known to be absent (`null` needs two independent domains), twice, some blocks
    // apart: a receipt that could not be read says nothing, and calling an included transaction replaced is final.
    if (mined === null && nonce !== undefined && nonce > entry.nonce && replacedConfirmed(entry.hash)) {
      replacedSeenAt.delete(entry.hash);
      await record({ ...entry, status: "replaced", updatedAt: now });
      metrics.outboxTransition("replaced");
      logger.warn(
        { chainId, hash: entry.hash, nonce: entry.nonce },
        "transaction replaced: its nonce was used by another",
      );
      return;
    }
    // Expired only when it is known not to be mined: an unreadable receipt keeps it pending (and rebroadcast).
    if (mined === null && now - entry.firstSeenAt > settings.expiryMs) {
      replacedSeenAt.delete(entry.hash);
      await record({ ...entry, status: "expired", updatedAt: now, lastError: "expired: not mined in time" });
      metrics.outboxTransition("expired");
      logger.warn({ chainId, hash: entry.hash }, "transaction expired in the outbox");
      return;
    }
    if (entry.lastBroadcastAt !== undefined && now - entry.lastBroadcastAt < settings.rebroadcastIntervalMs) return;
    const outcome = await broadcast(entry);
    const after = clock.now();
    await record({
      ...entry,
      broadcasts: entry.broadcasts + 1,
      lastBroadcastAt: after,
      updatedAt: after,
      ...(outcome.accepted ? {} : { lastError: outcome.rejection?.message ?? outcome.reasons.join(", ") }),
    });
    if (outcome.accepted)
      logger.info({ chainId, hash: entry.hash, upstreams: outcome.upstreams }, "transaction rebroadcast");
  }

  /** Whether a transaction was already seen replaced at an agreed head REPLACED_CONFIRM_BLOCKS or more below this one. */
  function replacedConfirmed(hash: string): boolean {
    const head = deps.headNumber();
    if (head === undefined) return false;
    const first = replacedSeenAt.get(hash);
    if (first === undefined) {
      replacedSeenAt.set(hash, head);
      return false;
    }
    return head - first >= REPLACED_CONFIRM_BLOCKS;
  }

  let cancel: (() => void) | undefined;
  let stopped = false;
  async function round(): Promise<void> {
    try {
      if (deps.headNumber() !== undefined) {
        const pending = await store.listPendingOutbox(chainId, REBROADCAST_BATCH);
        metrics.outboxPending(pending.length);
        // Every pending entry is listed: a replacement seen for one no longer pending (evicted, settled elsewhere) goes.
        if (pending.length < REBROADCAST_BATCH) {
          const listed = new Set(pending.map((e) => e.hash));
          for (const hash of replacedSeenAt.keys()) if (!listed.has(hash as Hex)) replacedSeenAt.delete(hash);
        }
        for (const entry of pending) {
          if (stopped) return;
          if (flights.has(entry.raw)) continue;
          // One entry's failure never holds up the others.
          await check(entry).catch((error: unknown) =>
            logger.warn({ chainId, hash: entry.hash, err: (error as Error).message }, "outbox check failed"),
          );
        }
      }
    } catch (error) {
      logger.warn({ chainId, err: (error as Error).message }, "outbox round failed");
    }
    if (!stopped) cancel = clock.setTimer(settings.rebroadcastIntervalMs, () => void round());
  }

  return {
    send,
    async status(hash) {
      const h = hash.toLowerCase() as Hex;
      const entry = await store.getOutbox(chainId, h).catch(() => undefined);
      if (!entry) {
        const mined = await receipt(h);
        return mined
          ? { chainId, hash: h, status: "included", block: { number: mined.blockNumber, hash: mined.blockHash } }
          : undefined;
      }
      return {
        chainId,
        hash: entry.hash,
        status: entry.status,
        from: entry.from,
        nonce: entry.nonce,
        firstSeenAt: entry.firstSeenAt,
        broadcasts: entry.broadcasts,
        ...(entry.lastBroadcastAt !== undefined ? { lastBroadcastAt: entry.lastBroadcastAt } : {}),
        ...(entry.blockNumber !== undefined && entry.blockHash
          ? { block: { number: entry.blockNumber, hash: entry.blockHash } }
          : {}),
        ...(entry.replacedBy ? { replacedBy: entry.replacedBy } : {}),
        ...(entry.lastError ? { lastError: entry.lastError } : {}),
      };
    },
    async pendingNonce(address) {
      const targets = broadcastTargets();
      const [answers, mined] = await Promise.all([
        Promise.all(targets.map((u) => attemptOn(u, "eth_getTransactionCount", [address, "pending"]))),
        minedNonce(address),
      ]);
      const reports: NonceReport[] = [];
      for (const [i, a] of answers.entries()) {
        if (!a?.ok || typeof a.result !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(a.result)) continue;
        reports.push({ domain: targets[i]!.outageDomain, nonce: BigInt(a.result) });
      }
      const chosen = choosePendingNonce(reports, mined === undefined ? undefined : BigInt(mined));
      if (chosen === undefined)
        return {
          ok: false,
          error: new MultihomeError(
            "unavailable",
            "no verifiable answer: the pending nonce needs the proven mined nonce or two failure domains that agree",
            { data: { domainsAnswered: reports.length } },
          ),
          evidence: none(),
        };
      const verified = chosen.domains.length === 0 ? "proof" : chosen.domains.length >= 2 ? "quorum" : "single";
      return {
        ok: true,
        result: `0x${chosen.nonce.toString(16)}`,
        evidence: { ...none(), verified, domains: chosen.domains },
      };
    },
    start() {
      stopped = false;
      void round();
    },
    stop() {
      stopped = true;
      cancel?.();
    },
  };
}
