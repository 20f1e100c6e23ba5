/**
 * The one reader of per-process /proc files, below a configurable root so the
 * agent can run in a container with the host's /proc at /host/proc. The
 * process table reads snapshots through it; discovery and the SkyWalking
 * reporter read single facts through a ProcReader.
 */
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { parseProcMaps, type ProcMapping } from './proc-maps.js';

// A process that exited, or one we may not look into, reads as absent.
const ABSENT = new Set(['ENOENT', 'ESRCH', 'EACCES', 'EPERM']);
// Read buffer, grown as needed: open+read is ~40% cheaper than readFileSync on
// /proc, whose files report size 0 and make readFileSync probe first.
let buf = Buffer.alloc(8192);

/**
 * Text of `<procRoot>/PID/NAME`: undefined when the process is gone or hidden
 * (ENOENT, ESRCH, EACCES, EPERM); throws "reading PATH: cause" otherwise.
 */
export function readProcFile(procRoot: string, pid: number, name: string): string | undefined {
  return readText(procPath(procRoot, pid, name));
}

/** `<procRoot>/PID/NAME`, built without path.join: the exec watcher builds three per new program. */
function procPath(procRoot: string, pid: number, name: string): string {
  return `${procRoot.endsWith('/') && procRoot.length > 1 ? procRoot.slice(0, -1) : procRoot}/${pid}/${name}`;
}

