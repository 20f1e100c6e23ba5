import { describe, expect, it } from 'vitest';
import { createDrainSchedule, DrainTimer } from '../../src/profile/drain-schedule.js';

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

describe('drain schedule: how long the loop may sleep', () => {
  it('sleeps until a quarter poll before the first collector is due, and at least a poll after a drain', () => {
    const oncpu = { name: 'oncpu', drainEveryMs: 5000 };
    const offcpu = { name: 'offcpu', drainEveryMs: 1000 };
    let wait = true;
    const s = createDrainSchedule([oncpu], { pollMs: 1000, start: 0, mayWait: () => wait });
    expect(s.nextDueMs(0)).toBe(4750);
    expect(s.nextDueMs(1000)).toBe(3750);
    // Woken then, due() drains it: the wakeup and due() agree.
    expect(s.due(4751)).toEqual([oncpu]);
    expect(s.nextDueMs(4751)).toBe(4750);
    // Overdue: no sleep at all.
    expect(s.nextDueMs(20_000)).toBe(0);
    // Not allowed to wait (no exec tracking, or selection rules): a poll after the last drain.
    wait = false;
    expect(s.nextDueMs(4751)).toBe(1000);
    const both = createDrainSchedule([oncpu, offcpu], { pollMs: 1000, start: 0, mayWait: () => true });
    expect(both.nextDueMs(0)).toBe(1000);
  });

  it("leaves a drain due within a poll of the interval's end to the end's collect", () => {
    // 19 Hz on 2 CPUs: the maps may wait as long as the 15 s interval.
    const oncpu = { name: 'oncpu', drainEveryMs: 15_000 };
    const s = createDrainSchedule([oncpu], { pollMs: 1000, start: 0, mayWait: () => true });
    // Without the deadline it wakes at 14.75 s and drains there, a quarter second before the collect does.
    expect(s.nextDueMs(0)).toBe(14_750);
    expect(s.nextDueMs(0, 15_000)).toBe(15_000);
    expect(s.due(14_751, 15_000)).toEqual([]);
    expect(s.due(14_751)).toEqual([oncpu]);
    // Due earlier than a poll before the end: drained as before.
    const five = { name: 'oncpu', drainEveryMs: 5000 };
    const t = createDrainSchedule([five], { pollMs: 1000, start: 0, mayWait: () => true });
    expect(t.nextDueMs(0, 15_000)).toBe(4750);
    expect(t.due(4751, 15_000)).toEqual([five]);
    expect(t.nextDueMs(4751, 15_000)).toBe(4750);
    expect(t.due(9502, 15_000)).toEqual([five]);
    // The next one (14.25 s) is within a poll of the end: sleep to the end.
    expect(t.nextDueMs(9502, 15_000)).toBe(5498);
    // A Python process walked (every second): the last second before the end is left to the collect too.
    const py = { name: 'oncpu', drainEveryMs: 1000 };
    const u = createDrainSchedule([py], { pollMs: 1000, start: 0, mayWait: () => true });
    expect(u.due(13_000, 15_000)).toEqual([py]);
    expect(u.nextDueMs(13_000, 15_000)).toBe(2000);
    expect(u.due(14_001, 15_000)).toEqual([]);
  });

  it('follows a collector whose period shrinks (a Python process appeared)', () => {
    const c = { name: 'oncpu', drainEveryMs: 5000 };
    const s = createDrainSchedule([c], { pollMs: 1000, start: 0, mayWait: () => true });
    expect(s.nextDueMs(500)).toBe(4250);
    c.drainEveryMs = 1000;
    expect(s.nextDueMs(500)).toBe(500);
  });
});

describe('drain timer', () => {
  it('sleeps as long as asked, wakes earlier when asked to, and at once on abort', async () => {
    const timer = new DrainTimer();
    const stop = new AbortController();
    let t = performance.now();
    await timer.sleep(60, stop.signal);
    expect(performance.now() - t).toBeGreaterThanOrEqual(60);

    t = performance.now();
    const long = timer.sleep(10_000, stop.signal);
    setTimeout(() => timer.wakeBy(performance.now() + 20), 10);
    // A later wakeup than the one set changes nothing.
    setTimeout(() => timer.wakeBy(performance.now() + 60_000), 15);
    await long;
    const woke = performance.now() - t;
    expect(woke).toBeGreaterThanOrEqual(30);
    expect(woke).toBeLessThan(5000);

    t = performance.now();
    const aborted = timer.sleep(10_000, stop.signal);
    setTimeout(() => stop.abort(), 10);
    await aborted;
    expect(performance.now() - t).toBeLessThan(5000);
    // Aborted already: no sleep, and no listener left on the signal.
    await timer.sleep(10_000, stop.signal);
  });

  it('leaves no listener on the signal after each sleep', async () => {
    const timer = new DrainTimer();
    const stop = new AbortController();
    let added = 0;
    let removed = 0;
    const add = stop.signal.addEventListener.bind(stop.signal);
    const remove = stop.signal.removeEventListener.bind(stop.signal);
    stop.signal.addEventListener = ((...a: Parameters<typeof add>) => { added++; add(...a); }) as typeof add;
    stop.signal.removeEventListener = ((...a: Parameters<typeof remove>) => { removed++; remove(...a); }) as typeof remove;
    for (let i = 0; i < 5; i++) await timer.sleep(1, stop.signal);
    expect(added).toBe(5);
    expect(removed).toBe(5);
  });
});
