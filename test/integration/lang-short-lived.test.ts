// Short-lived processes: seen at exec by bpf/procevents.bpf.c and symbolized after they exit.
import { execFile, execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecWatcherThread } from '../../src/process/exec-watcher-thread.js';
import { createProcessTracking } from '../../src/process/process-tracking.js';
import { createProcessTable } from '../../src/process/process-table.js';
import { createExecWatcher, type ProcessEvent } from '../../src/samplers/exec-watcher.js';
import { startCli } from '../helpers/start-cli.js';
import { compileFixture } from '../helpers/compile-fixture.js';
import { repoRoot } from '../helpers/repo-root.js';
import { countChain, readFolded } from '../helpers/record-pid.js';

const run = promisify(execFile);

describe('short-lived processes (real BPF, as root)', () => {
  let dir = '';
  let fixture = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-short-lived-'));
    fixture = compileFixture('lang-c/short-lived.c', { name: 'short-lived', flags: ['-O0', '-g', '-fno-omit-frame-pointer'] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports exec and exit of a child from the ring buffer, with tp_btf on this kernel', async () => {
    const watcher = createExecWatcher();
    watcher.start();
    try {
      expect(watcher.attachedWith).toBe('tp_btf');
      const child = execFile(fixture, ['20']);
      await new Promise((r) => child.on('exit', r));
      await sleep(50);
      const mine = watcher.poll().filter((e: ProcessEvent) => e.pid === child.pid);
      // the comm comes with the event (the new program's name at exec), and an exec's arguments as /proc shows them
      expect(mine).toEqual([
        { pid: child.pid, kind: 'exec', comm: 'short-lived', args: `${fixture}\u000020\u0000` },
        { pid: child.pid, kind: 'exit', comm: 'short-lived' },
      ]);
      // arguments longer than the record holds are left to /proc: none is cut short
      const long = execFile('/bin/true', ['x'.repeat(600)]);
      await new Promise((r) => long.on('exit', r));
      await sleep(50);
      expect(watcher.poll().filter((e) => e.pid === long.pid)).toEqual([{ pid: long.pid, kind: 'exec', comm: 'true' }, { pid: long.pid, kind: 'exit', comm: 'true' }]);
      expect(watcher.lost()).toBe(0);
    } finally {
      watcher.stop();
    }
    const raw = createExecWatcher({ attachMode: 'raw_tp' });
    raw.start();
    try {
      expect(raw.attachedWith).toBe('raw_tp');
      const child = execFile('/bin/true', ['a b', '']);
      await new Promise((r) => child.on('exit', r));
      await sleep(50);
      expect(raw.poll().filter((e) => e.pid === child.pid).map((e) => `${e.kind} ${e.comm} ${JSON.stringify(e.args)}`))
        .toEqual(['exec true "/bin/true\\u0000a b\\u0000\\u0000"', 'exit true undefined']);
    } finally {
      raw.stop();
    }
  });

  it('captures the new program at exec: comm, exe and mappings, with its symbols prepared', async () => {
    const processes = createProcessTable();
    const prepared: number[] = [];
    const snapshots = new Map<number, string>();
    const tracking = createProcessTracking({
      events: createExecWatcher(),
      processes,
      prepare: (pid) => {
        prepared.push(pid);
        snapshots.set(pid, processes.get(pid)?.exePath ?? '');
      },
      intervalMs: 10,
    });
    tracking.start();
    try {
      const { stdout } = await run('sh', ['-c', `${fixture} 150 & echo $!; wait`]);
      const pid = Number(stdout.trim());
      expect(prepared).toContain(pid);
      expect(snapshots.get(pid)).toBe(fixture);
      const p = processes.get(pid);
      expect(p?.comm).toBe('short-lived');
      expect(p?.mappings.some((m) => m.path === fixture && m.executable)).toBe(true);
      expect(tracking.execs).toBeGreaterThanOrEqual(2);
    } finally {
      tracking.stop();
    }
  });

  it('reads a program at exec in a worker thread while the main thread is blocked', async () => {
    // The compiled worker (sh scripts/setup.sh --build-only builds dist/).
    const workerUrl = pathToFileURL(join(repoRoot, 'dist', 'src', 'process', 'exec-watcher-worker.js'));
    const processes = createProcessTable();
    const prepared: number[] = [];
    const tracking = createProcessTracking({
      events: createExecWatcherThread({ workerUrl }),
      processes,
      prepare: (pid) => prepared.push(pid),
      intervalMs: 10,
    });
    tracking.start();
    try {
      await sleep(500); // the worker loads its BPF program
      // execFileSync blocks this thread for the whole life of the program: only the worker can see it.
      const pid = Number(execFileSync('sh', ['-c', `${fixture} 150 & echo $!; wait`], { encoding: 'utf8' }).trim());
      for (let i = 0; i < 50 && !prepared.includes(pid); i++) await sleep(20);
      expect(prepared).toContain(pid);
      const p = processes.get(pid);
      expect(p?.comm).toBe('short-lived');
      expect(p?.exePath).toBe(fixture);
      // its arguments, from the kernel's exec record
      expect(p?.cmdline).toEqual([fixture, '150']);
      expect(p?.mappings.some((m) => m.path === fixture && m.executable)).toBe(true);
      // Its C library was mapped by the loader after exec and is in the table too.
      expect(p?.mappings.some((m) => /\/libc\.so\.6$/.test(m.path))).toBe(true);
    } finally {
      tracking.stop();
    }
  });

  it('names the hot function of a process that lived 300 ms between two polls of meshprof record --all', async () => {
    const out = join(dir, 'short.folded');
    const cli = startCli(['record', '--all', '--duration', '4s', '-o', out]);
    await cli.started;
    // The CLI polls once a second from here: start just after a poll, be gone before the next.
    await sleep(1150);
    const started = Date.now();
    await run(fixture, ['300']);
    const lived = Date.now() - started;
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    const mine = readFolded(out).filter((s) => s.frames[0] === 'short-lived');
    expect(mine.length, `lived ${lived} ms`).toBeGreaterThan(0);
    const named = countChain(mine, ['main', 'burn_briefly']);
    const samples = mine.reduce((n, s) => n + s.count, 0);
    expect(named).toBeGreaterThan(5);
    expect(named / samples).toBeGreaterThan(0.8);
  });
});
