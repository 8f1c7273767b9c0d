/**
 * Proven blocks, transactions and receipts. A block's header hash is recomputed from its fields; its transactions
 * are re-encoded and must rebuild the header's transactions root; a block's receipts must rebuild its receipts root and
 * line up with its transactions (verified-blocks.ts). Blocks asked for by number must be the anchored block (the hash
 * independent upstreams agree on); blocks asked for by hash are bound to that hash. A transaction's `from` is recovered
 * from its signature.
 *
 * Something addressed by hash that one upstream says does not exist (`null`) is not absent on that word alone: `null`
 * is served only when an upstream in an independent failure domain, at the agreed head or above, says so too.
 */
import type { ChainStack, ForkSchedule } from "../../core/chain-presets.ts";
import { MultihomeError } from "../../core/errors.ts";
import { HASH_HEX, type Hex } from "../../core/hex.ts";
import { type PinnedCall, parseBlockNumber } from "../../core/rpc/methods.ts";
import { checkTransactionHash } from "../../core/verification/roots.ts";
import type { Evidence } from "../answers/answer.ts";
import type { CallPlan, ExecuteResult, Verdict } from "../routing/execute.ts";
import type { AnchoredBlock } from "./state-reads.ts";
import {
  type Absent,
  createVerifiedBlocks,
  type Fetched,
  type Json,
  notVerified,
  type SenderCheck,
  type VerifiedBody,
} from "./verified-blocks.ts";

export interface BlockReadIo {
  /** The chain's fork schedule, when known: which fork fields each header must carry. */
  forks?: ForkSchedule;
  /** Whose transaction and receipt encodings the chain uses. @default "ethereum" */
  stack?: ChainStack;
  anchor(number: number): Promise<AnchoredBlock | undefined>;
  execute(plan: CallPlan, signal?: AbortSignal): Promise<ExecuteResult>;
  onDispute(upstreamId: string, reason: string): void;
  /** Whether two upstreams are in independent failure domains (a different operator and outage domain). */
  independent(a: string, b: string): boolean;
  /** An upstream's outage domain label (`hosting/region`). */
  domainOf(upstreamId: string): string;
  /** Re-poll every upstream's head now; resolves to the agreed head after it. */
  refreshHead(): Promise<number | undefined>;
}

/** A transaction an upstream places at most this many blocks above the agreed head waits for one head re-poll. */
export const PLACE_AHEAD_MAX_BLOCKS = 4;
/** Upstreams asked where a transaction is before giving up: a denial needs a second, independent one. */
export const MAX_LOCATORS = 3;
/**
 * An upstream that said a transaction does not exist while it sits in an anchored block at least this far below the
 * head is disputed; nearer the head its index may simply lag (load-balanced providers answer from several nodes).
 */
export const HIDDEN_DISPUTE_MIN_DEPTH_BLOCKS = 3;
/** …and at most this far below it: much older transactions are legitimately unindexed by pruning nodes. */
export const HIDDEN_DISPUTE_MAX_DEPTH_BLOCKS = 10_000;
/** A read that failed on a block body proven false is answered again from another upstream's body, this many times. */
export const FALSE_BODY_RETRIES = 2;

export type BlockRead =
  | { ok: true; result: unknown; evidence: Evidence }
  | { ok: false; error: MultihomeError }
  /** The method has no proven path for these params (a `pending` tag, a block above the agreed head): ask as usual. */
  | { ok: "pass" };

type LookupMethod = "eth_getTransactionByHash" | "eth_getTransactionReceipt";
type Placement = { anchored: AnchoredBlock; verified: VerifiedBody; index: number };

