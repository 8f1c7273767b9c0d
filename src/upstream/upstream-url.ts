/**
 * What an upstream URL's userinfo (`https://user:pass@host/…`) asks for: Basic auth. Browsers refuse URLs with
 * credentials and undici would not send them, so both transports turn them into an `Authorization` header.
 * Free of Node modules (the browser's fetch transport uses it).
 */

function decodeUserinfo(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    // A malformed escape is taken as written: refusing the URL would only move the error somewhere less clear.
    return part;
  }
}

/** `Basic <base64 of user:password>`, or undefined when the URL carries no userinfo. */
export function basicAuthorization(url: URL): string | undefined {
  if (url.username === "" && url.password === "") return undefined;
  const bytes = new TextEncoder().encode(`${decodeUserinfo(url.username)}:${decodeUserinfo(url.password)}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}
