// JIT names for CPython 3.12+: `-X perf` writes a trampoline per Python function to /tmp/perf-PID.map.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPerfMap } from '../../src/symbolize/perf-map.js';

const script = fileURLToPath(new URL('../fixtures/lang-python/hot.py', import.meta.url));

/** A Python of version 3.12 or later: on PATH, or installed by pyenv. */
function findPython(): string {
  const pyenv = '/root/.pyenv/versions';
  const candidates = [
    'python3',
    'python3.13',
    'python3.12',
    ...(existsSync(pyenv) ? readdirSync(pyenv).sort().reverse().map((v) => `${pyenv}/${v}/bin/python3`) : []),
  ];
  for (const python of candidates) {
    try {
      const version = execFileSync(python, ['-c', 'import sys; print(sys.version_info >= (3, 12))'], { encoding: 'utf8' });
      if (version.trim() === 'True') return python;
    } catch {
      // not installed
    }
  }
  throw new Error('finding python: no Python 3.12+ on PATH or under /root/.pyenv (needed for -X perf)');
}

describe('perf maps of CPython', () => {
  let child: ChildProcessWithoutNullStreams;
  beforeAll(async () => {
    child = spawn(findPython(), ['-X', 'perf', script], { stdio: 'pipe' });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`python exited with ${String(code)}`)));
    });
  });
  afterAll(() => {
    child.stdin.end();
    child.kill();
    if (child.pid !== undefined) rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
  });

  it('names the hot function with kind cpython and its file', () => {
    const pid = child.pid ?? 0;
    const map = openPerfMap(pid);
    expect(map.refresh()).toBe(true);
    const raw = execFileSync('grep', [' py::hot_loop:', `/tmp/perf-${pid}.map`], { encoding: 'utf8' });
    const [start, size] = (raw.split('\n')[0] ?? '').split(' ').slice(0, 2).map((h) => BigInt(`0x${h}`));
    const found = map.lookup((start ?? 0n) + (size ?? 1n) - 1n);
    expect(found).toMatchObject({ name: 'hot_loop', kind: 'cpython', fileName: script });
  });
});
