/**
 * Oracles for the on-CPU sampler test, read independently of src/: where
 * busy's code is mapped, its functions' ranges (nm), and its CPU time.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The r-xp mapping of `file` in /proc/pid/maps: runtime range and file offset. */
export function execMapping(pid: number, file: string): { start: bigint; end: bigint; offset: bigint } {
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const [range, perms, offset, , , path] = line.split(/\s+/);
    if (perms === 'r-xp' && path === file && range) {
      const [s, e] = range.split('-');
      return { start: BigInt(`0x${s}`), end: BigInt(`0x${e}`), offset: BigInt(`0x${offset}`) };
    }
  }
  throw new Error(`no executable mapping of ${file} in /proc/${pid}/maps`);
}

/** Function ranges [start, end) of `file` as file virtual addresses (nm -S). */
export function functionRanges(file: string, names: readonly string[]): Map<string, [bigint, bigint]> {
  const out = new Map<string, [bigint, bigint]>();
  for (const line of execFileSync('nm', ['-S', file], { encoding: 'utf8' }).split('\n')) {
    const [addr, size, , name] = line.split(' ');
    if (name && names.includes(name) && addr && size) {
      const start = BigInt(`0x${addr}`);
      out.set(name, [start, start + BigInt(`0x${size}`)]);
    }
  }
  return out;
}

/** CPU seconds (user + system) a process has used, from /proc/pid/stat (CLK_TCK 100). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime and stime are fields 14 and 15
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
