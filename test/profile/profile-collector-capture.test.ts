// Which sampled processes the collector reads, and that one gone before it
// was read is not kept as captured (nothing would ever drop it).
import { describe, expect, it } from 'vitest';
import { ProfileCollector, type ProcessObserver } from '../../src/profile/profile-collector.js';
import type { StackSampler } from '../../src/samplers/stack-sampler.js';
import type { RawStackBatch } from '../../src/stacks/raw-stacks.js';

const batchOf = (tgids: number[]): RawStackBatch => ({
  valueTypes: [{ type: 'samples', unit: 'count' }], periodType: { type: 'cpu', unit: 'nanoseconds' }, period: 1,
  startTimeNs: 0n, durationNs: 1n, drops: {},
  samples: tgids.map((tgid) => ({ tgid, tid: tgid, comm: 'true', values: [1], userStack: [], kernelStack: [] })),
});

describe('ProfileCollector capture', () => {
  it('reads a sampled pid once while it is known, and again after it was found gone unread', () => {
    const drains = [[500, 501, 500], [500, 501]];
    const sampler: StackSampler = { start: () => {}, stop: () => {}, setTargets: () => {}, drain: () => batchOf(drains.shift() ?? []) };
    const observed: number[] = [];
    const prepared: number[] = [];
    let alive500 = false;
    const processes: ProcessObserver = {
      refresh: () => {}, exitedPids: () => [], forgetExited: () => [],
      observe: (pid) => {
        observed.push(pid);
        if (pid === 500 && !alive500) throw new Error('observing pid 500: no such process');
      },
    };
    const collector = new ProfileCollector({
      sampler, processes,
      symbolizer: { prepare: (pid) => prepared.push(pid), name: () => ({ stacks: [], drops: {} }) },
      describe: (pid, comm) => ({ pid, name: comm, attributes: {} }),
    });
    collector.poll();
    // 500 exited unread (tried once in the drain, not for each of its samples); 501 read once.
    expect(observed).toEqual([500, 501]);
    expect(prepared).toEqual([501]);
    alive500 = true; // a new process took pid 500
    collector.poll();
    expect(observed).toEqual([500, 501, 500]);
    expect(prepared).toEqual([501, 500]);
  });
});

describe('ProfileCollector drain period', () => {
  it('says its own exec tracking runs only between start and stop, and passes on the sampler period', async () => {
    const sampler: StackSampler = { start: () => {}, stop: () => {}, setTargets: () => {}, drain: () => batchOf([]), drainEveryMs: 5000 };
    let running = false;
    const tracking = { start: () => { running = true; }, stop: () => { running = false; }, get running() { return running; } };
    const processes: ProcessObserver = { refresh: () => {}, exitedPids: () => [], forgetExited: () => [], observe: () => {} };
    const parts = { sampler, processes, symbolizer: { name: () => ({ stacks: [], drops: {} }) }, describe: (pid: number, comm: string) => ({ pid, name: comm, attributes: {} }) };
    const collector = new ProfileCollector({ ...parts, tracking });
    expect(collector.tracksExecs).toBe(false);
    await collector.start();
    expect(collector.tracksExecs).toBe(true);
    expect(collector.drainEveryMs).toBe(5000);
    collector.stop();
    expect(collector.tracksExecs).toBe(false);
    // a collector over a shared table has no tracking of its own
    expect(new ProfileCollector(parts).tracksExecs).toBe(false);
  });
});
