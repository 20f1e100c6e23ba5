/**
 * Admission for received requests: when the agent's event loop is saturated
 * (received requests arrive faster than they can be decoded, enriched and
 * forwarded) a share of new requests is refused before anything is read from
 * it, answered RESOURCE_EXHAUSTED / 429 with a retry hint, and counted. The
 * producers keep the data and retry; nothing waits in an unbounded queue and
 * the agent's own profiling keeps its share of the CPU.
 *
 * Only the receiver's own load is shed: a window counts as overloaded when
 * the loop is saturated and handling received requests took a fair part of
 * it, so a burst of the agent's own work (symbol tables, a task starting)
 * never refuses the odd request of a quiet producer.
 *
 * The admitted share follows the event loop utilization over short windows:
 * cut by a factor for each window busy past the target once a few have been
 * in a row, grown back step by step while under it, so sustained overload
 * is shed within a fraction of a second and recovery is gradual.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Why a request was refused before it was read. */
export interface Refused {
  readonly reason: 'overloaded';
  /** How long the producer should wait before retrying, ms. */
  readonly retryAfterMs: number;
}

/** Decides per request; lifetime: the receiver's. */
export interface LoadShedder {
  /** undefined to take the request, else why not. */
  admit(): Refused | undefined;
  /** The receiver spent ms handling a request (decode, validation, enrichment): its part of the loop. */
  spent(ms: number): void;
  /** The share of requests taken now, 0..1 (for logs and tests). */
  admittedShare(): number;
  close(): void;
}

/** Options of createLoadShedder; the defaults suit the agent. */
export interface LoadShedderOptions {
  /** Event loop utilization (0..1) above which requests are shed (default 0.9). */
  readonly maxUtilization?: number;
  /** Length of a measuring window, ms (default 100). */
  readonly windowMs?: number;
  /** Busy windows in a row before shedding starts, so a short burst sheds nothing (default 3). */
  readonly busyWindows?: number;
  /** Part of a window the receiver's handling must take for the window to count as the receiver's overload (default 0.2). */
  readonly minReceiverShare?: number;
  /** The admitted share never drops below this, so the receiver always makes some progress (default 0.05). */
  readonly minShare?: number;
  /** Retry hint given to refused producers, ms (default 1000). */
  readonly retryAfterMs?: number;
  /** The utilization of the last window; tests give their own. Default: the event loop's. */
  readonly utilization?: () => number;
  /** Clock in ms for the receiver's share of a window; tests give their own. */
  readonly now?: () => number;
}

/** Event loop utilization since the previous call. */
function loopUtilization(): () => number {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return u;
  };
}

/** Creates a shedder measuring on a timer (unref'd: it never keeps the process up). */
export function createLoadShedder(options: LoadShedderOptions = {}): LoadShedder {
  const maxUtilization = options.maxUtilization ?? 0.9;
  const minShare = options.minShare ?? 0.05;
  const retryAfterMs = options.retryAfterMs ?? 1000;
  const utilization = options.utilization ?? loopUtilization();
  const busyWindows = options.busyWindows ?? 3;
  const minReceiverShare = options.minReceiverShare ?? 0.2;
  const clock = options.now ?? (() => performance.now());
  let share = 1;
  let busy = 0;
  // Admission by credit rather than at random: a share of 0.5 takes every other request.
  let credit = 0;
  let spentMs = 0;
  let windowStart = clock();
  const timer = setInterval(() => {
    const now = clock();
    const receiverShare = spentMs / Math.max(1, now - windowStart);
    spentMs = 0;
    windowStart = now;
    busy = utilization() > maxUtilization && receiverShare >= minReceiverShare ? busy + 1 : 0;
    share = busy >= busyWindows ? Math.max(minShare, share * 0.7) : busy > 0 ? share : Math.min(1, share + 0.1);
  }, options.windowMs ?? 100);
  timer.unref();
  return {
    admit() {
      if (share >= 1) return undefined;
      credit += share;
      if (credit >= 1) {
        credit -= 1;
        return undefined;
      }
      return { reason: 'overloaded', retryAfterMs };
    },
    spent(ms) {
      spentMs += ms;
    },
    admittedShare: () => share,
    close: () => clearInterval(timer),
  };
}
