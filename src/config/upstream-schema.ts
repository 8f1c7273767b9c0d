/**
 * A chain's upstreams in the config: plain (`{ id, url, domain }`) or a provider shortcut (`{ provider, key, domain }`),
 * the `providers` section that tunes the vendors, and the expansion of every shortcut into a plain upstream once the
 * whole config has been read (an entry's URL depends on its chain and on that section).
 */
import * as z from "zod";
import { hostnameVerdict } from "../core/security/address-policy.ts";
import { DEFAULTS } from "./defaults.ts";
import { label } from "./fields.ts";
import { type ProviderOverride, shortcutUrl, templateProblem, upstreamIds } from "./shortcuts.ts";

const D = DEFAULTS;

const upstreamUrl = z.string().refine((value) => {
  try {
    const u = new URL(value);
    return ["http:", "https:", "ws:", "wss:"].includes(u.protocol);
  } catch {
    return false;
  }
}, "an http://, https://, ws:// or wss:// URL");

/**
 * The gateway never guesses an upstream's failure domain (anchoring rests on it); `multihome doctor` infers one for
 * the operator to review and paste.
 */
export const DOMAIN_REQUIRED =
  "required: who runs this upstream and where, { operator, hosting, region }; " +
  "`multihome doctor --config <file>` infers it for you to review and paste";

/** A shortcut's operator is its vendor unless it says otherwise; where the vendor's endpoint runs is not known. */
export const SHORTCUT_DOMAIN_REQUIRED =
  "required: where this provider's endpoint runs, { hosting, region } (the operator is the provider unless given); " +
  "`multihome doctor --config <file>` infers it for you to review and paste";

export const domainSchema = z.strictObject(
  { operator: label, hosting: label, region: label },
  { error: (issue) => (issue.input === undefined ? DOMAIN_REQUIRED : undefined) },
);

export const shortcutDomainSchema = z.strictObject(
  { operator: label.optional(), hosting: label, region: label },
  { error: (issue) => (issue.input === undefined ? SHORTCUT_DOMAIN_REQUIRED : undefined) },
);

/** Connections in an upstream's pool. */
const connections = z.number().int().min(1).max(1024).default(D.upstream.connections);
/** The upstream may sit in a private range (10/8, 172.16/12, 192.168/16, fc00::/7…); loopback always may. */
const allowPrivateNetwork = z.boolean().default(D.upstream.allowPrivateNetwork);

/** Why the config's address policy refuses `url` outright (a literal address), or undefined. */
function addressProblem(url: string, allowPrivate: boolean): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const verdict = hostnameVerdict(new URL(url).hostname, "config", allowPrivate);
  return verdict !== "needs-dns" && !verdict.ok ? verdict.reason : undefined;
}

/** An upstream whose `domain` is validated by `domain`: required for the gateway, optional in a draft. */
export const plainUpstreamWith = <Dom extends z.ZodType>(domain: Dom) =>
  z.strictObject({ id: label, url: upstreamUrl, domain, connections, allowPrivateNetwork }).superRefine((u, ctx) => {
    // A literal address is decided here, so the error names the field; a host name is checked at every connect.
    const problem = addressProblem(u.url, u.allowPrivateNetwork);
    if (problem !== undefined) ctx.addIssue({ code: "custom", path: ["url"], message: problem });
  });

/** An API key, project id or token: any text, put into a URL encoded (so only ever one path segment or query value). */
const apiKey = z.string().min(1).max(1024);
/** The name of a customer's endpoint or node, as the first label of its host name. */
const endpointName = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, "one host name label: letters, digits and '-'");

export const shortcutWith = <Dom extends z.ZodType>(domain: Dom) =>
  z.strictObject({
    provider: label,
    key: apiKey.optional(),
    endpoint: endpointName.optional(),
    /** @default the vendor's name, numbered when two entries of one chain share it */
    id: label.optional(),
    domain,
    connections,
    allowPrivateNetwork,
  });

export interface PlainUpstreamEntry<Dom> {
  id: string;
  url: string;
  domain: Dom;
  connections: number;
  allowPrivateNetwork: boolean;
}

/** An upstream once its shortcut (if it was one) is expanded; `provider` names the vendor it was written as. */
export interface ResolvedUpstream<Dom> extends PlainUpstreamEntry<Dom> {
  provider?: string;
}

export interface ShortcutUpstreamEntry {
  provider: string;
  key?: string | undefined;
  endpoint?: string | undefined;
  id?: string | undefined;
  domain?: { operator?: string | undefined; hosting: string; region: string } | undefined;
  connections: number;
  allowPrivateNetwork: boolean;
}

/** A plain upstream as a config file writes it (defaults left out). */
export interface PlainUpstreamInput<DomainInput> {
  id: string;
  url: string;
  domain: DomainInput;
  connections?: number | undefined;
  allowPrivateNetwork?: boolean | undefined;
}

