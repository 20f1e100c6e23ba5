import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLoadShedder } from '../../src/receive/load-shedder.js';

describe('createLoadShedder', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  /** Admitted requests out of n asked for now. */
  const taken = (s: ReturnType<typeof createLoadShedder>, n: number): number => Array.from({ length: n }, () => s.admit()).filter((r) => r === undefined).length;

  it('takes everything until the loop has been busy three windows in a row, then sheds a growing share with a retry hint', () => {
    let u = 0.95;
    const s = createLoadShedder({ utilization: () => u, windowMs: 100, retryAfterMs: 2000, minReceiverShare: 0 });
    vi.advanceTimersByTime(200);
    expect(taken(s, 100)).toBe(100);
    vi.advanceTimersByTime(100);
    expect(s.admittedShare()).toBeCloseTo(0.7);
    // By credit, not at random: 70 of 100, give or take the float rounding of the credit.
    expect(Math.abs(taken(s, 100) - 70)).toBeLessThanOrEqual(1);
    expect(Array.from({ length: 4 }, () => s.admit()).find((r) => r !== undefined)).toEqual({ reason: 'overloaded', retryAfterMs: 2000 });
    vi.advanceTimersByTime(100 * 20);
    // Never below the floor: some requests always get through.
    expect(s.admittedShare()).toBe(0.05);
    expect(Math.abs(taken(s, 100) - 5)).toBeLessThanOrEqual(1);
    // Idle again: the share grows back 0.1 a window, to everything.
    u = 0.2;
    vi.advanceTimersByTime(100);
    expect(s.admittedShare()).toBeCloseTo(0.15);
    vi.advanceTimersByTime(100 * 10);
    expect(s.admittedShare()).toBe(1);
    expect(taken(s, 100)).toBe(100);
    s.close();
  });

  it('sheds nothing for a burst shorter than three windows', () => {
    const script = [1, 1, 0.1, 1, 1, 0.1, 1, 1];
    const s = createLoadShedder({ utilization: () => script.shift() ?? 0, windowMs: 100, minReceiverShare: 0 });
    vi.advanceTimersByTime(800);
    expect(s.admittedShare()).toBe(1);
    expect(taken(s, 50)).toBe(50);
    s.close();
  });

  it('measures the real event loop by default: a loop kept busy is shed', () => {
    vi.useRealTimers();
    const s = createLoadShedder({ windowMs: 10, busyWindows: 1, maxUtilization: 0.5, minReceiverShare: 0 });
    return new Promise<void>((resolve) => {
      const spin = setInterval(() => {
        const end = performance.now() + 15;
        while (performance.now() < end);
        if (s.admittedShare() < 1) {
          clearInterval(spin);
          s.close();
          resolve();
        }
      }, 1);
    });
  });

  it('sheds nothing while the loop is saturated by work other than the receiver\'s', () => {
    let now = 0;
    const s = createLoadShedder({ utilization: () => 1, windowMs: 100, now: () => now });
    // The agent's own work fills the loop; the receiver handles a request now and then (1 ms a window).
    for (let i = 0; i < 10; i++) { now += 100; s.spent(1); vi.advanceTimersByTime(100); }
    expect(s.admittedShare()).toBe(1);
    // The receiver's handling takes half of each window: its own overload, shed.
    for (let i = 0; i < 4; i++) { now += 100; s.spent(50); vi.advanceTimersByTime(100); }
    expect(s.admittedShare()).toBeLessThan(1);
    s.close();
  });
});
