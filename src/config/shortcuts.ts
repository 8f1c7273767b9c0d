/**
 * Provider shortcuts: an upstream written as a vendor and a key (`{ provider: alchemy, key: ... }`) becomes the
 * vendor's URL for the chain it is listed under, from the built-in registry (providers.ts) or the config's own
 * `providers` section, which may override a vendor's template and network names or define a vendor of its own.
 *
 * The key is a secret like any URL credential: it is only ever put into a URL's path or query (which every log, metric
 * and error redacts), and no message here contains it.
 */
import { builtInProvider, PROVIDERS } from "./providers.ts";

/** The placeholders a URL template may hold. */
export const TEMPLATE_PLACEHOLDERS = ["network", "key", "endpoint"] as const;

/** A vendor as the config's `providers` section states it: every field optional. */
export interface ProviderOverride {
  /** Replaces the vendor's template for every chain. */
  url?: string | undefined;
  /** Chain id (a decimal string, as YAML and JSON keys are) → the vendor's name for it; over the built-in names. */
  networks?: Readonly<Record<string, string>> | undefined;
  /** The key of every entry of this vendor that gives none. */
  key?: string | undefined;
}

export interface ShortcutEntry {
  provider: string;
  key?: string | undefined;
  endpoint?: string | undefined;
}

/** The entry's field a problem is about. */
export type ShortcutField = "provider" | "key" | "endpoint";

export type ShortcutUrl = { ok: true; url: string } | { ok: false; field: ShortcutField; message: string };

const PLACEHOLDER = /\{([^{}]*)\}/g;
const SCHEMES = ["http:", "https:", "ws:", "wss:"];

function fill(template: string, values: Partial<Record<(typeof TEMPLATE_PLACEHOLDERS)[number], string>>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = values[name as keyof typeof values];
    if (value === undefined) return whole;
    // The key may hold any character: encoded, it can only ever be one path segment or query value.
    return name === "key" ? encodeURIComponent(value) : value;
  });
}

const uses = (template: string, name: (typeof TEMPLATE_PLACEHOLDERS)[number]) => template.includes(`{${name}}`);

/** What is wrong with a URL template from the config, or undefined. Never mentions a key: templates hold none. */
export function templateProblem(template: string): string | undefined {
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name!))
      return `unknown placeholder {${name}}: a template may hold {network}, {key} and {endpoint}`;
  }
  const sample = fill(template, { network: "network", key: "key", endpoint: "endpoint" });
  if (!URL.canParse(sample) || !SCHEMES.includes(new URL(sample).protocol))
    return "an http://, https://, ws:// or wss:// URL, with {network}, {key} or {endpoint} where they go";
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(template)?.[1] ?? "";
  if (authority.includes("{key}")) return "{key} goes in the path or the query (which are redacted), not the host";
  return undefined;
}

function unknownProvider(name: string): string {
  const known = Object.keys(PROVIDERS).sort();
  return (
    `unknown provider "${name}": Multihome knows ${known.slice(0, -1).join(", ")} and ${known.at(-1)}; ` +
    `for another vendor give its URL template as providers.${name}.url, or use a plain upstream { id, url, domain }`
  );
}

/** The template an entry takes on `chainId`, or why it takes none. */
function templateFor(
  entry: ShortcutEntry,
  chainId: number,
  override: ProviderOverride | undefined,
): { template: string } | { field: ShortcutField; message: string } {
  const vendor = entry.provider;
  const spec = builtInProvider(vendor);
  const chainTemplate = override?.url ?? spec?.urls?.[chainId] ?? spec?.url;
  if (chainTemplate === undefined) return { field: "provider", message: unknownProvider(vendor) };
  if (entry.endpoint === undefined) {
    if (uses(chainTemplate, "endpoint"))
      return {
        field: "endpoint",
        message: `${vendor} on chain ${chainId} needs endpoint: the name its endpoint's host name starts with`,
      };
    return { template: chainTemplate };
  }
  const template = override?.url ?? spec?.endpointUrl ?? chainTemplate;
  if (!uses(template, "endpoint")) return { field: "endpoint", message: `${vendor} takes no endpoint: remove it` };
  return { template };
}

/**
 * The URL of a shortcut entry on chain `chainId`, or the problem, naming the vendor and the chain (never the key).
 * `overrides` is the config's `providers` section.
 */
export function shortcutUrl(
  entry: ShortcutEntry,
  chainId: number,
  overrides: Readonly<Record<string, ProviderOverride>> = {},
): ShortcutUrl {
  const vendor = entry.provider;
  const override = Object.hasOwn(overrides, vendor) ? overrides[vendor] : undefined;
  const chosen = templateFor(entry, chainId, override);
  if ("message" in chosen) return { ok: false, ...chosen };
  const { template } = chosen;
  let network: string | undefined;
  if (uses(template, "network")) {
    network = override?.networks?.[String(chainId)] ?? builtInProvider(vendor)?.networks[chainId];
    if (network === undefined) {
      const where = builtInProvider(vendor) ? " in Multihome's provider registry" : "";
      return {
        ok: false,
        field: "provider",
        message:
          `${vendor} does not serve chain ${chainId}${where}: use a plain upstream { id, url, domain } for it, ` +
          `or give ${vendor}'s name for the chain as providers.${vendor}.networks.${chainId}`,
      };
    }
  }
  const key = entry.key ?? override?.key;
  if (uses(template, "key") && key === undefined)
    return {
      ok: false,
      field: "key",
      message: `${vendor} on chain ${chainId} needs a key: set key on this entry or on providers.${vendor} (from the environment)`,
    };
  if (!uses(template, "key") && key !== undefined)
    return { ok: false, field: "key", message: `${vendor} on chain ${chainId} takes no key: remove it` };
  const url = fill(template, { network, key, endpoint: entry.endpoint });
  if (!URL.canParse(url) || !SCHEMES.includes(new URL(url).protocol))
    return { ok: false, field: "provider", message: `${vendor} on chain ${chainId} does not make a valid URL` };
  return { ok: true, url };
}

/** Longest vendor name an id is derived from, so that `-<n>` still fits a 64-character label. */
const ID_BASE_MAX_CHARS = 60;

/**
 * The upstream ids of one chain's entries: a given id is kept; a shortcut without one is named after its vendor,
 * numbered (`quicknode-2`) when the name is taken, so ids stay unique within the chain.
 */
export function upstreamIds(entries: readonly { id?: string | undefined; provider?: string | undefined }[]): string[] {
  const taken = new Set(entries.flatMap((e) => (e.id === undefined ? [] : [e.id])));
  return entries.map((entry) => {
    if (entry.id !== undefined) return entry.id;
    const base = (entry.provider ?? "upstream").slice(0, ID_BASE_MAX_CHARS);
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
    taken.add(id);
    return id;
  });
}
