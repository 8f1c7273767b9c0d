/**
 * Block parameters that are not numbers — the `finalized` and `safe` tags, and EIP-1898 `{ blockHash }` objects — are
 * pinned to a number through the anchored chain before a call is answered, so the answer goes through the same proven
 * path as any read at a number. None of them is one upstream's word:
 *
 * - A tag is asked of upstreams in independent failure domains; each answer's header hash is recomputed, and the tag
 *   resolves to the highest height `quorumSize` of them vouch for (a domain that says `finalized` is at height h
 *   vouches for every height up to h). One domain claiming the head is finalized moves nothing. The height is then
 *   anchored like any other.
 * - A block hash resolves to its header's number only when that hash is the one anchored at that height; a hash off
 *   the anchored chain (orphaned, or made up) is refused.
 */
import type { ForkSchedule } from "../../core/chain-presets.ts";
import { MultihomeError } from "../../core/errors.ts";
import { HASH_HEX } from "../../core/hex.ts";
import { type MethodSpec, parseBlockNumber, toHex } from "../../core/rpc/methods.ts";
import { checkHeader } from "../../core/verification/header.ts";
import type { CallPlan, ExecuteResult, Verdict } from "../routing/execute.ts";
import { createWitnessing, noAgreement } from "../routing/quorum.ts";
import type { AnchoredBlock } from "./state-reads.ts";

/** Extra independent domains asked for a tag beyond `quorumSize`, so one that fails or lies does not block it. */
export const TAG_EXTRA_WITNESSES = 1;

export interface BlockTagIo {
  execute(plan: CallPlan): Promise<ExecuteResult>;
  anchor(number: number): Promise<AnchoredBlock | undefined>;
  /** Independent upstreams that must vouch for a tag's height. */
  quorumSize: number;
  /** The chain's fork schedule, when known: which fork fields each header must carry. */
  forks?: ForkSchedule;
}

type Pinned = { ok: true; params: unknown } | { ok: false; error: MultihomeError };
type TagHeight = { ok: true; height: number } | { ok: false; error: MultihomeError };

const TAGS = new Set(["finalized", "safe"]);

/**
 * A header answer checked against its own hash (and the chain's fork schedule); its number. A header with a field
 * Multihome does not know cannot be hashed but is no lie: its number is taken, and the block there is anchored by
 * agreement like any other.
 */
function headerVerdict(block: unknown, forks: ForkSchedule | undefined): Verdict {
  if (block === null) return { ok: false, reason: "no such block", dispute: false };
  const check = checkHeader(block, forks);
  if (check.ok === false) return { ok: false, reason: `header: ${check.reason}` };
  const number = parseBlockNumber((block as { number?: unknown }).number);
  if (number === undefined) return { ok: false, reason: "header has no number" };
  return { ok: true, value: { number, hash: check.hash } };
}

/** Whether a call's block parameter is one `pin` resolves (a tag or a `{ blockHash }`): checked without awaiting. */
export function pinsBlock(method: string, spec: MethodSpec, params: unknown): boolean {
  const index = spec.blockParam;
  // Blocks and receipts asked for by hash are proven against that hash already (block-reads.ts).
  if (index === undefined || spec.logFilter || method === "eth_getBlockReceipts" || !Array.isArray(params))
    return false;
  const value = params[index];
  return (
    (typeof value === "string" && TAGS.has(value)) ||
    (typeof value === "object" && value !== null && "blockHash" in value)
  );
}

export function createBlockTags(io: BlockTagIo) {
  /** Resolved tags, for the agreed head they were resolved at. */
  const resolved = new Map<string, { head: number; height: Promise<TagHeight> }>();

  /** The highest height `quorumSize` independent domains say the tag has reached (capped at the agreed head). */
  async function tagHeight(tag: string, head: number): Promise<TagHeight> {
    const { ask, witnessed, missing } = createWitnessing(io.execute, {
      method: "eth_getBlockByNumber",
      params: [tag, false],
      heavy: false,
      minBlock: undefined,
      verify: (block) => headerVerdict(block, io.forks),
    });
    await Promise.all(Array.from({ length: io.quorumSize + TAG_EXTRA_WITNESSES }, ask));
    const heights = witnessed.flatMap((w) => (w.result.ok ? [(w.result.result as { number: number }).number] : []));
    heights.sort((a, b) => b - a);
    const vouched = heights[io.quorumSize - 1];
    if (vouched === undefined) return { ok: false, error: noAgreement(io.quorumSize, heights.length, false, missing) };
    return { ok: true, height: Math.min(vouched, head) };
  }

  function heightOf(tag: string, head: number): Promise<TagHeight> {
    const known = resolved.get(tag);
    if (known && known.head === head) return known.height;
    const height = tagHeight(tag, head);
    resolved.set(tag, { head, height });
    void height.then((h) => !h.ok && resolved.get(tag)?.height === height && resolved.delete(tag));
    return height;
  }

  /** The number of the anchored block with this hash; refused when the hash is not on the anchored chain. */
  async function numberOfHash(
    hash: string,
    head: number,
  ): Promise<{ ok: true; number: number } | Exclude<Pinned, { ok: true }>> {
    const header = await io.execute({
      method: "eth_getBlockByHash",
      params: [hash, false],
      heavy: false,
      minBlock: head,
      verify: (block) => {
        const verdict = headerVerdict(block, io.forks);
        if (verdict.ok && (verdict.value as { hash: string }).hash !== hash.toLowerCase())
          return { ok: false, reason: "header is not the block asked for" };
        return verdict;
      },
    });
    if (!header.ok)
      return {
        ok: false,
        error: new MultihomeError("unavailable", `no verifiable answer: the header of block ${hash}`),
      };
    const { number } = header.result as { number: number };
    const anchored = number <= head ? await io.anchor(number) : undefined;
    if (!anchored)
      return {
        ok: false,
        error: new MultihomeError(
          "unavailable",
          `block ${hash} (height ${number}) is not anchored by independent upstreams`,
        ),
      };
    if (anchored.hash !== hash.toLowerCase())
      return {
        ok: false,
        error: new MultihomeError(
          "invalid_params",
          `invalid params: block ${hash} is not on the canonical chain (height ${number} is ${anchored.hash})`,
        ),
      };
    return { ok: true, number };
  }

  /**
   * The call's params with a `finalized`/`safe` tag or a `{ blockHash }` block parameter replaced by the anchored
   * number it stands for; unchanged for every other block parameter.
   */
  async function pin(method: string, spec: MethodSpec, params: unknown, head: number): Promise<Pinned> {
    if (!pinsBlock(method, spec, params)) return { ok: true, params };
    const index = spec.blockParam!;
    const value = (params as unknown[])[index];
    let number: number | undefined;
    if (typeof value === "string" && TAGS.has(value)) {
      const height = await heightOf(value, head);
      if (!height.ok) return height;
      number = height.height;
    } else if (value && typeof value === "object" && typeof (value as { blockHash?: unknown }).blockHash === "string") {
      const hash = (value as { blockHash: string }).blockHash;
      if (!HASH_HEX.test(hash))
        return {
          ok: false,
          error: new MultihomeError("invalid_params", "invalid params: blockHash is not a 32-byte hash"),
        };
      const found = await numberOfHash(hash, head);
      if (!found.ok) return found;
      number = found.number;
    } else return { ok: true, params };
    const copy = (params as unknown[]).slice();
    copy[index] = toHex(number);
    return { ok: true, params: copy };
  }

  return { pin };
}

export type BlockTags = ReturnType<typeof createBlockTags>;
