// Python frames of unmodified CPython processes, walked in the kernel from the
// thread state: Debian's python3.11 always, and every CPython 3.8-3.13 pyenv holds.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/profile/model.js';
import { ElfFile } from '../../src/elf/elf-file.js';
import { parseProcMaps } from '../../src/process/proc-maps.js';
import { createPythonDetector } from '../../src/unwind/python-interpreter.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { readFolded, readOtlpKinds, readPprofFrames, recordPid, total } from '../helpers/record-pid.js';
import { record, type Recording } from '../helpers/record.js';
import { repoRoot } from '../helpers/repo-root.js';

const script = join(repoRoot, 'test', 'fixtures', 'lang-python', 'checkout.py');
const debianPython = '/usr/bin/python3.11';
/** 1-based line of the fixture that holds `text`. */
const lineOf = (text: string): number => readFileSync(script, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;

/** pyenv's interpreters, found at run time (CI has none): CPython 3.8-3.13, or the others. */
function pyenvPythons(supported = true): { label: string; path: string }[] {
  let root = process.env.PYENV_ROOT ?? '/root/.pyenv';
  try {
    root = execFileSync('pyenv', ['root'], { encoding: 'utf8' }).trim();
  } catch {
    // no pyenv on PATH: the default root, if any
  }
  const versions = join(root, 'versions');
  if (!existsSync(versions)) return [];
  return readdirSync(versions).flatMap((v) => {
    const m = /^(\d)\.(\d+)\.\d+$/.exec(v);
    if (!m) return [];
    const path = join(versions, v, 'bin', `python${m[1]}.${m[2]}`);
    const walked = m[1] === '3' && Number(m[2]) >= 8 && Number(m[2]) <= 13;
    return walked === supported && existsSync(path) ? [{ label: `pyenv ${v}`, path }] : [];
  });
}

const pythons = [{ label: 'Debian python3.11', path: debianPython }, ...pyenvPythons()];

/** Starts the fixture and resolves once the interpreter runs it. */
async function startFixture(python: string, mode: string, seconds: number): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(python, [script, mode, String(seconds)], { stdio: 'pipe' });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${python} exited with ${String(code)} before it was ready`)));
  });
  return child;
}

async function recordFixture(python: string, mode: string, kind: 'oncpu' | 'offcpu', seconds = 30, ms = 4000): Promise<Recording> {
  const child = await startFixture(python, mode, seconds);
  try {
    return await record(kind, [child.pid!], ms);
  } finally {
    child.kill();
  }
}

/** Samples (first value) of the stacks where `outer` is a caller (rootward) of `inner`; names are leaf first. */
function shareCalling(r: Recording, inner: string, outer: string): number {
  let n = 0;
  for (const s of r.stacks) {
    const i = s.names.indexOf(inner);
    if (i >= 0 && s.names.indexOf(outer, i + 1) > i) n += s.count;
  }
  return n / r.total;
}

function frameNamed(r: Recording, name: string): Frame | undefined {
  for (const s of r.profile.samples) {
    const f = s.frames.find((x) => x.functionName === name);
    if (f) return f;
  }
  return undefined;
}

describe('Python frames walked in the kernel (real BPF, as root)', () => {
  beforeAll(() => {
    requirePrerequisites(bpfSkipReason());
    // Debian's interpreter is required (scripts/setup.sh --test installs it); pyenv's are tested where present.
    expect(existsSync(debianPython), `${debianPython} missing: apt-get install python3.11`).toBe(true);
  });

  for (const py of pythons) {
    it(`${py.label}: handler → checkout_total in ≥ 80% of on-CPU samples, kind cpython, with file and line`, async () => {
      const r = await recordFixture(py.path, 'checkout', 'oncpu');
      expect(r.total).toBeGreaterThan(30);
      // Its code objects are read from its memory at each drain: the agent drains every second while it is walked.
      expect(r.drainEveryMs).toBe(1000);
      const share = shareCalling(r, 'checkout_total', 'handler');
      console.log(`${py.label}: handler → checkout_total in ${(share * 100).toFixed(1)}% of ${r.total} samples`);
      expect(share, `${py.label}: ${(share * 100).toFixed(1)}% of ${r.total}; top stack ${r.stacks[0]?.names.join(';')}`).toBeGreaterThanOrEqual(0.8);
      // the Python frames run under the interpreter's eval loop
      expect(shareCalling(r, 'handler', '_PyEval_EvalFrameDefault')).toBeGreaterThanOrEqual(0.8);
      const f = frameNamed(r, 'checkout_total');
      expect(f).toMatchObject({ kind: 'cpython', fileName: script, symbolized: true });
      // the loop: its `for` or its body
      expect([lineOf('for i in range(items)'), lineOf('total += i * 3 % 7')]).toContain(f?.line);
      expect(frameNamed(r, 'handler')).toMatchObject({ kind: 'cpython', fileName: script, line: lineOf('return checkout_total(2000)') });
    });

    it(`${py.label}: threads, a generator, a coroutine and a Python hook under json's C encoder`, async () => {
      const r = await recordFixture(py.path, 'mix', 'oncpu');
      expect(r.total).toBeGreaterThan(30);
      const shapes = {
        thread: shareCalling(r, 'handler', 'thread_worker'),
        generator: shareCalling(r, 'checkout_total', 'gen_items'),
        coroutine: shareCalling(r, 'checkout_total', 'coroutine_total'),
        hook: shareCalling(r, 'encode_default', 'json_worker'),
      };
      const shown = JSON.stringify(shapes);
      console.log(`${py.label} mix: shares of ${r.total} samples ${shown}`);
      for (const share of Object.values(shapes)) expect(share, shown).toBeGreaterThan(0.03);
      // the hook is called by C: a native frame other than the eval loop stands between it and dumps
      const hook = r.stacks.find((s) => s.names.includes('encode_default') && s.names.includes('dumps'));
      const between = hook?.names.slice(hook.names.indexOf('encode_default') + 1, hook.names.indexOf('dumps')) ?? [];
      expect(between.filter((n) => !n.startsWith('_PyEval_EvalFrameDefault')).length, hook?.names.join(';')).toBeGreaterThan(0);
    });

    it(`${py.label} off-CPU: time.sleep is under the Python function that called it`, async () => {
      const r = await recordFixture(py.path, 'sleep', 'offcpu');
      expect(r.total).toBeGreaterThan(50);
      const share = shareCalling(r, 'nap', '<module>');
      console.log(`${py.label} off-CPU: <module> → nap in ${(share * 100).toFixed(1)}% of ${r.total} switches`);
      expect(share, `${(share * 100).toFixed(1)}% of ${r.total} switches`).toBeGreaterThanOrEqual(0.8);
      expect(frameNamed(r, 'nap')).toMatchObject({ kind: 'cpython', fileName: script, line: lineOf('time.sleep(0.005)') });
    });
  }

  it('meshprof record on Debian python3.11: folded, OTLP and pprof name the Python frames, kind cpython, with file:line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lang-python-frames-'));
    const child = await startFixture(debianPython, 'checkout', 60);
    try {
      await recordPid(child.pid!, [join(dir, 'py.folded'), join(dir, 'py.otlp.pb'), join(dir, 'py.pb.gz')], '5s');
      const stacks = readFolded(join(dir, 'py.folded'));
      const all = total(stacks);
      const lines = readFileSync(script, 'utf8').split('\n');
      const moduleCallLine = lines.findIndex((l, i) => i > lines.indexOf('if mode == "checkout":') && l.includes('handler()')) + 1;
      // folded shows Python frames as py-spy does: `handler (checkout.py:9)`
      const chain = `_PyEval_EvalFrameDefault;<module> (checkout.py:${moduleCallLine});handler (checkout.py:${lineOf('return checkout_total(2000)')});checkout_total (checkout.py:`;
      const chained = stacks.filter((s) => s.frames.join(';').includes(chain))
        .reduce((n, s) => n + s.count, 0);
      console.log(`record --pid (python3.11): ${chain}…) in ${chained} of ${all} samples`);
      expect(all).toBeGreaterThan(20);
      expect(chained / all).toBeGreaterThanOrEqual(0.8);
      const kinds = readOtlpKinds(join(dir, 'py.otlp.pb'));
      expect(kinds.get('checkout_total')).toEqual(new Set(['cpython']));
      expect(kinds.get('_PyEval_EvalFrameDefault')).toEqual(new Set(['native']));
      const handler = readPprofFrames(join(dir, 'py.pb.gz')).flat().find((f) => f.name === 'handler');
      expect(handler).toEqual({ name: 'handler', fileName: script, line: lineOf('return checkout_total(2000)') });
    } finally {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Debian python3.11 is found through .dynsym alone (the binary is stripped)', async () => {
    const elf = ElfFile.open(debianPython);
    try {
      expect(elf.section('.symtab')).toBeUndefined();
    } finally {
      elf.close();
    }
    const child = await startFixture(debianPython, 'checkout', 30);
    try {
      const d = createPythonDetector('/proc').detect(child.pid!, parseProcMaps(readFileSync(`/proc/${child.pid!}/maps`, 'utf8')));
      expect(d).toMatchObject({ kind: 'supported', interpreter: { version: '3.11', file: debianPython } });
    } finally {
      child.kill();
    }
  });

  for (const py of pyenvPythons(false)) {
    it(`${py.label}: reported as not walked, with the reason`, async () => {
      const child = spawn(py.path, ['-c', 'import sys, time; print("ready"); sys.stdout.flush(); time.sleep(30)'], { stdio: 'pipe' });
      try {
        await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
        const d = createPythonDetector('/proc').detect(child.pid!, parseProcMaps(readFileSync(`/proc/${child.pid!}/maps`, 'utf8')));
        expect(d).toMatchObject({ kind: 'unsupported', reason: expect.stringMatching(/_PyRuntime|offsets/) });
      } finally {
        child.kill();
      }
    });
  }

  it('Debian python3.11: a process that exits during the recording keeps its Python names', async () => {
    const child = await startFixture(debianPython, 'until-eof', 30);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // it exits 2.5 s into sampling, after the collector's first polls (each second) read its code objects;
    // the profile is built after it is gone
    const r = await record('oncpu', [child.pid!], 5000, true, () => setTimeout(() => child.stdin.end(), 2500));
    await exited;
    expect(r.total).toBeGreaterThan(50);
    expect(shareCalling(r, 'checkout_total', 'handler')).toBeGreaterThanOrEqual(0.8);
    expect(frameNamed(r, 'handler')).toMatchObject({ kind: 'cpython', fileName: script, line: lineOf('return checkout_total(2000)') });
  });
});
