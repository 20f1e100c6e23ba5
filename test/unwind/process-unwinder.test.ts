import { describe, expect, it } from 'vitest';
import { BpfError, UnsupportedFeatureError } from '../../src/kernel/index.js';
import type { StackSampler } from '../../src/samplers/stack-sampler.js';
import { startWalkingOrFramePointers } from '../../src/unwind/process-unwinder.js';

/** A sampler that records its start() and can be told to fail there. */
function fakeSampler(name: string, started: string[], fail?: Error): StackSampler {
  return {
    start() {
      if (fail) throw fail;
      started.push(name);
    },
    drain: () => { throw new Error('not drained in these tests'); },
    setTargets() {},
    stop() {},
  };
}

const noBpfLoop = (): UnsupportedFeatureError =>
  new UnsupportedFeatureError('bpf_loop (the .eh_frame stack walker)', '5.17', 'running linux 5.15.0');

describe('startWalkingOrFramePointers', () => {
  it('starts the walker when the kernel can run it', () => {
    const started: string[] = [];
    const warnings: string[] = [];
    const r = startWalkingOrFramePointers(
      () => fakeSampler('walking', started), () => fakeSampler('fp', started), (m) => warnings.push(m), () => {});
    expect(r.walks).toBe(true);
    expect(started).toEqual(['walking']);
    expect(warnings).toEqual([]);
  });

  it('falls back to frame pointers, with a warning, when the kernel lacks bpf_loop', () => {
    const started: string[] = [];
    const warnings: string[] = [];
    let made = 0;
    const r = startWalkingOrFramePointers(
      () => { made++; return fakeSampler('walking', started); },
      () => fakeSampler('fp', started), (m) => warnings.push(m), () => { throw noBpfLoop(); });
    expect(r.walks).toBe(false);
    expect(made).toBe(0);
    expect(started).toEqual(['fp']);
    expect(warnings).toEqual([
      'the .eh_frame stack walker did not load (bpf_loop (the .eh_frame stack walker) not supported: ' +
        'requires linux 5.17 or newer (running linux 5.15.0)): user stacks follow frame pointers only',
    ]);
  });

  it('falls back when the walking sampler itself reports an unsupported feature', () => {
    const started: string[] = [];
    const r = startWalkingOrFramePointers(
      () => fakeSampler('walking', started, noBpfLoop()), () => fakeSampler('fp', started), undefined, () => {});
    expect(r.walks).toBe(false);
    expect(started).toEqual(['fp']);
  });

  it('rethrows any other failure of the walker instead of hiding it behind frame pointers', () => {
    const started: string[] = [];
    const warnings: string[] = [];
    let fpMade = 0;
    const fp = (): StackSampler => { fpMade++; return fakeSampler('fp', started); };
    const broken = new Error('loading bpf program oncpu: permission denied');
    expect(() => startWalkingOrFramePointers(
      () => fakeSampler('walking', started, broken), fp, (m) => warnings.push(m), () => {})).toThrow(broken);
    // creating the walking sampler fails the same way
    expect(() => startWalkingOrFramePointers(() => { throw broken; }, fp, (m) => warnings.push(m), () => {})).toThrow(broken);
    expect(fpMade).toBe(0);
    expect(started).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('rethrows a failure of the requirement check that is not a missing feature', () => {
    const started: string[] = [];
    const failed = new BpfError('probing bpf_loop: operation not permitted', 1, '');
    expect(() => startWalkingOrFramePointers(
      () => fakeSampler('walking', started), () => fakeSampler('fp', started), undefined, () => { throw failed; })).toThrow(failed);
    expect(started).toEqual([]);
  });
});
