/** The primary's record of its workers (primary.ts): one slot per worker index, kept across restarts. */
import type { Worker } from "node:cluster";
import type { ToWorker } from "./protocol.ts";

export interface Slot {
  worker: Worker | undefined;
  /** Said it is ready, and has not died since: connections and messages may go to it. */
  ready: boolean;
  /** Connections handed to this worker and not reported closed, by client. */
  clients: Map<string, number>;
  /** Deaths in a row, for the restart delay. */
  deaths: number;
}

export function createSlots(count: number): Slot[] {
  return Array.from({ length: count }, () => ({ worker: undefined, ready: false, clients: new Map(), deaths: 0 }));
}

/** Sends `message` to every ready worker but `except`. */
export function broadcast(slots: readonly Slot[], message: ToWorker, except?: number): void {
  for (const [index, slot] of slots.entries()) if (index !== except && slot.ready) slot.worker!.send(message);
}
