/**
 * A checked read workload: every answer is compared with the ground truth taken straight from the nodes, and the
 * block each answer reflects must never be older than one the client had already been shown before it asked.
 */
import type { TestNetwork } from "./network.ts";

export interface ReadChecker {
  request: (i: number) => Promise<{ ok: boolean; detail?: string }>;
  wrong: number;
  headWentBackwards: number;
}

/** Balances of the funded dev accounts, read directly from one node (they do not change unless a test sends txs). */
export async function truthBalances(net: TestNetwork): Promise<Map<string, string>> {
  const node = net.devnet.nodes[0]!;
  const truth = new Map<string, string>();
  for (const a of net.devnet.accounts.slice(0, 5)) {
    const res = await fetch(node.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBalance", params: [a.address, "latest"] }),
    });
    truth.set(a.address, ((await res.json()) as { result: string }).result);
  }
  return truth;
}

export function balanceReader(net: TestNetwork, truth: Map<string, string>): ReadChecker {
  const addresses = [...truth.keys()];
  let shownHead = 0;
  const checker: ReadChecker = {
    wrong: 0,
    headWentBackwards: 0,
    async request(i) {
      const address = addresses[i % addresses.length]!;
      const headWhenAsked = shownHead;
      const res = await fetch(net.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: i, method: "eth_getBalance", params: [address, "latest"] }),
      });
      const text = await res.text();
      if (res.status !== 200) return { ok: false, detail: `HTTP ${res.status}: ${text.slice(0, 120)}` };
      let body: { result?: string; error?: { code: number; message: string; data?: unknown } };
      try {
        body = JSON.parse(text);
      } catch {
        return { ok: false, detail: `unparseable: ${text.slice(0, 80)}` };
      }
      if (body.error) {
        return {
          ok: false,
          detail: `${body.error.code} ${body.error.message} ${JSON.stringify(body.error.data ?? {})}`,
        };
      }
      if (body.result !== truth.get(address)) {
        checker.wrong++;
        return { ok: false, detail: `wrong balance ${body.result}` };
      }
      // Without the header every answer would look as new as the last: "never backwards" would hold of nothing.
      const header = res.headers.get("multihome-block");
      const block = Number(header);
      if (header === null || !Number.isSafeInteger(block) || block < 1) {
        return { ok: false, detail: `no block in multihome-block: ${header}` };
      }
      if (block < headWhenAsked) {
        checker.headWentBackwards++;
        return { ok: false, detail: `head went backwards ${headWhenAsked} → ${block}` };
      }
      shownHead = Math.max(shownHead, block);
      return { ok: true };
    },
  };
  return checker;
}

/**
 * Makes one node lie (FAULTS A13): its state says `address` holds nothing, then a block is mined, so the liar's own
 * block is self-consistent and only its domain vouches for it.
 */
export async function makeBalanceLiar(net: TestNetwork, nodeId: string, address: string): Promise<void> {
  const index = net.devnet.nodes.findIndex((n) => n.id === nodeId);
  if (index < 0) throw new Error(`no devnet node ${nodeId}`);
  await net.direct("anvil_setBalance", [address, "0x0"], index);
  await net.devnet.mine();
}
