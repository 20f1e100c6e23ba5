/**
 * Keeps the set of selected tgids current: rescans the proc root
 * periodically and whenever pods change, and reports changed selections.
 */
import type { NormalizedTargets } from '../stacks/raw-stacks.js';
import type { PodResolver } from './pod-resolver.js';
import type { ProcessDescriber } from './process-describer.js';
import type { ProcessInspector } from './process-inspector.js';
import { isTarget, selectsEverything, type TargetRules } from './target-rules.js';

const FULL_SCAN_EVERY = 10;
const YOUNG_MS = 3000;

/**
 * The selection, as the samplers take it: 'all' when the rules select
 * everything, 'none' when they select no process now, else the selected
 * tgids, sorted (never an empty list).
 */
export type TargetSet = NormalizedTargets;

/** Options of createTargetSelector. */
export interface TargetSelectorOptions {
  readonly rules: TargetRules;
  readonly inspector: ProcessInspector;
  readonly describer: ProcessDescriber;
  readonly resolver?: PodResolver | undefined;
  /** Called with the new selection each time it changes, and once after start(). */
  readonly onTargets: (targets: TargetSet) => void;
  /** Rescan period (default 1000 ms, at most 1000 so new processes join within a second). */
  readonly intervalMs?: number | undefined;
  readonly onError?: ((err: Error) => void) | undefined;
  /**
   * The agent's process table, when it has one: its live pids replace a
   * scan of the proc root, and each process it adds (at exec, or found by
   * its poll) is selected or not at once instead of at the next rescan.
   */
  readonly processes?: SelectorProcesses | undefined;
}

/** What the selector reads of a process table. */
export interface SelectorProcesses {
  /** The processes alive now. */
  livePids(): number[];
  /** Calls `listener` for each process added from now on; returns the unsubscribe. */
  onProcessAdded(listener: () => void): () => void;
}

/** Lifetime: start() once, stop() once; rescan() at any time in between. */
export interface TargetSelector {
  start(): void;
  stop(): void;
  /** Recomputes now, re-reading every process (e.g. on an exec/exit event), and returns the selection. */
  rescan(): TargetSet;
  current(): TargetSet;
}

/** Creates a selector; nothing runs until start(). */
export function createTargetSelector(opts: TargetSelectorOptions): TargetSelector {
  const everything = selectsEverything(opts.rules);
  const period = Math.min(opts.intervalMs ?? 1000, 1000);
  let current: TargetSet | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pending = false;
  let offPods: (() => void) | undefined;
  let offProcesses: (() => void) | undefined;

  let scans = 0;
  const compute = (forceFull: boolean): TargetSet => {
    if (everything) return 'all';
    const pids = opts.processes?.livePids() ?? opts.inspector.proc.listPids();
    opts.inspector.prune(new Set(pids));
    // Re-reading a process costs three /proc reads (~0.1-0.3 ms). New and young
    // processes are read each scan (they may still exec or be moved into their
    // cgroup); the others every FULL_SCAN_EVERY scans, to notice a late exec or a
    // reused pid. rescan() forces a full read.
    const full = scans++ % FULL_SCAN_EVERY === 0 || forceFull;
    const now = Date.now();
    const out: number[] = [];
    for (const pid of pids) {
      const known = opts.inspector.cached(pid);
      const reuse = !full && known !== undefined && now - known.firstSeenMs > YOUNG_MS;
      const who = opts.describer.identify(pid, reuse);
      if (who !== undefined && isTarget(opts.rules, who)) out.push(pid);
    }
    const [first, ...rest] = out.sort((a, b) => a - b);
    return first === undefined ? 'none' : [first, ...rest];
  };

  const update = (full: boolean): TargetSet => {
    let next: TargetSet;
    try {
      next = compute(full);
    } catch (err) {
      opts.onError?.(err as Error);
      return current ?? 'none';
    }
    if (current === undefined || !sameSet(current, next)) {
      current = next;
      opts.onTargets(next);
    }
    return next;
  };

  return {
    start() {
      if (timer !== undefined) return;
      update(true);
      timer = setInterval(() => update(false), period);
      timer.unref();
      // Pod events and execs arrive in bursts (a Service update touches a namespace): coalesce them.
      const soon = (): void => {
        if (pending) return;
        pending = true;
        setImmediate(() => {
          pending = false;
          if (timer !== undefined) update(false);
        });
      };
      offPods = opts.resolver?.on(soon);
      offProcesses = opts.processes?.onProcessAdded(soon);
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      offPods?.();
      offPods = undefined;
      offProcesses?.();
      offProcesses = undefined;
    },
    rescan: () => update(true),
    current: () => current ?? 'none',
  };
}

function sameSet(a: TargetSet, b: TargetSet): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
