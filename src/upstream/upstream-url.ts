/**
 * An HTTP upstream's URL as both transports read it: where to send, what to send with it, and what must never be
 * repeated in an error. Its userinfo (`https://user:pass@host/…`) becomes Basic auth: browsers refuse URLs with
 * credentials and undici would not send them. Free of Node modules (the browser's fetch transport uses it).
 */

export interface HttpUpstreamTarget {
  /** The URL without its userinfo. */
  url: URL;
  /** Lower-cased request headers: the caller's, `content-type`, and Basic auth from userinfo unless one was given. */
  headers: Record<string, string>;
  /** Everything of the URL and the headers that may hold a key, for redaction. */
  secrets: string[];
}

function decodeUserinfo(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    // A malformed escape is taken as written: refusing the URL would only move the error somewhere less clear.
    return part;
  }
}

/** `Basic <base64 of user:password>`, or undefined when the URL carries no userinfo. */
function basicAuthorization(url: URL): string | undefined {
  if (url.username === "" && url.password === "") return undefined;
  const bytes = new TextEncoder().encode(`${decodeUserinfo(url.username)}:${decodeUserinfo(url.password)}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/** Reads an `http(s)://` upstream URL; a `TypeError` that never repeats the URL (it may hold a key) otherwise. */
export function parseHttpUpstream(url: string, extraHeaders: Record<string, string> = {}): HttpUpstreamTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError("upstream URL is not a valid URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError("upstream URL must use http: or https:");
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(extraHeaders)) headers[name.toLowerCase()] = value;
  headers["content-type"] = "application/json";
  const authorization = basicAuthorization(parsed);
  if (authorization !== undefined && headers["authorization"] === undefined) headers["authorization"] = authorization;
  const secrets = [url, parsed.hostname, ...Object.values(extraHeaders)];
  parsed.username = "";
  parsed.password = "";
  return { url: parsed, headers, secrets };
}
