/**
 * Logs: pino, JSON lines. Upstreams are named by their configured id, never by URL; as a second line of defence,
 * every configured URL (and its secret parts) is redacted from every log line before it is written.
 */
import { pino } from "pino";
import type { Logger } from "../core/ports.ts";
import { createRedactor } from "../core/security/redact.ts";

export interface LoggerOptions {
  level: string;
  /** Strings that must never appear in a log line (upstream URLs). */
  secrets?: string[];
  /** Where lines go; default stdout. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const redact = createRedactor(options.secrets ?? []);
  const out = options.destination ?? process.stdout;
  const stream = {
    write(line: string) {
      out.write(redact(line));
    },
  };
  return pino(
    {
      level: options.level,
      base: { service: "multihome" },
      redact: { paths: ["url", "*.url", "headers.authorization", "token", "*.token"], censor: "[redacted]" },
    },
    stream,
  ) as unknown as Logger;
}
