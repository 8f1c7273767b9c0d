/**
 * Sets of distinct JSON-RPC bodies for wrk to send in turn (`bench/cycle.lua`), each with the only answer that is
 * correct for it. One body repeated lets Multihome share one upstream call among identical concurrent requests;
 * a set larger than the connection count has no two requests in flight alike, so nothing is shared and, with the
 * cache off, every request is routed on its own.
 */

/** One body of a set: its JSON-RPC id is its 1-based place in the set, which is how an answer finds its case. */
export interface BodyCase {
  id: number;
  body: string;
  /** A substring of the only correct answer (the exact `"result":…` member). */
  expect: string;
}

export interface FundedAccount {
  address: string;
  /** Its balance at the set's block, as a JSON-RPC quantity. */
  balance: string;
}

export interface BalanceBodiesOptions {
  /** Bodies in the set (funded accounts included). */
  count: number;
  /** The block every balance is read at (a quantity such as "0x1"). */
  block: string;
  /** Accounts with a balance, spread evenly through the set; every other body reads a never-used address. */
  funded?: readonly FundedAccount[];
}

/** "multihome" in hex: the never-used addresses of a set start with it, so none can be a dev or contract account. */
const FRESH_PREFIX = "6d756c7469686f6d65";
const ADDRESS_HEX_DIGITS = 40;
/** Hex digits of the index at the end of a fresh address. */
const INDEX_HEX_DIGITS = 8;
const MAX_FRESH_INDEX = 16 ** INDEX_HEX_DIGITS - 1;

/** The `index`th never-used address: nobody holds its key, so its balance is 0 at every block. */
export function freshAddress(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0 || index > MAX_FRESH_INDEX) {
    throw new RangeError(`fresh address index must be an integer in 0..${MAX_FRESH_INDEX}, got ${index}`);
  }
  const padding = "0".repeat(ADDRESS_HEX_DIGITS - FRESH_PREFIX.length - INDEX_HEX_DIGITS);
  return `0x${FRESH_PREFIX}${padding}${index.toString(16).padStart(INDEX_HEX_DIGITS, "0")}`;
}

/**
 * `eth_getBalance` of `count` distinct addresses at one block: the funded accounts at evenly spaced places (their
 * balance expected), never-used addresses everywhere else ("0x0" expected).
 */
export function balanceBodies(options: BalanceBodiesOptions): BodyCase[] {
  const { count, block, funded = [] } = options;
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  if (funded.length > count) throw new RangeError(`${funded.length} funded accounts do not fit in ${count} bodies`);
  const fundedAt = new Map<number, FundedAccount>();
  funded.forEach((account, k) => {
    fundedAt.set(Math.floor(((k + 0.5) * count) / funded.length), account);
  });
  const cases: BodyCase[] = [];
  for (let i = 0; i < count; i++) {
    const account = fundedAt.get(i);
    const address = account?.address ?? freshAddress(i);
    const id = i + 1;
    cases.push({
      id,
      body: JSON.stringify({ jsonrpc: "2.0", id, method: "eth_getBalance", params: [address, block] }),
      expect: `"result":${JSON.stringify(account?.balance ?? "0x0")}`,
    });
  }
  return cases;
}

/**
 * The file `bench/cycle.lua` reads: one case per line, `<expect>\t<body>`, in id order. Compact JSON never holds a
 * raw tab or newline, so neither can split a case.
 */
export function bodiesFileText(cases: readonly BodyCase[]): string {
  return cases
    .map((c, i) => {
      if (c.id !== i + 1) throw new Error(`case ${i} has id ${c.id}: ids must be 1, 2, 3… in order`);
      if (/[\t\n\r]/.test(c.body) || /[\t\n\r]/.test(c.expect)) throw new Error(`case ${c.id} holds a tab or newline`);
      return `${c.expect}\t${c.body}\n`;
    })
    .join("");
}

/** Every `step`th case, and the last: enough to check a large set's expected answers against a node quickly. */
export function sampleCases(cases: readonly BodyCase[], step: number): BodyCase[] {
  if (!Number.isSafeInteger(step) || step < 1) throw new RangeError(`step must be a positive integer, got ${step}`);
  const picked = cases.filter((_, i) => i % step === 0);
  const last = cases.at(-1);
  if (last && picked.at(-1) !== last) picked.push(last);
  return picked;
}

/** Cases sent to a node in one JSON-RPC batch when their expected answers are checked. */
const CHECK_BATCH = 500;

/**
 * Asks for every case in batches through `send` (a JSON-RPC batch body in, the answer's text out) and returns what is
 * wrong: a case whose answer does not hold its `expect`. Empty when every expected answer is the node's.
 */
export async function wrongCases(
  cases: readonly BodyCase[],
  send: (batchBody: string) => Promise<string>,
): Promise<string[]> {
  const wrong: string[] = [];
  for (let start = 0; start < cases.length; start += CHECK_BATCH) {
    const batch = cases.slice(start, start + CHECK_BATCH);
    const text = await send(`[${batch.map((c) => c.body).join(",")}]`);
    const answers = JSON.parse(text) as unknown;
    if (!Array.isArray(answers)) return [...wrong, `the batch answer is not an array: ${text.slice(0, 200)}`];
    const byId = new Map<unknown, unknown>(answers.map((a) => [(a as { id?: unknown }).id, a]));
    for (const c of batch) {
      const answer = byId.get(c.id);
      const got = answer === undefined ? "no answer" : JSON.stringify(answer);
      if (!got.includes(c.expect)) wrong.push(`id ${c.id}: expected ${c.expect}, got ${got.slice(0, 200)}`);
    }
  }
  return wrong;
}
