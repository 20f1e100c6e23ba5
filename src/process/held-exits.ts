/**
 * What the exec watcher thread sends the main thread after each wakeup. Exits
 * of sampled processes (which free their walker slots) wait, in order, for a
 * message that goes anyway: an exec, a notice, a re-read's update. An exit in
 * a message of its own would cost the main thread a wakeup (~0.3 ms), about
 * five a second at 99 Hz with 50 execs/s, where freeing a slot can wait; the
 * walker's 1,024 slots run short only when many more wait, so EXITS_ALONE
 * exits go by themselves. None waits longer than HOLD_EXITS_MS: until the
 * main thread has it, a scan that finds the pid reused would take the new
 * process for the old, and the late exit would then mark the new one gone.
 */
import type { TrackedEvent } from './process-tracking.js';

/** How many held exits go to the main thread in a message of their own. */
export const EXITS_ALONE = 32;
/** The longest an exit is held; the thread's wait ends then (`due`). */
export const HOLD_EXITS_MS = 2000;

/** See the module comment. */
export interface HeldExits {
  /** The held exits, to which this wakeup's events are added; the holder keeps none meanwhile. */
  take(): TrackedEvent[];
  /** `events` (take()'s array, filled) when they are to be sent now; undefined when they are held (or none). */
  ready(events: TrackedEvent[], now: number): TrackedEvent[] | undefined;
  /** When the oldest held exit is due to go (ms, the `now` clock); Infinity when none is held. */
  due(): number;
}

export function createHeldExits(alone = EXITS_ALONE, holdMs = HOLD_EXITS_MS): HeldExits {
  let held: TrackedEvent[] = [];
  // when the first exit now held was first held
  let since = Infinity;
  return {
    take() {
      const out = held;
      held = [];
      return out;
    },
    ready(events, now) {
      if (events.length === 0) {
        since = Infinity;
        return undefined;
      }
      if (events.length < alone && now < since + holdMs && events.every((e) => e.kind === 'exit')) {
        held = events;
        since = Math.min(since, now);
        return undefined;
      }
      since = Infinity;
      return events;
    },
    due: () => since + holdMs,
  };
}
