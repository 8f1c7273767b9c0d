/** Where the time went in a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function and by source. */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface CostLine {
  name: string;
  /** Self time, ms. */
  ms: number;
  /** Share of all sampled time, 0..1. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of sampled time the thread was idle (waiting for I/O). */
  idleShare: number;
  byFunction: CostLine[];
  bySource: CostLine[];
}

/** A short name for where a function lives: a repo path, a package, or Node's internals. */
export function sourceOf(url: string, root: string): string {
  if (url === "") return "(native/VM)";
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const path = url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = path.slice(nm + "/node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? path);
  }
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
}

function top(map: Map<string, number>, totalMs: number, n: number): CostLine[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ms]) => ({ name, ms, share: ms / totalMs }));
}

export function summarizeProfile(file: string, root: string, n = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  let totalUs = 0;
  let idleUs = 0;
  const byFunction = new Map<string, number>();
  const bySource = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const source = sourceOf(url, root);
    const name = `${functionName || "(anonymous)"} ${source}${url ? `:${lineNumber + 1}` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us / 1000);
    bySource.set(source, (bySource.get(source) ?? 0) + us / 1000);
  }
  const totalMs = totalUs / 1000;
  return {
    totalMs,
    idleShare: totalUs ? idleUs / totalUs : 0,
    byFunction: top(byFunction, totalMs, n),
    bySource: top(bySource, totalMs, n),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(6);
  const lines = [
    `sampled ${(s.totalMs / 1000).toFixed(1)} s, idle ${pct(s.idleShare).trim()}`,
    "self time by source:",
    ...s.bySource.map((c) => `  ${pct(c.share)}  ${c.name}`),
    "self time by function:",
    ...s.byFunction.map((c) => `  ${pct(c.share)}  ${c.name}`),
  ];
  return `${lines.join("\n")}\n`;
}
