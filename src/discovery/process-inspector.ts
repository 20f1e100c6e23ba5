/**
 * What discovery knows about one process from /proc alone: executable and
 * cgroup facts, remembered after exit so late symbolization can still name it.
 */
import { basename } from 'node:path';
import { parseCgroupFile, type CgroupInfo } from './cgroup-path.js';
import type { ProcReader } from '../process/proc-reader.js';

/** /proc facts of one process. */
export interface ProcessFacts {
  readonly pid: number;
  /** Start time in ticks since boot; pid plus start time name a process uniquely. */
  readonly startTime: string;
  readonly comm: string;
  /** undefined for kernel threads and when the exe link is unreadable. */
  readonly exePath: string | undefined;
  /** Basename of exePath, else comm. */
  readonly exeName: string;
  readonly cgroup: CgroupInfo;
  /** Date.now() when the inspector first saw this process. */
  readonly firstSeenMs: number;
}

/** Cache of ProcessFacts keyed by pid, validated by start time. */
export interface ProcessInspector {
  readonly proc: ProcReader;
  /** Fresh facts, or the last known ones when the process has exited (kept until unasked for keepExitedMs). */
  inspect(pid: number): ProcessFacts | undefined;
  /** The last known facts, without reading /proc. */
  cached(pid: number): ProcessFacts | undefined;
  /** Forgets processes not in `live` (the pids of the latest scan). */
  prune(live: ReadonlySet<number>): void;
}

/** Options of createProcessInspector. */
export interface ProcessInspectorOptions {
  /** The clock, for tests; Date.now by default. */
  readonly now?: () => number;
  /** How long an exited process's facts are kept after their last use; default 5 min. */
  readonly keepExitedMs?: number;
}

/** How long the facts of an exited process are kept after they were last asked for: longer than any interval's late naming. */
export const KEEP_EXITED_MS = 5 * 60_000;

/** Creates an inspector over `proc`. */
export function createProcessInspector(proc: ProcReader, opts: ProcessInspectorOptions = {}): ProcessInspector {
  const now = opts.now ?? Date.now;
  const keepMs = opts.keepExitedMs ?? KEEP_EXITED_MS;
  const cache = new Map<number, ProcessFacts>();
  const usedMs = new Map<number, number>();
  // Whole-host naming has no scan to prune against (only target selection
  // has one), so every process ever named would stay: on a node that runs
  // builds or cron jobs that is a slow leak. A sweep at most every keepMs
  // drops the facts of processes gone and unasked for that long.
  let sweptMs = now();
  const sweep = (t: number): void => {
    sweptMs = t;
    for (const [pid, facts] of cache) {
      if (t - (usedMs.get(pid) ?? 0) < keepMs) continue;
      if (proc.readStartTime(pid) === facts.startTime) continue;
      cache.delete(pid);
      usedMs.delete(pid);
    }
  };
  const remember = (pid: number, facts: ProcessFacts): ProcessFacts => {
    cache.set(pid, facts);
    return facts;
  };
  return {
    proc,
    inspect(pid) {
      const t = now();
      if (t - sweptMs >= keepMs) sweep(t);
      usedMs.set(pid, t);
      const startTime = proc.readStartTime(pid);
      const known = cache.get(pid);
      if (startTime === undefined) {
        if (known === undefined) usedMs.delete(pid);
        return known;
      }
      // The cgroup and exe are re-read every time: a runtime may move a process
      // after it starts, and exec keeps the start time but changes the program.
      const cgroupText = proc.readCgroup(pid);
      const exePath = proc.readExe(pid);
      if (known !== undefined && known.startTime === startTime && exePath === known.exePath) {
        if (cgroupText === undefined) return known;
        const cgroup = parseCgroupFile(cgroupText);
        if (cgroup.path === known.cgroup.path) return known;
        return remember(pid, { ...known, cgroup });
      }
      const comm = proc.readComm(pid) ?? '';
      return remember(pid, {
        pid,
        startTime,
        comm,
        exePath,
        exeName: exePath !== undefined ? basename(exePath) : comm,
        cgroup: parseCgroupFile(cgroupText ?? ''),
        firstSeenMs: Date.now(),
      });
    },
    cached(pid) {
      const facts = cache.get(pid);
      if (facts !== undefined) usedMs.set(pid, now());
      return facts;
    },
    prune(live) {
      for (const pid of cache.keys()) {
        if (live.has(pid)) continue;
        cache.delete(pid);
        usedMs.delete(pid);
      }
    },
  };
}
