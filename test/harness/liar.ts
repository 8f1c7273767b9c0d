/**
 * One upstream made a liar through its fault proxy, for tests of the verifier: it rewrites the answers it gives, while
 * the honest upstreams answer a request for the same methods with an internal error until the liar has answered that
 * very request (the router's choice, which weighs the liar's earlier lies, cannot keep it out of a test) or, for quorum
 * methods (where two refusing witnesses would spend the call's attempts), answer `slow`ly.
 */
import type { TestNetwork } from "./network.ts";

/** How much slower the honest upstreams answer, where they are made slow rather than refusing. */
export const HONEST_DELAY_MS = 150;

type Rewrite = (request: { method: string; params: unknown }, result: unknown) => unknown;

/** Sets the faults; they are cleared after the test. Returns how many answers the liar has rewritten so far. */
export async function liarRewrites(
  net: TestNetwork,
  liar: string,
  t: { after(fn: () => Promise<void>): void },
  methods: string[],
  fn: Rewrite,
  honest: "refuse-until-the-liar-answered" | "slow" = "refuse-until-the-liar-answered",
): Promise<() => number> {
  let lies = 0;
  const answeredByLiar = new Set<string>();
  const key = (request: { method: string; params: unknown }) => `${request.method}${JSON.stringify(request.params)}`;
  await net.proxies.get(liar)!.setFault({
    fault: {
      kind: "rewrite",
      fn: (request, response) => {
        answeredByLiar.add(key(request));
        const result = (response as { result?: unknown }).result;
        if (result === undefined) return response;
        const lie = fn(request, result);
        if (lie === result) return response;
        lies++;
        return { ...(response as object), result: lie };
      },
    },
    methods,
  });
  const notYet = { code: -32603, message: "internal error" };
  for (const [id, proxy] of net.proxies) {
    if (id === liar) continue;
    await proxy.setFault({
      fault:
        honest === "slow"
          ? { kind: "latency", ms: HONEST_DELAY_MS }
          : {
              kind: "rewrite",
              fn: (request, response) =>
                answeredByLiar.has(key(request))
                  ? response
                  : { jsonrpc: "2.0", id: (response as { id?: unknown }).id, error: notYet },
            },
      methods,
    });
  }
  t.after(async () => {
    for (const p of net.proxies.values()) await p.clearFault();
  });
  return () => lies;
}

/** Disputes the gateway logged against `upstream` so far. */
export const disputesOf = (net: TestNetwork, upstream: string) =>
  net.logs.filter((l) => l.includes('"answer failed verification"') && l.includes(`"upstream":"${upstream}"`)).length;
