import { writeFileSync } from "node:fs";
import { startBenchNodes } from "./nodes.ts";
import { balanceBodies, bodiesFileText } from "./bodies.ts";
import { startServerProcess } from "./server-process.ts";
import { runWrk } from "./wrk.ts";
const nodes = await startBenchNodes();
const alpha = nodes.devnet.nodes.find((n) => n.id === "alpha")!;
const cases = balanceBodies({ count: 1024, block: "0x1" });
writeFileSync("/tmp/wb/routing.txt", bodiesFileText(cases));
const conns = Number(process.env.C ?? 50);
async function measure(name: string, url: string) {
  await runWrk({ url, connections: conns, durationS: 2, bodiesFile: "/tmp/wb/routing.txt" });
  const r = await runWrk({ url, connections: conns, durationS: 8, bodiesFile: "/tmp/wb/routing.txt" });
  console.log(name, Math.round(r.rps), "wrong", r.wrong, "p99", r.p99Us);
}
try {
  const bare = await startServerProcess({ kind: "bare", target: alpha.url, connections: 64 });
  if (process.env.PROF === "1") {
    await bare.command({ type: "cpuProfile", action: "start" });
    await measure("bare", bare.urls[0]!);
    await bare.command({ type: "cpuProfile", action: "stop", file: "/tmp/wb/bare.cpuprofile" });
    const { summarizeProfile, formatProfile } = await import("./profile-summary.ts");
    console.log(formatProfile(summarizeProfile("/tmp/wb/bare.cpuprofile", process.cwd(), 12)));
  } else await measure("bare", bare.urls[0]!);
  await bare.stop();
  for (const workers of (process.env.W ?? "1,2").split(",").map(Number)) {
    const s = await startServerProcess({ kind: "multihome", chainId: nodes.devnet.chainId, upstreams: [{ id: alpha.id, url: alpha.url, domain: alpha.domain }], balances: "single", cache: process.env.CACHE === "1", workers });
    if (process.env.PROF === "1") {
      await runWrk({ url: s.urls[0]!, connections: conns, durationS: 2, bodiesFile: "/tmp/wb/routing.txt" });
      await s.command({ type: "cpuProfile", action: "start" });
      await measure(`mh-${workers}`, s.urls[0]!);
      await s.command({ type: "cpuProfile", action: "stop", file: "/tmp/wb/mh.cpuprofile" });
      const { summarizeProfile, formatProfile } = await import("./profile-summary.ts");
      console.log(formatProfile(summarizeProfile("/tmp/wb/mh.cpuprofile", process.cwd(), 40)));
    } else await measure(`mh-${workers}`, s.urls[0]!);
    await s.stop();
  }
} finally {
  await nodes.stop();
}
