/**
 * Solana subscriptions served from the agreed view, not relayed from one upstream's socket: a notification is sent
 * for every slot the agreed slot moves through (`slotSubscribe`), when the value independent domains agree on changes
 * (`accountSubscribe`), or when the status they agree on reaches the commitment asked for (`signatureSubscribe`, once,
 * then it ends). Losing an upstream loses nothing: the next agreed slot comes from the others, so there is no gap to
 * fill and nothing to deduplicate.
 */
import { MultihomeError } from "../../core/errors.ts";
import { canonicalJson } from "../../core/rpc/cache-policy.ts";
import type { RpcCall } from "../../core/rpc/jsonrpc.ts";
import { entryPerItem } from "../../core/solana/batch.ts";
import { type Commitment, commitmentOf, MAX_SLOT_JUMP } from "../../core/solana/slots.ts";
import type { SolanaAnswer } from "./answer.ts";
import { SOLANA_STATUS_BATCH } from "./outbox.ts";

/** The subscription methods, with the notification each sends and the method that ends it. */
export const SOLANA_SUBSCRIPTIONS = {
  slotSubscribe: { notification: "slotNotification", unsubscribe: "slotUnsubscribe" },
  accountSubscribe: { notification: "accountNotification", unsubscribe: "accountUnsubscribe" },
  signatureSubscribe: { notification: "signatureNotification", unsubscribe: "signatureUnsubscribe" },
} as const;
export type SolanaSubscribeMethod = keyof typeof SOLANA_SUBSCRIPTIONS;

/** Every method a WebSocket connection answers itself (subscribing and unsubscribing). */
export const SOLANA_SUBSCRIPTION_METHODS: ReadonlySet<string> = new Set(
  Object.entries(SOLANA_SUBSCRIPTIONS).flatMap(([method, { unsubscribe }]) => [method, unsubscribe]),
);

export type SolanaSubscribeResult =
  | { ok: true; notification: string; unsubscribe(): void }
  | { ok: false; error: MultihomeError };

/** `deliver(result, last)`: `last` when the subscription ends with this notification (a signature reached). */
export type Deliver = (result: unknown, last: boolean) => void;

const RANK: Record<string, number> = { processed: 0, confirmed: 1, finalized: 2 };

export interface SubscriptionDeps {
  /** Called with the agreed slots whenever one moves; returns the unsubscribe. */
  onSlots(listener: (slots: Partial<Record<Commitment, number>>) => void): () => void;
  /** The agreed slots now. */
  slots(): Partial<Record<Commitment, number>>;
  /** An agreed read, as a client's call would be answered. */
  read(call: RpcCall): Promise<SolanaAnswer>;
}

/**
 * Distinct accounts (with their config) watched at once per cluster, however many subscribe to each; one more is
 * refused (-32097). They are read SOLANA_ACCOUNTS_PER_READ to an agreed read per move of their commitment's slot.
 */
export const SOLANA_MAX_ACCOUNT_WATCHERS = 1_000;
/** Accounts one watch read asks for (getMultipleAccounts takes up to 100). */
export const SOLANA_ACCOUNTS_PER_READ = 100;
/** Distinct signatures watched at once per cluster (all asked together, SOLANA_STATUS_BATCH a call, once a slot). */
export const SOLANA_MAX_SIGNATURE_WATCHES = 10_000;

const limited = (message: string): SolanaSubscribeResult => ({
  ok: false,
  error: new MultihomeError("limit_exceeded", message),
});

const invalid = (message: string): SolanaSubscribeResult => ({
  ok: false,
  error: new MultihomeError("invalid_params", `invalid params: ${message}`),
});

