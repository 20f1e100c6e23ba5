/**
 * Reads the few /proc files discovery needs, below a configurable root so the
 * agent can run in a container with the host's /proc at /host/proc.
 */
import { closeSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Synchronous /proc access; every read returns undefined once the process is gone or unreadable. */
export interface ProcReader {
  readonly root: string;
  /** Thread-group ids (processes) currently listed in the root. */
  listPids(): number[];
  readCgroup(pid: number): string | undefined;
  readComm(pid: number): string | undefined;
  /** Target of /proc/PID/exe, as seen in the process's mount namespace. */
  readExe(pid: number): string | undefined;
  /** Start time in clock ticks since boot (stat field 22): with the pid, it names a process uniquely. */
  readStartTime(pid: number): string | undefined;
  /** One variable of /proc/PID/environ; needs ptrace-read access to the process. */
  readEnvVar(pid: number, name: string): string | undefined;
}

/** Creates a reader for `root` (default /proc). */
export function createProcReader(root = '/proc'): ProcReader {
  // One buffer per reader; open+read is ~40% cheaper than readFileSync on /proc,
  // whose files report size 0 and make readFileSync probe first.
  let buf = Buffer.alloc(8192);
  const file = (pid: number, name: string): string | undefined => {
    let fd: number;
    try {
      fd = openSync(join(root, String(pid), name), 'r');
    } catch {
      return undefined;
    }
    try {
      let len = 0;
      for (;;) {
        if (len === buf.length) buf = Buffer.concat([buf, Buffer.alloc(buf.length)]);
        const n = readSync(fd, buf, len, buf.length - len, null);
        if (n === 0) break;
        len += n;
      }
      return buf.toString('utf8', 0, len);
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  };
  return {
    root,
    listPids() {
      const out: number[] = [];
      let names: string[];
      try {
        names = readdirSync(root);
      } catch (err) {
        throw new Error(`listing processes in ${root}: ${(err as Error).message}`);
      }
      for (const n of names) {
        if (n.charCodeAt(0) < 48 || n.charCodeAt(0) > 57) continue;
        const pid = Number(n);
        if (Number.isInteger(pid) && pid > 0) out.push(pid);
      }
      return out;
    },
    readCgroup: (pid) => file(pid, 'cgroup'),
    readComm: (pid) => file(pid, 'comm')?.replace(/\n$/, ''),
    readExe(pid) {
      try {
        return readlinkSync(join(root, String(pid), 'exe')).replace(/ \(deleted\)$/, '');
      } catch {
        return undefined;
      }
    },
    readStartTime(pid) {
      const stat = file(pid, 'stat');
      if (stat === undefined) return undefined;
      // comm (field 2) may hold spaces and parentheses: count fields after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return rest[19];
    },
    readEnvVar(pid, name) {
      const env = file(pid, 'environ');
      if (env === undefined) return undefined;
      const prefix = `${name}=`;
      for (const kv of env.split('\0')) if (kv.startsWith(prefix)) return kv.slice(prefix.length);
      return undefined;
    },
  };
}
