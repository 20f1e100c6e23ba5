/**
 * The values continuous profiling watches, read from procfs: process CPU
 * percent over the last interval (not over the process's life), thread count,
 * and the 1-minute system load.
 */
import { createProcReader } from '../../process/proc-reader.js';

/** One reading of a process. */
export interface ProcessReading {
  /** CPU percent since the previous reading of this pid (100 = one full core); undefined on the first. */
  readonly cpuPercent: number | undefined;
  readonly threads: number;
}

/** Reads procfs; keeps the previous CPU counters per pid to compute percentages. */
export interface ProcessMetricsReader {
  /** Undefined when the process is gone. */
  readProcess(pid: number): ProcessReading | undefined;
  systemLoad(): number | undefined;
  /** Drops state of pids not in the set. */
  retain(pids: ReadonlySet<number>): void;
}

/** Clock ticks per second: USER_HZ is 100 on every Linux architecture meshprof supports. */
const CLK_TCK = 100;

/** Creates a reader over `procRoot` (the host's /proc, possibly mounted elsewhere). */
export function createProcessMetricsReader(procRoot = '/proc', now: () => number = () => performance.now()): ProcessMetricsReader {
  const proc = createProcReader(procRoot);
  const previous = new Map<number, { ticks: number; at: number }>();
  return {
    readProcess(pid) {
      const fields = proc.readStat(pid);
      if (fields === undefined) {
        previous.delete(pid);
        return undefined;
      }
      // After the comm: state is field 3, utime 14, stime 15, num_threads 20 (1-based, proc(5)).
      const ticks = Number(fields[11]) + Number(fields[12]);
      const threads = Number(fields[17]);
      const at = now();
      const before = previous.get(pid);
      previous.set(pid, { ticks, at });
      const elapsedS = before === undefined ? 0 : (at - before.at) / 1_000;
      const cpuPercent = before === undefined || elapsedS <= 0 ? undefined : ((ticks - before.ticks) / CLK_TCK / elapsedS) * 100;
      return { cpuPercent, threads };
    },
    systemLoad: () => proc.readLoadAverage(),
    retain(pids) {
      for (const pid of previous.keys()) if (!pids.has(pid)) previous.delete(pid);
    },
  };
}
