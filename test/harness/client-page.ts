/**
 * The client page's server: a static HTTP server on 127.0.0.1 serving `client-page/` (a wallet's balance screen on
 * the embedded engine) and the library's browser bundle, freshly built from the sources, exactly as a page without a
 * bundler would load them. Also how a test reads the page's state.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { BROWSER_BUNDLE_FILE, type BrowserBundle, buildBrowserBundle } from "../../scripts/build.ts";
import type { FailureDomain } from "../../src/core/domains/domain.ts";

const PAGE_DIR = join(import.meta.dirname, "client-page");

export interface ClientPageUpstream {
  id: string;
  url: string;
  domain: FailureDomain;
}

export interface ClientPageServer {
  /** `http://127.0.0.1:PORT`: the page's origin, for the gateways' `server.corsOrigins`. */
  origin: string;
  bundle: BrowserBundle;
  /** The page's address for one account over these upstreams (all of it in the fragment; see page.js). */
  pageUrl(input: { chainId: number; address: string; upstreams: ClientPageUpstream[] }): string;
  close(): Promise<void>;
}

/** What `#account` says (see page.js). */
export interface PageState {
  state: "loading" | "live" | "stale" | "unavailable";
  refreshes: number;
  balanceWei: string | undefined;
  block: number | undefined;
  evidence: string | undefined;
  domains: string[];
  ageSeconds: number | undefined;
  balanceText: string;
  statusText: string;
}

/** One completed refresh, as the page recorded it in `window.accountHistory`. */
export interface PageRefresh {
  refresh: number;
  at: number;
  state: PageState["state"];
  balanceWei: string | undefined;
  block: number | undefined;
  text: string;
}

export async function startClientPageServer(): Promise<ClientPageServer> {
  const dir = await mkdtemp(join(tmpdir(), "multihome-client-page-"));
  try {
    const bundle = await buildBrowserBundle(join(dir, BROWSER_BUNDLE_FILE));
    const files = new Map<string, { body: Buffer; type: string }>([
      ["/", { body: await readFile(join(PAGE_DIR, "index.html")), type: "text/html; charset=utf-8" }],
      ["/page.js", { body: await readFile(join(PAGE_DIR, "page.js")), type: "text/javascript; charset=utf-8" }],
      [
        `/${BROWSER_BUNDLE_FILE}`,
        { body: await readFile(join(dir, BROWSER_BUNDLE_FILE)), type: "text/javascript; charset=utf-8" },
      ],
    ]);
    // What the bundle imports only when needed (the EVM) sits beside it, as a page's server would serve it.
    for (const chunk of bundle.chunks)
      files.set(`/${chunk.file}`, {
        body: await readFile(join(dir, chunk.file)),
        type: "text/javascript; charset=utf-8",
      });
    const sockets = new Set<Socket>();
    const server: Server = createServer((req, res) => {
      const file = req.method === "GET" ? files.get(new URL(req.url ?? "/", "http://page").pathname) : undefined;
      if (!file) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found");
        return;
      }
      res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" }).end(file.body);
    });
    server.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("client page: no TCP address after listen");
    const origin = `http://127.0.0.1:${address.port}`;
    let closing: Promise<void> | undefined;
    return {
      origin,
      bundle,
      pageUrl({ chainId, address: account, upstreams }) {
        const fragment = new URLSearchParams({
          chainId: String(chainId),
          address: account,
          upstreams: JSON.stringify(upstreams),
        });
        return `${origin}/#${fragment}`;
      },
      close() {
        closing ??= (async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          for (const socket of sockets) socket.destroy();
          await closed;
          await rm(dir, { recursive: true, force: true });
        })();
        return closing;
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The page's state as its data attributes and text say it. (Expressions are strings: they run in the page, and this
 * project's TypeScript has no DOM library.)
 */
export async function readPageState(page: Page): Promise<PageState> {
  return (await page.evaluate(`(() => {
    const d = document.getElementById("account").dataset;
    return {
      state: d.state,
      refreshes: Number(d.refreshes),
      balanceWei: d.balanceWei,
      block: d.block === undefined ? undefined : Number(d.block),
      evidence: d.evidence,
      domains: d.domains === undefined ? [] : d.domains.split(","),
      ageSeconds: d.ageSeconds === undefined ? undefined : Number(d.ageSeconds),
      balanceText: document.getElementById("balance").textContent,
      statusText: document.getElementById("status").textContent,
    };
  })()`)) as PageState;
}

/** Every refresh the page completed so far, oldest first. */
export async function readPageHistory(page: Page): Promise<PageRefresh[]> {
  return (await page.evaluate("window.accountHistory.slice()")) as PageRefresh[];
}

/** The page's visible text, as laid out. */
export async function readPageText(page: Page): Promise<string> {
  return (await page.evaluate("document.body.innerText")) as string;
}

/** Resolves once `#account` satisfies `condition`, a JavaScript expression over `d` (its dataset). */
export async function waitForAccount(page: Page, condition: string, timeoutMs: number): Promise<void> {
  await page.waitForFunction(
    `(() => { const d = document.getElementById("account").dataset; return ${condition}; })()`,
    undefined,
    {
      timeout: timeoutMs,
      polling: 50,
    },
  );
}
