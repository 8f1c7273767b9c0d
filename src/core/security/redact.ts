/**
 * Upstream URLs carry API keys (in the path `/v2/<key>`, the query `?apikey=`, or userinfo), so nothing derived from
 * one may reach a log line, a metric label or an error message unredacted.
 */

export const REDACTED = "[redacted]";
export const INVALID_URL = "<invalid url>";

/**
 * Parts of a URL shorter than this are not redacted on their own (only inside the whole path or query): replacing
 * every `v2` or `1` in a message would shred it, and a key that short protects nothing anyway.
 */
const MIN_SECRET_PART_LENGTH = 4;

function parseHierarchicalUrl(text: string): URL | undefined {
  try {
    if (typeof text !== "string" || !text.includes("://")) return undefined;
    const url = new URL(text);
    return url.host === "" ? undefined : url;
  } catch {
    return undefined;
  }
}

/** `scheme://host[:port]/…`: userinfo, path, query and fragment are dropped; `…` marks that something was. */
export function redactUrl(url: string): string {
  const parsed = parseHierarchicalUrl(url);
  if (parsed === undefined) return INVALID_URL;
  const hidden =
    parsed.username !== "" ||
    parsed.password !== "" ||
    (parsed.pathname !== "/" && parsed.pathname !== "") ||
    parsed.search !== "" ||
    parsed.hash !== "";
  return `${parsed.protocol}//${parsed.host}/${hidden ? "…" : ""}`;
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Every substring of `url` that could carry a credential, raw and percent-decoded. */
function secretPartsOfUrl(raw: string, url: URL): string[] {
  const parts: string[] = [raw, url.href];
  const add = (part: string, always: boolean): void => {
    for (const form of [part, decoded(part)]) {
      if (form.length >= (always ? 1 : MIN_SECRET_PART_LENGTH)) parts.push(form);
    }
  };
  if (url.username !== "" || url.password !== "") {
    add(url.password === "" ? url.username : `${url.username}:${url.password}`, true);
    add(url.username, false);
    add(url.password, false);
  }
  if (url.pathname !== "/" && url.pathname !== "") {
    add(url.pathname, true);
    for (const segment of url.pathname.split("/")) add(segment, false);
  }
  for (const tail of [url.search, url.hash]) {
    if (tail.length <= 1) continue;
    add(tail, true);
    add(tail.slice(1), true);
    for (const pair of tail.slice(1).split("&")) {
      add(pair, false);
      const eq = pair.indexOf("=");
      if (eq >= 0) add(pair.slice(eq + 1), false);
    }
  }
  return parts;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Replaces every occurrence of each secret with `[redacted]`. A secret that is a URL also has its userinfo, path,
 * query and fragment (and their parts, raw and percent-decoded) replaced wherever they appear on their own.
 * Empty secrets are ignored.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return createRedactor(secrets)(text);
}

/** `redactSecrets` with the pattern built once, for callers that redact many texts with the same secrets. */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const parts = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== "string" || secret === "") continue;
    parts.add(secret);
    const url = parseHierarchicalUrl(secret);
    if (url !== undefined) for (const part of secretPartsOfUrl(secret, url)) parts.add(part);
  }
  if (parts.size === 0) return (text) => text;
  // One pass over the longest alternatives first, so a replacement is never matched again and a secret that
  // contains another is replaced whole.
  const pattern = new RegExp(
    [...parts]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp)
      .join("|"),
    "g",
  );
  return (text) => (typeof text !== "string" || text === "" ? text : text.replace(pattern, REDACTED));
}

/** How deep `redactError` follows `cause` chains and `errors` lists. */
const MAX_REDACTED_CAUSE_DEPTH = 4;

/**
 * A copy of `error` that is safe to attach as a `cause`: name, string `code`, message and stack with `secrets`
 * redacted, and its causes treated the same way. Nothing else of the original (requests, sockets, options that may
 * hold the URL) is kept.
 */
export function redactError(error: unknown, secrets: readonly string[], depth = 0): Error {
  const source = (typeof error === "object" && error !== null ? error : {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    stack?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  const message = typeof source.message === "string" ? source.message : String(error);
  const copy = new Error(redactSecrets(message, secrets)) as Error & { code?: string; errors?: Error[] };
  if (typeof source.name === "string") copy.name = redactSecrets(source.name, secrets);
  if (typeof source.code === "string") copy.code = redactSecrets(source.code, secrets);
  copy.stack =
    typeof source.stack === "string" ? redactSecrets(source.stack, secrets) : `${copy.name}: ${copy.message}`;
  if (depth < MAX_REDACTED_CAUSE_DEPTH) {
    if (source.cause !== undefined) copy.cause = redactError(source.cause, secrets, depth + 1);
    if (Array.isArray(source.errors)) {
      copy.errors = source.errors.slice(0, 8).map((inner) => redactError(inner, secrets, depth + 1));
    }
  }
  return copy;
}

/** An error's `code` when it is a plain constant (`ECONNREFUSED`, `EADDRBLOCKED`): safe to show, it cannot carry a URL. */
export function errorCodeOf(error: unknown): string | undefined {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" && /^[A-Z0-9_]{1,64}$/.test(code) ? code : undefined;
}
