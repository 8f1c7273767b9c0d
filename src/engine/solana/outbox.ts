/**
 * The Solana outbox: a transaction is recorded before its first broadcast, then, every
 * `transactions.rebroadcastIntervalMs`, its status is asked of independent domains (getSignatureStatuses, agreed at one
 * slot) and it is sent again (preflight off) until it is confirmed, or its blockhash has expired — which independent
 * domains must agree on too (`isBlockhashValid` false at one slot), so one provider cannot make Multihome give up on a
 * transaction. Kept in this process's memory, at most SOLANA_OUTBOX_MAX entries (the oldest final ones go first).
 */
import type { Clock } from "../../core/ports.ts";

/** Solana transactions the outbox keeps per cluster (pending and final together). */
export const SOLANA_OUTBOX_MAX = 10_000;
/** Pending transactions whose status one check asks for at once (getSignatureStatuses takes up to 256). */
export const SOLANA_STATUS_BATCH = 256;

/** `rejected`: independent domains refused it (a failed preflight); it is not sent again. */
export type SolanaSendStatus = "pending" | "processed" | "confirmed" | "finalized" | "expired" | "rejected";

export interface SolanaSend {
  signature: string;
  /** The transaction as the client sent it, and its encoding. */
  encoded: string;
  encoding: "base58" | "base64";
  blockhash: string;
  status: SolanaSendStatus;
  /** The slot it was included in, when known. */
  slot?: number;
  /** Its error, when it was included and failed (the fee was still paid). */
  err?: unknown;
  firstSeenAt: number;
  updatedAt: number;
  broadcasts: number;
  lastBroadcastAt?: number;
}

export interface SolanaOutboxDeps {
  clock: Clock;
  rebroadcastIntervalMs: number;
  /**
   * A transaction still unseen this long after it was first sent is given up (`transactions.expiryMs`) — for
   * upstreams that cannot say whether its blockhash expired (no `isBlockhashValid`).
   */
  expiryMs: number;
  /** Sends it through several domains again; resolves whether any accepted it. */
  rebroadcast(send: SolanaSend): Promise<boolean>;
  /** Statuses independent domains agree on, in the order asked; undefined when no agreement could be had. */
  statuses(
    signatures: string[],
  ): Promise<({ slot: number; err: unknown; confirmationStatus: string } | null)[] | undefined>;
  /** Whether independent domains agree the blockhash is still valid; undefined when no agreement could be had. */
  blockhashValid(blockhash: string): Promise<boolean | undefined>;
  onError(error: unknown): void;
}

const FINAL: ReadonlySet<SolanaSendStatus> = new Set(["finalized", "expired", "rejected"]);

export function createSolanaOutbox(deps: SolanaOutboxDeps) {
  const { clock } = deps;
  const sends = new Map<string, SolanaSend>();
  let timer: (() => void) | undefined;
  let running = false;

  function record(entry: Omit<SolanaSend, "status" | "firstSeenAt" | "updatedAt" | "broadcasts">): SolanaSend {
    const known = sends.get(entry.signature);
    if (known) return known;
    const now = clock.now();
    const send: SolanaSend = { ...entry, status: "pending", firstSeenAt: now, updatedAt: now, broadcasts: 0 };
    sends.set(send.signature, send);
    if (sends.size > SOLANA_OUTBOX_MAX) {
      const oldestFinal = [...sends.values()].find((s) => FINAL.has(s.status));
      sends.delete((oldestFinal ?? sends.values().next().value!).signature);
    }
    return send;
  }

  async function check(): Promise<void> {
    const pending = [...sends.values()].filter((s) => !FINAL.has(s.status)).slice(0, SOLANA_STATUS_BATCH);
    if (pending.length === 0) return;
    const statuses = await deps.statuses(pending.map((s) => s.signature));
    const now = clock.now();
    for (const [i, send] of pending.entries()) {
      const status = statuses?.[i];
      if (status) {
        send.status = status.confirmationStatus as SolanaSendStatus;
        send.slot = status.slot;
        if (status.err !== null && status.err !== undefined) send.err = status.err;
        send.updatedAt = now;
      }
      // Included: it only needs to become final. Not seen: sent again while its blockhash lives.
      if (send.status !== "pending" || now - (send.lastBroadcastAt ?? 0) < deps.rebroadcastIntervalMs) continue;
      const givenUp = now - send.firstSeenAt > deps.expiryMs;
      if (givenUp || (statuses !== undefined && (await deps.blockhashValid(send.blockhash)) === false)) {
        send.status = "expired";
        send.updatedAt = now;
        continue;
      }
      send.broadcasts++;
      send.lastBroadcastAt = now;
      await deps.rebroadcast(send);
    }
  }

  function schedule(): void {
    timer = clock.setTimer(deps.rebroadcastIntervalMs, async () => {
      if (!running) return;
      try {
        await check();
      } catch (error) {
        deps.onError(error);
      }
      if (running) schedule();
    });
  }

  return {
    /** Records a transaction about to be broadcast for the first time (a known one is returned as it stands). */
    record,
    /** A broadcast round of a recorded transaction happened now. */
    broadcasted(send: SolanaSend): void {
      send.broadcasts++;
      send.lastBroadcastAt = clock.now();
    },
    get: (signature: string): SolanaSend | undefined => sends.get(signature),
    /** Independent domains refused it: final, never sent again. */
    rejected(signature: string): void {
      const send = sends.get(signature);
      if (!send || send.status !== "pending") return;
      send.status = "rejected";
      send.updatedAt = clock.now();
    },
    start(): void {
      running = true;
      schedule();
    },
    stop(): void {
      running = false;
      timer?.();
    },
    /** One check now (tests, and a worker taking over). */
    check,
  };
}
