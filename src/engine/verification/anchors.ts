/**
 * Anchored blocks: a block number's hash as independent upstreams agree on it, with the state root of a header whose
 * hash was recomputed from its fields. Proofs are only ever checked against these roots. A header that carries a field
 * Multihome does not know cannot be hashed: its block is anchored only when independent upstreams agree on its hash,
 * its roots and every other header field, and is marked so (`headerDigest`).
 */
import type { ForkSchedule } from "../../core/chain-presets.ts";
import { type AnchorRule, areIndependent, meetsAnchorRule } from "../../core/domains/domain.ts";
import { type AgreedHead, HEAD_HISTORY_BLOCKS, type HeadBook } from "../../core/domains/head.ts";
import { blockEnvOf } from "../../core/execution/block-env.ts";
import { toHex } from "../../core/rpc/methods.ts";
import { checkHeader, headerDigest } from "../../core/verification/header.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { EngineContext } from "../context.ts";
import { type ExecuteTarget, execute, type Verdict } from "../routing/execute.ts";
import type { VerifiedHeader } from "../routing/head-tracker.ts";
import { executeQuorum } from "../routing/quorum.ts";
import type { AnchoredBlock } from "./state-reads.ts";

/** Anchored blocks kept (their state roots), oldest out first. */
export const MAX_ANCHORED_BLOCKS = 1_024;

type Roots = Pick<
  AnchoredBlock,
  "stateRoot" | "transactionsRoot" | "receiptsRoot" | "logsBloom" | "parentHash" | "timestamp" | "env"
>;

/**
 * The roots, logs bloom, parent hash, timestamp and execution environment of a header whose hash was verified (so its
 * roots are well-formed 32-byte hex and its timestamp a hex quantity).
 */
function rootsOf(header: unknown): Roots {
  const { stateRoot, transactionsRoot, receiptsRoot, timestamp } = header as VerifiedHeader;
  const { logsBloom, parentHash } = header as Pick<AnchoredBlock, "logsBloom" | "parentHash">;
  const env = blockEnvOf(header);
  return {
    stateRoot,
    transactionsRoot,
    receiptsRoot,
    logsBloom,
    parentHash,
    timestamp: Number(BigInt(timestamp)),
    env,
  };
}

export interface Anchors {
  anchor(number: number): Promise<AnchoredBlock | undefined>;
  /** Proofs against this anchor all failed and none verified: forget it, so the next read anchors afresh. */
  distrust(anchored: AnchoredBlock): void;
  /** A head poll's header, its hash already checked. */
  rememberHeader(header: VerifiedHeader): void;
  /**
   * After a reorg: forget anchored blocks some usable upstream now contradicts — and, after a reorg deeper than the
   * walk (`deepBelow`), every one below that height within the head history; returns their hashes.
   */
  /**
   * Drops anchored blocks that are doubted, below a reorg deeper than the walk (`deepBelow`), or — after the agreed
   * head was replaced by `branch`, one not standing on it — not known to be on `branch`. Returns their hashes.
   */
  reconcile(deepBelow?: number, branch?: AgreedHead): `0x${string}`[];
  /** The block is not known to be on `branch` (the new agreed head's): see HeadBook.offBranch. */
  offBranch(branch: AgreedHead, number: number, hash: string): boolean;
  /** The hash independent upstreams agree on at `number` (by the anchor rule), without fetching anything. */
  hashAt(number: number): string | undefined;
  /**
   * The timestamp (seconds) of the agreed block at `number`, from its verified header: the agreed head's from the
   * head polls, another block's from its anchor.
   */
  timestampAt(number: number): Promise<number | undefined>;
  /** Some usable upstream now says another block is at `number`. */
  doubted(number: number, hash: string): boolean;
  /** The check for a block asked for by number (see below). */
  checkBlock(number: number, headNumber: number): { evidence(): "quorum" | "single"; verify(block: unknown): Verdict };
}

/** A height a reorg deeper than the walk (down to `deepBelow`) may have changed: below it, within the head history. */
export function inDeepReorg(number: number, deepBelow: number): boolean {
  return number < deepBelow && number >= deepBelow - HEAD_HISTORY_BLOCKS;
}