export function createBlockReads(io: BlockReadIo) {
  const stack = io.stack ?? "ethereum";
  const blocks = createVerifiedBlocks({
    ...(io.forks ? { forks: io.forks } : {}),
    stack,
    execute: (plan) => io.execute(plan),
    onDispute: io.onDispute,
    independent: io.independent,
    anchor: io.anchor,
  });

  /**
   * `proof` when the header hash was recomputed, the body rebuilt its roots and the block is the one anchored at its
   * height; `quorum` when the header could not be hashed but is the one independent upstreams agreed on; otherwise one
   * upstream's word (a self-consistent block off the anchored chain, or a body of a type that cannot be encoded).
   */
  /** `proven`: false when something the answer shows could not be borne out beyond the roots (then `single`). */
  const evidenceOf = (
    verified: VerifiedBody,
    anchored: AnchoredBlock | undefined,
    supplier: string,
    proven = true,
  ): Evidence => {
    const { block, headerDigest: digest } = verified;
    const bodyProven = verified.bodyProven && proven;
    const canonical = anchored !== undefined && anchored.hash === block.hash;
    const agreed = canonical && digest !== undefined && anchored.headerDigest === digest;
    const level = !canonical || !bodyProven ? "single" : digest === undefined ? "proof" : agreed ? "quorum" : "single";
    return {
      blockNumber: parseBlockNumber(block.number),
      verified: level,
      blockHash: block.hash as Hex,
      upstream: supplier,
      ...(canonical ? { domains: anchored.domains } : {}),
    };
  };

  /** The outage domains of upstreams that agreed something is not there (not mined, no such block). */
  const domainsOf = (ids: string[]) => [...new Set(ids.map(io.domainOf))];

  /** `null`, as two independent failure domains at the agreed head or above said: agreement, so `quorum`. */
  const absent = (head: number, by: Absent): BlockRead => ({
    ok: true,
    result: null,
    evidence: { blockNumber: head, verified: "quorum", domains: domainsOf(by.absentBy) },
  });

  /** An answer that shows senders (a transaction, a receipt, a full block) is served only once they are checked. */
  const senderFailure = (check: SenderCheck): BlockRead | undefined =>
    check.ok === false ? { ok: false, error: check.error } : undefined;

  /** The anchored block at `number` and its verified body. */
  async function anchoredBody(
    number: number,
    head: number,
  ): Promise<Fetched<{ anchored: AnchoredBlock; verified: VerifiedBody }>> {
    const anchored = await io.anchor(number);
    if (!anchored)
      return {
        ok: false,
        error: new MultihomeError("unavailable", `block ${number} is not anchored by independent upstreams`),
      };
    const fetched = await blocks.body(anchored.hash, Math.min(number, head), anchored);
    if (!fetched.ok) return fetched;
    if ("absentBy" in fetched.value)
      return { ok: false, error: new MultihomeError("unavailable", `no upstream returned anchored block ${number}`) };
    return { ok: true, value: { anchored, verified: fetched.value } };
  }

  /** The block a block parameter names: a number at or below the head, or a hash. */
  async function blockFor(
    pinned: PinnedCall,
    param: unknown,
    head: number,
  ): Promise<Fetched<{ anchored?: AnchoredBlock; verified: VerifiedBody } | Absent> | { ok: "pass" }> {
    if (pinned.blockNumber !== undefined) {
      if (pinned.blockNumber > head) return { ok: "pass" };
      return anchoredBody(pinned.blockNumber, head);
    }
    const hash = typeof param === "string" ? param : (param as { blockHash?: unknown } | null)?.blockHash;
    if (typeof hash !== "string" || !HASH_HEX.test(hash)) return { ok: "pass" };
    const fetched = await blocks.body(hash as Hex, head);
    if (!fetched.ok || "absentBy" in fetched.value) return fetched as Fetched<Absent>;
    const number = parseBlockNumber(fetched.value.block.number)!;
    const anchored = number <= head ? await io.anchor(number) : undefined;
    return { ok: true, value: { ...(anchored ? { anchored } : {}), verified: fetched.value } };
  }

  async function getBlock(pinned: PinnedCall, head: number): Promise<BlockRead> {
    const [param, full] = pinned.params as unknown[];
    if (typeof full !== "boolean")
      return {
        ok: false,
        error: new MultihomeError("invalid_params", "invalid params: expected a block and a boolean"),
      };
    const found = await blockFor(pinned, param, head);
    if (found.ok === "pass" || !found.ok) return found;
    if ("absentBy" in found.value) return absent(head, found.value);
    const { anchored, verified } = found.value;
    const senders = full ? await blocks.checkSenders(verified) : { ok: true as const };
    const failed = senderFailure(senders);
    if (failed) return failed;
    const result = full ? verified.block : { ...verified.block, transactions: verified.hashes };
    return {
      ok: true,
      result,
      evidence: evidenceOf(verified, anchored, verified.supplier, senders.ok !== "unverifiable"),
    };
  }

  async function getBlockReceipts(pinned: PinnedCall, head: number): Promise<BlockRead> {
    const found = await blockFor(pinned, (pinned.params as unknown[])[0], head);
    if (found.ok === "pass" || !found.ok) return found;
    if ("absentBy" in found.value) return absent(head, found.value);
    const { anchored, verified } = found.value;
    const failed = senderFailure(await blocks.checkSenders(verified));
    if (failed) return failed;
    const receipts = await blocks.receiptsOf(verified);
    if (!receipts.ok) return receipts;
    return {
      ok: true,
      result: receipts.value.receipts,
      evidence: evidenceOf(verified, anchored, receipts.value.supplier, receipts.value.proven),
    };
  }

  /** One upstream at the head (not one `avoid` names) says where a transaction is, or that it does not know it. */
  async function locate(
    method: LookupMethod,
    txHash: Hex,
    head: number,
    signal: AbortSignal | undefined,
    avoid: (id: string) => boolean,
  ): Promise<Fetched<{ claim: Json | null; upstream: string }>> {
    const fetched = await io.execute(
      {
        avoid: (u) => avoid(u.id),
        method,
        params: [txHash],
        heavy: false,
        minBlock: head,
        verify: (answer): Verdict => {
          if (answer === null) return { ok: true, value: null };
          if (typeof answer !== "object" || Array.isArray(answer)) return { ok: false, reason: "not an object" };
          const claim = answer as Json;
          const hash = method === "eth_getTransactionReceipt" ? claim.transactionHash : claim.hash;
          if (typeof hash !== "string" || hash.toLowerCase() !== txHash.toLowerCase())
            return { ok: false, reason: "answer is about another transaction" };
          if (claim.blockHash !== null && claim.blockHash !== undefined) {
            // Mined: what is served comes from the verified block, so only the reference is checked here.
            if (parseBlockNumber(claim.blockNumber) === undefined || typeof claim.blockHash !== "string")
              return { ok: false, reason: "malformed block reference" };
            return { ok: true, value: claim };
          }
          if (method === "eth_getTransactionReceipt") return { ok: false, reason: "receipt without a block" };
          // Pending: its own hash is all that vouches for it.
          const check = checkTransactionHash(claim, stack);
          if (check.ok === false) return { ok: false, reason: `transaction: ${check.reason}` };
          return { ok: true, value: claim };
        },
      },
      signal,
    );
    if (!fetched.ok) return { ok: false, error: notVerified(fetched, `transaction ${txHash}`) };
    return { ok: true, value: { claim: fetched.result as Json | null, upstream: fetched.upstream } };
  }

  /**
   * The anchored block at the height an upstream placed the transaction, and the transaction's index in it. When the
   * upstream named the anchored block itself and the verified block does not contain the transaction, it lied: a
   * dispute. A different block hash may be a fork it is still on: not held against it.
   */
  async function inAnchoredBlock(
    claim: Json,
    txHash: Hex,
    head: number,
    upstream: string,
  ): Promise<Fetched<Placement>> {
    const number = parseBlockNumber(claim.blockNumber)!;
    const found = await anchoredBody(number, head);
    if (!found.ok) return found;
    const index = found.value.verified.hashes.findIndex((h) => h.toLowerCase() === txHash.toLowerCase());
    if (index < 0) {
      const namedAnchored = String(claim.blockHash).toLowerCase() === found.value.anchored.hash.toLowerCase();
      if (namedAnchored) io.onDispute(upstream, `claims a transaction is in block ${number}, which does not have it`);
      return {
        ok: false,
        error: new MultihomeError(
          "unavailable",
          `no verifiable answer: transaction is not in the anchored block ${number} (the upstream's answer is from another fork or false)`,
        ),
      };
    }
    return { ok: true, value: { ...found.value, index } };
  }

  /**
   * Where a transaction is. One upstream at the head names its block, and the anchored block at that height must
   * contain it; when it does not, another upstream is asked. That a transaction is not mined (as of the agreed head) is
   * believed only when two upstreams in independent failure domains say so.
   */
  async function place(
    method: LookupMethod,
    txHash: Hex,
    head: number,
    signal: AbortSignal | undefined,
  ): Promise<Fetched<{ claim: Json; upstream: string; placement?: Placement; pendingBy?: string[] } | Absent>> {
    const asked = new Set<string>();
    /** Upstreams that said the transaction is not mined: unknown, pending, or mined above the agreed head. */
    const deniers: string[] = [];
    /** A pending transaction one of them returned (bound by its hash): served once "not mined" is agreed. */
    let pending: { claim: Json; upstream: string } | undefined;
    let failure: MultihomeError | undefined;
    const avoid = (id: string) => asked.has(id) || deniers.some((d) => !io.independent(d, id));
    for (let attempt = 0; attempt < MAX_LOCATORS; attempt++) {
      const located = await locate(method, txHash, head, signal, avoid);
      if (!located.ok) {
        failure = located.error;
        break;
      }
      const { claim, upstream } = located.value;
      asked.add(upstream);
      // "Pending" is a claim that it is not mined: one upstream's word, like `null`, until a second domain agrees.
      const isPending = claim !== null && (claim.blockHash === null || claim.blockHash === undefined);
      if (isPending) pending ??= { claim, upstream };
      const number = claim === null || isPending ? undefined : parseBlockNumber(claim.blockNumber)!;
      if (number !== undefined && number > head) {
        // Mined in a block independent upstreams have not agreed on yet (or a lie about the future). Ask every
        // upstream for its head once; still above the agreed head, it is not mined as far as the verified chain knows.
        const refreshed = number - head <= PLACE_AHEAD_MAX_BLOCKS ? await io.refreshHead() : undefined;
        if (refreshed !== undefined && number <= refreshed) head = refreshed;
      }
      if (claim === null || isPending || number! > head) {
        deniers.push(upstream);
        if (deniers.length < 2) continue;
        return { ok: true, value: pending ? { ...pending, pendingBy: deniers } : { absentBy: deniers } };
      }
      const found = await inAnchoredBlock(claim, txHash, head, upstream);
      if (!found.ok) {
        failure = found.error;
        continue;
      }
      disputeHiders(deniers, number!, head);
      return { ok: true, value: { claim, upstream, placement: found.value } };
    }
    if (deniers.length > 0)
      return {
        ok: false,
        error: new MultihomeError(
          "unavailable",
          "no verifiable answer: one failure domain says the transaction is not mined, and no independent one could confirm it",
          { data: { reason: failure?.message ?? "no other upstream answered" } },
        ),
      };
    return {
      ok: false,
      error: failure ?? new MultihomeError("unavailable", `no verifiable answer: transaction ${txHash}`),
    };
  }

  /** Upstreams that denied a transaction now placed well below the head (but not so deep that it may be unindexed). */
  function disputeHiders(deniers: string[], number: number, head: number) {
    const depth = head - number;
    if (depth < HIDDEN_DISPUTE_MIN_DEPTH_BLOCKS || depth > HIDDEN_DISPUTE_MAX_DEPTH_BLOCKS) return;
    for (const d of deniers) io.onDispute(d, `says a transaction mined ${depth} blocks below the head does not exist`);
  }

  async function getTransaction(txHash: Hex, head: number, signal?: AbortSignal): Promise<BlockRead> {
    const placed = await place("eth_getTransactionByHash", txHash, head, signal);
    if (!placed.ok) return placed;
    if ("absentBy" in placed.value) return absent(head, placed.value);
    const { claim, upstream, placement, pendingBy } = placed.value;
    if (!placement) {
      // Pending: its content bound by its own hash, its sender recovered from its signature; that it is not mined
      // is what two independent domains agreed on.
      const failed = senderFailure(await blocks.checkStatedSender(claim, upstream));
      if (failed) return failed;
      const by = pendingBy ?? [upstream];
      return {
        ok: true,
        result: claim,
        evidence: { blockNumber: undefined, verified: "quorum", domains: domainsOf(by), upstream },
      };
    }
    const { anchored, verified, index } = placement;
    const sender = await blocks.checkSender(verified, index);
    const failed = senderFailure(sender);
    if (failed) return failed;
    return {
      ok: true,
      result: (verified.block.transactions as Json[])[index]!,
      evidence: evidenceOf(verified, anchored, verified.supplier, sender.ok !== "unverifiable"),
    };
  }

  async function getReceipt(txHash: Hex, head: number, signal?: AbortSignal): Promise<BlockRead> {
    const placed = await place("eth_getTransactionReceipt", txHash, head, signal);
    if (!placed.ok) return placed;
    if ("absentBy" in placed.value) return absent(head, placed.value);
    const { placement } = placed.value;
    if (!placement) return { ok: false, error: new MultihomeError("unavailable", "receipt without a block") };
    const { anchored, verified, index } = placement;
    // The receipt's uncovered fields were checked against the body's stated sender; the sender against the signature.
    const failed = senderFailure(await blocks.checkSender(verified, index));
    if (failed) return failed;
    const receipts = await blocks.receiptsOf(verified);
    if (!receipts.ok) return receipts;
    return {
      ok: true,
      result: receipts.value.receipts[index]!,
      evidence: evidenceOf(verified, anchored, receipts.value.supplier, receipts.value.proven),
    };
  }

  return {
    /** A block that was orphaned by a reorg: its body and receipts are no longer served by hash. */
    forget: blocks.forget,
    /** The anchored block at `number` (at most `head`) with its body, verified against its roots (senders unchecked). */
    anchoredBody,
    /** The block with this hash and its body, verified against its hash and roots (senders unchecked), or its absence. */
    bodyByHash: (hash: Hex, head: number) => blocks.body(hash, head),
    /** A verified block's receipts, checked against its receipts root and its body. */
    receiptsOf: blocks.receiptsOf,
    /**
     * Answer a proven block, transaction or receipt read. `signal` cancels the caller's own lookup; block bodies and
     * receipt lists are shared with other callers and run to completion.
     */
    async read(method: string, pinned: PinnedCall, head: number, signal?: AbortSignal): Promise<BlockRead> {
      for (let attempt = 0; ; attempt++) {
        const falseBefore = blocks.provenFalse();
        const read = await readOnce(method, pinned, head, signal);
        // A body that proved false was forgotten, and its supplier is not asked for it again: worth another try.
        if (read.ok !== false || attempt >= FALSE_BODY_RETRIES || blocks.provenFalse() === falseBefore) return read;
      }
    },
  };

  function readOnce(method: string, pinned: PinnedCall, head: number, signal?: AbortSignal): Promise<BlockRead> {
    const params = pinned.params as unknown[];
    switch (method) {
      case "eth_getBlockByNumber":
      case "eth_getBlockByHash":
        return getBlock(pinned, head);
      case "eth_getBlockReceipts":
        return getBlockReceipts(pinned, head);
      case "eth_getTransactionByHash":
      case "eth_getTransactionReceipt": {
        const hash = params[0];
        if (typeof hash !== "string" || !HASH_HEX.test(hash) || params.length !== 1)
          return Promise.resolve({
            ok: false,
            error: new MultihomeError("invalid_params", "invalid params: expected one 32-byte transaction hash"),
          });
        return method === "eth_getTransactionByHash"
          ? getTransaction(hash as Hex, head, signal)
          : getReceipt(hash as Hex, head, signal);
      }
      default:
        return Promise.resolve({ ok: "pass" });
    }
  }
}

export type BlockReads = ReturnType<typeof createBlockReads>;
