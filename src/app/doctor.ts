/**
 * `multihome doctor`: probes every configured upstream at once (reachable, right chain, head and lag, `eth_getProof`,
 * archive depth, WebSocket), infers the failure domain of upstreams that declare none, and assesses where the
 * config's dependence is concentrated — before an outage shows it.
 *
 * Upstream URLs carry API keys: nothing here returns or reports one (upstreams are named by id; every message that
 * comes from an upstream or a transport is redacted).
 */

import { DOCTOR_CHECK_TIMEOUT_MS_DEFAULT } from "../config/defaults.ts";
import type { DraftConfig, DraftUpstreamConfig } from "../config/load.ts";
import { assessConcentration, type ConcentrationReport, type Finding } from "../core/domains/concentration.ts";
import { readQuantity } from "../core/hex.ts";
import type { Transport } from "../core/ports.ts";
import type { Outcome } from "../core/routing/classify.ts";
import { parseBlockNumber, toHex } from "../core/rpc/methods.ts";
import { createRedactor } from "../core/security/redact.ts";
import type { ResolveHostname } from "../upstream/safe-lookup.ts";
import { createTransportFor } from "../upstream/transport-for.ts";
import { type DomainFinding, domainOf } from "./doctor-domain.ts";
import { type Caller, createCaller, type ProbeContext, rpcErrorOf, shorten } from "./doctor-probe.ts";
import { doctorSolana, type SolanaProbe } from "./doctor-solana.ts";

export { DOCTOR_MAX_ERROR_CHARS } from "./doctor-probe.ts";

import { type AsnDatabase, createAsnDatabase } from "./hosting.ts";

/** An upstream more than this many blocks behind the highest head seen on its chain is reported as lagging. */
export const DOCTOR_LAG_WARNING_BLOCKS = 8;
/** How far back the archive check asks for state, deepest first after block 1, in blocks behind the head. */
export const DOCTOR_ARCHIVE_DEPTHS: readonly number[] = [100_000, 128];

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/**
 * How far back an upstream serves state: `archive` (block 1), `≥ N blocks` behind the head, `recent only`, or
 * `unknown` (it never answered the question).
 */
export type ArchiveDepth = "archive" | `≥ ${number} blocks` | "recent only" | "unknown";

export interface UpstreamProbe extends DomainFinding {
  /** The chain the config puts it on. */
  chainId: number;
  id: string;
  transport: "http" | "ws";
  /** Answered `eth_chainId`. */
  reachable: boolean;
  /** Why it is not reachable or a check failed; redacted, never the URL. */
  error: string | null;
  /** What it said `eth_chainId` is. */
  reportedChainId: number | null;
  /** `reportedChainId` equals `chainId` (null: unreachable). */
  chainIdMatches: boolean | null;
  /** `eth_blockNumber`. */
  head: number | null;
  /** Blocks behind the highest head seen on the same chain. */
  lagBlocks: number | null;
  /** Serves `eth_getProof` (null: could not tell). */
  proof: boolean | null;
  archive: ArchiveDepth;
  /** `eth_subscribe newHeads` works over WebSocket (its own URL, or the HTTP URL with the ws scheme). */
  websocket: boolean | null;
  /** Time the probe took, in milliseconds. */
  elapsedMs: number;
  /** The vendor of a provider shortcut (`provider:` in the config); null for a plain upstream. */
  provider: string | null;
}

/** What probing the upstream itself finds. */
type ProbeChecks = Omit<UpstreamProbe, "domain" | "domainSource" | "domainNote" | "elapsedMs" | "provider">;

/** A finding about one chain or one upstream. Codes are stable; docs/doctor.md lists them. */
export interface DoctorFinding extends Finding {
  chainId?: number;
  /** A Solana cluster's name. */
  cluster?: string;
  upstream?: string;
}

export type DoctorFindingCode =
  | "no_usable_upstream"
  | "wrong_chain"
  | "unreachable"
  | "lagging"
  | "no_proof"
  | "domain_unknown";

