/**
 * The header fields the EVM reads while it runs a call at a block (NUMBER, TIMESTAMP, COINBASE, GASLIMIT, BASEFEE,
 * PREVRANDAO/DIFFICULTY, BLOBBASEFEE) and those fee rules read (gas used, blob gas used, extra data), taken from a
 * header whose hash was verified, and the hardfork whose rules that block runs under.
 */
import type { ForkSchedule } from "../chain-presets.ts";

/** Hex quantities and data as the header states them (so an environment compares and serialises as JSON). */
export interface BlockEnv {
  number: `0x${string}`;
  timestamp: `0x${string}`;
  coinbase: `0x${string}`;
  gasLimit: `0x${string}`;
  difficulty: `0x${string}`;
  /** `mixHash`: PREVRANDAO since the Merge. */
  prevRandao: `0x${string}`;
  baseFeePerGas?: `0x${string}`;
  excessBlobGas?: `0x${string}`;
  /** Not read by the EVM: what fee rules read (the base fee and blob fee of the next block, the fee history). */
  gasUsed?: `0x${string}`;
  blobGasUsed?: `0x${string}`;
  extraData?: `0x${string}`;
  /** Which fork fields the header carries: the rules in force when no schedule says more. */
  carries: { withdrawals: boolean; blobs: boolean; requests: boolean };
}

const has = (header: Record<string, unknown>, name: string) => header[name] !== undefined && header[name] !== null;
const hex = (value: unknown) => String(value).toLowerCase() as `0x${string}`;

/** The environment of a verified header (its fields are well-formed: its hash was recomputed from them). */
export function blockEnvOf(header: unknown): BlockEnv {
  const h = header as Record<string, unknown>;
  return {
    number: hex(h.number),
    timestamp: hex(h.timestamp),
    coinbase: hex(h.miner),
    gasLimit: hex(h.gasLimit),
    difficulty: hex(h.difficulty),
    prevRandao: hex(h.mixHash),
    ...(has(h, "baseFeePerGas") ? { baseFeePerGas: hex(h.baseFeePerGas) } : {}),
    ...(has(h, "excessBlobGas") ? { excessBlobGas: hex(h.excessBlobGas) } : {}),
    ...(has(h, "gasUsed") ? { gasUsed: hex(h.gasUsed) } : {}),
    ...(has(h, "blobGasUsed") ? { blobGasUsed: hex(h.blobGasUsed) } : {}),
    ...(has(h, "extraData") ? { extraData: hex(h.extraData) } : {}),
    carries: {
      withdrawals: has(h, "withdrawalsRoot"),
      blobs: has(h, "excessBlobGas"),
      requests: has(h, "requestsHash"),
    },
  };
}

/** Hardforks whose EVM rules Multihome runs calls under, oldest first (the names of @ethereumjs/common). */
export const EXECUTION_HARDFORKS = ["london", "shanghai", "cancun", "prague", "osaka"] as const;
export type ExecutionHardfork = (typeof EXECUTION_HARDFORKS)[number];

/**
 * The rules a block runs under: by the chain's schedule where it says (Osaka adds no header field, so only a schedule
 * can name it), else by the newest fork whose header fields the block carries. Undefined before London (no base fee):
 * such blocks are not executed here.
 */
export function hardforkOf(env: BlockEnv, forks?: ForkSchedule): ExecutionHardfork | undefined {
  if (env.baseFeePerGas === undefined) return undefined;
  const at = (time: number | undefined) => time !== undefined && BigInt(time) <= BigInt(env.timestamp);
  if (forks && at(forks.osaka)) return "osaka";
  if (env.carries.requests) return "prague";
  if (env.carries.blobs) return "cancun";
  if (env.carries.withdrawals) return "shanghai";
  return "london";
}