export function createSolanaSubscriptions(deps: SubscriptionDeps) {
  /** Runs `check` on each move of the commitment's slot, never two at once (a move during a check is not lost). */
  function onEachSlot(commitment: Commitment, check: (slot: number) => Promise<boolean | undefined>) {
    let running = false;
    let again = false;
    let last = -1;
    let ended = false;
    const off = deps.onSlots(async (slots) => {
      const slot = slots[commitment];
      if (ended || slot === undefined || slot <= last) return;
      last = slot;
      if (running) {
        again = true;
        return;
      }
      running = true;
      do {
        again = false;
        if (await check(last)) {
          ended = true;
          off();
        }
      } while (again && !ended);
      running = false;
    });
    return () => {
      ended = true;
      off();
    };
  }

  function slot(deliver: Deliver): SolanaSubscribeResult {
    // From the slot after the one agreed now.
    let last = deps.slots().processed;
    const off = deps.onSlots((slots) => {
      const top = slots.processed;
      if (top === undefined || (last !== undefined && top <= last)) return;
      // Every slot once and in order, though the agreed slot may move by several at once.
      const from = last === undefined ? top : Math.max(last + 1, top - MAX_SLOT_JUMP);
      for (let slot = from; slot <= top; slot++)
        deliver({ slot, parent: Math.max(0, slot - 1), root: Math.min(slots.finalized ?? 0, slot) }, false);
      last = top;
    });
    return { ok: true, notification: SOLANA_SUBSCRIPTIONS.slotSubscribe.notification, unsubscribe: off };
  }

  /**
   * Account watches, grouped by config (commitment, encoding, data slice): a group reads every account it watches in
   * one agreed getMultipleAccounts per move of its commitment's slot (SOLANA_ACCOUNTS_PER_READ a call), and every
   * subscriber of one account hears the same notifications — a thousand watched accounts cost ten reads a slot.
   */
  interface AccountWatch {
    listeners: Set<Deliver>;
    /** The last agreed value (canonical JSON); undefined until the first, which is where subscribers start from. */
    seen?: string;
  }
  const accountGroups = new Map<string, { watches: Map<string, AccountWatch>; off: () => void }>();
  let accountsWatched = 0;

  async function readAccounts(watches: Map<string, AccountWatch>, options: object, at: number): Promise<undefined> {
    const addresses = [...watches.keys()];
    for (let from = 0; from < addresses.length; from += SOLANA_ACCOUNTS_PER_READ) {
      const batch = addresses.slice(from, from + SOLANA_ACCOUNTS_PER_READ);
      const answer = await deps.read({
        id: 0,
        method: "getMultipleAccounts",
        params: [batch, { encoding: "base64", ...options, minContextSlot: at }],
        notification: false,
      });
      if (!answer.ok) continue;
      const { context, value: entries } = answer.result as { context: unknown; value: unknown };
      const value = entryPerItem<unknown>(entries, batch.length);
      if (!value) continue;
      batch.forEach((address, i) => {
        const watch = watches.get(address);
        if (!watch) return;
        const account = value[i] ?? null;
        const key = canonicalJson(account);
        if (key === watch.seen) return;
        if (watch.seen !== undefined)
          for (const listener of [...watch.listeners]) listener({ context, value: account }, false);
        watch.seen = key;
      });
    }
    return undefined;
  }

  function account(params: unknown[], deliver: Deliver): SolanaSubscribeResult {
    const [address, config] = params;
    if (typeof address !== "string") return invalid("expected an account address");
    const commitment = commitmentOf(config);
    if (!commitment) return invalid("unknown commitment");
    const options = config && typeof config === "object" ? { ...(config as object), commitment } : { commitment };
    const groupId = canonicalJson(options);
    let group = accountGroups.get(groupId);
    let watch = group?.watches.get(address);
    if (!watch && accountsWatched >= SOLANA_MAX_ACCOUNT_WATCHERS)
      return limited(`at most ${SOLANA_MAX_ACCOUNT_WATCHERS} accounts are watched at once on a cluster`);
    if (!group) {
      const watches = new Map<string, AccountWatch>();
      group = { watches, off: onEachSlot(commitment, (at) => readAccounts(watches, options, at)) };
      accountGroups.set(groupId, group);
    }
    if (!watch) {
      watch = { listeners: new Set() };
      group.watches.set(address, watch);
      accountsWatched++;
    }
    const [theGroup, theWatch] = [group, watch];
    theWatch.listeners.add(deliver);
    const unsubscribe = () => {
      if (!theWatch.listeners.delete(deliver) || theWatch.listeners.size > 0) return;
      if (theGroup.watches.get(address) === theWatch) {
        theGroup.watches.delete(address);
        accountsWatched--;
      }
      if (theGroup.watches.size > 0 || accountGroups.get(groupId) !== theGroup) return;
      accountGroups.delete(groupId);
      theGroup.off();
    };
    return { ok: true, notification: SOLANA_SUBSCRIPTIONS.accountSubscribe.notification, unsubscribe };
  }

  /**
   * Signature subscriptions, every one of the cluster together: one agreed getSignatureStatuses per move of the
   * processed slot asks for all of them (up to SOLANA_STATUS_BATCH a call), so a thousand subscribers cost what one
   * call per slot and batch does.
   */
  const signatureWatches = new Map<string, Set<{ rank: number; deliver: Deliver }>>();
  let stopSignatureChecks: (() => void) | undefined;

  async function checkSignatures(): Promise<boolean> {
    const signatures = [...signatureWatches.keys()];
    for (let at = 0; at < signatures.length; at += SOLANA_STATUS_BATCH) {
      const batch = signatures.slice(at, at + SOLANA_STATUS_BATCH);
      const answer = await deps.read({ id: 0, method: "getSignatureStatuses", params: [batch], notification: false });
      if (!answer.ok) continue;
      const { context, value: entries } = answer.result as { context: { slot: number }; value: unknown };
      const value = entryPerItem<{ err: unknown; confirmationStatus: string } | null>(entries, batch.length);
      if (!value) continue;
      batch.forEach((sig, i) => {
        const status = value[i];
        const watches = signatureWatches.get(sig);
        if (!status || !watches) return;
        for (const watch of [...watches]) {
          if ((RANK[status.confirmationStatus] ?? -1) < watch.rank) continue;
          watches.delete(watch);
          watch.deliver({ context, value: { err: status.err ?? null } }, true);
        }
        if (watches.size === 0) signatureWatches.delete(sig);
      });
    }
    // Nobody left: the checks stop until the next subscription.
    if (signatureWatches.size > 0) return false;
    stopSignatureChecks = undefined;
    return true;
  }

  function signature(params: unknown[], deliver: Deliver): SolanaSubscribeResult {
    const [sig, config] = params;
    if (typeof sig !== "string") return invalid("expected a transaction signature");
    const commitment = commitmentOf(config);
    if (!commitment) return invalid("unknown commitment");
    const watches = signatureWatches.get(sig) ?? new Set();
    if (!signatureWatches.has(sig) && signatureWatches.size >= SOLANA_MAX_SIGNATURE_WATCHES)
      return limited(`at most ${SOLANA_MAX_SIGNATURE_WATCHES} signatures are watched at once on a cluster`);
    const watch = { rank: RANK[commitment]!, deliver };
    watches.add(watch);
    signatureWatches.set(sig, watches);
    stopSignatureChecks ??= onEachSlot("processed", checkSignatures);
    const unsubscribe = () => {
      watches.delete(watch);
      if (watches.size === 0 && signatureWatches.get(sig) === watches) signatureWatches.delete(sig);
      if (signatureWatches.size === 0) {
        stopSignatureChecks?.();
        stopSignatureChecks = undefined;
      }
    };
    return { ok: true, notification: SOLANA_SUBSCRIPTIONS.signatureSubscribe.notification, unsubscribe };
  }

  return {
    subscribe(method: string, params: unknown, deliver: Deliver): SolanaSubscribeResult {
      const list = Array.isArray(params) ? params : [];
      if (method === "slotSubscribe") return slot(deliver);
      if (method === "accountSubscribe") return account(list, deliver);
      if (method === "signatureSubscribe") return signature(list, deliver);
      return { ok: false, error: new MultihomeError("method_not_found", `${method} is not a subscription`) };
    },
  };
}
