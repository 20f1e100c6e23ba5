/**
 * When each collector's kernel maps are drained, the same for the agent and
 * `record`. The caller wakes every `pollMs`; a collector is drained at the
 * last wakeup before its period runs out. While exec tracking runs, a
 * short-lived program is read at its exec or first sample, not at a drain,
 * so a collector may wait as long as its maps allow (up to 15 s on-CPU,
 * StackSampler.drainEveryMs). Without tracking, or with selection rules (the
 * selector reads the table a drain's /proc scan refreshes), every wakeup.
 */

/** How often the agent's loop and `record` wake to drain what is due. */
export const DRAIN_WAKE_MS = 1000;

/** What the schedule needs of a collector (ProfileCollector fits). */
export interface DrainedCollector {
  /** How long its maps may go undrained while exec tracking runs. */
  readonly drainEveryMs: number;
}

/** See the module comment. */
export interface DrainSchedule<C extends DrainedCollector> {
  /**
   * The collectors to drain at this wakeup (`now` from performance.now()); they count as drained now.
   * None when `deadline`, a collect that drains every collector (the agent's interval end), is at most one poll away.
   */
  due(now: number, deadline?: number): C[];
  /** Every collector was drained at `now` (a collect drains too). */
  drainedAll(now: number): void;
  /**
   * How long from `now` the caller may sleep before a collector is due: a
   * quarter poll before its period runs out, and never less than a poll
   * after its last drain. 0 when one is due already. With a `deadline` (a
   * collect that drains every collector), the time left to it when the next
   * drain would come within one poll of it: a drain a quarter second before
   * the interval's end only split the interval's samples into two reads.
   */
  nextDueMs(now: number, deadline?: number): number;
}

/** Options for createDrainSchedule. */
export interface DrainScheduleOptions {
  /** How often the caller wakes, in ms; default DRAIN_WAKE_MS. */
  readonly pollMs?: number;
  /** Whether collectors may wait their own period now (exec tracking runs, no selection rules); asked at each wakeup. */
  readonly mayWait: () => boolean;
  /** When the collectors were last drained (started); performance.now() by default. */
  readonly start?: number;
}

/**
 * Creates a schedule over `collectors`. Times are monotonic
 * (performance.now()): a wall clock stepped back would hold every drain.
 * What a collector may wait can change between wakeups (a Python process
 * walked drains every second), so it is asked each time.
 */
export function createDrainSchedule<C extends DrainedCollector>(collectors: readonly C[], opts: DrainScheduleOptions): DrainSchedule<C> {
  const pollMs = opts.pollMs ?? DRAIN_WAKE_MS;
  const start = opts.start ?? performance.now();
  const drained = new Map<C, number>(collectors.map((c) => [c, start]));
  return {
    due(now, deadline) {
      if (deadline !== undefined && deadline - now <= pollMs) return [];
      const wait = opts.mayWait();
      const out: C[] = [];
      for (const c of collectors) {
        const every = wait ? c.drainEveryMs : pollMs;
        // Drained at the last wakeup before its time runs out (a quarter poll of slack for a late timer).
        if (now - drained.get(c)! + pollMs <= every + pollMs / 4) continue;
        drained.set(c, now);
        out.push(c);
      }
      return out;
    },
    drainedAll(now) {
      for (const c of collectors) drained.set(c, now);
    },
    nextDueMs(now, deadline) {
      const wait = opts.mayWait();
      let at = Number.POSITIVE_INFINITY;
      for (const c of collectors) {
        const every = wait ? c.drainEveryMs : pollMs;
        // due() drains once less than 3/4 poll is left; waking with 1/4 left keeps the same slack for a late timer.
        at = Math.min(at, drained.get(c)! + Math.max(every - pollMs / 4, pollMs));
      }
      if (deadline !== undefined && at + pollMs >= deadline) at = deadline;
      return Math.max(0, at - now);
    },
  };
}

/**
 * The agent loop's sleep: until a given moment, or sooner when wakeBy() asks
 * for an earlier one (a Python process appeared, so a collector drains every
 * second now) or the signal aborts. Each wakeup of an idle agent costs
 * ~0.3 ms of CPU on a busy host (a timer, a thread switched in cold), so the
 * loop sleeps until something is due instead of polling every second.
 */
export class DrainTimer {
  private timer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private resolve: (() => void) | undefined;

  /** Sleeps `ms` (performance.now() time); resolves at once when `signal` is aborted. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const onAbort = (): void => this.fire();
      this.resolve = () => {
        // Remove the listener each time: one left behind per sleep would grow without bound.
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.arm(performance.now() + ms);
    });
  }

  /** Wakes the sleeper by `at` (performance.now() time) if it would sleep longer. */
  wakeBy(at: number): void {
    if (this.resolve !== undefined && at < this.wakeAt) this.arm(at);
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.wakeAt = at;
    // Timers count whole ms of the loop's clock: +1 so the wakeup is never before `at`.
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.ceil(at - performance.now()) + 1));
  }

  private fire(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
    const r = this.resolve;
    this.resolve = undefined;
    r?.();
  }
}
