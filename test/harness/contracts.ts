/** Tiny contracts for tests, as raw init code (no compiler needed). */
import type { Hex } from "viem";

/** The topic EMITTER_INIT's log carries. */
export const EMITTER_TOPIC = `0x${"11".repeat(32)}` as Hex;
/** Constructor stores 42 in memory and emits it with LOG1 (topic EMITTER_TOPIC); deploys no code. */
export const EMITTER_INIT = `0x602a6000527f${EMITTER_TOPIC.slice(2)}60206000a100` as Hex;
/** Constructor reverts: a receipt with status 0. */
export const REVERTER_INIT = "0x60006000fd" as Hex;
