/**
 * `multihome doctor` on provider shortcuts: real anvil nodes behind vendor templates pointed at them, a shortcut
 * without a domain gets one inferred (its vendor as operator), and what is printed to paste loads for the gateway.
 * Every key is the canary secret; no report or printout may contain it.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { CANARY } from "../../test/harness/canary-guard.ts";
import { formatReport } from "../cli/doctor.ts";
import { validateConfig } from "../config/load.ts";
import { type Devnet, startDevnet } from "../devnet/devnet.ts";
import { runDoctor } from "./doctor.ts";

let devnet: Devnet;

before(async () => {
  devnet = await startDevnet({
    nodes: [
      { id: "a", domain: { operator: "a", hosting: "h1", region: "r1" } },
      { id: "b", domain: { operator: "b", hosting: "h2", region: "r2" } },
    ],
  });
  await devnet.mine(1);
});

after(async () => {
  await devnet?.stop();
});

/** The config as written: two vendors whose templates point at the devnet's nodes (anvil answers at `/` only). */
function written() {
  const [a, b] = devnet.nodes;
  return {
    providers: { alchemy: { url: `${a!.url}/?apikey={key}` }, drpc: { url: `${b!.url}/?dkey={key}` } },
    chains: [
      {
        chainId: devnet.chainId,
        upstreams: [
          { provider: "alchemy", key: CANARY } as Record<string, unknown>,
          { provider: "drpc", key: CANARY, domain: { hosting: "h2", region: "r2" } },
        ],
      },
    ],
  };
}

test("a shortcut without a domain: probed at its vendor's URL, its domain inferred with the vendor as operator", async () => {
  const config = validateConfig(written(), {}, { requireDomains: false });
  const report = await runDoctor(config, { timeoutMs: 5_000 });
  const [alchemy, drpc] = report.upstreams;
  assert.equal(alchemy?.id, "alchemy");
  assert.equal(alchemy?.provider, "alchemy");
  assert.equal(alchemy?.reachable, true, alchemy?.error ?? "");
  assert.equal(alchemy?.chainIdMatches, true);
  assert.equal(alchemy?.proof, true);
  assert.equal(alchemy?.domainSource, "inferred");
  assert.deepEqual(alchemy?.domain, { operator: "alchemy", hosting: "self", region: "local" });
  assert.equal(alchemy?.domainNote, "loopback address; operator: the provider (alchemy)");
  assert.equal(drpc?.provider, "drpc");
  assert.equal(drpc?.domainSource, "declared");
  assert.deepEqual(drpc?.domain, { operator: "drpc", hosting: "h2", region: "r2" });
  const json = JSON.stringify(report);
  assert.ok(!json.includes(CANARY), "the report holds no key");

  const printed = formatReport(report);
  assert.ok(!printed.includes(CANARY), "the printout holds no key");
  assert.match(printed, /alchemy +yes +ok .* alchemy \/ self \/ local \(inferred\)/);
  const yaml = printed.slice(printed.indexOf("  chains:"));
  assert.match(
    yaml,
    new RegExp(
      [
        "  chains:",
        `    - chainId: ${devnet.chainId}`,
        "      upstreams:",
        "        - provider: alchemy",
        "          id: alchemy",
        "          domain:",
        "            operator: alchemy",
        "            hosting: self",
        "            region: local",
      ].join("\n"),
    ),
  );
  assert.match(printed, /# alchemy: loopback address; operator: the provider \(alchemy\)/);

  // Pasted under its entry, the printed domain makes the config one the gateway loads.
  const block = parseYaml(yaml.slice(0, yaml.indexOf("\n\n"))) as {
    chains: { upstreams: { provider: string; id: string; domain: Record<string, string> }[] }[];
  };
  const raw = written();
  raw.chains[0]!.upstreams[0]!.domain = block.chains[0]!.upstreams[0]!.domain;
  const pasted = validateConfig(raw, {});
  assert.deepEqual(pasted.chains[0]!.upstreams[0]!.domain, { operator: "alchemy", hosting: "self", region: "local" });
});
