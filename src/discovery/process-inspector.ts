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
  /** Fresh facts, or the last known ones when the process has exited. */
  inspect(pid: number): ProcessFacts | undefined;
  /** The last known facts, without reading /proc. */
  cached(pid: number): ProcessFacts | undefined;
  /** Forgets processes not in `live` (the pids of the latest scan). */
  prune(live: ReadonlySet<number>): void;
}

/** Creates an inspector over `proc`. */
export function createProcessInspector(proc: ProcReader): ProcessInspector {
  const cache = new Map<number, ProcessFacts>();
  return {
    proc,
    inspect(pid) {
      const startTime = proc.readStartTime(pid);
      const known = cache.get(pid);
      if (startTime === undefined) return known;
      // The cgroup and exe are re-read every time: a runtime may move a process
      // after it starts, and exec keeps the start time but changes the program.
      const cgroupText = proc.readCgroup(pid);
      const exePath = proc.readExe(pid);
      if (known !== undefined && known.startTime === startTime && exePath === known.exePath) {
        if (cgroupText === undefined) return known;
        const cgroup = parseCgroupFile(cgroupText);
        if (cgroup.path === known.cgroup.path) return known;
        const moved = { ...known, cgroup };
        cache.set(pid, moved);
        return moved;
      }
      const comm = proc.readComm(pid) ?? '';
      const facts: ProcessFacts = {
        pid,
        startTime,
        comm,
        exePath,
        exeName: exePath !== undefined ? basename(exePath) : comm,
        cgroup: parseCgroupFile(cgroupText ?? ''),
        firstSeenMs: Date.now(),
      };
      cache.set(pid, facts);
      return facts;
    },
    cached: (pid) => cache.get(pid),
    prune(live) {
      for (const pid of cache.keys()) if (!live.has(pid)) cache.delete(pid);
    },
  };
}
