import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a stand-in /proc/PID holds; everything but the exe has a default. */
export interface FakeProcessSpec {
  readonly exe: string;
  /** starttime in clock ticks (stat field 22); default 1000 + pid. */
  readonly start?: string;
  /** /proc/PID/cgroup; default the root cgroup. */
  readonly cgroup?: string;
  readonly env?: readonly string[];
  readonly comm?: string;
}

/** Writes /proc/PID under `root` as discovery reads it (stat, cgroup, comm, environ, exe), replacing any earlier one. */
export function writeFakeProcess(root: string, pid: number, spec: FakeProcessSpec): void {
  const dir = join(root, String(pid));
  const comm = spec.comm ?? 'x';
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  writeFileSync(join(dir, 'stat'), `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 ${spec.start ?? 1000 + pid} 1000 100\n`);
  writeFileSync(join(dir, 'cgroup'), spec.cgroup ?? '0::/\n');
  writeFileSync(join(dir, 'comm'), `${comm}\n`);
  writeFileSync(join(dir, 'environ'), (spec.env ?? []).map((e) => `${e}\0`).join(''));
  symlinkSync(spec.exe, join(dir, 'exe'));
}
