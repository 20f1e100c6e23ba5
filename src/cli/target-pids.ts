import { readFileSync } from 'node:fs';
import { UsageError } from './usage-error.js';

/** PF_KTHREAD in /proc/PID/stat's flags (include/linux/sched.h). */
const PF_KTHREAD = 0x0020_0000;

/** What /proc/PID/stat says about a process the user named with --pid. */
export interface TargetPidState {
  readonly comm: string;
  /** R, S, D, Z, T, ... (proc(5)). */
  readonly state: string;
  readonly kernelThread: boolean;
}

/** Parses /proc/PID/stat; comm may hold spaces and parentheses, so it is cut at the last ')'. */
export function parseProcStat(text: string): TargetPidState | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // Fields after comm: state(3) ppid pgrp session tty_nr tpgid flags(9).
  const rest = text.slice(close + 2).split(' ');
  const flags = Number(rest[6]);
  if (rest[0] === undefined || !Number.isFinite(flags)) return undefined;
  return { comm: text.slice(open + 1, close), state: rest[0], kernelThread: (flags & PF_KTHREAD) !== 0 };
}

/**
 * Checks each --pid before anything is loaded: a missing process or a zombie
 * is a usage error (nothing of it can ever be sampled); a kernel thread gets a
 * warning, since only kernel stacks, and only while it runs, can be seen.
 * Returns the warnings to print.
 */
export function checkTargetPids(pids: readonly number[], procRoot = '/proc'): string[] {
  const warnings: string[] = [];
  for (const pid of pids) {
    let stat: TargetPidState | undefined;
    try {
      stat = parseProcStat(readFileSync(`${procRoot}/${pid}/stat`, 'utf8'));
    } catch {
      throw new UsageError(`--pid ${pid}: no such process: check the id with ps or pgrep`);
    }
    if (stat === undefined) continue;
    if (stat.state === 'Z' || stat.state === 'X') {
      throw new UsageError(`--pid ${pid}: ${stat.comm} has exited (a zombie its parent has not reaped): it runs no code to sample: pick a live process`);
    }
    if (stat.kernelThread) {
      warnings.push(`--pid ${pid}: ${stat.comm} is a kernel thread: it has no user stacks, and only its kernel stacks while it runs are sampled (often none)`);
    }
  }
  return warnings;
}
