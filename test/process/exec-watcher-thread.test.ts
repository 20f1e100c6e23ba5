// The exec watcher's worker sleeps in the kernel; stop(), or the end of the process, wakes it at once.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { execWatcherThreadUrl, loadCreateExecWatcherThread } from '../helpers/exec-watcher-thread.js';

const run = promisify(execFile);
const skip = bpfSkipReason();
const dir = mkdtempSync(join(tmpdir(), 'meshprof-ewt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs a node process that starts the compiled watcher thread, lets the
 * worker fall asleep, then (with `stop`) stops it and in every case lets the
 * process end by itself: Node joins the worker before it exits. Returns how
 * long that took, from the moment the process was done.
 */
async function msToExit(stop: boolean): Promise<number> {
  const mod = execWatcherThreadUrl;
  const script = `
    const { createExecWatcherThread } = await import(${JSON.stringify(mod)});
    const w = createExecWatcherThread();
    w.start();
    await new Promise((r) => setTimeout(r, 1500));
    w.poll();
    ${stop ? 'w.stop();' : ''}
    process.stdout.write(String(performance.timeOrigin + performance.now()));`;
  // A file, not --eval: the worker inherits execArgv.
  const file = join(dir, `watch-${stop ? 'stop' : 'exit'}.mjs`);
  writeFileSync(file, script);
  const { stdout } = await run(process.execPath, [file]);
  return Date.now() - Number(stdout);
}

describe('exec watcher thread (real BPF, as root)', () => {
  beforeAll(() => requirePrerequisites(skip));
  // The idle wait's safety limit is 10 s: ending well under it means the wake fd woke the worker.
  it('ends its worker promptly on stop()', async () => {
    expect(await msToExit(true)).toBeLessThan(1000);
  });
  it('ends its worker promptly when the process ends without stop()', async () => {
    expect(await msToExit(false)).toBeLessThan(1000);
  });
  it('runs in a thread named mp-exec-watch, so top -H tells it apart', async () => {
    const mod = execWatcherThreadUrl;
    const file = join(dir, 'watch-name.mjs');
    writeFileSync(file, `
      import { readdirSync, readFileSync } from 'node:fs';
      const { createExecWatcherThread } = await import(${JSON.stringify(mod)});
      const w = createExecWatcherThread();
      w.start();
      await new Promise((r) => setTimeout(r, 1000));
      w.poll();
      const names = readdirSync('/proc/self/task').map((t) => readFileSync('/proc/self/task/' + t + '/comm', 'latin1').trim());
      w.stop();
      process.stdout.write(JSON.stringify(names));`);
    const names = JSON.parse((await run(process.execPath, [file])).stdout) as string[];
    expect(names.filter((n) => n === 'mp-exec-watch')).toHaveLength(1);
  });
});

/**
 * A stand-in worker: the first one started fills its heap until V8 ends it,
 * the next posts one event. Each start leaves a mark in `marks`.
 */
const OOM_WORKER = `
import { parentPort } from 'node:worker_threads';
import { appendFileSync, readFileSync } from 'node:fs';
const marks = process.env.MESHPROF_TEST_MARKS;
appendFileSync(marks, 'x');
if (readFileSync(marks, 'utf8').length === 1) {
  const held = [];
  for (;;) held.push(new Array(10000).fill(held.length));
}
parentPort.postMessage({ type: 'events', events: [{ pid: 4242, kind: 'exec', unreadable: true }] });
`;

describe('exec watcher thread out of heap', () => {
  it('starts its worker again and says so once', async () => {
    const createExecWatcherThread = await loadCreateExecWatcherThread();
    const marks = join(dir, 'marks');
    writeFileSync(marks, '');
    const workerFile = join(dir, 'oom-worker.mjs');
    writeFileSync(workerFile, OOM_WORKER);
    process.env.MESHPROF_TEST_MARKS = marks;
    const w = createExecWatcherThread({ workerUrl: pathToFileURL(workerFile), oldGenerationMb: 8 });
    const errors: string[] = [];
    const events: number[] = [];
    try {
      w.start();
      const until = Date.now() + 20_000;
      while (events.length === 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        try {
          for (const e of w.poll()) events.push(e.pid);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    } finally {
      w.stop();
      delete process.env.MESHPROF_TEST_MARKS;
    }
    expect(errors).toEqual([expect.stringMatching(/outgrew its 8 MB heap and was restarted/)]);
    expect(events).toEqual([4242]);
    expect(readFileSync(marks, 'utf8')).toBe('xx');
  });
});
