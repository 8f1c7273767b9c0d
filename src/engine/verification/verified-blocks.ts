/**
 * Verified block bodies and receipt lists, kept by block hash (what a hash names never changes) so the wallets polling
 * for the same new block share one fetch and one verification — each kept with the upstream that SUPPLIED it.
 *
 * Who supplied each byte decides who is blamed when it is wrong. A body's transactions are bound by its transactions
 * root, but their `from` is not: it is recovered from each signature before it is served, and a body that states
 * another sender is charged to the body's supplier (and forgotten). A receipt list is bound by its receipts root, but
 * its `from`, `to`, `contractAddress` and `effectiveGasPrice` are not: they are checked against the body before the
 * list is kept, and a list that disagrees is charged to its own supplier — never to an upstream that later asks about
 * a transaction in it.
 */
import type { ChainStack, ForkSchedule } from "../../core/chain-presets.ts";
import { STACK_ENCODINGS } from "../../core/encodings/encode.ts";
import { UnsupportedTypeError } from "../../core/encodings/fields.ts";
import { MultihomeError } from "../../core/errors.ts";
import type { Hex } from "../../core/hex.ts";
import { parseBlockNumber } from "../../core/rpc/methods.ts";
import { checkHeader, headerDigest } from "../../core/verification/header.ts";
import { depositCreationMismatch, receiptFieldsMismatch } from "../../core/verification/receipt-fields.ts";
import { checkBlockBody, checkBlockReceipts } from "../../core/verification/roots.ts";
import { recoverSender, sameAddress } from "../../core/verification/sender.ts";
import { boundedCache } from "../answers/bounded-cache.ts";
import type { CallPlan, ExecuteResult, Verdict } from "../routing/execute.ts";
import { createStackFields } from "./stack-fields.ts";
import type { AnchoredBlock } from "./state-reads.ts";

/** Verified block bodies and receipt lists kept, by block hash, oldest out first. */
export const MAX_VERIFIED_BLOCKS = 64;
/** Recovered senders kept, by transaction hash. */
export const MAX_RECOVERED_SENDERS = 4_096;
/** Receipt lists fetched again from other upstreams when one's fields disagree with the verified body. */
export const RECEIPT_REFETCHES = 2;

export type Json = Record<string, unknown>;

export type Fetched<T> = { ok: true; value: T } | { ok: false; error: MultihomeError };

/** A block whose header hash and (when `bodyProven`) transactions root were checked. */
export interface VerifiedBody {
  block: Json;
  hashes: Hex[];
  /** False when a transaction is of a type Multihome cannot encode (the header is still proven). */
  bodyProven: boolean;
  /** The upstream whose answer this is: the one charged if anything in it later proves false. */
  supplier: string;
  /**
   * Set when the header carries a field Multihome does not know, so its hash could not be recomputed: the digest of
   * its header fields, which only an anchor agreed on by independent upstreams can vouch for.
   */
  headerDigest?: Hex;
}

/** Something addressed by hash that upstreams in two independent failure domains (these) said does not exist. */
export interface Absent {
  absentBy: string[];
}

/** A block's receipts, checked against its receipts root and its verified body. */
export interface VerifiedReceipts {
  receipts: Json[];
  supplier: string;
  /** False when a field no root covers could not be borne out (a deposit creation's contract, on anvil 1.7). */
  proven: boolean;
}

/** A transaction's sender: recovered and equal to what the body states, or not verifiable (an unknown type). */
export type SenderCheck = { ok: true } | { ok: false; error: MultihomeError } | { ok: "unverifiable" };

export interface VerifiedBlockIo {
  /** The chain's fork schedule, when known: which fork fields each header must carry. */
  forks?: ForkSchedule;
  /** Whose transaction and receipt encodings the chain uses. @default "ethereum" */
  stack?: ChainStack;
  execute(plan: CallPlan): Promise<ExecuteResult>;
  onDispute(upstreamId: string, reason: string): void;
  /** Whether two upstreams are in independent failure domains (a different operator and outage domain). */
  independent(a: string, b: string): boolean;
  /** The anchored block at `number` (vouches for a header that cannot be hashed). */
  anchor(number: number): Promise<AnchoredBlock | undefined>;
}

export function notVerified(result: Exclude<ExecuteResult, { ok: true }>, what: string): MultihomeError {
  if ("error" in result) return result.error;
  return new MultihomeError("unavailable", `no verifiable answer: ${what}`);
}

