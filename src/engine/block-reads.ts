/**
 * Proven blocks, transactions and receipts. A block's header hash is recomputed from its fields; its transactions
 * are re-encoded and must rebuild the header's transactions root; a block's receipts must rebuild its receipts root and
 * line up with its transactions. Blocks asked for by number must be the anchored block (the hash independent upstreams
 * agree on); blocks asked for by hash are bound to that hash. A transaction's `from` is recovered from its signature.
 *
 * Verified bodies and receipt lists are kept by block hash (what a hash names never changes), so the wallets polling
 * for the same new block share one fetch and one verification.
 */
import { MultihomeError } from "../core/errors.ts";
import { verifyHeaderHash } from "../core/header.ts";
import { HASH_HEX, type Hex } from "../core/hex.ts";
import { type PinnedCall, parseBlockNumber } from "../core/methods.ts";
import { checkBlockBody, checkBlockReceipts, checkTransactionHash } from "../core/roots.ts";
import { createdAddress, recoverSender, sameAddress } from "../core/sender.ts";
import type { Evidence } from "./answer.ts";
import type { CallPlan, ExecuteResult, Verdict } from "./execute.ts";
import type { AnchoredBlock } from "./state-reads.ts";

/** Verified block bodies and receipt lists kept, by block hash, oldest out first. */
export const MAX_VERIFIED_BLOCKS = 64;
/** Recovered senders kept, by transaction hash. */
export const MAX_RECOVERED_SENDERS = 4_096;

export interface BlockReadIo {
  anchor(number: number): Promise<AnchoredBlock | undefined>;
  execute(plan: CallPlan, signal?: AbortSignal): Promise<ExecuteResult>;
  onDispute(upstreamId: string, reason: string): void;
  /** Re-poll every upstream's head now; resolves to the agreed head after it. */
  refreshHead(): Promise<number | undefined>;
}

/** A transaction an upstream places at most this many blocks above the agreed head waits for one head re-poll. */
export const PLACE_AHEAD_MAX_BLOCKS = 4;

export type BlockRead =
  | { ok: true; result: unknown; evidence: Evidence }
  | { ok: false; error: MultihomeError }
  /** The method has no proven path for these params (a `pending` tag, a block above the agreed head): ask as usual. */
  | { ok: "pass" };

type Json = Record<string, unknown>;

/** A block whose header hash and (when `bodyProven`) transactions root were checked. */
interface VerifiedBody {
  block: Json;
  hashes: Hex[];
  /** False when a transaction is of a type Multihome cannot encode (the header is still proven). */
  bodyProven: boolean;
}

/** A tiny insertion-ordered cache of settled lookups (shared while pending); failures are not kept. */
function boundedCache<V>(max: number) {
  const entries = new Map<string, Promise<V>>();
  return {
    get(key: string, load: () => Promise<V>, keep: (v: V) => boolean): Promise<V> {
      const hit = entries.get(key);
      if (hit) return hit;
      const pending = load();
      entries.set(key, pending);
      if (entries.size > max) entries.delete(entries.keys().next().value!);
      void pending.then(
        (v) => {
          if (!keep(v) && entries.get(key) === pending) entries.delete(key);
        },
        () => entries.get(key) === pending && entries.delete(key),
      );
      return pending;
    },
    delete: (key: string) => entries.delete(key),
  };
}

type Fetched<T> = { ok: true; value: T } | { ok: false; error: MultihomeError };

function notVerified(result: Exclude<ExecuteResult, { ok: true }>, what: string): MultihomeError {
  if ("error" in result) return result.error;
  return new MultihomeError("unavailable", `no verifiable answer: ${what}`);
}

