/**
 * The varied traffic of `npm run bench:soak`: rounds of distinct reads, as a day of wallets and indexers would send
 * them — `eth_call`s to ever new accounts with ever new data, balances of many accounts, log queries, receipts — each
 * with the only answer that is correct for it. Every round's bodies are new (none repeats an earlier round's), so
 * whatever Multihome keeps per distinct request grows round after round unless something bounds it.
 */
import { type BodyCase, freshAddress } from "./bodies.ts";

/** What the soak's rounds read, all fixed on the bench nodes (`bench/nodes.ts`). */
export interface SoakFixture {
  /** The block every state read is pinned to (final: below the head by the finality depth). */
  block: string;
  /** The block range the log queries cover. */
  logsFrom: string;
  logsTo: string;
  /** Transactions whose receipts are asked for. */
  transactions: readonly string[];
}

/** Out of every 10 bodies of a round: eth_call, eth_getBalance, eth_getLogs, eth_getTransactionReceipt. */
export const SOAK_MIX = { call: 5, balance: 3, logs: 1, receipt: 1 } as const;
const MIX_CYCLE = SOAK_MIX.call + SOAK_MIX.balance + SOAK_MIX.logs + SOAK_MIX.receipt;

function kindAt(i: number): keyof typeof SOAK_MIX {
  const slot = i % MIX_CYCLE;
  if (slot < SOAK_MIX.call) return "call";
  if (slot < SOAK_MIX.call + SOAK_MIX.balance) return "balance";
  if (slot < SOAK_MIX.call + SOAK_MIX.balance + SOAK_MIX.logs) return "logs";
  return "receipt";
}

/** `data` of the `n`th distinct eth_call: a 4-byte selector and one word holding `n`. */
export function callData(n: number): string {
  return `0x70a08231${n.toString(16).padStart(64, "0")}`;
}

/**
 * The `count` bodies of round `round`: distinct from every other round's (their accounts and call data are numbered
 * from `round * count`), ids 1…count in order (the form `bodiesFileText` wants).
 */
export function soakRoundBodies(fixture: SoakFixture, round: number, count: number): BodyCase[] {
  if (!Number.isSafeInteger(round) || round < 0) throw new RangeError(`round must be a natural number, got ${round}`);
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  if (fixture.transactions.length === 0) throw new Error("the soak needs transactions to read receipts of");
  const cases: BodyCase[] = [];
  for (let i = 0; i < count; i++) {
    const n = round * count + i;
    const id = i + 1;
    const body = (method: string, params: unknown[]) => JSON.stringify({ jsonrpc: "2.0", id, method, params });
    switch (kindAt(i)) {
      case "call":
        // No code at a never-used address: every call returns empty data.
        cases.push({
          id,
          body: body("eth_call", [{ to: freshAddress(n), data: callData(n) }, fixture.block]),
          expect: '"result":"0x"',
        });
        break;
      case "balance":
        cases.push({ id, body: body("eth_getBalance", [freshAddress(n), fixture.block]), expect: '"result":"0x0"' });
        break;
      case "logs":
        cases.push({
          id,
          body: body("eth_getLogs", [
            { fromBlock: fixture.logsFrom, toBlock: fixture.logsTo, address: freshAddress(n) },
          ]),
          expect: '"result":[]',
        });
        break;
      case "receipt": {
        const tx = fixture.transactions[n % fixture.transactions.length]!.toLowerCase();
        cases.push({ id, body: body("eth_getTransactionReceipt", [tx]), expect: `"transactionHash":"${tx}"` });
        break;
      }
    }
  }
  return cases;
}
