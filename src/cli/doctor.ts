/**
 * `multihome doctor --config <file> [--json] [--timeout <ms>]`: prints what `runDoctor` found. Human output: one
 * progress line per upstream on stderr as its probe finishes, then a table, the concentration, the findings and the
 * YAML to paste for inferred domains on stdout. `--json`: the report alone on stdout.
 * Exit codes: 0 no critical finding, 1 critical findings, 2 bad usage or config.
 */
import { stringify as toYaml } from "yaml";
import { type DoctorReport, runDoctor, type UpstreamProbe } from "../app/doctor.ts";
import { DOCTOR_CHECK_TIMEOUT_MS_DEFAULT } from "../config/defaults.ts";
import { loadConfigFile } from "../config/load.ts";
import type { Share } from "../core/domains/concentration.ts";

/** Largest `--timeout`, in milliseconds. */
export const DOCTOR_MAX_TIMEOUT_MS = 600_000;

export interface DoctorCommandOptions {
  config: string;
  json?: boolean;
  timeout?: string;
}

export interface DoctorCommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: DoctorCommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the command; resolves with the exit code. A bad config throws `ConfigError` (the caller exits 2). */
export async function runDoctorCommand(
  options: DoctorCommandOptions,
  io: DoctorCommandIo = processIo,
): Promise<number> {
  const timeoutText = options.timeout ?? String(DOCTOR_CHECK_TIMEOUT_MS_DEFAULT);
  const timeoutMs = Number(timeoutText);
  if (!/^\d+$/.test(timeoutText) || timeoutMs < 1 || timeoutMs > DOCTOR_MAX_TIMEOUT_MS) {
    io.stderr(
      `multihome doctor: --timeout must be a whole number of milliseconds from 1 to ${DOCTOR_MAX_TIMEOUT_MS}\n`,
    );
    return 2;
  }
  const config = await loadConfigFile(options.config, process.env, { requireDomains: false });
  const count = [...config.chains, ...config.solana].reduce((n, c) => n + c.upstreams.length, 0);
  if (!options.json) io.stderr(`Probing ${count} upstream${count === 1 ? "" : "s"}…\n`);
  const report = await runDoctor(config, {
    timeoutMs,
    ...(options.json ? {} : { onProbe: (probe: UpstreamProbe) => io.stderr(`${progressLine(probe)}\n`) }),
  });
  io.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.critical ? 1 : 0;
}

const yesNo = (value: boolean | null) => (value === null ? "?" : value ? "yes" : "no");

export function progressLine(p: UpstreamProbe): string {
  const ms = `(${p.elapsedMs} ms)`;
  if (!p.reachable) return `  ✗ ${p.id}: unreachable: ${p.error ?? "no answer"} ${ms}`;
  if (p.chainIdMatches === false) {
    return `  ✗ ${p.id}: serves chain ${p.reportedChainId ?? "?"}, not ${p.chainId} ${ms}`;
  }
  return (
    `  ✓ ${p.id}: chain ${p.chainId}, head ${p.head ?? "?"}, proof ${yesNo(p.proof)}, ${p.archive}, ` +
    `websocket ${yesNo(p.websocket)} ${ms}`
  );
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => `  ${r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ")}`.trimEnd()).join("\n");
}

function domainCell(p: UpstreamProbe): string {
  if (p.domain === null) return "unknown";
  const { operator, hosting, region } = p.domain;
  return `${operator} / ${hosting} / ${region}${p.domainSource === "inferred" ? " (inferred)" : ""}`;
}

function chainCell(p: UpstreamProbe): string {
  if (p.chainIdMatches === null) return "-";
  return p.chainIdMatches ? "ok" : `wrong (${p.reportedChainId ?? "?"})`;
}

function shares(list: Share[]): string {
  return list.map((s) => `${s.name} ${Math.round(s.share * 100)}%`).join(", ") || "-";
}

