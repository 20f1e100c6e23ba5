// Wake fds and waitReadable: the primitives the exec watcher's worker sleeps on; watchReadable: the main thread's.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWakeFd, waitReadable, watchReadable } from '../../src/kernel/index.js';

describe('waitReadable with a wake fd', () => {
  it('times out while nothing is signalled, then returns at once for good once it is', () => {
    const a = createWakeFd();
    const b = createWakeFd();
    try {
      const t0 = performance.now();
      expect(waitReadable([a.fd, b.fd], 50)).toEqual([false, false]);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(40);
      b.signal();
      b.signal();
      expect(waitReadable([a.fd, b.fd], -1)).toEqual([false, true]);
      expect(waitReadable([a.fd, b.fd], -1)).toEqual([false, true]);
    } finally {
      a.close();
      b.close();
      b.close();
    }
  });

  it('refuses an empty list or more than 32 fds', () => {
    expect(() => waitReadable([], 0)).toThrow(/1 to 32 fds/);
    expect(() => waitReadable(new Array<number>(33).fill(0), 0)).toThrow(/1 to 32 fds/);
  });
});

describe('watchReadable', () => {
  const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it('calls back on the event loop while the fd is readable, never after close()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-watch-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // O_RDWR on a FIFO never blocks on Linux: one fd both ends.
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const read: string[] = [];
    let calls = 0;
    const watch = watchReadable(fd, () => {
      calls++;
      const buf = Buffer.alloc(64);
      read.push(buf.subarray(0, readSync(fd, buf)).toString());
    });
    try {
      await tick(50);
      expect(calls).toBe(0);
      writeSync(fd, 'abc');
      for (let i = 0; i < 100 && calls === 0; i++) await tick(10);
      await tick(50);
      // Consumed in the callback: level-triggered, so exactly one call.
      expect(calls).toBe(1);
      expect(read).toEqual(['abc']);
      watch.close();
      watch.close();
      writeSync(fd, 'def');
      await tick(50);
      expect(calls).toBe(1);
    } finally {
      watch.close();
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not keep the process alive', () => {
    const script = `import { watchReadable, createWakeFd } from ${JSON.stringify(new URL('../../dist/src/kernel/index.js', import.meta.url).href)};
      const w = createWakeFd(); watchReadable(w.fd, () => {}); console.log('watching');`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
    expect(out.trim()).toBe('watching');
  });
});
