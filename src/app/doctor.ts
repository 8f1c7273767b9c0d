/**
 * `multihome doctor`: probes every configured upstream at once (reachable, right chain, head and lag, `eth_getProof`,
 * archive depth, WebSocket), infers the failure domain of upstreams that declare none, and assesses where the
 * config's dependence is concentrated — before an outage shows it.
 *
 * Upstream URLs carry API keys: nothing here returns or reports one (upstreams are named by id; every message that
 * comes from an upstream or a transport is redacted).
 */

import type { DraftConfig, DraftUpstreamConfig } from "../config/load.ts";
import { assessConcentration, type ConcentrationReport, type Finding } from "../core/concentration.ts";
import type { FailureDomain } from "../core/domain.ts";
import type { Transport } from "../core/ports.ts";
import { createHttpTransport } from "../upstream/http-transport.ts";
import { createRedactor } from "../upstream/redact.ts";
import type { ResolveHostname } from "../upstream/safe-lookup.ts";
import { createWsTransport } from "../upstream/ws-transport.ts";
import { type AsnDatabase, createAsnDatabase, inferDomain } from "./hosting.ts";

/** Deadline of each check of a probe (one JSON-RPC call, or a WebSocket connect and subscribe), in milliseconds. */
export const DOCTOR_CHECK_TIMEOUT_MS_DEFAULT = 5_000;
/** An upstream more than this many blocks behind the highest head seen on its chain is reported as lagging. */
export const DOCTOR_LAG_WARNING_BLOCKS = 8;
/** How far back the archive check asks for state, deepest first after block 1, in blocks behind the head. */
export const DOCTOR_ARCHIVE_DEPTHS: readonly number[] = [100_000, 128];
/** Longest error message kept from an upstream (longer is cut): it is shown, not parsed. */
export const DOCTOR_MAX_ERROR_CHARS = 200;

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/**
 * How far back an upstream serves state: `archive` (block 1), `≥ N blocks` behind the head, `recent only`, or
 * `unknown` (it never answered the question).
 */
export type ArchiveDepth = "archive" | `≥ ${number} blocks` | "recent only" | "unknown";

export interface UpstreamProbe {
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
  domain: FailureDomain | null;
  /** `declared` in the config, `inferred` by the doctor, or `unknown` (could not be inferred). */
  domainSource: "declared" | "inferred" | "unknown";
  /** How an inferred domain was found, or why it could not be. */
  domainNote: string | null;
  /** Time the probe took, in milliseconds. */
  elapsedMs: number;
}

/** A finding about one chain or one upstream. Codes are stable; docs/doctor.md lists them. */
export interface DoctorFinding extends Finding {
  chainId?: number;
  upstream?: string;
}

export interface DoctorReport {
  upstreams: UpstreamProbe[];
  /**
   * Every upstream of the config, by count. Left out: upstreams whose domain is unknown, and upstreams serving another
   * chain. Unreachable ones count (an outage today does not change where the config depends).
   */
  concentration: ConcentrationReport;
  /** The same per chain: anchoring and failover happen within one chain. */
  chains: { chainId: number; concentration: ConcentrationReport }[];
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

type CallResult =
  | { ok: true; result: unknown }
  /** `rpc`: the upstream answered with a JSON-RPC error; `failed`: no answer (transport, HTTP status, garbage). */
  | { ok: false; kind: "rpc" | "failed"; message: string };

interface Caller {
  call(method: string, params: unknown[]): Promise<CallResult>;
}

function shorten(text: string): string {
  return text.length > DOCTOR_MAX_ERROR_CHARS ? `${text.slice(0, DOCTOR_MAX_ERROR_CHARS)}…` : text;
}

/** One JSON-RPC call per check, each under its own deadline (cleared when it settles) and the run's signal. */
function createCaller(
  transport: Transport,
  options: { timeoutMs: number; maxResponseBytes: number; signal: AbortSignal | undefined },
  redact: (text: string) => string,
): Caller {
  let nextId = 1;
  return {
    async call(method, params) {
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new DOMException("check deadline passed", "TimeoutError")),
        options.timeoutMs,
      );
      const onAbort = () => controller.abort(options.signal?.reason);
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const body = JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params });
        const response = await transport.send(body, {
          signal: controller.signal,
          maxResponseBytes: options.maxResponseBytes,
        });
        // The body of a refusal may echo the request line; only the status is shown.
        if (response.status !== 200) return { ok: false, kind: "failed", message: `HTTP status ${response.status}` };
        let parsed: { result?: unknown; error?: { message?: unknown; code?: unknown } };
        try {
          parsed = JSON.parse(response.body) as typeof parsed;
        } catch {
          return { ok: false, kind: "failed", message: "the answer is not JSON" };
        }
        if (parsed?.error !== undefined && parsed.error !== null) {
          const code = typeof parsed.error.code === "number" ? ` (${parsed.error.code})` : "";
          const text = typeof parsed.error.message === "string" ? parsed.error.message : "error";
          return { ok: false, kind: "rpc", message: shorten(redact(`${text}${code}`)) };
        }
        if (parsed?.result === undefined) return { ok: false, kind: "failed", message: "the answer has no result" };
        return { ok: true, result: parsed.result };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { ok: false, kind: "failed", message: shorten(redact(message)) };
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      }
    },
  };
}

