/**
 * Which processes are using CPU now: /proc/PID/stat's utime + stime read
 * twice, `windowMs` apart. A profiler that samples every process uses it
 * to get ready for the processes its first samples will come from.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** utime + stime (clock ticks) of every process, by pid. */
function cpuTicks(procRoot: string): Map<number, number> {
  const ticks = new Map<number, number>();
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return ticks;
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      const stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
      // comm may hold spaces and parentheses: fields count from the last ')'
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // gone meanwhile
    }
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
