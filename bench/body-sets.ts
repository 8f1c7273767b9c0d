/**
 * The sets of distinct bodies `npm run bench` sends (`bench/bodies.ts` builds them): read at one block, each
 * body's expected answer checked against the node before its file is written for wrk.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEV_ACCOUNTS } from "../src/devnet/accounts.ts";
import { type BodyCase, balanceBodies, bodiesFileText, type FundedAccount, sampleCases, wrongCases } from "./bodies.ts";
import { rpc } from "./nodes.ts";
import { int } from "./run-context.ts";

/** Distinct bodies of the routing scenarios without sharing: far more than the connections, so none in flight match. */
export const ROUTING_BODIES = 1_024;
/** Deadline of one batch checking expected answers against the node, ms. */
const CHECK_TIMEOUT_MS = 30_000;
/** The block every distinct body reads at: block 1, mined and never changed. */
export const BODIES_BLOCK = "0x1";

/** Distinct bodies, each with its own correct answer, and the file wrk reads them from. */
export interface BodySet {
  cases: BodyCase[];
  file: string;
  /** What the page says the bodies are. */
  description: string;
}

/** Writes the bodies' file once their expected answers are the node's (`sampleStep`: only every so many, and the funded). */
export async function writeCheckedBodies(
  file: string,
  cases: BodyCase[],
  nodeUrl: string,
  sampleStep = 1,
): Promise<void> {
  const checked = sampleStep === 1 ? cases : sampleCases(cases, sampleStep);
  const funded = cases.filter((c) => !c.expect.endsWith('"0x0"') && !checked.includes(c));
  const wrong = await wrongCases([...checked, ...funded], async (batch) => {
    const res = await fetch(nodeUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: batch,
      signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
    });
    return res.text();
  });
  if (wrong.length > 0) throw new Error(`the node does not give the expected answers: ${wrong.slice(0, 3).join("; ")}`);
  writeFileSync(file, bodiesFileText(cases));
}

/** The dev accounts with their balances at {@link BODIES_BLOCK}, as the node gives them. */
export async function fundedAccounts(nodeUrl: string): Promise<FundedAccount[]> {
  const funded: FundedAccount[] = [];
  for (const a of DEV_ACCOUNTS) {
    const balance = await rpc(nodeUrl, "eth_getBalance", [a.address, BODIES_BLOCK]);
    if (typeof balance !== "string") throw new Error(`unexpected balance ${balance} of ${a.address}`);
    funded.push({ address: a.address, balance });
  }
  return funded;
}

/** The routing scenarios' {@link ROUTING_BODIES} distinct bodies, checked against the node and written to `bodiesDir`. */
export async function routingBodies(bodiesDir: string, nodeUrl: string, funded: FundedAccount[]): Promise<BodySet> {
  const routingCases = balanceBodies({ count: ROUTING_BODIES, block: BODIES_BLOCK, funded });
  const routing: BodySet = {
    cases: routingCases,
    file: join(bodiesDir, "routing.txt"),
    description:
      `\`eth_getBalance\` at block 1 of ${int(ROUTING_BODIES)} distinct addresses (${funded.length} funded dev ` +
      `accounts and ${int(ROUTING_BODIES - funded.length)} never-used ones, whose correct answer is "0x0"), each ` +
      "answer checked against its own body's",
  };
  await writeCheckedBodies(routing.file, routingCases, nodeUrl);
  return routing;
}