function quantity(value: unknown): number | null {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(value)) return null;
  const n = Number.parseInt(value, 16);
  return Number.isSafeInteger(n) ? n : null;
}

const hex = (n: number) => `0x${n.toString(16)}`;

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
    const outcome = await caller.call("eth_getBalance", [ZERO_ADDRESS, hex(block)]);
    if (outcome.ok && quantity(outcome.result) !== null) return depth;
    if (outcome.ok || outcome.kind === "rpc") answered = true;
  }
  return answered ? "recent only" : "unknown";
}

async function proofSupport(caller: Caller, head: number): Promise<boolean | null> {
  const outcome = await caller.call("eth_getProof", [ZERO_ADDRESS, [], hex(head)]);
  if (outcome.ok) {
    const proof = outcome.result as { accountProof?: unknown } | null;
    return Array.isArray(proof?.accountProof);
  }
  return outcome.kind === "rpc" ? false : null;
}

function wsUrlOf(url: string): string {
  const parsed = new URL(url);
  parsed.protocol = parsed.protocol === "https:" ? "wss:" : "ws:";
  return parsed.href;
}

interface ProbeContext {
  timeoutMs: number;
  maxResponseBytes: number;
  connectTimeoutMs: number;
  signal: AbortSignal | undefined;
  resolve: ResolveHostname | undefined;
}

function transportFor(url: string, upstream: DraftUpstreamConfig, context: ProbeContext): Transport {
  // URLs from the config file: loopback allowed (the operator's own node), private ranges only when allowed.
  const addressPolicy = { mode: "config" as const, allowPrivate: upstream.allowPrivateNetwork };
  const common = { url, connectTimeoutMs: context.connectTimeoutMs, addressPolicy, resolve: context.resolve };
  return url.startsWith("ws") ? createWsTransport(common) : createHttpTransport({ ...common, connections: 4 });
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
    transport = isWs ? undefined : transportFor(wsUrlOf(upstream.url), upstream, context);
    const ws = transport === undefined ? caller : createCaller(transport, context, redact);
    const outcome = await ws.call("eth_subscribe", ["newHeads"]);
    if (!outcome.ok || typeof outcome.result !== "string") return false;
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
): Promise<Omit<UpstreamProbe, "domain" | "domainSource" | "domainNote" | "elapsedMs">> {
  const secrets = [upstream.url];
  if (!upstream.url.startsWith("ws")) secrets.push(wsUrlOf(upstream.url));
  const redact = createRedactor(secrets);
  const probe: Omit<UpstreamProbe, "domain" | "domainSource" | "domainNote" | "elapsedMs"> = {
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
    transport = transportFor(upstream.url, upstream, context);
  } catch (error) {
    probe.error = shorten(redact(error instanceof Error ? error.message : String(error)));
    return probe;
  }
  try {
    const caller = createCaller(transport, context, redact);
    const chain = await caller.call("eth_chainId", []);
    if (!chain.ok) {
      probe.error = chain.kind === "rpc" ? `eth_chainId: ${chain.message}` : chain.message;
      return probe;
    }
    probe.reachable = true;
    probe.reportedChainId = quantity(chain.result);
    probe.chainIdMatches = probe.reportedChainId === chainId;
    const block = await caller.call("eth_blockNumber", []);
    if (block.ok) probe.head = quantity(block.result);
    else probe.error = `eth_blockNumber: ${block.message}`;
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

async function domainOf(
  upstream: DraftUpstreamConfig,
  context: ProbeContext,
  database: () => AsnDatabase,
): Promise<Pick<UpstreamProbe, "domain" | "domainSource" | "domainNote">> {
  if (upstream.domain !== undefined) return { domain: upstream.domain, domainSource: "declared", domainNote: null };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("domain inference deadline passed")), context.timeoutMs);
  const onAbort = () => controller.abort(context.signal?.reason);
  if (context.signal?.aborted) onAbort();
  else context.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const found = await inferDomain(upstream, {
      signal: controller.signal,
      database: database(),
      ...(context.resolve ? { resolve: context.resolve } : {}),
    });
    if (found.domain === undefined) {
      return { domain: null, domainSource: "unknown", domainNote: found.reason ?? "could not be inferred" };
    }
    const asns = found.asns.length > 0 ? `AS${found.asns.join(", AS")}` : undefined;
    const note =
      found.domain.hosting === "self"
        ? "loopback address: the operator's own node"
        : found.domain.hosting === "private-network"
          ? "private network address"
          : `${asns ?? "address"}; operator guessed from the host name, region unknown`;
    return { domain: found.domain, domainSource: "inferred", domainNote: note };
  } catch (error) {
    return {
      domain: null,
      domainSource: "unknown",
      domainNote: controller.signal.aborted ? "inference deadline passed" : (error as Error).message,
    };
  } finally {
    clearTimeout(timer);
    context.signal?.removeEventListener("abort", onAbort);
  }
}

