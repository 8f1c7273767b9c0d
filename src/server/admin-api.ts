/**
 * The admin API behind the admin listener's token: the operator's overview (upstreams by failure domain with their
 * health and share of traffic, concentration, recent events, drills) and starting and stopping drills. It reads the
 * engine's public API only and answers nothing that carries an upstream URL.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { assessConcentration, type ConcentrationReport } from "../core/domains/concentration.ts";
import type { FailureDomain } from "../core/domains/domain.ts";
import type { Drill } from "../core/domains/drill.ts";
import type { ChainKey } from "../core/ports.ts";
import type { ActivityEvent, ChainStatus, Engine } from "../engine/engine.ts";

/** Request bodies of the admin API (a drill's selector and duration), bytes. */
export const ADMIN_MAX_BODY_BYTES = 4_096;
/** An upstream this many blocks behind the agreed head shows as degraded. */
export const DEGRADED_LAG_BLOCKS = 2;
/** A drill started without a duration lasts this long, ms. */
export const DEFAULT_DRILL_MS = 60_000;

export type UpstreamHealth = "healthy" | "degraded" | "down" | "cordoned" | "pending";

export interface UpstreamOverview {
  id: string;
  hosting: string;
  operator: string;
  region: string;
  domain: string;
  health: UpstreamHealth;
  /** Taken down by a running drill of its domain (on its own chain). */
  drilled: boolean;
  /** Why it is cordoned, when it is. */
  cordonReason?: string;
  breaker: string;
  admission: string;
  head: number | null;
  lag: number | null;
  latencyMs: number | null;
  /** Of the calls upstreams answered over the last minute, the part this one answered (0..1). */
  share: number;
  served: number;
}

export interface Overview {
  generatedAt: number;
  chains: {
    /** An EVM chain id, or `solana/{name}` for a Solana cluster. */
    chainId: ChainKey;
    ready: boolean;
    reason?: string;
    head: { number: number; hash: string } | null;
    domainsDown: string[];
    upstreams: UpstreamOverview[];
    /** A Solana cluster's agreed slot per commitment. */
    slots?: Partial<Record<"processed" | "confirmed" | "finalized", number>>;
  }[];
  concentration: { upstreams: ConcentrationReport; traffic: ConcentrationReport };
  events: ActivityEvent[];
  drills: Drill[];
}

function healthOf(u: ChainStatus["upstreams"][number], lag: number | null, domainsDown: string[]): UpstreamHealth {
  if (u.cordoned) return "cordoned";
  if (u.admission === "pending") return "pending";
  if (u.drilled || u.breaker === "open" || domainsDown.includes(u.domain)) return "down";
  if (u.breaker === "half_open" || (lag !== null && lag > DEGRADED_LAG_BLOCKS)) return "degraded";
  return "healthy";
}

/** One chain's (or Solana cluster's) entry: its upstreams with their health, lag and share of the traffic. */
function chainOverview(
  c: Pick<ChainStatus, "ready" | "reason" | "head" | "domainsDown" | "upstreams">,
  chainId: ChainKey,
  traffic: ReadonlyMap<string, number>,
): Overview["chains"][number] {
  const served = c.upstreams.reduce((sum, u) => sum + (traffic.get(u.id) ?? 0), 0);
  return {
    chainId,
    ready: c.ready,
    ...(c.reason ? { reason: c.reason } : {}),
    head: c.head ? { number: c.head.number, hash: c.head.hash } : null,
    domainsDown: c.domainsDown,
    upstreams: c.upstreams.map((u): UpstreamOverview => {
      const lag = c.head && u.head !== undefined ? Math.max(0, c.head.number - u.head) : null;
      const count = traffic.get(u.id) ?? 0;
      return {
        id: u.id,
        hosting: u.hosting,
        operator: u.operator,
        region: u.region,
        domain: u.domain,
        health: healthOf(u, lag, c.domainsDown),
        drilled: u.drilled,
        ...(u.cordoned && u.cordonReason ? { cordonReason: u.cordonReason } : {}),
        breaker: u.breaker,
        admission: u.admission,
        head: u.head ?? null,
        lag,
        latencyMs: u.latencyMs === undefined ? null : Math.round(u.latencyMs * 100) / 100,
        share: served === 0 ? 0 : count / served,
        served: count,
      };
    }),
  };
}

