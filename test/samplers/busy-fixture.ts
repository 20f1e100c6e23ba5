import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** Compiles test/fixtures/busy.c with frame pointers into test/fixtures/bin/busy. */
export function buildBusy(): string {
  const out = join(fixtures, 'bin', 'busy');
  mkdirSync(dirname(out), { recursive: true });
  execFileSync('gcc', ['-O1', '-fno-omit-frame-pointer', '-g', '-o', out, join(fixtures, 'busy.c')]);
  return out;
}

/** Starts busy for `seconds` and resolves once it printed "ready". */
export async function startBusy(path: string, seconds: number): Promise<ChildProcess & { pid: number }> {
  const child = spawn(path, [String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve());
  });
  return child as ChildProcess & { pid: number };
}

/** Resolves when the child has exited. */
export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

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
