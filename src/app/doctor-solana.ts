/**
 * `multihome doctor` for Solana clusters: each upstream's genesis hash (the cluster's, or what independent domains
 * agree on), its slot at every commitment and how far it lags the others, and whether it honours `minContextSlot`
 * (a node that ignores it may answer from behind the slot Multihome agreed on — the answer is then refused, so the
 * node adds nothing).
 */
import type { DraftUpstreamConfig } from "../config/load.ts";
import type { Finding } from "../core/domains/concentration.ts";
import { agreedValue } from "../core/domains/head.ts";
import { createRedactor } from "../core/security/redact.ts";
import { MIN_CONTEXT_SLOT_NOT_REACHED } from "../core/solana/methods.ts";
import { COMMITMENTS, type Commitment } from "../core/solana/slots.ts";
import { type Caller, createCaller, type ProbeContext, shorten } from "./doctor-probe.ts";

/** A Solana upstream more than this many slots behind the highest processed slot of its cluster is `lagging`. */
export const DOCTOR_LAG_WARNING_SLOTS = 150;

export interface SolanaProbe {
  cluster: string;
  id: string;
  reachable: boolean;
  error: string | null;
  genesisHash: string | null;
  /** Its genesis hash is the cluster's (null: unreachable, or nothing to compare with). */
  genesisMatches: boolean | null;
  slots: Partial<Record<Commitment, number>>;
  /** Slots behind the highest processed slot of the cluster's upstreams. */
  lagSlots: number | null;
  /** Answers -32016 when asked with a `minContextSlot` far ahead (null: could not tell). */
  minContextSlot: boolean | null;
}

export type SolanaFindingCode = "wrong_cluster" | "no_commitment" | "no_min_context_slot" | "lagging" | "unreachable";

export const SOLANA_DOCTOR_FINDINGS: Readonly<Record<SolanaFindingCode, Finding["severity"]>> = {
  wrong_cluster: "critical",
  no_commitment: "warning",
  no_min_context_slot: "warning",
  lagging: "warning",
  unreachable: "warning",
};

async function probe(cluster: string, upstream: DraftUpstreamConfig, context: ProbeContext): Promise<SolanaProbe> {
  const redact = createRedactor([upstream.url]);
  const result: SolanaProbe = {
    cluster,
    id: upstream.id,
    reachable: false,
    error: null,
    genesisHash: null,
    genesisMatches: null,
    slots: {},
    lagSlots: null,
    minContextSlot: null,
  };
  let caller: Caller;
  const transport = (() => {
    try {
      return context.createTransport(upstream);
    } catch (error) {
      result.error = shorten(redact(error instanceof Error ? error.message : String(error)));
      return undefined;
    }
  })();
  if (!transport) return result;
  try {
    caller = createCaller(transport, context, redact);
    const genesis = await caller.call("getGenesisHash", []);
    if (genesis.outcome.kind !== "result" || typeof genesis.outcome.result !== "string") {
      result.error = `getGenesisHash: ${genesis.error ?? "not a hash"}`;
      return result;
    }
    result.reachable = true;
    result.genesisHash = genesis.outcome.result;
    const slots = await Promise.all(COMMITMENTS.map((commitment) => caller.call("getSlot", [{ commitment }])));
    COMMITMENTS.forEach((c, i) => {
      const answer = slots[i]!.outcome;
      if (answer.kind === "result" && Number.isSafeInteger(answer.result)) result.slots[c] = answer.result as number;
    });
    const processed = result.slots.processed;
    if (processed !== undefined) {
      const ahead = await caller.call("getBalance", [
        "11111111111111111111111111111111",
        { commitment: "processed", minContextSlot: processed + 1_000_000 },
      ]);
      result.minContextSlot =
        "error" in ahead.outcome ? ahead.outcome.error?.code === MIN_CONTEXT_SLOT_NOT_REACHED : false;
    }
    return result;
  } finally {
    await transport.close();
  }
}

/** Probes every upstream of every Solana cluster; findings as the EVM checks give them. */
export async function doctorSolana(
  clusters: readonly { name: string; genesisHash?: string | undefined; upstreams: DraftUpstreamConfig[] }[],
  context: ProbeContext,
): Promise<{ probes: SolanaProbe[]; findings: (Finding & { cluster: string; upstream?: string })[] }> {
  const probes: SolanaProbe[] = [];
  const findings: (Finding & { cluster: string; upstream?: string })[] = [];
  const add = (code: SolanaFindingCode, message: string, cluster: string, upstream?: string) =>
    findings.push({
      severity: SOLANA_DOCTOR_FINDINGS[code],
      code,
      message,
      cluster,
      ...(upstream ? { upstream } : {}),
    });
  for (const cluster of clusters) {
    const mine = await Promise.all(cluster.upstreams.map((u) => probe(cluster.name, u, context)));
    const reports = new Map(mine.flatMap((p) => (p.genesisHash === null ? [] : [[p.id, p.genesisHash] as const])));
    const domains = cluster.upstreams.flatMap((u) => (u.domain ? [{ id: u.id, domain: u.domain }] : []));
    const genesis = cluster.genesisHash ?? agreedValue(reports, domains);
    const top = Math.max(...mine.map((p) => p.slots.processed ?? -1));
    for (const p of mine) {
      const at = `Solana ${cluster.name}: upstream ${p.id}`;
      if (!p.reachable) {
        add("unreachable", `${at} did not answer (${p.error ?? "no answer"}).`, cluster.name, p.id);
        continue;
      }
      p.genesisMatches = genesis === undefined ? null : p.genesisHash === genesis;
      if (p.genesisMatches === false)
        add(
          "wrong_cluster",
          `${at} is on another cluster (genesis ${p.genesisHash}): it is never used.`,
          cluster.name,
          p.id,
        );
      if (COMMITMENTS.some((c) => p.slots[c] === undefined))
        add("no_commitment", `${at} does not answer getSlot at every commitment.`, cluster.name, p.id);
      if (p.slots.processed !== undefined) p.lagSlots = top - p.slots.processed;
      if (p.lagSlots !== null && p.lagSlots > DOCTOR_LAG_WARNING_SLOTS)
        add("lagging", `${at} is ${p.lagSlots} slots behind the others.`, cluster.name, p.id);
      if (p.minContextSlot === false)
        add(
          "no_min_context_slot",
          `${at} ignores minContextSlot: its answers from behind are refused.`,
          cluster.name,
          p.id,
        );
    }
    probes.push(...mine);
  }
  return { probes, findings };
}
