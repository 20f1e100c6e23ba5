/**
 * Keeps the process table current between two polls of the sampler: a
 * process that exec'ed is read again at once (and a few more times while its
 * loader maps libraries), and its symbols loaded while it runs, so a program
 * that lives for a fraction of a second is still symbolized after it exits.
 */
import { parseProcSnapshot, type ProcSnapshot, type RawProcSnapshot } from './proc-reader.js';
import type { ProcessEvent } from '../samplers/exec-watcher.js';
import { type Logger } from '../log/logger.js';

/**
 * A lifecycle event, with the process as read at that moment when the source
 * could read it; `update` marks a later re-read of the same program,
 * `unreadable` an exec the source tried to read and found gone (so re-reading
 * it here is futile), and `sampled` a program read at its first sample, not
 * at its exec (counted as neither an exec nor a new image).
 */
export type TrackedEvent = ProcessEvent & {
  readonly snapshot?: RawProcSnapshot;
  readonly update?: boolean;
  readonly unreadable?: boolean;
  readonly sampled?: boolean;
};

/** Where lifecycle events come from (the exec watcher, in this thread or in a worker). */
export interface ProcessEventSource {
  start(): void;
  poll(): TrackedEvent[];
  stop(): void;
  /**
   * Registers `listener` to be called once events wait (after start());
   * false when this source cannot tell, and must be polled on a timer.
   */
  onReadable?(listener: () => void): boolean;
}

/** What tracking needs from the process table. */
export interface TrackedProcessTable {
  /** Reads a process again after it exec'ed; undefined when it is gone. */
  reobserve(pid: number): { readonly mappings: readonly unknown[] } | undefined;
  /** Stores a snapshot the event source read; `exec` when it was read at the exec, not a later re-read. */
  adopt(pid: number, snapshot: ProcSnapshot, exec?: boolean): { readonly mappings: readonly unknown[] };
  /** Keeps a snapshot until the pid is looked up (ProcessTable.adoptLater). */
  adoptLater?(pid: number, snapshot: RawProcSnapshot, exec: boolean, onAdopted: (p: { readonly pid: number }) => void): void;
  reloadMappings(pid: number): { readonly mappings: readonly unknown[] } | undefined;
  get(pid: number): { readonly mappings: readonly unknown[] } | undefined;
  /** Marks a process exited at its exit event (ProcessTable.markExited). */
  markExited?(pid: number): void;
}

/** Options for createProcessTracking. */
export interface ProcessTrackingOptions {
  readonly events: ProcessEventSource;
  readonly processes: TrackedProcessTable;
  /** Loads a live process's symbols (Symbolizer.prepare). */
  readonly prepare: (pid: number) => void;
  /** How often the source is read when it cannot say when events wait, and young processes re-read; default 20 ms. */
  readonly intervalMs?: number;
  /** How long after an exec the mappings are re-read (dlopen, ld.so); default 250 ms. */
  readonly settleMs?: number;
  /** The agent's own pid, never tracked; default process.pid. */
  readonly selfPid?: number;
  /**
   * Which processes matter; default every one. With named targets only they
   * do: preparing the symbols of every program exec'd on the host (a build
   * starting node after node) would hold the main thread for seconds.
   */
  readonly wants?: (pid: number) => boolean;
  /**
   * Whether a program's snapshot may wait until something looks its pid up,
   * and its symbols be prepared only then; default never. True while the
   * unwinder runs: it asks for each process sampled without tables within
   * milliseconds, while the process still runs, so only programs that are
   * sampled cost more than reading them (most on a busy host are not).
   */
  readonly adoptWhenAsked?: () => boolean;
  readonly now?: () => number;
  readonly log?: Logger;
}

/** Tracking; started before the sampler, stopped after it. */
export interface ProcessTracking {
  /** Starts the watcher and the timer; a watcher that cannot start is logged, and tracking stays off. */
  start(): void;
  /** Reads pending events and re-reads young processes; the timer calls it, tests may too. */
  tick(): void;
  stop(): void;
  /** Execs seen since start. */
  readonly execs: number;
  /** Whether the watcher started (and not yet stopped): programs are then read as they exec or are first sampled. */
  readonly running: boolean;
}