function readText(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    let len = 0;
    for (;;) {
      if (len === buf.length) buf = Buffer.concat([buf, Buffer.alloc(buf.length)]);
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
    }
    const text = buf.toString('utf8', 0, len);
    // A large maps file need not be held on to until the next one.
    if (buf.length > 1024 * 1024) buf = Buffer.alloc(8192);
    return text;
  } catch (err) {
    if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw new Error(`reading ${path}: ${(err as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Thread-group ids (processes) listed in `procRoot`; throws "listing processes in ROOT: cause". */
export function listProcPids(procRoot: string): number[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch (err) {
    throw new Error(`listing processes in ${procRoot}: ${(err as Error).message}`);
  }
  const out: number[] = [];
  for (const n of names) {
    if (n.charCodeAt(0) < 48 || n.charCodeAt(0) > 57) continue;
    const pid = Number(n);
    if (Number.isInteger(pid) && pid > 0) out.push(pid);
  }
  return out;
}

/** Target of `<procRoot>/PID/exe` without " (deleted)"; undefined for kernel threads, zombies and unreadable links. */
export function readProcExe(procRoot: string, pid: number): string | undefined {
  try {
    return readlinkSync(procPath(procRoot, pid, 'exe')).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

/** Arguments of a NUL-separated /proc/PID/cmdline; none for kernel threads. */
export function parseCmdline(raw: string): string[] {
  return raw === '' ? [] : raw.replace(/\0$/, '').split('\0');
}

/** Fields after the `(comm)` of /proc/PID/stat; comm may contain spaces and parentheses. */
export function parseStatFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).trim().split(/\s+/);
}

/** What is read from <procRoot>/PID when a process is first seen. */
export interface ProcSnapshot {
  readonly comm: string;
  readonly exePath: string | undefined;
  readonly cmdline: readonly string[];
  readonly mappings: readonly ProcMapping[];
}

/**
 * A snapshot as read, its maps still text: the thread that reads every new
 * program parses none of them, and text crosses to another thread at the
 * cost of a copy, where parsed mappings are serialized field by field.
 */
export interface RawProcSnapshot {
  readonly comm: string;
  readonly exePath: string | undefined;
  readonly cmdline: readonly string[];
  /** The text of /proc/PID/maps. */
  readonly maps: string;
}

/**
 * Reads comm, exe, cmdline and maps of `pid`. Returns undefined when the
 * process does not exist (or exited while being read); the fields that only
 * a kernel thread or a permission problem hides come back empty instead.
 * Throws "reading PATH: cause" on any other error.
 */
export function readProcSnapshot(procRoot: string, pid: number): ProcSnapshot | undefined {
  const raw = readRawProcSnapshot(procRoot, pid);
  return raw === undefined ? undefined : parseProcSnapshot(raw);
}

/**
 * Like readProcSnapshot, with the maps left as text (parseProcSnapshot parses
 * them). What the caller knows (the kernel's exec event: the comm, and the
 * arguments NUL-separated as in /proc/PID/cmdline) is not read.
 */
export function readRawProcSnapshot(procRoot: string, pid: number, known: { readonly comm?: string; readonly args?: string } = {}): RawProcSnapshot | undefined {
  const name = known.comm ?? readProcFile(procRoot, pid, 'comm')?.replace(/\n$/, '');
  if (name === undefined) return undefined;
  const maps = readProcFile(procRoot, pid, 'maps');
  if (maps === undefined) return undefined;
  const exePath = readProcExe(procRoot, pid);
  const cmdline = parseCmdline(known.args ?? readProcFile(procRoot, pid, 'cmdline') ?? '');
  return { comm: name, exePath, cmdline, maps };
}

/** The snapshot with its maps parsed. */
export function parseProcSnapshot(raw: RawProcSnapshot): ProcSnapshot {
  return { comm: raw.comm, exePath: raw.exePath, cmdline: raw.cmdline, mappings: parseProcMaps(raw.maps) };
}

/** Reads and parses <procRoot>/PID/maps; undefined when the process is gone. */
export function readProcMappings(procRoot: string, pid: number): ProcMapping[] | undefined {
  const text = readProcFile(procRoot, pid, 'maps');
  return text === undefined ? undefined : parseProcMaps(text);
}

/**
 * Single facts of many processes, for those that skip what they cannot
 * read: every read returns undefined on any failure, never throws.
 */
export interface ProcReader {
  readonly root: string;
  /** Thread-group ids (processes) listed in the root; throws as listProcPids does. */
  listPids(): number[];
  /** The comm, without its newline. */
  readComm(pid: number): string | undefined;
  /** Target of /proc/PID/exe, as seen in the process's mount namespace. */
  readExe(pid: number): string | undefined;
  /** Arguments; [] for kernel threads. */
  readCmdline(pid: number): string[] | undefined;
  readCgroup(pid: number): string | undefined;
  /** Fields of /proc/PID/stat after the comm (state first; see parseStatFields). */
  readStat(pid: number): string[] | undefined;
  /** Start time in clock ticks since boot (stat field 22): with the pid, it names a process uniquely. */
  readStartTime(pid: number): string | undefined;
  /** The NUL-separated environment; needs ptrace-read access to the process. */
  readEnviron(pid: number): string | undefined;
  /** One variable of the environment. */
  readEnvVar(pid: number, name: string): string | undefined;
  /** The 1-minute load average of the system (<root>/loadavg). */
  readLoadAverage(): number | undefined;
}

/** Creates a reader for `root` (default /proc). */
export function createProcReader(root = '/proc'): ProcReader {
  const text = (path: string): string | undefined => {
    try {
      return readText(path);
    } catch {
      return undefined;
    }
  };
  const file = (pid: number, name: string): string | undefined => text(join(root, String(pid), name));
  const reader: ProcReader = {
    root,
    listPids: () => listProcPids(root),
    readComm: (pid) => file(pid, 'comm')?.replace(/\n$/, ''),
    readExe: (pid) => readProcExe(root, pid),
    readCmdline(pid) {
      const raw = file(pid, 'cmdline');
      return raw === undefined ? undefined : parseCmdline(raw);
    },
    readCgroup: (pid) => file(pid, 'cgroup'),
    readStat(pid) {
      const stat = file(pid, 'stat');
      return stat === undefined ? undefined : parseStatFields(stat);
    },
    readStartTime: (pid) => reader.readStat(pid)?.[19],
    readEnviron: (pid) => file(pid, 'environ'),
    readEnvVar(pid, name) {
      const prefix = `${name}=`;
      for (const kv of reader.readEnviron(pid)?.split('\0') ?? []) if (kv.startsWith(prefix)) return kv.slice(prefix.length);
      return undefined;
    },
    readLoadAverage() {
      const loadavg = text(join(root, 'loadavg'));
      const v = Number(loadavg?.split(' ')[0]);
      return Number.isFinite(v) ? v : undefined;
    },
  };
  return reader;
}
