/**
 * Which processes are using CPU now: /proc/PID/stat's utime + stime read
 * twice, `windowMs` apart. A profiler that samples every process uses it
 * to get ready for the processes its first samples will come from.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createProcReader } from './proc-reader.js';

/** utime + stime (clock ticks) of every process, by pid. */
function cpuTicks(procRoot: string): Map<number, number> {
  const ticks = new Map<number, number>();
  const proc = createProcReader(procRoot);
  let pids: number[];
  try {
    pids = proc.listPids();
  } catch {
    return ticks;
  }
  for (const pid of pids) {
    // undefined: gone meanwhile
    const fields = proc.readStat(pid);
    if (fields !== undefined) ticks.set(pid, Number(fields[11]) + Number(fields[12]));
  }
  return ticks;
}

/** Pids that used CPU during the next `windowMs`, busiest first. */
export async function busyProcesses(procRoot: string, windowMs: number): Promise<number[]> {
  const before = cpuTicks(procRoot);
  await sleep(windowMs);
  const after = cpuTicks(procRoot);
  const busy: [number, number][] = [];
  for (const [pid, t] of after) {
    const used = t - (before.get(pid) ?? t);
    if (used > 0) busy.push([pid, used]);
  }
  return busy.sort((a, b) => b[1] - a[1]).map(([pid]) => pid);
}
