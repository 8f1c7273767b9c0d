/**
 * A real browser for the tests: Debian's Chromium driven by playwright-core (which never downloads a browser of its
 * own). When the binary is missing, a process running as root installs the Debian package, as CI does; any other
 * process fails with the exact command to run, so a missing browser can never pass as a skipped test.
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { type BrowserContext, chromium } from "playwright-core";

const CHROMIUM_PATH = "/usr/bin/chromium";
const CHROMIUM_INSTALL_COMMAND = "apt-get update && apt-get install -y chromium";
/** Installing the package downloads about 100 MB: bounded, but generously, ms. */
const INSTALL_TIMEOUT_MS = 600_000;
/** Output of the install kept for its error message, bytes. */
const INSTALL_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** Starting the browser, ms. */
const LAUNCH_TIMEOUT_MS = 30_000;

/** No sandbox (containers lack the namespaces), and nothing that reaches beyond the loopback. */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Chromium executable; installs the Debian package first when missing and running as root. */
async function findChromium(): Promise<string> {
  if (isExecutable(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH}; install it with: sudo sh -c '${CHROMIUM_INSTALL_COMMAND}'`,
    );
  }
  await new Promise<void>((resolve, reject) => {
    execFile(
      "sh",
      ["-c", CHROMIUM_INSTALL_COMMAND],
      {
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        timeout: INSTALL_TIMEOUT_MS,
        maxBuffer: INSTALL_MAX_OUTPUT_BYTES,
      },
      (error, _stdout, stderr) => {
        if (error) reject(new Error(`${CHROMIUM_INSTALL_COMMAND} failed: ${error.message}\n${stderr.slice(-2_000)}`));
        else resolve();
      },
    );
  });
  if (!isExecutable(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_INSTALL_COMMAND} finished but ${CHROMIUM_PATH} is still missing`);
  }
  return CHROMIUM_PATH;
}

export interface RunningChromium {
  /** A fresh browser context: no cookies or storage from any earlier run. */
  context: BrowserContext;
  close(): Promise<void>;
}

export async function startChromium(): Promise<RunningChromium> {
  const executablePath = await findChromium();
  const browser = await chromium.launch({
    executablePath,
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    return { context, close: () => browser.close() };
  } catch (error) {
    await browser.close();
    throw error;
  }
}