export function createAnchors(
  ctx: EngineContext,
  options: {
    target: ExecuteTarget;
    headBook: HeadBook;
    upstreams: Upstream[];
    /** Independent upstreams that must agree on a block the head polls never saw. */
    quorumSize: number;
    /** What it takes to anchor a block. */
    rule: AnchorRule;
    /** The chain's fork schedule, when known: which fork fields each header must carry. */
    forks?: ForkSchedule;
  },
): Anchors {
  const { clock } = ctx;
  const { target, headBook, upstreams, quorumSize, rule, forks } = options;
  /** Anchored blocks by number: the hash independent upstreams agree on, and the roots of its verified header. */
  const anchors = new Map<number, AnchoredBlock>();
  /** Roots of headers the head polls verified (hash recomputed from the fields), by block hash. */
  const verifiedRoots = new Map<string, Roots>();
  const usableForAnchor = (id: string) => {
    const u = upstreams.find((x) => x.id === id);
    return u !== undefined && u.admission === "admitted" && u.cordonedUntil <= clock.now();
  };

  const domainOf = (id: string) => upstreams.find((u) => u.id === id)!.domain;
  /** The block independent upstreams agree on at `number`, when their agreement meets the anchor rule. */
  const agreedBlock = (number: number, headNumber: number | undefined) => {
    const agreed =
      headBook.agreedAt(number, usableForAnchor) ?? (headNumber === number ? headBook.current() : undefined);
    return agreed && meetsAnchorRule(agreed.witnesses.map(domainOf), rule) ? agreed : undefined;
  };

  async function anchor(number: number): Promise<AnchoredBlock | undefined> {
    const cached = anchors.get(number);
    const agreed = agreedBlock(number, headBook.current()?.number);
    if (!agreed) return cached ?? (await anchorByQuorum(number));
    if (cached?.hash === agreed.hash) return cached;
    const domains = [...new Set(agreed.witnesses.map((id) => upstreams.find((u) => u.id === id)!.outageDomain))];
    const hash = agreed.hash as `0x${string}`;
    const polled = verifiedRoots.get(hash);
    if (polled) return remember({ number, hash, ...polled, domains });
    const header = await execute(ctx, target, {
      method: "eth_getBlockByHash",
      params: [agreed.hash, false],
      heavy: false,
      minBlock: number,
      verify: (block): Verdict => {
        const check = checkHeader(block, forks);
        if (check.ok === false) return { ok: false, reason: `header: ${check.reason}` };
        if (check.hash !== agreed.hash) return { ok: false, reason: "header is not the anchored block" };
        return { ok: true, value: check.ok === true ? rootsOf(block) : undefined };
      },
    });
    if (!header.ok) return undefined;
    if (header.result !== undefined) return remember({ number, hash, ...(header.result as Roots), domains });
    // Its hash cannot be recomputed: independent upstreams must agree on the whole header instead.
    return anchorByQuorum(number, hash);
  }

  /**
   * A block older than the head polls' memory (or one they skipped): ask independent upstreams for its header, check
   * each header's hash against its fields, and anchor it only when `quorumSize` of them agree on hash and roots. A
   * header that cannot be hashed (a field Multihome does not know) must be agreed field by field. With `expected`,
   * the block independent upstreams agree on must have that hash.
   */
  async function anchorByQuorum(number: number, expected?: string): Promise<AnchoredBlock | undefined> {
    const head = headBook.current();
    if (!head || number > head.number) return undefined;
    const quorum = await executeQuorum(
      (plan) => execute(ctx, target, plan),
      {
        method: "eth_getBlockByNumber",
        params: [toHex(number), false],
        heavy: false,
        minBlock: number,
        verify: (block): Verdict => {
          const check = checkHeader(block, forks);
          if (check.ok === false) return { ok: false, reason: `header: ${check.reason}` };
          if (Number((block as { number?: string }).number) !== number) {
            return { ok: false, reason: "header has another number" };
          }
          const agreeOn = { hash: check.hash, ...rootsOf(block) };
          return { ok: true, value: check.ok === true ? agreeOn : { ...agreeOn, headerDigest: headerDigest(block) } };
        },
      },
      Math.max(quorumSize, rule.minUpstreams, rule.minDomains),
      (u, reason) => target.onDispute?.(u, reason),
      // One domain may anchor only when the operator said so; otherwise witnesses must be independent.
      rule.minDomains < 2 ? (a, b) => a !== b : (a, b) => areIndependent(a.domain, b.domain),
    );
    if (!quorum.ok || !quorum.result.ok) return undefined;
    const { hash, ...roots } = quorum.result.result as Roots & { hash: `0x${string}`; headerDigest?: `0x${string}` };
    if (expected !== undefined && hash !== expected) return undefined;
    // What each witness said is part of its head history: when it later takes the block back or names another, the
    // anchor (and every answer about the block) is doubted like one its head polls reported.
    for (const u of quorum.witnesses) headBook.recordAncestor(u.id, number, hash);
    return remember({ number, hash, ...roots, domains: [...new Set(quorum.witnesses.map((u) => u.outageDomain))] });
  }

  function remember(anchored: AnchoredBlock): AnchoredBlock {
    anchors.set(anchored.number, anchored);
    if (anchors.size > MAX_ANCHORED_BLOCKS) anchors.delete(anchors.keys().next().value!);
    return anchored;
  }

  /**
   * A block asked for by number: its header must hash to its claimed hash, and — when independent upstreams agree on
   * the block at that height — to that agreed hash. `null` for a block at or below the agreed head comes from a node
   * that is behind: not an answer, so the call moves on (without counting it as a lie). A header that cannot be hashed
   * (a field Multihome does not know) is served as one upstream's word.
   */
  function checkBlock(number: number, headNumber: number) {
    const agreed = agreedBlock(number, headNumber);
    let unverifiable = false;
    return {
      evidence: () => (agreed !== undefined && !unverifiable ? "quorum" : "single"),
      verify: (block: unknown): Verdict => {
        if (block === null) {
          return number <= headNumber
            ? { ok: false, reason: `no block ${number} from a node that should have it`, dispute: false }
            : { ok: true, value: null };
        }
        const check = checkHeader(block, forks);
        if (check.ok === false) return { ok: false, reason: `block header: ${check.reason}` };
        if (Number((block as { number?: string }).number) !== number)
          return { ok: false, reason: "block has another number" };
        if (agreed && check.hash !== agreed.hash)
          return { ok: false, reason: "block is not the one independent upstreams agree on" };
        unverifiable = check.ok === "unverifiable";
        return { ok: true, value: block };
      },
    };
  }

  return {
    anchor,
    distrust(anchored) {
      if (anchors.get(anchored.number)?.hash === anchored.hash) anchors.delete(anchored.number);
      ctx.logger.warn({ block: anchored.number }, "every proof disagreed with the anchored block: re-anchoring");
    },
    hashAt: (number) => agreedBlock(number, headBook.current()?.number)?.hash,
    async timestampAt(number) {
      const head = headBook.current();
      const polled = head?.number === number ? verifiedRoots.get(head.hash)?.timestamp : undefined;
      return polled ?? (await anchor(number))?.timestamp;
    },
    doubted: (number, hash) => headBook.doubted(number, hash, usableForAnchor),
    offBranch: (branch, number, hash) => headBook.offBranch(branch, number, hash),
    reconcile(deepBelow, branch) {
      const dropped: `0x${string}`[] = [];
      for (const [number, anchored] of anchors) {
        const deep = deepBelow !== undefined && inDeepReorg(number, deepBelow);
        const off =
          branch !== undefined &&
          number > branch.number - HEAD_HISTORY_BLOCKS &&
          headBook.offBranch(branch, number, anchored.hash);
        if (!deep && !off && !headBook.doubted(number, anchored.hash, usableForAnchor)) continue;
        anchors.delete(number);
        dropped.push(anchored.hash);
      }
      if (dropped.length > 0)
        ctx.logger.info({ blocks: dropped.length }, "reorg: anchored blocks re-anchored on next use");
      return dropped;
    },
    rememberHeader(header) {
      verifiedRoots.set(header.hash, rootsOf(header));
      if (verifiedRoots.size > MAX_ANCHORED_BLOCKS) verifiedRoots.delete(verifiedRoots.keys().next().value!);
    },
    checkBlock,
  };
}
