/**
 * The primary's front door hands each connection to a worker (assign.ts chooses which) and keeps its client's count
 * until the worker reports it closed — or dies, taking its connections with it. It also keeps the record of noisy
 * clients, and tells every worker when one turns noisy (so each can send that client's connections back through the
 * front door to the isolation worker, and the isolation worker its quiet clients' to the others).
 */
import type { Socket } from "node:net";
import type { FrontDoor } from "../../server/front-door.ts";
import {
  createNoisyClients,
  NOISY_CLIENT_CONNECTIONS,
  NOISY_CLIENT_MEMORY_MS,
  type WorkerPlan,
  workerFor,
} from "./assign.ts";
import type { ToWorker } from "./protocol.ts";
import { broadcast, type Slot } from "./slots.ts";

export function createHandover(door: () => FrontDoor, slots: readonly Slot[], plan: WorkerPlan) {
  const noisy = createNoisyClients();
  let turn = 0;

  function release(slot: Slot, client: string): void {
    const open = slot.clients.get(client) ?? 0;
    if (open <= 0) return;
    if (open === 1) slot.clients.delete(client);
    else slot.clients.set(client, open - 1);
    door().closed(client);
  }

  /** `client` is noisy from now on (for NOISY_CLIENT_MEMORY_MS): remembered here and told to every worker. */
  function markNoisy(client: string): void {
    const wasNoisy = noisy.has(client);
    const until = Date.now() + NOISY_CLIENT_MEMORY_MS;
    noisy.mark(client, until);
    if (!wasNoisy) broadcast(slots, { type: "noisy", client, until });
  }

  return {
    /** A connection the front door let in: to a worker chosen for its client, or closed when none can take it. */
    handOver(socket: Socket, client: string | undefined): void {
      if (client !== undefined && door().connectionsOf(client) >= NOISY_CLIENT_CONNECTIONS) markNoisy(client);
      const index = workerFor(client, plan, {
        noisy: client !== undefined && noisy.has(client),
        isolating: noisy.any(),
        live: (i) => slots[i]!.ready,
        held: (i) => (client === undefined ? 0 : (slots[i]!.clients.get(client) ?? 0)),
        turn: turn++,
      });
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
    /** A worker refused `client` for its rate. */
    noisy: markNoisy,
  };
}
