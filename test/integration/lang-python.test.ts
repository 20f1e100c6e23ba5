// CPython 3.12+ frames in a recorded profile of a `-X perf` process: its perf map's trampolines and the
// kernel's Python frame walker name the same functions, once.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo-root.js';
import { readFolded, readOtlpKinds, readPprofFrames, recordPid, total } from '../helpers/record-pid.js';

const script = join(repoRoot, 'test', 'fixtures', 'lang-python', 'hot.py');

/** A Python of version 3.12 or later: on PATH, or installed by pyenv. */
function findPython(): string {
  const pyenv = '/root/.pyenv/versions';
  const candidates = ['python3', 'python3.13', 'python3.12', ...(existsSync(pyenv) ? readdirSync(pyenv).sort().reverse().map((v) => `${pyenv}/${v}/bin/python3`) : [])];
  for (const python of candidates) {
    try {
      if (execFileSync(python, ['-c', 'import sys; print(sys.version_info >= (3, 12))'], { encoding: 'utf8' }).trim() === 'True') return python;
    } catch {
      // not installed
    }
  }
  throw new Error('finding python: no Python 3.12+ on PATH or under /root/.pyenv (needed for -X perf)');
}

describe('meshprof record on CPython with -X perf (real BPF, as root)', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-python-record-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the hot Python function, kind cpython, with its script', async () => {
    const child = spawn(findPython(), ['-X', 'perf', script, '40'], { stdio: 'pipe' });
    try {
      await sleep(500);
      await recordPid(child.pid!, [join(dir, 'py.folded'), join(dir, 'py.otlp.pb'), join(dir, 'py.pb.gz')]);
    } finally {
      child.kill();
      if (child.pid !== undefined) rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
    }
    const stacks = readFolded(join(dir, 'py.folded'));
    const all = total(stacks);
    expect(all).toBeGreaterThan(20);
    // The kernel's Python frame walker names the function under the eval loop that ran it; the
    // trampoline the perf map names (the same function) gives way to it.
    // folded shows Python frames with their file (and line where known): `hot_loop (hot.py:7)`
    const isHotLoop = (f: string): boolean => /^hot_loop \(\S+\.py(:\d+)?\)$/.test(f);
    const inHotLoop = stacks.filter((s) => s.frames.some(isHotLoop)).reduce((n, s) => n + s.count, 0);
    expect(inHotLoop / all).toBeGreaterThan(0.8);
    expect(stacks.some((s) => /_PyEval_EvalFrameDefault;hot_loop \(/.test(s.frames.join(';')))).toBe(true);
    expect(stacks.some((s) => s.frames.filter(isHotLoop).length > 1)).toBe(false);
    expect(readOtlpKinds(join(dir, 'py.otlp.pb')).get('hot_loop')).toEqual(new Set(['cpython']));
    const frame = readPprofFrames(join(dir, 'py.pb.gz')).flat().find((f) => f.name === 'hot_loop');
    expect(frame?.fileName).toBe(script);
  });
});