export function createVerifiedBlocks(io: VerifiedBlockIo) {
  const stack = io.stack ?? "ethereum";
  const bodies = boundedCache<Fetched<VerifiedBody | Absent>>(MAX_VERIFIED_BLOCKS);
  const receiptLists = boundedCache<Fetched<VerifiedReceipts>>(MAX_VERIFIED_BLOCKS);
  const senders = boundedCache<Hex | "unverifiable">(MAX_RECOVERED_SENDERS);
  const stackFields = createStackFields({ stack, execute: io.execute });
  /** Block hash → upstreams that supplied a body of it that proved false: not asked for it again. */
  const falseSuppliers = new Map<string, Set<string>>();
  /** Bodies proven false so far (a read that failed on one is worth trying again: the body is fetched afresh). */
  let provenFalse = 0;

  /**
   * One fetch of the block with this hash, full transactions, verified, from an upstream `avoid` allows. Every list the
   * header commits to must be there, and full transactions must be objects. A header Multihome cannot hash (a field it
   * does not know) is taken only as the header independent upstreams agree on: `anchored`'s. `unanchored`: the numbers
   * such headers stated when no anchor was at hand to vouch for them.
   */
  async function fetchBody(
    hash: Hex,
    minBlock: number,
    anchored: AnchoredBlock | undefined,
    avoid?: (u: { id: string }) => boolean,
  ): Promise<Fetched<{ body: VerifiedBody | null; upstream: string }> & { unanchored: Set<number> }> {
    const unanchored = new Set<number>();
    let bodyProven = true;
    let digest: Hex | undefined;
    const fetched = await io.execute({
      method: "eth_getBlockByHash",
      params: [hash, true],
      heavy: true,
      minBlock,
      ...(avoid ? { avoid } : {}),
      verify: (block): Verdict => {
        if (block === null)
          return anchored
            ? { ok: false, reason: `no block ${hash} from a node that should have it`, dispute: false }
            : { ok: true, value: null };
        const header = checkHeader(block, io.forks);
        if (header.ok === false) return { ok: false, reason: `block header: ${header.reason}` };
        if (header.hash !== hash.toLowerCase()) return { ok: false, reason: "block is not the one asked for" };
        digest = header.ok === true ? undefined : headerDigest(block);
        if (header.ok === "unverifiable") {
          if (!anchored) {
            const number = parseBlockNumber((block as Json).number);
            if (number !== undefined) unanchored.add(number);
            return { ok: false, reason: `block header: ${header.reason}`, dispute: false };
          }
          // A block proven by its hash has no header this one could be; one only agreed on may be rendered apart.
          if (anchored.headerDigest !== digest)
            return {
              ok: false,
              reason: `block header: ${header.reason}, and it is not the header the anchored block has`,
              dispute: anchored.headerDigest === undefined,
            };
        }
        const check = checkBlockBody(block, { fullTransactions: true, stack });
        if (check.ok === false) return { ok: false, reason: `block body: ${check.reason}` };
        bodyProven = check.ok === true;
        return { ok: true, value: block };
      },
    });
    if (!fetched.ok) return { ok: false, error: notVerified(fetched, `block ${hash}`), unanchored };
    const block = fetched.result as Json | null;
    const { upstream } = fetched;
    if (block === null) return { ok: true, value: { body: null, upstream }, unanchored };
    const hashes = (block.transactions as Json[]).map((tx) => tx.hash as Hex);
    const body: VerifiedBody = {
      block,
      hashes,
      bodyProven,
      supplier: upstream,
      ...(digest ? { headerDigest: digest } : {}),
    };
    return { ok: true, value: { body, upstream }, unanchored };
  }

  /**
   * The block with this hash, full transactions, verified. For an `anchored` block, `null` comes from a node that is
   * behind or lying: not an answer. For any other, `null` is served only when a second upstream, in a failure domain
   * independent of the first, says so too. A header that cannot be hashed is vouched for by the block anchored at the
   * number it states, or not at all.
   */
  function body(hash: Hex, minBlock: number, anchored?: AnchoredBlock): Promise<Fetched<VerifiedBody | Absent>> {
    return bodies.get(
      hash.toLowerCase(),
      async () => {
        const liars = falseSuppliers.get(hash.toLowerCase());
        const avoidLiars = liars && ((u: { id: string }) => liars.has(u.id));
        let { unanchored, ...first } = await fetchBody(hash, minBlock, anchored, avoidLiars);
        for (const number of anchored ? [] : unanchored) {
          const vouched = number <= minBlock ? await io.anchor(number) : undefined;
          if (vouched?.hash !== hash.toLowerCase()) continue;
          ({ unanchored, ...first } = await fetchBody(hash, minBlock, vouched, avoidLiars));
          break;
        }
        if (!first.ok) return first;
        if (first.value.body !== null) {
          // The header hash binds withdrawalsRoot; what the stack says it means is checked against state. A proof
          // that cannot be had leaves the block as proven as its hash; one that contradicts the meaning does not.
          const meaning = await stackFields.withdrawalsRoot(first.value.body.block);
          if (meaning.ok === "unverifiable") first.value.body.bodyProven = false;
          return { ok: true, value: first.value.body };
        }
        const denier = first.value.upstream;
        const second = await fetchBody(
          hash,
          minBlock,
          anchored,
          (u) => !io.independent(u.id, denier) || liars?.has(u.id) === true,
        );
        if (!second.ok)
          return {
            ok: false,
            error: new MultihomeError(
              "unavailable",
              `no verifiable answer: one failure domain says block ${hash} does not exist, and no independent one could confirm it`,
            ),
          };
        return { ok: true, value: second.value.body ?? { absentBy: [denier, second.value.upstream] } };
      },
      (r) => r.ok && !("absentBy" in r.value),
    );
  }

  function recovered(tx: Json): Promise<Hex | "unverifiable"> {
    return senders.get(
      String(tx.hash).toLowerCase(),
      () =>
        recoverSender(tx, stack).catch((error: unknown) => {
          if (error instanceof UnsupportedTypeError) return "unverifiable" as const;
          throw error;
        }),
      () => true,
    );
  }

  /**
   * The sender `tx` states, checked against its signature. A transaction that states another sender was false when
   * supplied: `supplier` is charged.
   */
  async function checkStatedSender(tx: Json, supplier: string): Promise<SenderCheck> {
    let sender: Hex | "unverifiable";
    try {
      sender = await recovered(tx);
    } catch {
      sender = "0x" as Hex; // a signature that recovers to no key: no stated sender can match it
    }
    if (sender === "unverifiable") return { ok: "unverifiable" };
    if (sameAddress(sender, tx.from)) return { ok: true };
    io.onDispute(supplier, "transaction states a sender its signature does not give");
    return { ok: false, error: new MultihomeError("unavailable", "no verifiable answer: transaction sender") };
  }

  /**
   * The sender the body states for its transaction at `index` (and, for an unsigned transaction, the other fields it
   * states outside its encoding); a body proven false is forgotten.
   */
  async function checkSender(verified: VerifiedBody, index: number): Promise<SenderCheck> {
    let check = await checkStatedSender((verified.block.transactions as Json[])[index]!, verified.supplier);
    if (check.ok === true) {
      const unsigned = await stackFields.transaction(verified.block, index);
      // Served, but an answer that shows this transaction is not labelled proven.
      if (unsigned.ok === "unverifiable") return { ok: "unverifiable" };
      if (unsigned.ok === false) {
        io.onDispute(verified.supplier, unsigned.reason);
        check = { ok: false, error: new MultihomeError("unavailable", "no verifiable answer: block body") };
      }
    }
    if (check.ok === false) {
      const hash = String(verified.block.hash).toLowerCase();
      forget(hash);
      falseSuppliers.set(hash, (falseSuppliers.get(hash) ?? new Set()).add(verified.supplier));
      if (falseSuppliers.size > MAX_VERIFIED_BLOCKS) falseSuppliers.delete(falseSuppliers.keys().next().value!);
      provenFalse++;
    }
    return check;
  }

  /** Every sender of a body checked (for answers that show them all: full blocks, a block's receipts). */
  async function checkSenders(verified: VerifiedBody): Promise<SenderCheck> {
    const checks = await Promise.all(verified.hashes.map((_, i) => checkSender(verified, i)));
    return checks.find((c) => c.ok === false) ?? checks.find((c) => c.ok === "unverifiable") ?? { ok: true };
  }

  /** One fetch of a block's receipts from an upstream not in `avoid`, checked against the receipts root. */
  function fetchReceipts(verified: VerifiedBody, avoid: ReadonlySet<string>) {
    const hash = verified.block.hash as Hex;
    const number = parseBlockNumber(verified.block.number)!;
    const header = { hash, number, receiptsRoot: verified.block.receiptsRoot as Hex };
    return io.execute({
      method: "eth_getBlockReceipts",
      params: [hash],
      heavy: true,
      minBlock: number,
      ...(avoid.size > 0 ? { avoid: (u: { id: string }) => avoid.has(u.id) } : {}),
      verify: (receipts): Verdict => {
        if (receipts === null)
          return {
            ok: false,
            reason: `no receipts for block ${number} from a node that should have them`,
            dispute: false,
          };
        const check = checkBlockReceipts(receipts, header, verified.bodyProven ? verified.hashes : undefined, stack);
        if (check.ok === false) return { ok: false, reason: `receipts: ${check.reason}` };
        if (check.ok !== true) return { ok: false, reason: `receipts: ${check.reason}`, dispute: false };
        return { ok: true, value: receipts };
      },
    });
  }

  /**
   * The first receipt whose uncovered fields disagree with the body, with which side is false: the body's supplier
   * (its stated sender is not the signature's), the receipt list's, or neither known (a transaction type whose
   * signature cannot be checked here: then nobody is blamed).
   */
  async function disagreement(
    receipts: Json[],
    verified: VerifiedBody,
  ): Promise<{ index: number; reason: string; falseSide: "body" | "receipts" | "unknown" } | undefined> {
    const txs = verified.block.transactions as Json[];
    const baseFee = parseBigInt(verified.block.baseFeePerGas);
    const uncommitted = STACK_ENCODINGS[stack].uncommitted;
    for (let i = 0; i < receipts.length; i++) {
      if (uncommitted?.(receipts[i]!)) continue; // nothing to check it against (a Polygon state sync)
      const reason = receiptFieldsMismatch(receipts[i]!, txs[i]!, baseFee, stack);
      if (reason === undefined) continue;
      const sender = await checkSender(verified, i);
      const falseSide = sender.ok === false ? "body" : sender.ok === "unverifiable" ? "unknown" : "receipts";
      return { index: i, reason, falseSide };
    }
    return undefined;
  }

  /** The receipts of a verified block: root-checked, and their uncovered fields checked before they are kept. */
  function receiptsOf(verified: VerifiedBody): Promise<Fetched<VerifiedReceipts>> {
    const number = parseBlockNumber(verified.block.number)!;
    return receiptLists.get(
      String(verified.block.hash).toLowerCase(),
      async () => {
        const avoid = new Set<string>();
        for (let round = 0; round <= RECEIPT_REFETCHES; round++) {
          const fetched = await fetchReceipts(verified, avoid);
          if (!fetched.ok) return { ok: false, error: notVerified(fetched, `receipts of block ${number}`) };
          const receipts = fetched.result as Json[];
          const wrong = await disagreement(receipts, verified);
          if (!wrong) {
            // What node software states differently from OP nodes is no lie, but not proven either.
            const txs = verified.block.transactions as Json[];
            const proven = !receipts.some((r, i) => depositCreationMismatch(r, txs[i]!, stack));
            return { ok: true, value: { receipts, supplier: fetched.upstream, proven } };
          }
          if (wrong.falseSide === "body")
            return { ok: false, error: new MultihomeError("unavailable", "no verifiable answer: block body") };
          if (wrong.falseSide === "unknown")
            return { ok: false, error: new MultihomeError("unavailable", `no verifiable answer: ${wrong.reason}`) };
          io.onDispute(fetched.upstream, `${wrong.reason} (receipt ${wrong.index} of block ${number})`);
          avoid.add(fetched.upstream);
        }
        return {
          ok: false,
          error: new MultihomeError("unavailable", `no verifiable answer: receipts of block ${number}`),
        };
      },
      (r) => r.ok,
    );
  }

  /** A block orphaned by a reorg, or whose body proved false: its body and receipts are fetched afresh. */
  function forget(hash: string) {
    bodies.delete(hash.toLowerCase());
    receiptLists.delete(hash.toLowerCase());
  }

  return {
    body,
    receiptsOf,
    checkStatedSender,
    checkSender,
    checkSenders,
    forget,
    /** How many bodies have proven false so far. */
    provenFalse: () => provenFalse,
  };
}

function parseBigInt(value: unknown): bigint | undefined {
  return typeof value === "string" && /^0x[0-9a-fA-F]{1,64}$/.test(value) ? BigInt(value) : undefined;
}