function probeFindings(probes: readonly UpstreamProbe[], chainCount: number): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  const where = (p: UpstreamProbe) => (chainCount > 1 ? `Upstream ${p.id} (chain ${p.chainId})` : `Upstream ${p.id}`);
  for (const p of probes) {
    const about = { chainId: p.chainId, upstream: p.id };
    if (!p.reachable) {
      findings.push({
        ...about,
        severity: "warning",
        code: "unreachable",
        message: `${where(p)} did not answer (${p.error ?? "no answer"}): it adds nothing until it does.`,
      });
    } else if (p.chainIdMatches === false) {
      findings.push({
        ...about,
        severity: "critical",
        code: "wrong_chain",
        message: `${where(p)} serves chain ${p.reportedChainId ?? "?"}, not ${p.chainId}: the gateway will never use it.`,
      });
    } else {
      if (p.lagBlocks !== null && p.lagBlocks > DOCTOR_LAG_WARNING_BLOCKS) {
        findings.push({
          ...about,
          severity: "warning",
          code: "lagging",
          message: `${where(p)} is ${p.lagBlocks} blocks behind the others.`,
        });
      }
      if (p.proof === false) {
        findings.push({
          ...about,
          severity: "warning",
          code: "no_proof",
          message: `${where(p)} does not serve eth_getProof: state it returns cannot be checked against a proof.`,
        });
      }
    }
    if (p.domainSource === "unknown") {
      findings.push({
        ...about,
        severity: "warning",
        code: "domain_unknown",
        message: `${where(p)} has no declared domain and none could be inferred (${p.domainNote}): it is left out of the concentration assessment.`,
      });
    }
  }
  return findings;
}

/** Probes every upstream of `config` concurrently and assesses the whole. Never throws for an upstream's failure. */
export async function runDoctor(config: DraftConfig, options: DoctorOptions = {}): Promise<DoctorReport> {
  const { timeoutMs = DOCTOR_CHECK_TIMEOUT_MS_DEFAULT, signal, resolve, onProbe } = options;
  const context: ProbeContext = {
    timeoutMs,
    maxResponseBytes: config.upstream.maxResponseBytes,
    connectTimeoutMs: Math.min(config.upstream.connectTimeoutMs, timeoutMs),
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
        const result: UpstreamProbe = { ...probe, ...domain, elapsedMs: Math.round(performance.now() - started) };
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
  for (const { chainId, concentration } of chains) {
    for (const finding of concentration.findings) {
      const message = chains.length > 1 ? `Chain ${chainId}: ${finding.message}` : finding.message;
      findings.push({ ...finding, message, chainId });
    }
    const usable = probes.some((p) => p.chainId === chainId && p.chainIdMatches === true);
    if (!usable) {
      findings.push({
        chainId,
        severity: "critical",
        code: "no_usable_upstream",
        message: `No upstream of chain ${chainId} answered on the right chain: the gateway cannot serve it.`,
      });
    }
  }
  findings.push(...probeFindings(probes, config.chains.length));
  findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "critical" ? -1 : 1));
  return {
    upstreams: probes,
    concentration: assessConcentration(weighted(probes)),
    chains,
    findings,
    critical: findings.some((f) => f.severity === "critical"),
  };
}

/** Every code `runDoctor` can report beyond the concentration ones, with its severity. */
export const DOCTOR_FINDINGS: Readonly<Record<string, Finding["severity"]>> = {
  no_usable_upstream: "critical",
  wrong_chain: "critical",
  unreachable: "warning",
  lagging: "warning",
  no_proof: "warning",
  domain_unknown: "warning",
};
