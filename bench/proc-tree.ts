/**
 * Reads a process tree's CPU time and memory from /proc while it runs: what
 * a tool and every process it started have used so far. CPU comes from
 * /proc/PID/stat in clock ticks (USER_HZ, 100 a second here), memory from
 * VmRSS, VmHWM, RssAnon and RssFile in /proc/PID/status.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Ticks per second of /proc/PID/stat's time fields; USER_HZ is 100 on Linux x86-64 and arm64. */
export const CLOCK_TICKS_PER_SECOND = 100;

/** One process's figures at one moment. */
export interface ProcFigures {
  readonly pid: number;
  readonly ppid: number;
  /** Its command name, from /proc/PID/stat. */
  readonly comm: string;
  /** utime + stime + cutime + cstime: its own threads and the children it reaped, ms. */
  readonly cpuMs: number;
  readonly rssKb: number;
  readonly hwmKb: number;
  /** RssAnon: the heaps (V8's, malloc's) and stacks, the part a leak grows. */
  readonly anonKb: number;
  /** RssFile: pages of mapped files (node's own binary is most of it), shared and reclaimable. */
  readonly fileKb: number;
}

function readStat(pid: number): { ppid: number; comm: string; cpuTicks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
  const n = (i: number): number => Number(f[i - 3] ?? 0);
  return { ppid: n(4), comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')), cpuTicks: n(14) + n(15) + n(16) + n(17) };
}

function readMemKb(pid: number): { rssKb: number; hwmKb: number; anonKb: number; fileKb: number } {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    // Gone between the stat and the status read: it counts as no memory.
  }
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), anonKb: kb('RssAnon'), fileKb: kb('RssFile') };
}

/** Every process on the host now: pid → parent, command and CPU ticks; one pass over /proc. */
export type ProcTable = ReadonlyMap<number, { readonly ppid: number; readonly comm: string; readonly cpuTicks: number }>;

/** Reads the whole process table. */
export function readProcTable(): ProcTable {
  const table = new Map<number, { ppid: number; comm: string; cpuTicks: number }>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = readStat(pid);
    if (s !== undefined) table.set(pid, s);
  }
  return table;
}

/** Whether `pid` is below `root` in `table` (not `root` itself). */
export function isBelow(table: ProcTable, pid: number, root: number): boolean {
  for (let p = table.get(pid)?.ppid, hops = 0; p !== undefined && p > 0 && hops < 64; p = table.get(p)?.ppid, hops++) {
    if (p === root) return true;
  }
  return false;
}

/** Every process below `root` (not `root` itself), with its figures; one pass over /proc, or `table` when given. */
export function readDescendants(root: number, table: ProcTable = readProcTable()): ProcFigures[] {
  const parent = table;
  const out: ProcFigures[] = [];
  for (const [pid, s] of parent) {
    if (pid === root || !isBelow(parent, pid, root)) continue;
    out.push({ pid, ppid: s.ppid, comm: s.comm, cpuMs: (s.cpuTicks * 1000) / CLOCK_TICKS_PER_SECOND, ...readMemKb(pid) });
  }
  return out;
}

/** One thread's CPU so far, from /proc/PID/task/TID/schedstat (ns, not ticks). */
export interface ThreadFigures {
  readonly tid: number;
  /** The thread's name (comm); the process's main thread is `main`. */
  readonly name: string;
  readonly cpuMs: number;
}

/** Every live thread of `pid`; threads gone between the listing and the read are left out. */
export function readThreads(pid: number): ThreadFigures[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: ThreadFigures[] = [];
  for (const t of tids) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'latin1').split(' ', 1)[0]);
      const tid = Number(t);
      const name = tid === pid ? 'main' : readFileSync(`/proc/${pid}/task/${t}/comm`, 'latin1').trim();
      out.push({ tid, name, cpuMs: ns / 1e6 });
    } catch {
      // Ended between readdir and read: its time moved to the process's total.
    }
  }
  return out;
}
