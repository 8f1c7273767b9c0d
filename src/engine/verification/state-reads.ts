/**
 * Proven state reads: `eth_getBalance`, `eth_getTransactionCount`, `eth_getCode` and `eth_getStorageAt` are answered
 * from `eth_getProof` at an anchored block, verified against that block's state root. A proof that fails is a dispute
 * against the upstream that sent it, and the read moves on to another domain. A proof of absence is a *proven* zero —
 * the only kind of zero Multihome serves.
 */
import { MultihomeError } from "../../core/errors.ts";
import type { BlockEnv } from "../../core/execution/block-env.ts";
import { ADDRESS_HEX } from "../../core/hex.ts";
import { toHex } from "../../core/rpc/methods.ts";
import {
  EMPTY_CODE_HASH,
  verifyAccountProof,
  verifyCode,
  verifyProofAnswer,
  verifyStorageProof,
} from "../../core/verification/proof.ts";
import type { CallPlan, ExecuteResult, Verdict } from "../routing/execute.ts";

/** A block whose hash independent upstreams agree on, with the roots from its verified header. */
export interface AnchoredBlock {
  number: number;
  hash: `0x${string}`;
  stateRoot: `0x${string}`;
  transactionsRoot: `0x${string}`;
  receiptsRoot: `0x${string}`;
  /** The header's logs bloom (bound by its hash like the roots): which blocks can hold a log a filter asks for. */
  logsBloom: `0x${string}`;
  /** The header's parent hash: older blocks are proven by linking their headers down to this one. */
  parentHash: `0x${string}`;
  /** Seconds since epoch, from the verified header: how old what is proven at this block is. */
  timestamp: number;
  /** Outage domains of the upstreams that vouched for the hash. */
  domains: string[];
  /** The header fields a call executed at this block reads (from the same verified or agreed header). */
  env?: BlockEnv;
  /**
   * Set when no header of this block could be verified by its hash (it carries a field Multihome does not know): the
   * digest of the header fields independent upstreams agreed on. Its roots are then agreed, not proven, and what is
   * checked against them is labelled `quorum`.
   */
  headerDigest?: `0x${string}`;
}

export const PROVEN_METHODS: ReadonlySet<string> = new Set([
  "eth_getBalance",
  "eth_getTransactionCount",
  "eth_getCode",
  "eth_getStorageAt",
]);

export interface ProvenReadIo {
  /** The anchored block at `number`, or undefined when independent upstreams do not vouch for one. */
  anchor(number: number): Promise<AnchoredBlock | undefined>;
  /** Proofs against this anchor all failed and none verified: forget it, so the next read anchors afresh. */
  distrust(anchor: AnchoredBlock): void;
  execute(plan: CallPlan): Promise<ExecuteResult>;
}

export type ProvenRead =
  /** `supplier`: the upstream whose proof (and code) this is. */
  | { ok: true; value: `0x${string}`; anchor: AnchoredBlock; supplier: string }
  | { ok: false; error: MultihomeError; anchor?: AnchoredBlock };

const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;

function pad32(value: bigint): `0x${string}` {
  return `0x${value.toString(16).padStart(64, "0")}`;
}

/** Read `method` at the pinned `blockNumber`, proven. `params` are the client's (block parameter already pinned). */
export async function readProven(
  io: ProvenReadIo,
  method: string,
  params: unknown[],
  blockNumber: number,
): Promise<ProvenRead> {
  const address = params[0];
  if (typeof address !== "string" || !ADDRESS_HEX.test(address)) {
    return { ok: false, error: new MultihomeError("invalid_params", "invalid params: expected a 20-byte hex address") };
  }
  let slot: `0x${string}` | undefined;
  if (method === "eth_getStorageAt") {
    const raw = params[1];
    if (typeof raw !== "string" || !QUANTITY.test(raw)) {
      return {
        ok: false,
        error: new MultihomeError("invalid_params", "invalid params: expected a storage slot (hex, up to 32 bytes)"),
      };
    }
    slot = pad32(BigInt(raw));
  }
  const block = toHex(blockNumber);
  let codeHash: `0x${string}` | undefined;
  const proofVerdict =
    (root: `0x${string}`) =>
    (proof: unknown): Verdict => {
      const account = verifyAccountProof(root, address as `0x${string}`, proof);
      if (!account.ok) return { ok: false, reason: `account proof: ${account.reason}` };
      switch (method) {
        case "eth_getBalance":
          return { ok: true, value: `0x${account.account.balance.toString(16)}` };
        case "eth_getTransactionCount":
          return { ok: true, value: `0x${account.account.nonce.toString(16)}` };
        case "eth_getCode":
          codeHash = account.account.codeHash;
          return { ok: true, value: account.account.codeHash };
        default: {
          const entry = (proof as { storageProof?: unknown[] } | null)?.storageProof?.[0];
          const storage = verifyStorageProof(account.account.storageRoot, slot!, entry);
          if (!storage.ok) return { ok: false, reason: `storage proof: ${storage.reason}` };
          return { ok: true, value: pad32(storage.value) };
        }
      }
    };
  const found = await provenAtAnchor(io, blockNumber, (root) => ({
    method: "eth_getProof",
    params: [address, slot ? [slot] : [], block],
    heavy: false,
    minBlock: blockNumber,
    verify: proofVerdict(root),
  }));
  if (!found.ok) return found;
  const { proven, anchor } = found;
  const supplier = proven.upstream;
  if (method !== "eth_getCode") return { ok: true, value: proven.result as `0x${string}`, anchor, supplier };

  if (codeHash === EMPTY_CODE_HASH) return { ok: true, value: "0x", anchor, supplier };
  const expected = codeHash!;
  const code = await io.execute({
    method: "eth_getCode",
    params: [address, block],
    heavy: false,
    minBlock: blockNumber,
    verify: (result) =>
      verifyCode(expected, result)
        ? { ok: true, value: result }
        : { ok: false, reason: "code does not match the proven code hash" },
  });
  if (!code.ok) return { ok: false, error: unverifiable(code), anchor };
  return { ok: true, value: code.result as `0x${string}`, anchor, supplier };
}

