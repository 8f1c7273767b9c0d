/**
 * Logs — `eth_getLogs`.
 * - Pinned: the filter's range to anchored numbers (tags → the agreed head); at most `logs.maxBlockRange` blocks.
 * - Split: a range wider than `logs.chunkBlocks` is asked as chunks, each a call of its own (cached, shared and
 *   checked as the policy says), merged in order with the weakest evidence of any chunk; one failed chunk fails the
 *   whole request (a partial list would be a wrong answer).
 * - Proven (verification/verified-logs.ts): each block's header linked by parent hashes to an anchored block; its logs
 *   bloom proves which blocks hold no match; the others' logs are taken from receipts proven against their roots.
 *   Over a bound (MAX_PROVEN_LOG_BLOCKS), or when a block cannot be proven: independent domains (`quorum`), never
 *   one upstream's list.
 * - Checked, where a provider's list is asked for: every log must match the filter and lie in the range (a log that
 *   does not is a dispute); under `quorum`, independent domains must return the same list.
 * - Evidence: `proof`; `quorum` for the fallback; a split range the weakest of its chunks'.
 */
import { MultihomeError } from "../../core/errors.ts";
import type { RpcCall } from "../../core/rpc/jsonrpc.ts";
import { parseBlockNumber, toHex } from "../../core/rpc/methods.ts";
import { logsBreakFilter } from "../../core/verification/log-filter.ts";
import { type CallAnswer, type CallOptions, type Evidence, weakestEvidence } from "../answers/answer.ts";
import type { ChainSettings } from "../settings.ts";
import type { VerifiedLogs } from "../verification/verified-logs.ts";
import type { AnswerCheck, Answering, MethodFamily, PinnedRequest } from "./family.ts";

/** Logs that break their own filter (outside the range, another address or topic) are false: a dispute. */
function logsCheck(filter: Record<string, unknown>): AnswerCheck {
  return {
    verify(logs) {
      const broken = logsBreakFilter(logs, filter);
      return broken === undefined ? { ok: true, value: logs } : { ok: false, reason: `logs: ${broken}` };
    },
  };
}

export function logsFamily(
  answering: Answering,
  verified: VerifiedLogs,
  settings: ChainSettings["logs"],
  /** A chunk of a split range, answered as a call of its own (cached and shared like any other). */
  call: (rpc: RpcCall, options: CallOptions) => Promise<CallAnswer>,
): MethodFamily {
  /** Each chunk as a call, at most `chunkConcurrency` at once; stops at the first that fails. */
  async function askChunks(request: PinnedRequest, chunks: [number, number][]): Promise<CallAnswer[]> {
    const filter = (request.pinned.params as Record<string, unknown>[])[0]!;
    const answers: CallAnswer[] = [];
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < chunks.length) {
        const i = next++;
        const [a, b] = chunks[i]!;
        const chunk = { ...request.rpc, params: [{ ...filter, fromBlock: toHex(a), toBlock: toHex(b) }] };
        const answer = await call(chunk, request.options);
        answers[i] = answer;
        if (!answer.ok || !Array.isArray(answer.result)) failed = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(settings.chunkConcurrency, chunks.length) }, worker));
    return answers;
  }

  async function split(request: PinnedRequest): Promise<CallAnswer | undefined> {
    const filter = (request.pinned.params as Record<string, unknown>[])[0]!;
    const from = parseBlockNumber(filter.fromBlock);
    const to = parseBlockNumber(filter.toBlock);
    if (from === undefined || to === undefined) return undefined;
    const { maxBlockRange, chunkBlocks } = settings;
    const span = to - from + 1;
    const none: Evidence = { blockNumber: to, verified: "none" };
    if (span > maxBlockRange)
      return {
        ok: false,
        error: new MultihomeError(
          "invalid_params",
          `invalid params: block range of ${span} blocks is wider than the limit of ${maxBlockRange}`,
          { data: { limit: maxBlockRange } },
        ),
        evidence: none,
      };
    if (span <= chunkBlocks) return undefined;
    const chunks: [number, number][] = [];
    for (let a = from; a <= to; a += chunkBlocks) chunks.push([a, Math.min(to, a + chunkBlocks - 1)]);
    const answers = await askChunks(request, chunks);
    const failure = answers.find((a) => a !== undefined && (!a.ok || !Array.isArray(a.result)));
    if (failure) {
      if (!failure.ok) return failure;
      return {
        ok: false,
        error: new MultihomeError("unavailable", "a chunk of the log range gave no list"),
        evidence: none,
      };
    }
    return {
      ok: true,
      result: answers.flatMap((a) => (a as { result: unknown[] }).result),
      evidence: { blockNumber: to, verified: weakestEvidence(answers.map((a) => a.evidence.verified)) },
    };
  }

  const filterOf = ({ pinned }: PinnedRequest) => (pinned.params as Record<string, unknown>[])[0]!;

  return {
    methods: ["eth_getLogs"],
    split,
    async prove(request) {
      const proven = await verified.logs(filterOf(request), request.head.number);
      if (proven.ok) return { ok: true, result: proven.logs, evidence: proven.evidence };
      const plan = { ...answering.planOf(request), verify: logsCheck(filterOf(request)).verify };
      const blockNumber = request.pinned.blockNumber ?? request.head.number;
      return answering.agreed(request.rpc, plan, blockNumber, request.options.signal);
    },
    check: (request) => logsCheck(filterOf(request)),
  };
}
