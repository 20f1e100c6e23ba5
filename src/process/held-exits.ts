/**
 * What the exec watcher thread sends the main thread after each wakeup. Exits
 * of sampled processes (which free their walker slots) wait, in order, for a
 * message that goes anyway: an exec, a notice, a re-read's update. An exit in
 * a message of its own would cost the main thread a wakeup (~0.3 ms), about
 * five a second at 99 Hz with 50 execs/s, where freeing a slot can wait; the
 * walker's 1,024 slots run short only when many more wait, so EXITS_ALONE
 * exits go by themselves.
 */
import type { TrackedEvent } from './process-tracking.js';

/** How many held exits go to the main thread in a message of their own. */
export const EXITS_ALONE = 32;

/** See the module comment. */
export interface HeldExits {
  /** The held exits, to which this wakeup's events are added; the holder keeps none meanwhile. */
  take(): TrackedEvent[];
  /** `events` (take()'s array, filled) when they are to be sent now; undefined when they are held (or none). */
  ready(events: TrackedEvent[]): TrackedEvent[] | undefined;
}

export function createHeldExits(alone = EXITS_ALONE): HeldExits {
  let held: TrackedEvent[] = [];
  return {
    take() {
      const out = held;
      held = [];
      return out;
    },
    ready(events) {
      if (events.length === 0) return undefined;
      if (events.length < alone && events.every((e) => e.kind === 'exit')) {
        held = events;
        return undefined;
      }
      return events;
    },
  };
}