/**
 * One proof read at the anchored block `blockNumber`: `plan(stateRoot)` asked of upstreams until one's answer verifies.
 * When every proof disagreed with the anchor and none verified, the block is anchored afresh and asked once more.
 */
async function provenAtAnchor(
  io: ProvenReadIo,
  blockNumber: number,
  plan: (stateRoot: `0x${string}`) => Omit<CallPlan, "onUnconfirmedDisputes">,
): Promise<
  { ok: true; proven: Extract<ExecuteResult, { ok: true }>; anchor: AnchoredBlock } | Extract<ProvenRead, { ok: false }>
> {
  let anchor = await io.anchor(blockNumber);
  if (!anchor) {
    return {
      ok: false,
      error: new MultihomeError("unavailable", `block ${blockNumber} is not anchored by independent upstreams`),
    };
  }
  const prove = (against: AnchoredBlock, onUnconfirmed: () => void) =>
    io.execute({ ...plan(against.stateRoot), onUnconfirmedDisputes: onUnconfirmed });
  let doubted = false;
  let proven = await prove(anchor, () => {
    doubted = true;
    io.distrust(anchor!);
  });
  if (!proven.ok && doubted) {
    const again = await io.anchor(blockNumber);
    if (again) {
      anchor = again;
      proven = await prove(again, () => io.distrust(again));
    }
  }
  if (!proven.ok) return { ok: false, error: unverifiable(proven), anchor };
  return { ok: true, proven, anchor };
}

/** Most storage keys one `eth_getProof` may ask for. */
export const MAX_PROOF_KEYS = 1_024;

/**
 * `eth_getProof` itself, proven: the answer's account proof and every field it claims checked against the anchored
 * state root, each storage proof against the proven storage root (core/verification/proof.ts `verifyProofAnswer`).
 */
export async function readProofAnswer(
  io: ProvenReadIo,
  params: unknown[],
  blockNumber: number,
): Promise<{ ok: true; value: unknown; anchor: AnchoredBlock; supplier: string } | Extract<ProvenRead, { ok: false }>> {
  const [address, keys] = params;
  const invalid = (message: string) => ({ ok: false as const, error: new MultihomeError("invalid_params", message) });
  if (typeof address !== "string" || !ADDRESS_HEX.test(address))
    return invalid("invalid params: expected a 20-byte hex address");
  if (
    !Array.isArray(keys) ||
    keys.length > MAX_PROOF_KEYS ||
    keys.some((k) => typeof k !== "string" || !QUANTITY.test(k))
  )
    return invalid(`invalid params: expected at most ${MAX_PROOF_KEYS} storage keys (hex, up to 32 bytes)`);
  const slots = keys.map((k) => pad32(BigInt(k as string)));
  const found = await provenAtAnchor(io, blockNumber, (root) => ({
    method: "eth_getProof",
    // Asked as 32-byte keys, which every node takes (some refuse a short quantity).
    params: [address, slots, toHex(blockNumber)],
    heavy: false,
    minBlock: blockNumber,
    verify: (answer): Verdict => {
      const checked = verifyProofAnswer(root, address as `0x${string}`, slots, answer);
      return checked.ok ? { ok: true, value: checked.value } : { ok: false, reason: checked.reason };
    },
  }));
  if (!found.ok) return found;
  return { ok: true, value: found.proven.result, anchor: found.anchor, supplier: found.proven.upstream };
}

function unverifiable(result: Exclude<ExecuteResult, { ok: true }>): MultihomeError {
  if ("error" in result) return result.error;
  // A node answered with an error instead of a proof: nothing proven, nothing to serve.
  return new MultihomeError("unavailable", "no verifiable answer: no upstream proved the state");
}