export function formatReport(report: DoctorReport): string {
  const out: string[] = [];
  for (const { chainId, concentration } of report.chains) {
    const probes = report.upstreams.filter((p) => p.chainId === chainId);
    out.push(`Chain ${chainId}`);
    out.push(
      table([
        [
          "UPSTREAM",
          "REACHABLE",
          "CHAIN",
          "HEAD",
          "LAG",
          "PROOF",
          "ARCHIVE",
          "WEBSOCKET",
          "DOMAIN (operator / hosting / region)",
        ],
        ...probes.map((p) => [
          p.id,
          p.reachable ? "yes" : "no",
          chainCell(p),
          p.head === null ? "-" : String(p.head),
          p.lagBlocks === null ? "-" : String(p.lagBlocks),
          yesNo(p.proof),
          p.archive,
          yesNo(p.websocket),
          domainCell(p),
        ]),
      ]),
    );
    out.push("");
    out.push("  Concentration (by upstream count, HHI 0–10000):");
    out.push(
      table([
        ["hosting", shares(concentration.byHosting), `HHI ${concentration.hhi.hosting}`],
        ["operator", shares(concentration.byOperator), `HHI ${concentration.hhi.operator}`],
        ["region", shares(concentration.byRegion), `HHI ${concentration.hhi.region}`],
      ]).replace(/^ {2}/gm, "    "),
    );
    out.push("");
  }
  if (report.solana.length > 0) {
    for (const name of new Set(report.solana.map((p) => p.cluster))) {
      out.push(`Solana ${name}`);
      out.push(
        table([
          ["UPSTREAM", "REACHABLE", "GENESIS", "PROCESSED", "CONFIRMED", "FINALIZED", "LAG", "MINCONTEXTSLOT"],
          ...report.solana
            .filter((p) => p.cluster === name)
            .map((p) => [
              p.id,
              p.reachable ? "yes" : "no",
              p.genesisMatches === null ? "-" : p.genesisMatches ? "ok" : "wrong",
              String(p.slots.processed ?? "-"),
              String(p.slots.confirmed ?? "-"),
              String(p.slots.finalized ?? "-"),
              p.lagSlots === null ? "-" : String(p.lagSlots),
              yesNo(p.minContextSlot),
            ]),
        ]),
      );
      out.push("");
    }
  }
  out.push("Findings:");
  if (report.findings.length === 0) out.push("  none: no critical finding, no warning.");
  for (const f of report.findings)
    out.push(`  ${f.severity === "critical" ? "CRITICAL" : "warning "}  ${f.code}: ${f.message}`);
  out.push("");
  const yaml = inferredYaml(report);
  if (yaml !== undefined) {
    out.push("Inferred failure domains: review them (a guessed operator, an unknown region), then paste each");
    out.push("`domain` under its upstream in the config (the gateway requires one on every upstream). A provider");
    out.push("shortcut is shown with its `provider` and the id it was given: the provider's name, numbered in order");
    out.push("when a chain has several of its entries:");
    out.push("");
    out.push(yaml.trimEnd().replace(/^/gm, "  "));
    out.push("");
    for (const p of report.upstreams.filter((u) => u.domainSource === "inferred")) {
      out.push(`  # ${p.id}: ${p.domainNote}`);
    }
    out.push("");
  }
  out.push(
    report.critical
      ? "Result: critical findings (exit code 1)."
      : `Result: no critical finding${report.findings.length > 0 ? ", warnings above" : ""} (exit code 0).`,
  );
  return `${out.join("\n")}\n`;
}

/**
 * The `chains:` block with every inferred domain, in the config's own shape; undefined when none was inferred. A
 * provider shortcut is shown as its entry (`provider`, the id it was given, `domain`), never with its key.
 */
export function inferredYaml(report: DoctorReport): string | undefined {
  const chains = report.chains.flatMap(({ chainId }) => {
    const upstreams = report.upstreams
      .filter((p) => p.chainId === chainId && p.domainSource === "inferred" && p.domain !== null)
      .map((p) =>
        p.provider === null ? { id: p.id, domain: p.domain } : { provider: p.provider, id: p.id, domain: p.domain },
      );
    return upstreams.length > 0 ? [{ chainId, upstreams }] : [];
  });
  return chains.length > 0 ? toYaml({ chains }) : undefined;
}
