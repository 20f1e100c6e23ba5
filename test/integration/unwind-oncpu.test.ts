import { beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason } from '../helpers/bpf-prerequisites.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { record } from '../helpers/record.js';
import { suiteFixtures } from '../helpers/suite-fixtures.js';
import { onlineCpus } from '../../src/kernel/index.js';
import { defaultOnCpuMapEntries, onCpuDrainEveryMs } from '../../src/samplers/oncpu-sampler.js';

const skip = bpfSkipReason();

/** What glibc's startup code adds below main. */
const START = ['__libc_start_call_main', '__libc_start_main@@GLIBC_2.34', '_start'];

/** leaf, fN .. f1, main and libc's startup: the stack `unwind-chain spin N` spins in. */
function chain(depth: number): string[] {
  return ['leaf', ...Array.from({ length: depth }, (_, i) => `f${depth - i}`), 'main', ...START];
}

describe('.eh_frame unwinding in the on-CPU sampler', () => {
  const fixtures = suiteFixtures(skip);
  let cBinary = '';
  let ccBinary = '';
  beforeAll(() => {
    cBinary = compileFixture('unwind-chain.c', { flags: OMIT_FRAME_POINTER });
    ccBinary = compileFixture('unwind-chain.cc', { flags: OMIT_FRAME_POINTER });
  });

  it.each([5, 13, 27, 40])('C, -O2 -fomit-frame-pointer, chain depth %i: leaf to main', async (depth) => {
    const child = await fixtures.start(cBinary, ['spin', String(depth)]);
    const rec = await record('oncpu', [child.pid], 1500);
    const top = rec.stacks[0]!;
    console.log(`depth ${depth}: ${rec.total} samples, top ${top.count}: ${top.names.join(' <- ')}; drops ${JSON.stringify(rec.profile.drops)}`);
    expect(top.names).toEqual(chain(depth));
    expect(top.count).toBeGreaterThan(rec.total * 0.9);
    // Walked, no Python process among the targets: the maps may wait as long as their size allows.
    const cpus = onlineCpus().length;
    expect(rec.drainEveryMs).toBe(onCpuDrainEveryMs(199, cpus, defaultOnCpuMapEntries(199, cpus)));
  });

  it('C: qsort callback, complete through libc back into main', async () => {
    const child = await fixtures.start(cBinary, ['qspin', '50']);
    const rec = await record('oncpu', [child.pid], 1500);
    const top = rec.stacks[0]!;
    console.log(`qsort: ${rec.total} samples, top ${top.count}: ${top.names.join(' <- ')}`);
    // 50 ints: glibc's merge sort recurses six levels before the first compare
    const msort = Array.from({ length: 6 }, () => 'msort_with_tmp.part.0');
    expect(top.names).toEqual(['leaf', 'compare', ...msort, 'qsort_r', 'sort_ints', 'main', ...START]);
    expect(top.count).toBeGreaterThan(rec.total * 0.9);
  });

  it('C++: template recursion, std::function and try/catch frames', async () => {
    const child = await fixtures.start(ccBinary, ['12', 'spin']);
    const rec = await record('oncpu', [child.pid], 1500);
    const top = rec.stacks[0]!;
    console.log(`c++: ${rec.total} samples, top ${top.count}: ${top.names.join(' <- ')}`);
    const steps = Array.from({ length: 12 }, (_, i) => `int step<${12 - i}>(int)`);
    // -O2 inlines the lambda and std::function's invoker into through_function
    expect(top.names).toEqual(['leaf(int)', ...steps, 'guarded(int)', 'through_function(int)', 'main', ...START]);
    expect(top.count).toBeGreaterThan(rec.total * 0.9);
  });

  it('a stack deeper than 127 frames is kept cut at 127 and counted as truncated by depth', async () => {
    const child = await fixtures.start(cBinary, ['deep', '300']);
    const rec = await record('oncpu', [child.pid], 1500);
    const top = rec.stacks[0]!;
    console.log(`deep: ${rec.total} samples, top ${top.count} with ${top.names.length} frames; drops ${JSON.stringify(rec.profile.drops)}`);
    expect(top.names).toEqual(['leaf', ...Array.from({ length: 126 }, () => 'recurse')]);
    // drop totals are read just after the counts: a sample or two of the next window may be in them
    expect(rec.profile.drops.user_stack_truncated_depth).toBeGreaterThanOrEqual(rec.total);
    expect(rec.profile.drops.user_stack_truncated_depth).toBeLessThanOrEqual(rec.total + 5);
  });

  it('without the unwinder (frame pointers only) the same stack stops at the leaf', async () => {
    const child = await fixtures.start(cBinary, ['spin', '13']);
    const rec = await record('oncpu', [child.pid], 1000, false);
    const withMain = rec.stacks.filter((s) => s.names.includes('main')).reduce((n, s) => n + s.count, 0);
    console.log(`fp only: ${rec.total} samples, ${withMain} with main; top ${rec.stacks[0]?.names.join(' <- ')}`);
    expect(withMain).toBeLessThan(rec.total * 0.05);
  });
});
