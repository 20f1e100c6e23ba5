import { describe, expect, it } from 'vitest';
import { encodeSkyWalkingProfilingData, skyWalkingStackId } from '../../../src/encode/skywalking.js';
import { EBPFProfilingStackType } from '../../../src/gen/skywalking/ebpf/profiling/Profile_pb.js';
import { batch, fakeSymbolize } from '../../helpers/fake-sampler-factory.js';

describe('encodeSkyWalkingProfilingData', () => {
  it('orders kernel before user, leaf first, and merges threads', () => {
    const profile = fakeSymbolize(
      batch('oncpu', [
        { tgid: 1, tid: 1, comm: 'a', kernelStack: [0xffffffff81000010n], userStack: [0x401010n, 0x401030n], values: [2, 0] },
        { tgid: 1, tid: 2, comm: 'b', kernelStack: [0xffffffff81000010n], userStack: [0x401010n, 0x401030n], values: [3, 0] },
        { tgid: 1, tid: 2, comm: 'b', kernelStack: [], userStack: [0x401030n], values: [0, 0] },
      ]),
    );
    const out = encodeSkyWalkingProfilingData(profile, 'oncpu');
    expect(out).toHaveLength(1); // the zero-count stack is dropped
    const m = out[0]!;
    if (m.profiling.case !== 'onCPU') throw new Error('expected onCPU');
    expect(m.profiling.value.dumpCount).toBe(5);
    expect(m.profiling.value.stacks.map((s) => [s.stackType, s.stackSymbols])).toEqual([
      [EBPFProfilingStackType.PROCESS_KERNEL_SPACE, ['finish_task_switch']],
      [EBPFProfilingStackType.PROCESS_USER_SPACE, ['fixture_leaf', 'main']],
    ]);
    expect(m.task).toBeUndefined();
  });

  it('maps off-CPU switches and nanoseconds', () => {
    const profile = fakeSymbolize(
      batch('offcpu', [{ tgid: 1, tid: 1, comm: 'a', kernelStack: [], userStack: [0x402010n], values: [7, 3.5e9] }]),
    );
    const m = encodeSkyWalkingProfilingData(profile, 'offcpu')[0]!;
    if (m.profiling.case !== 'offCPU') throw new Error('expected offCPU');
    expect([m.profiling.value.switchCount, m.profiling.value.duration]).toEqual([7, 3_500_000_000n]);
  });

  it('gives stable, distinct, non-negative int32 stack ids', () => {
    const a = skyWalkingStackId(['a', 'b']);
    expect(a).toBe(skyWalkingStackId(['a', 'b']));
    expect(a).not.toBe(skyWalkingStackId(['ab']));
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThanOrEqual(0x7fffffff);
  });
});
