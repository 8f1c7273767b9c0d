/**
 * The Solana outbox: a transaction is recorded in the store before its first broadcast (so a restart, or a worker's
 * death, loses nothing: whoever opens the store next goes on sending it), then, every
 * `transactions.rebroadcastIntervalMs`, its status is asked of independent domains (getSignatureStatuses, agreed at one
 * slot) and it is sent again (preflight off) until it is final, or its blockhash has expired — which independent
 * domains must agree on too (`isBlockhashValid` false at one slot), so one provider cannot make Multihome give up on a
 * transaction. The store bounds how many are kept (`maxOutboxEntries`, the oldest final ones first).
 */

import type { Clock, Logger } from "../../core/ports.ts";
import {
  type AgreedStatus,
  isFinalSolanaSend,
  type SolanaSendRecord,
  statusAfter,
} from "../../core/solana/send-record.ts";
import type { Store } from "../../core/store.ts";

export type {
  AgreedStatus,
  SolanaSendRecord as SolanaSend,
  SolanaSendStatus,
} from "../../core/solana/send-record.ts";

/** Pending transactions whose status one check asks for at once (getSignatureStatuses takes up to 256). */
export const SOLANA_STATUS_BATCH = 256;

export interface SolanaOutboxDeps {
  cluster: string;
  store: Store;
  clock: Clock;
  logger: Logger;
  rebroadcastIntervalMs: number;
  /**
   * A transaction still unseen this long after it was first sent is given up (`transactions.expiryMs`) — for
   * upstreams that cannot say whether its blockhash expired (no `isBlockhashValid`).
   */
  expiryMs: number;
  /** Sends it through several domains again; resolves whether any accepted it. */
  rebroadcast(send: SolanaSendRecord): Promise<boolean>;
  /** Statuses independent domains agree on, in the order asked; undefined when no agreement could be had. */
  statuses(signatures: string[]): Promise<(AgreedStatus | null)[] | undefined>;
  /** Whether independent domains agree the blockhash is still valid; undefined when no agreement could be had. */
  blockhashValid(blockhash: string): Promise<boolean | undefined>;
}

export function createSolanaOutbox(deps: SolanaOutboxDeps) {
  const { clock, store, cluster, logger } = deps;
  let timer: (() => void) | undefined;
  let running = false;
  let stopped = false;

  /** Keeps a change; the store failing is logged, never thrown at a client (serving never depends on the store). */
  async function put(record: SolanaSendRecord): Promise<void> {
    try {
      await store.putSolanaSend(record);
    } catch (error) {
      logger.error(
        { cluster, signature: record.signature, err: (error as Error).message },
        "Solana transaction not recorded in the outbox",
      );
    }
  }

  /**
   * Records a transaction about to be broadcast (a known one keeps what it has, its broadcast counted; a final one is
   * left as it is) and resolves once the store holds it.
   */
  async function recordBroadcast(
    tx: Pick<SolanaSendRecord, "signature" | "encoded" | "encoding" | "blockhash">,
  ): Promise<void> {
    const now = clock.now();
    const known = await store.getSolanaSend(cluster, tx.signature).catch(() => undefined);
    const record: SolanaSendRecord = known ?? {
      cluster,
      ...tx,
      status: "pending",
      firstSeenAt: now,
      updatedAt: now,
      broadcasts: 0,
    };
    if (isFinalSolanaSend(record.status)) return;
    await put({ ...record, broadcasts: record.broadcasts + 1, lastBroadcastAt: now, updatedAt: now });
  }

  /** One record after its agreed status: given up, sent again, or kept as it is. */
  async function settle(record: SolanaSendRecord, agreed: AgreedStatus | null, statusKnown: boolean): Promise<void> {
    const now = clock.now();
    // No agreement on the statuses is not "none seen": what was known stands.
    const status = statusKnown ? statusAfter(record.status, agreed) : record.status;
    const next: SolanaSendRecord = { ...record, status };
    if (agreed) {
      next.slot = agreed.slot;
      if (agreed.err !== null && agreed.err !== undefined) next.err = agreed.err;
    }
    const changed = next.status !== record.status || next.slot !== record.slot;
    // Included: it only needs to become final. Not seen: sent again while its blockhash lives.
    if (next.status !== "pending" || now - (record.lastBroadcastAt ?? 0) < deps.rebroadcastIntervalMs) {
      if (changed) await put({ ...next, updatedAt: now });
      return;
    }
    const givenUp = now - record.firstSeenAt > deps.expiryMs;
    if (givenUp || (statusKnown && (await deps.blockhashValid(record.blockhash)) === false)) {
      await put({ ...next, status: "expired", updatedAt: now });
      return;
    }
    await put({ ...next, broadcasts: record.broadcasts + 1, lastBroadcastAt: now, updatedAt: now });
    await deps.rebroadcast(record);
  }

  async function check(): Promise<void> {
    const pending = await store.listPendingSolanaSends(cluster, SOLANA_STATUS_BATCH);
    if (pending.length === 0) return;
    const statuses = await deps.statuses(pending.map((s) => s.signature));
    for (const [i, record] of pending.entries()) {
      if (stopped) return;
      await settle(record, statuses?.[i] ?? null, statuses !== undefined);
    }
  }

  function schedule(): void {
    timer = clock.setTimer(deps.rebroadcastIntervalMs, async () => {
      if (!running) return;
      try {
        await check();
      } catch (error) {
        logger.warn({ cluster, err: (error as Error).message }, "Solana outbox check failed");
      }
      if (running) schedule();
    });
  }

  return {
    recordBroadcast,
    get: (signature: string): Promise<SolanaSendRecord | undefined> => store.getSolanaSend(cluster, signature),
    /** Independent domains refused it: final, never sent again. */
    async rejected(signature: string): Promise<void> {
      const record = await store.getSolanaSend(cluster, signature).catch(() => undefined);
      if (record?.status === "pending") await put({ ...record, status: "rejected", updatedAt: clock.now() });
    },
    /** Starts the checks: what an earlier process left pending in the store goes on from the first one. */
    start(): void {
      running = true;
      schedule();
    },
    stop(): void {
      running = false;
      stopped = true;
      timer?.();
    },
    /** One check now (tests). */
    check,
  };
}