/** Creates process tracking over an event source. */
export function createProcessTracking(opts: ProcessTrackingOptions): ProcessTracking {
  const now = opts.now ?? Date.now;
  const settleMs = opts.settleMs ?? 250;
  const selfPid = opts.selfPid ?? process.pid;
  // pid → when it exec'ed, while its mappings may still grow.
  const young = new Map<number, number>();
  const intervalMs = opts.intervalMs ?? 20;
  // A timer only while something is due: polling a source that cannot signal, or young processes to re-read.
  let timer: NodeJS.Timeout | undefined;
  let polled = false;
  let running = false;
  let execs = 0;

  const capture = (pid: number, read: (pid: number) => { readonly mappings: readonly unknown[] } | undefined, before?: readonly unknown[]): void => {
    try {
      const p = read(pid);
      if (p === undefined) young.delete(pid);
      else if (p.mappings !== before) opts.prepare(pid);
    } catch (err) {
      young.delete(pid);
      opts.log?.debug(`capturing pid ${pid} after exec: ${(err as Error).message}`);
    }
  };

  // Called from whoever looked the pid up: a failure is this module's to log.
  const prepareLater = (pid: number): void => {
    try {
      opts.prepare(pid);
    } catch (err) {
      opts.log?.debug(`preparing pid ${pid} after exec: ${(err as Error).message}`);
    }
  };

  const tick = (): void => {
    if (!running) return;
    let events: TrackedEvent[];
    try {
      events = opts.events.poll();
    } catch (err) {
      opts.log?.warn(`reading process events: ${(err as Error).message}`);
      return;
    }
    for (const e of events) {
      if (e.pid === selfPid || (opts.wants !== undefined && !opts.wants(e.pid))) continue;
      if (e.kind === 'exit') {
        young.delete(e.pid);
        opts.processes.markExited?.(e.pid);
        continue;
      }
      const snapshot = e.snapshot;
      if (snapshot !== undefined) {
        const exec = e.update !== true && e.sampled !== true;
        if (exec) execs++;
        // A sampled program is wanted now: the walker waits for it to install its tables.
        if (e.sampled !== true && opts.processes.adoptLater !== undefined && opts.adoptWhenAsked?.() === true) {
          opts.processes.adoptLater(e.pid, snapshot, exec, (p) => prepareLater(p.pid));
          continue;
        }
        // Read by the source as it happened: the process may be gone by now.
        const before = opts.processes.get(e.pid)?.mappings;
        capture(e.pid, (pid) => opts.processes.adopt(pid, parseProcSnapshot(snapshot), exec), before);
        continue;
      }
      execs++;
      if (e.unreadable === true) continue;
      young.set(e.pid, now());
      capture(e.pid, (pid) => opts.processes.reobserve(pid));
    }
    const t = now();
    for (const [pid, at] of young) {
      if (t - at > settleMs) {
        young.delete(pid);
        continue;
      }
      // Unchanged mappings come back as the same array: nothing to prepare.
      capture(pid, (p) => opts.processes.reloadMappings(p), opts.processes.get(pid)?.mappings);
    }
    if (!polled && young.size > 0 && timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        tick();
      }, intervalMs);
      timer.unref();
    }
  };

  return {
    start() {
      try {
        opts.events.start();
      } catch (err) {
        opts.log?.warn(`watching process execs: ${(err as Error).message}; short-lived processes may stay unsymbolized`);
        return;
      }
      running = true;
      // An idle host then costs no wakeups: the source calls when an exec or exit waits.
      polled = opts.events.onReadable?.(tick) !== true;
      if (polled) {
        timer = setInterval(tick, intervalMs);
        timer.unref();
      }
    },
    tick,
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (running) opts.events.stop();
      running = false;
      young.clear();
    },
    get execs() {
      return execs;
    },
    get running() {
      return running;
    },
  };
}
