import { readFileSync } from 'node:fs';

/** Parses a kernel CPU list such as "0-3,5,7-8" into sorted CPU numbers. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`parsing cpu list: bad range "${part}" in "${text.trim()}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let c = lo; c <= hi; c++) cpus.push(c);
  }
  return cpus;
}

/** CPUs online now (/sys/devices/system/cpu/online): one perf event each. */
export function onlineCpus(): number[] {
  return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
}

/**
 * How many CPUs could ever exist: the highest possible CPU + 1, which is
 * how many slots a per-CPU map value holds.
 */
export function possibleCpus(): number {
  const cpus = parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
  return (cpus[cpus.length - 1] ?? 0) + 1;
}
