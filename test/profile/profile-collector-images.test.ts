// The collect cycle drops the images processes exec'ed away from only once
// the drain that can hold their stacks is named.
import { describe, expect, it } from 'vitest';
import { ProfileCollector, type ProcessObserver } from '../../src/profile/profile-collector.js';
import type { StackSampler } from '../../src/samplers/stack-sampler.js';
import type { RawStackBatch } from '../../src/stacks/raw-stacks.js';

const emptyBatch = (): RawStackBatch => ({
  valueTypes: [{ type: 'samples', unit: 'count' }], periodType: { type: 'cpu', unit: 'nanoseconds' }, period: 1,
  startTimeNs: 0n, durationNs: 1n, samples: [], drops: {},
});

describe('ProfileCollector and earlier images', () => {
  it('forgets the images replaced before its drain, after naming, and keeps one replaced while symbols load', async () => {
    const events: string[] = [];
    let mark = 0;
    const sampler: StackSampler = {
      start: () => {}, stop: () => {}, setTargets: () => {},
      drain: () => { events.push('drain'); return emptyBatch(); },
    };
    const processes: ProcessObserver = {
      refresh: () => {}, observe: () => {}, exitedPids: () => [], forgetExited: () => [],
      imageMark: () => { events.push(`mark ${mark}`); return mark; },
      forgetEarlierImages: (upTo) => { events.push(`forget ${upTo}`); return 0; },
    };
    const collector = new ProfileCollector({
      sampler, processes,
      symbolizer: {
        // an exec seen while symbols load: its image may still have stacks in the kernel maps
        load: async () => { mark = 2; events.push('load'); },
        name: () => { events.push('name'); return { stacks: [], drops: {} }; },
      },
      describe: (pid, comm) => ({ pid, name: comm, attributes: {} }),
    });
    mark = 1;
    await collector.collect();
    expect(events).toEqual(['mark 1', 'drain', 'load', 'name', 'forget 1']);
  });
});