export function overviewOf(engine: Engine, now: number): Overview {
  const traffic = engine.activity.traffic();
  const chains = engine.readiness().chains.map((c) => chainOverview(c, c.chainId, traffic));
  // A Solana cluster is shown like a chain: its head is the agreed processed slot (no hash), its lag in slots.
  for (const s of engine.solanaStatus()) {
    const slot = s.slots.processed;
    const head = slot === undefined ? undefined : { number: slot, hash: "", witnesses: [] };
    const status = { ready: s.ready, head, domainsDown: s.domainsDown, upstreams: s.upstreams };
    chains.push({ ...chainOverview(status, `solana/${s.name}`, traffic), slots: s.slots });
  }
  return withConcentration(chains, engine.activity.events(), engine.activity.drills(), now);
}

/** The overview of these chains, events and drills, with how concentrated upstreams and traffic are. */
export function withConcentration(
  chains: Overview["chains"],
  events: ActivityEvent[],
  drills: Drill[],
  now: number,
): Overview {
  const all = chains.flatMap((c) => c.upstreams);
  const domainOf = (u: UpstreamOverview): FailureDomain => ({
    hosting: u.hosting,
    operator: u.operator,
    region: u.region,
  });
  return {
    generatedAt: now,
    chains,
    concentration: {
      upstreams: assessConcentration(
        all.map((u) => ({ domain: domainOf(u), weight: 1 })),
        "upstreams",
      ),
      traffic: assessConcentration(
        all.map((u) => ({ domain: domainOf(u), weight: u.served })),
        "traffic",
      ),
    },
    events,
    drills,
  };
}

type Send = (res: ServerResponse, status: number, value: unknown) => void;

const refuse = (send: Send, res: ServerResponse, status: number, code: string, message: string) =>
  send(res, status, { error: { code, message } });

async function readJson(req: IncomingMessage): Promise<unknown | "too_large" | "invalid"> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > ADMIN_MAX_BODY_BYTES) return "too_large";
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return "invalid";
  }
}

function selectorOf(value: unknown): { hosting?: string; operator?: string; region?: string } | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return;
  const selector: { hosting?: string; operator?: string; region?: string } = {};
  for (const [k, v] of Object.entries(value)) {
    if ((k !== "hosting" && k !== "operator" && k !== "region") || typeof v !== "string" || v.length > 64) return;
    selector[k] = v;
  }
  return selector;
}

/**
 * Answers an admin API request (already authenticated) when the path is one of the API's; false otherwise.
 */
export async function handleAdminApi(
  engine: Engine,
  overview: () => Promise<Overview>,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  send: Send,
): Promise<boolean> {
  if (path === "/admin/api/overview" && req.method === "GET") {
    send(res, 200, await overview());
    return true;
  }
  if (path === "/admin/api/drills") {
    if (req.method === "GET") {
      send(res, 200, engine.activity.drills());
      return true;
    }
    if (req.method !== "POST") return false;
    const body = await readJson(req);
    if (body === "too_large") {
      refuse(send, res, 413, "too_large", `admin requests are at most ${ADMIN_MAX_BODY_BYTES} bytes`);
      return true;
    }
    const b = body as { selector?: unknown; durationMs?: unknown } | null;
    const selector = selectorOf(b?.selector);
    const durationMs = b?.durationMs ?? DEFAULT_DRILL_MS;
    if (body === "invalid" || !selector || typeof durationMs !== "number") {
      refuse(
        send,
        res,
        400,
        "invalid_drill",
        'a drill is { "selector": { "hosting"?, "operator"?, "region"? }, "durationMs"? }',
      );
      return true;
    }
    const drill = engine.startDrill(selector, durationMs);
    if ("code" in drill) refuse(send, res, drill.code === "drill_running" ? 409 : 400, drill.code, drill.message);
    else send(res, 201, drill);
    return true;
  }
  const one = /^\/admin\/api\/drills\/([A-Za-z0-9-]{1,32})$/.exec(path);
  if (one) {
    if (req.method !== "GET" && req.method !== "DELETE") return false;
    const drill =
      req.method === "DELETE"
        ? engine.activity.stopDrill(one[1]!)
        : engine.activity.drills().find((d) => d.id === one[1]);
    if (drill) send(res, 200, drill);
    else refuse(send, res, 404, "not_found", "no such drill");
    return true;
  }
  return false;
}
