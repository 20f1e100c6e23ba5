// Wake fds and waitReadable: the primitives the exec watcher's worker sleeps on.
import { describe, expect, it } from 'vitest';
import { createWakeFd, waitReadable } from '../../src/kernel/index.js';

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