/** Every code `runDoctor` can report beyond the concentration ones, with its severity. */
export const DOCTOR_FINDINGS: Readonly<Record<DoctorFindingCode, Finding["severity"]>> = {
  no_usable_upstream: "critical",
  wrong_chain: "critical",
  unreachable: "warning",
  lagging: "warning",
  no_proof: "warning",
  domain_unknown: "warning",
};

export interface DoctorReport {
  upstreams: UpstreamProbe[];
  /**
   * Per chain (anchoring and failover happen within one chain), by upstream count. Left out: upstreams whose domain
   * is unknown, and upstreams serving another chain. Unreachable ones count (an outage today does not change where the
   * config depends).
   */
  chains: { chainId: number; concentration: ConcentrationReport }[];
  /** The upstreams of Solana clusters (doctor-solana.ts). */
  solana: SolanaProbe[];
  /** Critical first. */
  findings: DoctorFinding[];
  /** Some finding is critical. */
  critical: boolean;
}

export interface DoctorOptions {
  /** Deadline of each check, in milliseconds. @default 5_000 */
  timeoutMs?: number;
  /** Stops every probe. */
  signal?: AbortSignal;
  /** Host name resolver, for the transports' address checks and for domain inference. @default dns.lookup */
  resolve?: ResolveHostname;
  /** The IP-to-ASN table for domain inference. @default the npm table, read only if some upstream has no domain */
  asnDatabase?: AsnDatabase;
  /** Told about each upstream as soon as its probe is done (its `lagBlocks` is not known yet). */
  onProbe?: (probe: UpstreamProbe) => void;
}

