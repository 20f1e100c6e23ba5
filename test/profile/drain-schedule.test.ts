import { describe, expect, it } from 'vitest';
import { createDrainSchedule } from '../../src/profile/drain-schedule.js';

/** Wakes a schedule every second for `seconds` (timers a little late, as they are) and returns when each collector was drained. */
function run(collectors: { name: string; drainEveryMs: number }[], mayWait: (t: number) => boolean, seconds: number): Record<string, number[]> {
  let now = 0;
  const s = createDrainSchedule(collectors, { pollMs: 1000, start: 0, mayWait: () => mayWait(now) });
  const at: Record<string, number[]> = Object.fromEntries(collectors.map((c) => [c.name, []]));
  for (let i = 1; i <= seconds; i++) {
    now = i * 1000 + 3;
    for (const c of s.due(now)) at[c.name]!.push(i);
  }
  return at;
}

describe('drain schedule', () => {
  it('drains each collector at the last wakeup within its period while it may wait, else every wakeup', () => {
    const at = run([{ name: 'oncpu', drainEveryMs: 5000 }, { name: 'offcpu', drainEveryMs: 1000 }, { name: 'mid', drainEveryMs: 2600 }], () => true, 12);
    expect(at.oncpu).toEqual([5, 10]);
    expect(at.offcpu).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(at.mid).toEqual([2, 4, 6, 8, 10, 12]);
    // no exec tracking, or selection rules: every second
    expect(run([{ name: 'oncpu', drainEveryMs: 5000 }], () => false, 4).oncpu).toEqual([1, 2, 3, 4]);
  });

  it('asks at every wakeup, so a collector that must drain sooner (a Python process appeared) does at once', () => {
    const c = { name: 'oncpu', drainEveryMs: 5000 };
    let now = 0;
    const s = createDrainSchedule([c], { pollMs: 1000, start: 0, mayWait: () => true });
    const at: number[] = [];
    for (let i = 1; i <= 9; i++) {
      now = i * 1000;
      if (i === 7) c.drainEveryMs = 1000;
      if (s.due(now).length > 0) at.push(i);
    }
    expect(at).toEqual([5, 7, 8, 9]);
  });

  it('counts a collect as a drain of every collector', () => {
    const c = { name: 'oncpu', drainEveryMs: 5000 };
    const s = createDrainSchedule([c], { pollMs: 1000, start: 0, mayWait: () => true });
    expect(s.due(4000)).toEqual([]);
    s.drainedAll(4000);
    expect(s.due(5000)).toEqual([]);
    expect(s.due(8000)).toEqual([]);
    expect(s.due(9000)).toEqual([c]);
  });
});
