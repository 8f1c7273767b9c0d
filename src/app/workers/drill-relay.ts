/**
 * Drills on a gateway of workers: the admin API runs on worker 0, but a drill takes a failure domain down for the whole
 * gateway. The engine the admin API sees starts and stops each drill here and tells the other workers (through the
 * primary), which start and stop the same drill on their own engines.
 */
import type { DrillSelector } from "../../core/domains/drill.ts";
import type { Engine } from "../../engine/engine.ts";

export interface DrillRelay {
  started(selector: DrillSelector, durationMs: number): void;
  stopped(selector: DrillSelector): void;
}

const sameSelector = (a: DrillSelector, b: DrillSelector) =>
  a.hosting === b.hosting && a.operator === b.operator && a.region === b.region;

/** `engine`, whose drills are told to `relay` as they start and stop. */
export function relayingDrills(engine: Engine, relay: DrillRelay): Engine {
  return {
    ...engine,
    startDrill(selector, durationMs) {
      const drill = engine.startDrill(selector, durationMs);
      if (!("code" in drill)) relay.started(selector, durationMs);
      return drill;
    },
    activity: {
      ...engine.activity,
      stopDrill(id) {
        const stopped = engine.activity.stopDrill(id);
        if (stopped) relay.stopped(stopped.selector);
        return stopped;
      },
    },
  };
}

/** A drill another worker started (or stopped), applied to this worker's engine. */
export function applyDrill(engine: Engine, selector: DrillSelector, durationMs: number | undefined): void {
  if (durationMs !== undefined) return void engine.startDrill(selector, durationMs);
  const running = engine.activity.drills().find((d) => d.state === "running" && sameSelector(d.selector, selector));
  if (running) engine.activity.stopDrill(running.id);
}
