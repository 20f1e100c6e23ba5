// The exec watcher thread's outbox: exits wait for a message that goes anyway, in order, or go alone once enough wait.
import { describe, expect, it } from 'vitest';
import { createHeldExits, EXITS_ALONE, HOLD_EXITS_MS } from '../../src/process/held-exits.js';
import type { TrackedEvent } from '../../src/process/process-tracking.js';

const exit = (pid: number): TrackedEvent => ({ pid, kind: 'exit' });

describe('createHeldExits', () => {
  it('holds exits until an exec goes, then sends them first, in order', () => {
    const box = createHeldExits();
    let out = box.take();
    out.push(exit(1), exit(2));
    expect(box.ready(out, 0)).toBeUndefined();
    out = box.take();
    expect(out).toEqual([exit(1), exit(2)]);
    out.push(exit(3));
    expect(box.ready(out, 0)).toBeUndefined();
    out = box.take();
    out.push({ pid: 3, kind: 'exec', sampled: true }); // a new process under the pid that exited
    expect(box.ready(out, 0)).toEqual([exit(1), exit(2), exit(3), { pid: 3, kind: 'exec', sampled: true }]);
    expect(box.take()).toEqual([]);
  });

  it('sends exits alone once EXITS_ALONE wait, and nothing for an empty wakeup', () => {
    const box = createHeldExits();
    expect(box.ready(box.take(), 0)).toBeUndefined();
    for (let pid = 1; pid < EXITS_ALONE; pid++) {
      const out = box.take();
      out.push(exit(pid));
      expect(box.ready(out, 0)).toBeUndefined();
    }
    const out = box.take();
    out.push(exit(EXITS_ALONE));
    expect(box.ready(out, 0)?.map((e) => e.pid)).toEqual(Array.from({ length: EXITS_ALONE }, (_, i) => i + 1));
    expect(box.take()).toEqual([]);
  });

  it('sends held exits once the oldest has waited HOLD_EXITS_MS, and says when that is due', () => {
    const box = createHeldExits();
    expect(box.due()).toBe(Infinity);
    let out = box.take();
    out.push(exit(1));
    expect(box.ready(out, 1000)).toBeUndefined();
    expect(box.due()).toBe(1000 + HOLD_EXITS_MS);
    out = box.take();
    out.push(exit(2));
    expect(box.ready(out, 1500)).toBeUndefined();
    expect(box.due()).toBe(1000 + HOLD_EXITS_MS); // the oldest sets it
    out = box.take();
    expect(box.ready(out, 1000 + HOLD_EXITS_MS)).toEqual([exit(1), exit(2)]);
    expect(box.due()).toBe(Infinity);
  });
});