/** A balance: any hex quantity of up to 256 bits (the zero address holds more than 2^53 wei on mainnet). */
function isQuantity(value: unknown): boolean {
  try {
    readQuantity(value, "balance");
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether an answer says the state is not served at that block: the node answered (a result that is no balance,
 * the chain's error, missing state, an error of unknown shape). Busy, unreachable, not supported or garbled says
 * nothing about depth.
 */
function saysNotServed(outcome: Outcome): boolean {
  switch (outcome.kind) {
    case "result":
    case "execution":
    case "unknown":
      return true;
    case "server":
      return outcome.error !== undefined;
    default:
      return false;
  }
}

async function archiveDepth(caller: Caller, head: number): Promise<ArchiveDepth> {
  if (head < 1) return "unknown";
  const candidates = [
    { block: 1, depth: "archive" as const },
    ...DOCTOR_ARCHIVE_DEPTHS.filter((d) => head - d > 1).map((d) => ({
      block: head - d,
      depth: `≥ ${d} blocks` as const,
    })),
  ];
  let answered = false;
  for (const { block, depth } of candidates) {
    const { outcome } = await caller.call("eth_getBalance", [ZERO_ADDRESS, toHex(block)]);
    if (outcome.kind === "result" && isQuantity(outcome.result)) return depth;
    if (saysNotServed(outcome)) answered = true;
  }
  return answered ? "recent only" : "unknown";
}

/**
 * `true`: a proof came back; `false`: the node answered without one (not supported, or refused as the chain's or an
 * unknown error); `null`: no telling (rate limited, unreachable, a server error, missing state at the head).
 */
async function proofSupport(caller: Caller, head: number): Promise<boolean | null> {
  const { outcome } = await caller.call("eth_getProof", [ZERO_ADDRESS, [], toHex(head)]);
  switch (outcome.kind) {
    case "result":
      return Array.isArray((outcome.result as { accountProof?: unknown } | null)?.accountProof);
    case "unsupported":
    case "execution":
    case "unknown":
      return false;
    default:
      return null;
  }
}

function wsUrlOf(url: string): string {
  const parsed = new URL(url);
  parsed.protocol = parsed.protocol === "https:" ? "wss:" : "ws:";
  return parsed.href;
}

/** `eth_subscribe newHeads` over WebSocket: the upstream's own socket, or a new one at its ws:// twin. */
async function websocketSupport(
  caller: Caller,
  upstream: DraftUpstreamConfig,
  context: ProbeContext,
  redact: (text: string) => string,
): Promise<boolean> {
  const isWs = upstream.url.startsWith("ws");
  let transport: Transport | undefined;
  try {
    transport = isWs ? undefined : context.createTransport({ ...upstream, url: wsUrlOf(upstream.url) });
    const ws = transport === undefined ? caller : createCaller(transport, context, redact);
    const { outcome } = await ws.call("eth_subscribe", ["newHeads"]);
    if (outcome.kind !== "result" || typeof outcome.result !== "string") return false;
    await ws.call("eth_unsubscribe", [outcome.result]);
    return true;
  } catch {
    return false;
  } finally {
    await transport?.close();
  }
}

async function probeUpstream(
  chainId: number,
  upstream: DraftUpstreamConfig,
  context: ProbeContext,
): Promise<ProbeChecks> {
  const secrets = [upstream.url];
  if (!upstream.url.startsWith("ws")) secrets.push(wsUrlOf(upstream.url));
  const redact = createRedactor(secrets);
  const probe: ProbeChecks = {
    chainId,
    id: upstream.id,
    transport: upstream.url.startsWith("ws") ? "ws" : "http",
    reachable: false,
    error: null,
    reportedChainId: null,
    chainIdMatches: null,
    head: null,
    lagBlocks: null,
    proof: null,
    archive: "unknown",
    websocket: null,
  };
  let transport: Transport;
  try {
    transport = context.createTransport(upstream);
  } catch (error) {
    probe.error = shorten(redact(error instanceof Error ? error.message : String(error)));
    return probe;
  }
  try {
    const caller = createCaller(transport, context, redact);
    const chain = await caller.call("eth_chainId", []);
    if (chain.outcome.kind !== "result") {
      probe.error = rpcErrorOf(chain.outcome) ? `eth_chainId: ${chain.error}` : (chain.error ?? null);
      return probe;
    }
    probe.reachable = true;
    probe.reportedChainId = parseBlockNumber(chain.outcome.result) ?? null;
    probe.chainIdMatches = probe.reportedChainId === chainId;
    const block = await caller.call("eth_blockNumber", []);
    if (block.outcome.kind === "result") probe.head = parseBlockNumber(block.outcome.result) ?? null;
    else probe.error = `eth_blockNumber: ${block.error}`;
    if (!probe.chainIdMatches) return probe;
    const head = probe.head;
    const [proof, archive, websocket] = await Promise.all([
      head === null ? null : proofSupport(caller, head),
      head === null ? ("unknown" as const) : archiveDepth(caller, head),
      websocketSupport(caller, upstream, context, redact),
    ]);
    Object.assign(probe, { proof, archive, websocket });
    return probe;
  } finally {
    await transport.close();
  }
}

type AddFinding = (
  code: keyof typeof DOCTOR_FINDINGS,
  message: string,
  about: Pick<DoctorFinding, "chainId" | "upstream">,
) => void;

function probeFindings(probes: readonly UpstreamProbe[], chainCount: number, add: AddFinding): void {
  const where = (p: UpstreamProbe) => (chainCount > 1 ? `Upstream ${p.id} (chain ${p.chainId})` : `Upstream ${p.id}`);
  for (const p of probes) {
    const about = { chainId: p.chainId, upstream: p.id };
    if (!p.reachable) {
      add(
        "unreachable",
        `${where(p)} did not answer (${p.error ?? "no answer"}): it adds nothing until it does.`,
        about,
      );
    } else if (p.chainIdMatches === false) {
      add(
        "wrong_chain",
        `${where(p)} serves chain ${p.reportedChainId ?? "?"}, not ${p.chainId}: the gateway will never use it.`,
        about,
      );
    } else {
      if (p.lagBlocks !== null && p.lagBlocks > DOCTOR_LAG_WARNING_BLOCKS) {
        add("lagging", `${where(p)} is ${p.lagBlocks} blocks behind the others.`, about);
      }
      if (p.proof === false) {
        add(
          "no_proof",
          `${where(p)} does not serve eth_getProof: state it returns cannot be checked against a proof.`,
          about,
        );
      }
    }
    if (p.domainSource === "unknown") {
      add(
        "domain_unknown",
        `${where(p)} has no declared domain and none could be inferred (${p.domainNote}): it is left out of the concentration assessment.`,
        about,
      );
    }
  }
}

/** Probes every upstream of `config` concurrently and assesses the whole. Never throws for an upstream's failure. */
export async function runDoctor(config: DraftConfig, options: DoctorOptions = {}): Promise<DoctorReport> {
  const { timeoutMs = DOCTOR_CHECK_TIMEOUT_MS_DEFAULT, signal, resolve, onProbe } = options;
  const context: ProbeContext = {
    timeoutMs,
    maxResponseBytes: config.upstream.maxResponseBytes,
    createTransport: createTransportFor({
      connectTimeoutMs: Math.min(config.upstream.connectTimeoutMs, timeoutMs),
      resolve,
    }),
    signal,
    resolve,
  };
  // Read on first use only, and only kept for this run.
  let database = options.asnDatabase;
  const databaseOnce = () => {
    database ??= createAsnDatabase();
    return database;
  };
  const probes = await Promise.all(
    config.chains.flatMap((chain) =>
      chain.upstreams.map(async (upstream) => {
        const started = performance.now();
        const [probe, domain] = await Promise.all([
          probeUpstream(chain.chainId, upstream, context),
          domainOf(upstream, context, databaseOnce),
        ]);
        const elapsedMs = Math.round(performance.now() - started);
        const result: UpstreamProbe = { ...probe, ...domain, elapsedMs, provider: upstream.provider ?? null };
        onProbe?.(result);
        return result;
      }),
    ),
  );
  for (const chain of config.chains) {
    const mine = probes.filter((p) => p.chainId === chain.chainId && p.chainIdMatches && p.head !== null);
    const highest = Math.max(...mine.map((p) => p.head as number));
    for (const p of mine) p.lagBlocks = highest - (p.head as number);
  }

  // An upstream serving another chain never serves this one, so it spreads nothing; one that is down today still
  // counts: the assessment is of where the config depends, not of this minute's outages.
  const weighted = (list: readonly UpstreamProbe[]) =>
    list.flatMap((p) => (p.domain === null || p.chainIdMatches === false ? [] : [{ domain: p.domain, weight: 1 }]));
  const chains = config.chains.map((chain) => ({
    chainId: chain.chainId,
    concentration: assessConcentration(weighted(probes.filter((p) => p.chainId === chain.chainId))),
  }));
  const findings: DoctorFinding[] = [];
  const add: AddFinding = (code, message, about) =>
    findings.push({ ...about, severity: DOCTOR_FINDINGS[code], code, message });
  for (const { chainId, concentration } of chains) {
    for (const finding of concentration.findings) {
      const message = chains.length > 1 ? `Chain ${chainId}: ${finding.message}` : finding.message;
      findings.push({ ...finding, message, chainId });
    }
    const usable = probes.some((p) => p.chainId === chainId && p.chainIdMatches === true);
    if (!usable) {
      add(
        "no_usable_upstream",
        `No upstream of chain ${chainId} answered on the right chain: the gateway cannot serve it.`,
        { chainId },
      );
    }
  }
  probeFindings(probes, config.chains.length, add);
  const solana = await doctorSolana(config.solana, context);
  findings.push(...solana.findings);
  findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "critical" ? -1 : 1));
  return {
    upstreams: probes,
    chains,
    solana: solana.probes,
    findings,
    critical: findings.some((f) => f.severity === "critical"),
  };
}
