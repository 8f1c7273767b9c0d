import assert from "node:assert/strict";
import { test } from "node:test";
import { MultihomeError } from "../../core/errors.ts";
import type { Upstream } from "../../upstream/upstream.ts";
import type { CallPlan, ExecuteResult } from "./execute.ts";
import { executeQuorum } from "./quorum.ts";

const upstream = (id: string, n: number) =>
  ({ id, domain: { operator: `op-${n}`, hosting: `cloud-${n}`, region: `r-${n}` } }) as unknown as Upstream;

/**
 * A fake `execute`: tries the upstreams in order, skipping the ones the plan avoids or this call already tried, and
 * asks `answer` for each one's outcome (undefined: the attempt died), up to `maxAttempts` attempts.
 */
function runner(upstreams: Upstream[], answer: (u: Upstream) => string | undefined, maxAttempts = 4) {
  const calls: string[] = [];
  const run = async (plan: CallPlan): Promise<ExecuteResult> => {
    const tried = new Set<Upstream>();
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const u = upstreams.find((c) => !tried.has(c) && !plan.avoid?.(c));
      if (!u) break;
      tried.add(u);
      plan.onLaunch?.(u);
      calls.push(u.id);
      const result = answer(u);
      if (result !== undefined) return { ok: true, result, upstream: u.id };
    }
    return { ok: false, error: new MultihomeError("unavailable", "no upstream could answer") };
  };
  return { run, calls };
}

const plan: CallPlan = { method: "eth_call", params: [], heavy: false, minBlock: undefined };

test("a witness whose attempt died may be asked again: two flaky domains and one sound one still reach a quorum", async () => {
  const [a, b, c] = [upstream("a", 1), upstream("b", 2), upstream("c", 3)];
  const died = new Set<string>();
  // a answers; b and c each die on their first attempt and answer on the next.
  const { run, calls } = runner([a, b, c], (u) => {
    if (u === a) return "0x1";
    if (!died.has(u.id)) {
      died.add(u.id);
      return undefined;
    }
    return "0x1";
  });
  const result = await executeQuorum(run, plan, 2, () => assert.fail("no dispute"));
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.deepEqual(result.ok && result.witnesses.map((w) => w.id), ["a", "b"]);
  assert.deepEqual(calls, ["a", "b", "c", "b"]);
});

test("an upstream that answered stays a witness: it is never asked twice for one quorum", async () => {
  const [a, b] = [upstream("a", 1), upstream("b", 2)];
  const { run, calls } = runner([a, b], (u) => (u === a ? "0x1" : "0x2"));
  const disputed: string[] = [];
  const result = await executeQuorum(run, plan, 2, (u) => disputed.push(u.id));
  assert.equal(result.ok, false);
  assert.deepEqual(calls, ["a", "b"]);
});
