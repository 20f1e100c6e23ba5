import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOffCpuSampler, type OffCpuSampler } from '../../src/samplers/offcpu-sampler.js';
import type { RawStackBatch } from '../../src/stacks/raw-stacks.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { exited } from '../helpers/start-fixture.js';

const skip = bpfSkipReason();

function switches(batch: RawStackBatch, tgid?: number): number {
  return batch.samples.filter((s) => tgid === undefined || s.tgid === tgid).reduce((n, s) => n + (s.values[0] ?? 0), 0);
}

describe('off-CPU sampler target selection on real BPF', () => {
  beforeAll(() => requirePrerequisites(skip));
  let sampler: OffCpuSampler | undefined;
  afterEach(() => {
    sampler?.stop();
    sampler = undefined;
  });

  it("records no block with 'none' while the host keeps switching, then the pid it is switched to", async () => {
    // The shell blocks in wait4 on each 10 ms sleep: about 100 off-CPU blocks a second.
    const child = spawn('sh', ['-c', 'while :; do sleep 0.01; done'], { stdio: 'ignore' });
    const pid = child.pid!;
    try {
      sampler = createOffCpuSampler({ targets: 'none' });
      sampler.start();
      await sleep(1000);
      let batch = sampler.drain();
      console.log(`off-cpu none: ${switches(batch)} switches in ${Number(batch.durationNs) / 1e9}s`);
      expect(batch.samples).toEqual([]);

      sampler.setTargets([pid]);
      await sleep(1000);
      batch = sampler.drain();
      console.log(`off-cpu [sh]: ${switches(batch, pid)} switches of pid ${pid}`);
      expect(switches(batch, pid)).toBeGreaterThan(20);
      expect(new Set(batch.samples.map((s) => s.tgid))).toEqual(new Set([pid]));

      // and 'none' again stops it. A block that began before the switch is
      // counted when the thread wakes, in the generation it began in, so it
      // can show up in any of the next three drains (the generations
      // alternate); after those, nothing may.
      sampler.setTargets('none');
      for (let i = 0; i < 3; i++) {
        await sleep(100);
        sampler.drain();
      }
      await sleep(500);
      expect(sampler.drain().samples).toEqual([]);
    } finally {
      child.kill();
      await exited(child);
    }
  });
});
