/**
 * The primary's front door hands each connection to a worker (assign.ts chooses which) and keeps its client's count
 * until the worker reports it closed — or dies, taking its connections with it.
 */
import type { Socket } from "node:net";
import type { FrontDoor } from "../../server/front-door.ts";
import { NOISY_CLIENT_CONNECTIONS, NOISY_CLIENT_MEMORY_MS, type WorkerPlan, workerFor } from "./assign.ts";
import type { ToWorker } from "./protocol.ts";
import type { Slot } from "./slots.ts";

export function createHandover(door: () => FrontDoor, slots: readonly Slot[], plan: WorkerPlan) {
  const noisyUntil = new Map<string, number>();
  let turn = 0;

  function release(slot: Slot, client: string): void {
    const open = slot.clients.get(client) ?? 0;
    if (open <= 0) return;
    if (open === 1) slot.clients.delete(client);
    else slot.clients.set(client, open - 1);
    door().closed(client);
  }

  return {
    /** A connection the front door let in: to its client's worker, or closed when no worker can take it. */
    handOver(socket: Socket, client: string | undefined): void {
      const noisy =
        client !== undefined &&
        (door().connectionsOf(client) >= NOISY_CLIENT_CONNECTIONS || (noisyUntil.get(client) ?? 0) > Date.now());
      const index = workerFor(client, plan, noisy, (i) => slots[i]!.ready, turn++);
      if (index === undefined) {
        if (client !== undefined) door().closed(client);
        return void socket.destroy();
      }
      const slot = slots[index]!;
      if (client !== undefined) slot.clients.set(client, (slot.clients.get(client) ?? 0) + 1);
      const message: ToWorker = client === undefined ? { type: "connection" } : { type: "connection", client };
      slot.worker!.send(message, socket, { keepOpen: false }, (error) => {
        if (!error) return;
        socket.destroy();
        if (client !== undefined) release(slot, client);
      });
    },
    /** A worker reported a connection closed. */
    release,
    /** A worker died: every connection it held is gone. */
    releaseAll(slot: Slot): void {
      for (const [client, open] of slot.clients) for (let i = 0; i < open; i++) door().closed(client);
      slot.clients.clear();
    },
    /** A worker refused `client` for its rate: its next connections go to the isolation worker for a while. */
    noisy(client: string): void {
      noisyUntil.set(client, Date.now() + NOISY_CLIENT_MEMORY_MS);
    },
  };
}