export function createBlockReads(io: BlockReadIo) {
  const bodies = boundedCache<Fetched<VerifiedBody | null>>(MAX_VERIFIED_BLOCKS);
  const receiptLists = boundedCache<Fetched<Json[] | null>>(MAX_VERIFIED_BLOCKS);
  const senders = boundedCache<Hex>(MAX_RECOVERED_SENDERS);

  /**
   * The block with this hash, full transactions, verified; `null` when upstreams at the head do not know it. For a
   * block `known` to exist (anchored), `null` comes from a node that is behind or lying: not an answer.
   */
  function body(hash: Hex, minBlock: number, known: boolean): Promise<Fetched<VerifiedBody | null>> {
    return bodies.get(
      hash.toLowerCase(),
      async () => {
        let bodyProven = true;
        const fetched = await io.execute({
          method: "eth_getBlockByHash",
          params: [hash, true],
          heavy: true,
          minBlock,
          verify: (block): Verdict => {
            if (block === null)
              return known
                ? { ok: false, reason: `no block ${hash} from a node that should have it`, dispute: false }
                : { ok: true, value: null };
            const header = verifyHeaderHash(block);
            if (!header.ok) return { ok: false, reason: `block header: ${header.reason}` };
            if (header.hash !== hash.toLowerCase()) return { ok: false, reason: "block is not the one asked for" };
            const check = checkBlockBody(block);
            if (check.ok === false) return { ok: false, reason: `block body: ${check.reason}` };
            bodyProven = check.ok === true;
            return { ok: true, value: block };
          },
        });
        if (!fetched.ok) return { ok: false, error: notVerified(fetched, `block ${hash}`) };
        const block = fetched.result as Json | null;
        if (block === null) return { ok: true, value: null };
        const txs = block.transactions as Json[];
        return {
          ok: true,
          value: { block, hashes: txs.map((tx) => tx.hash as Hex), bodyProven },
        };
      },
      (r) => r.ok && r.value !== null,
    );
  }

  /** The receipts of a verified block, checked against its receipts root and its transactions. */
  function receiptsOf(verified: VerifiedBody): Promise<Fetched<Json[] | null>> {
    const hash = verified.block.hash as Hex;
    const number = parseBlockNumber(verified.block.number)!;
    return receiptLists.get(
      hash.toLowerCase(),
      async () => {
        const header = { hash, number, receiptsRoot: verified.block.receiptsRoot as Hex };
        const fetched = await io.execute({
          method: "eth_getBlockReceipts",
          params: [hash],
          heavy: true,
          minBlock: number,
          verify: (receipts): Verdict => {
            if (receipts === null)
              return {
                ok: false,
                reason: `no receipts for block ${number} from a node that should have them`,
                dispute: false,
              };
            const check = checkBlockReceipts(receipts, header, verified.bodyProven ? verified.hashes : undefined);
            if (check.ok === false) return { ok: false, reason: `receipts: ${check.reason}` };
            if (check.ok !== true) return { ok: false, reason: `receipts: ${check.reason}`, dispute: false };
            return { ok: true, value: receipts };
          },
        });
        if (!fetched.ok) return { ok: false, error: notVerified(fetched, `receipts of block ${number}`) };
        return { ok: true, value: fetched.result as Json[] };
      },
      (r) => r.ok,
    );
  }

  /** `from` recovered from the transaction's signature (kept by transaction hash). */
  function senderOf(tx: Json): Promise<Hex> {
    return senders.get(
      String(tx.hash).toLowerCase(),
      () => recoverSender(tx),
      () => true,
    );
  }

  async function senderMatches(tx: Json): Promise<boolean> {
    try {
      return sameAddress(await senderOf(tx), tx.from);
    } catch {
      return false;
    }
  }

  const evidenceOf = (block: Json, anchored: AnchoredBlock | undefined, proven: boolean): Evidence => ({
    blockNumber: parseBlockNumber(block.number),
    verified: proven ? "proof" : "single",
    blockHash: block.hash as Hex,
    ...(anchored && anchored.hash === block.hash ? { domains: anchored.domains } : {}),
  });

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
    const fetched = await body(anchored.hash, Math.min(number, head), true);
    if (!fetched.ok) return fetched;
    if (!fetched.value)
      return { ok: false, error: new MultihomeError("unavailable", `no upstream returned anchored block ${number}`) };
    return { ok: true, value: { anchored, verified: fetched.value } };
  }

  /** The block a block parameter names: a number at or below the head, or a hash. */
  async function blockFor(
    pinned: PinnedCall,
    param: unknown,
    head: number,
  ): Promise<Fetched<{ anchored?: AnchoredBlock; verified: VerifiedBody } | null> | { ok: "pass" }> {
    if (pinned.blockNumber !== undefined) {
      if (pinned.blockNumber > head) return { ok: "pass" };
      return anchoredBody(pinned.blockNumber, head);
    }
    const hash = typeof param === "string" ? param : (param as { blockHash?: unknown } | null)?.blockHash;
    if (typeof hash !== "string" || !HASH_HEX.test(hash)) return { ok: "pass" };
    const fetched = await body(hash as Hex, head, false);
    if (!fetched.ok || !fetched.value) return fetched as Fetched<null>;
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
    if (!found.value) return { ok: true, result: null, evidence: { blockNumber: head, verified: "none" } };
    const { anchored, verified } = found.value;
    const result = full ? verified.block : { ...verified.block, transactions: verified.hashes };
    return { ok: true, result, evidence: evidenceOf(verified.block, anchored, verified.bodyProven) };
  }

  async function getBlockReceipts(pinned: PinnedCall, head: number): Promise<BlockRead> {
    const found = await blockFor(pinned, (pinned.params as unknown[])[0], head);
    if (found.ok === "pass" || !found.ok) return found;
    if (!found.value) return { ok: true, result: null, evidence: { blockNumber: head, verified: "none" } };
    const { anchored, verified } = found.value;
    const receipts = await receiptsOf(verified);
    if (!receipts.ok) return receipts;
    return { ok: true, result: receipts.value, evidence: evidenceOf(verified.block, anchored, verified.bodyProven) };
  }

  /**
   * A transaction or receipt asked for by transaction hash: one upstream at the head says where it is; the anchored
   * block at that height must contain it, and the answer served is the one from that verified block.
   */
  async function locate(
    method: "eth_getTransactionByHash" | "eth_getTransactionReceipt",
    txHash: Hex,
    head: number,
    signal: AbortSignal | undefined,
    avoid?: string,
  ): Promise<Fetched<{ claim: Json; upstream: string } | null>> {
    const fetched = await io.execute(
      {
        ...(avoid ? { avoid: (u: { id: string }) => u.id === avoid } : {}),
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
          const check = checkTransactionHash(claim);
          if (check.ok === false) return { ok: false, reason: `transaction: ${check.reason}` };
          return { ok: true, value: claim };
        },
      },
      signal,
    );
    if (!fetched.ok) return { ok: false, error: notVerified(fetched, `transaction ${txHash}`) };
    const claim = fetched.result as Json | null;
    return { ok: true, value: claim === null ? null : { claim, upstream: fetched.upstream } };
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
  ): Promise<Fetched<{ anchored: AnchoredBlock; verified: VerifiedBody; index: number }>> {
    const number = parseBlockNumber(claim.blockNumber)!;
    if (number > head) {
      return {
        ok: false,
        error: new MultihomeError("unavailable", `transaction is in block ${number}, above the agreed head ${head}`),
      };
    }
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

  type Placement = { anchored: AnchoredBlock; verified: VerifiedBody; index: number };

  /**
   * Where a transaction is: one upstream at the head names its block, and the anchored block at that height must
   * contain it. When it does not, a second upstream (another one) is asked once before giving up.
   */
  async function place(
    method: "eth_getTransactionByHash" | "eth_getTransactionReceipt",
    txHash: Hex,
    head: number,
    signal: AbortSignal | undefined,
  ): Promise<Fetched<{ claim: Json; upstream: string; placement?: Placement } | null>> {
    let failed: { error: MultihomeError; upstream: string } | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const located = await locate(method, txHash, head, signal, failed?.upstream);
      if (!located.ok || !located.value) return located;
      const { claim, upstream } = located.value;
      if (claim.blockHash === null || claim.blockHash === undefined) return { ok: true, value: { claim, upstream } };
      const number = parseBlockNumber(claim.blockNumber)!;
      if (number > head) {
        // Mined in a block independent upstreams have not agreed on yet (or a lie about the future). Ask every
        // upstream for its head once; still above the agreed head, it is not mined as far as the verified chain
        // knows: `null`, as any node at that head would answer.
        const refreshed = number - head <= PLACE_AHEAD_MAX_BLOCKS ? await io.refreshHead() : undefined;
        if (refreshed === undefined || number > refreshed) return { ok: true, value: null };
        head = refreshed;
      }
      const found = await inAnchoredBlock(claim, txHash, head, upstream);
      if (found.ok) return { ok: true, value: { claim, upstream, placement: found.value } };
      failed = { error: found.error, upstream };
    }
    return { ok: false, error: failed!.error };
  }

  async function getTransaction(txHash: Hex, head: number, signal?: AbortSignal): Promise<BlockRead> {
    const placed = await place("eth_getTransactionByHash", txHash, head, signal);
    if (!placed.ok) return placed;
    if (!placed.value) return { ok: true, result: null, evidence: { blockNumber: head, verified: "none" } };
    const { claim, upstream, placement } = placed.value;
    let tx = claim;
    let evidence: Evidence = { blockNumber: undefined, verified: "proof" };
    if (placement) {
      const { anchored, verified, index } = placement;
      tx = (verified.block.transactions as Json[])[index]!;
      evidence = evidenceOf(verified.block, anchored, verified.bodyProven);
    }
    if (!(await senderMatches(tx))) {
      io.onDispute(upstream, "transaction sender does not match its signature");
      return { ok: false, error: new MultihomeError("unavailable", "no verifiable answer: transaction sender") };
    }
    return { ok: true, result: tx, evidence };
  }

  async function getReceipt(txHash: Hex, head: number, signal?: AbortSignal): Promise<BlockRead> {
    const placed = await place("eth_getTransactionReceipt", txHash, head, signal);
    if (!placed.ok) return placed;
    if (!placed.value) return { ok: true, result: null, evidence: { blockNumber: head, verified: "none" } };
    const { upstream, placement } = placed.value;
    if (!placement) return { ok: false, error: new MultihomeError("unavailable", "receipt without a block") };
    const { anchored, verified, index } = placement;
    const receipts = await receiptsOf(verified);
    if (!receipts.ok) return receipts;
    const receipt = receipts.value![index]!;
    const tx = (verified.block.transactions as Json[])[index]!;
    // Receipt fields outside the receipts root, bound here to the verified transaction and its recovered sender.
    const sender = await senderOf(tx).catch(() => undefined);
    const creates = tx.to === null || tx.to === undefined;
    const consistent =
      sender !== undefined &&
      sameAddress(receipt.from, sender) &&
      (creates ? receipt.to === null : sameAddress(receipt.to, tx.to)) &&
      (!creates ||
        receipt.contractAddress === undefined ||
        sameAddress(receipt.contractAddress, createdAddress(sender, BigInt(tx.nonce as string))));
    if (!consistent) {
      io.onDispute(upstream, "receipt sender, recipient or contract address does not match the transaction");
      return { ok: false, error: new MultihomeError("unavailable", "no verifiable answer: receipt fields") };
    }
    return { ok: true, result: receipt, evidence: evidenceOf(verified.block, anchored, verified.bodyProven) };
  }

  return {
    /** A block that was orphaned by a reorg: its body and receipts are no longer served by hash. */
    forget(hash: string) {
      bodies.delete(hash.toLowerCase());
      receiptLists.delete(hash.toLowerCase());
    },
    /**
     * Answer a proven block, transaction or receipt read. `signal` cancels the caller's own lookup; block bodies and
     * receipt lists are shared with other callers and run to completion.
     */
    read(method: string, pinned: PinnedCall, head: number, signal?: AbortSignal): Promise<BlockRead> {
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
    },
  };
}

export type BlockReads = ReturnType<typeof createBlockReads>;