/** A provider shortcut as a config file writes it. */
export interface ShortcutUpstreamInput<DomainInput> {
  provider: string;
  key?: string | undefined;
  endpoint?: string | undefined;
  id?: string | undefined;
  domain: DomainInput;
  connections?: number | undefined;
  allowPrivateNetwork?: boolean | undefined;
}

/**
 * One entry of `chains[].upstreams`: a shortcut when it names a `provider`, else a plain upstream. Each is checked
 * against its own shape alone, so a mistake is reported as that shape's (a union would only say "invalid input").
 */
export function upstreamEntryWith<P extends z.ZodType, S extends z.ZodType>(
  plainDomain: P,
  shortcutDomain: S,
): z.ZodType<
  PlainUpstreamEntry<z.output<P>> | ShortcutUpstreamEntry,
  PlainUpstreamInput<z.input<P>> | ShortcutUpstreamInput<z.input<S>>
> {
  const plain = plainUpstreamWith(plainDomain);
  const shortcut = shortcutWith(shortcutDomain);
  type Out = PlainUpstreamEntry<z.output<P>> | ShortcutUpstreamEntry;
  type In = PlainUpstreamInput<z.input<P>> | ShortcutUpstreamInput<z.input<S>>;
  const entry = z.unknown().transform((input, ctx): Out => {
    const schema = typeof input === "object" && input !== null && "provider" in input ? shortcut : plain;
    const result = schema.safeParse(input);
    if (result.success) return result.data as Out;
    // The issues keep their paths (relative to the entry) and messages; the rejected values stay behind.
    for (const issue of result.error.issues) ctx.issues.push({ ...issue, input: undefined } as never);
    return z.NEVER;
  });
  return entry as unknown as z.ZodType<Out, In>;
}

/** Most vendors the `providers` section may describe. */
const PROVIDERS_MAX = 64;

const template = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const problem = templateProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

/** One vendor under `providers`: a template of its own, network names, and the key its entries share. */
export const providerOverrideShape = {
  url: template.optional(),
  networks: z.record(z.string().regex(/^[1-9][0-9]{0,15}$/, "a chain id"), label).optional(),
  key: apiKey.optional(),
};

/** The fields of a shortcut entry (for docs/config.md's rows). */
export const shortcutEntryShape = shortcutWith(shortcutDomainSchema).shape;

export const providersSchema = z
  .record(label, z.strictObject(providerOverrideShape))
  .refine((providers) => Object.keys(providers).length <= PROVIDERS_MAX, `at most ${PROVIDERS_MAX} providers`)
  .optional();

export interface ResolveIssue {
  /** Relative to the chain's `upstreams`. */
  path: (string | number)[];
  message: string;
}

/**
 * The chain's upstreams with every shortcut expanded: its URL from the registry or `providers`, an id from its vendor
 * when it has none, and its vendor as operator unless its domain names one. Problems go to `report`, naming the vendor
 * and chain, never the key; the upstreams returned then are not to be used.
 */
export function resolveUpstreams<Dom>(
  chain: { chainId: number; upstreams: readonly (PlainUpstreamEntry<Dom> | ShortcutUpstreamEntry)[] },
  providers: Readonly<Record<string, ProviderOverride>>,
  report: (issue: ResolveIssue) => void,
): ResolvedUpstream<Dom>[] {
  const ids = upstreamIds(chain.upstreams);
  return chain.upstreams.map((entry, i): ResolvedUpstream<Dom> => {
    if (!("provider" in entry)) return entry;
    const { provider, key, endpoint, domain, connections, allowPrivateNetwork } = entry;
    const resolved = shortcutUrl({ provider, key, endpoint }, chain.chainId, providers);
    const url = resolved.ok ? resolved.url : "";
    if (!resolved.ok) report({ path: [i, resolved.field], message: resolved.message });
    const problem = resolved.ok ? addressProblem(url, allowPrivateNetwork) : undefined;
    if (problem !== undefined)
      report({ path: [i, "provider"], message: `${provider} on chain ${chain.chainId}: ${problem}` });
    // A draft may leave the domain out (the doctor infers it); the gateway's schema requires it on every shortcut.
    const resolvedDomain = domain && {
      operator: domain.operator ?? provider,
      hosting: domain.hosting,
      region: domain.region,
    };
    return { id: ids[i]!, url, domain: resolvedDomain as Dom, connections, allowPrivateNetwork, provider };
  });
}

/** Distinct upstream ids within one chain's entry (ids given in the config; shortcuts get theirs when expanded). */
export const uniqueUpstreamIds = (chain: { upstreams: { id?: string | undefined }[] }, ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  chain.upstreams.forEach((u, i) => {
    if (u.id === undefined) return;
    if (seen.has(u.id))
      ctx.addIssue({ code: "custom", path: ["upstreams", i, "id"], message: `duplicate upstream id "${u.id}"` });
    seen.add(u.id);
  });
};
