/** Reading one process's identity and mappings from a proc filesystem. */
import { readFileSync, readlinkSync } from 'node:fs';
import { parseProcMaps, type ProcMapping } from './proc-maps.js';

/** What is read from <procRoot>/PID when a process is first seen. */
export interface ProcSnapshot {
  readonly comm: string;
  readonly exePath: string | undefined;
  readonly cmdline: readonly string[];
  readonly mappings: readonly ProcMapping[];
}

/**
 * Reads comm, exe, cmdline and maps of `pid`. Returns undefined when the
 * process does not exist (or exited while being read); the fields that only
 * a kernel thread or a permission problem hides come back empty instead.
 */
export function readProcSnapshot(procRoot: string, pid: number): ProcSnapshot | undefined {
  const dir = `${procRoot}/${pid}`;
  const comm = readText(`${dir}/comm`);
  if (comm === undefined) return undefined;
  const mappings = readProcMappings(procRoot, pid);
  if (mappings === undefined) return undefined;
  let exePath: string | undefined;
  try {
    exePath = readlinkSync(`${dir}/exe`);
    if (exePath.endsWith(' (deleted)')) exePath = exePath.slice(0, -' (deleted)'.length);
  } catch {
    // Kernel threads have no exe link; zombies lose it too.
    exePath = undefined;
  }
  const raw = readText(`${dir}/cmdline`) ?? '';
  const cmdline = raw === '' ? [] : raw.replace(/\0$/, '').split('\0');
  return { comm: comm.replace(/\n$/, ''), exePath, cmdline, mappings };
}

/** Reads and parses <procRoot>/PID/maps; undefined when the process is gone. */
export function readProcMappings(procRoot: string, pid: number): ProcMapping[] | undefined {
  const text = readText(`${procRoot}/${pid}/maps`);
  return text === undefined ? undefined : parseProcMaps(text);
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES' || code === 'EPERM') return undefined;
    throw new Error(`reading ${path}: ${(err as Error).message}`);
  }
}
