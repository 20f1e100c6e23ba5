import { beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason } from '../helpers/bpf-prerequisites.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { record } from '../helpers/record.js';
import { suiteFixtures } from '../helpers/suite-fixtures.js';

const skip = bpfSkipReason();

describe('.eh_frame unwinding in the off-CPU sampler', () => {
  const fixtures = suiteFixtures(skip);
  let binary = '';
  beforeAll(() => {
    binary = compileFixture('unwind-chain.c', { flags: OMIT_FRAME_POINTER });
  });

  it('walks from the registers saved at the syscall through libc to main', async () => {
    const child = await fixtures.start(binary, ['sleep', '9']);
    const rec = await record('offcpu', [child.pid], 1500);
    const top = rec.stacks[0]!;
    console.log(`offcpu: ${rec.total} switches, top ${top.count}: ${top.names.join(' <- ')}; drops ${JSON.stringify(rec.profile.drops)}`);
    const chain = Array.from({ length: 9 }, (_, i) => `f${9 - i}`);
    expect(top.names).toEqual([
      'clock_nanosleep@GLIBC_2.2.5', '__nanosleep', 'usleep', 'leaf', ...chain, 'main',
      '__libc_start_call_main', '__libc_start_main@@GLIBC_2.34', '_start',
    ]);
    expect(top.count).toBeGreaterThan(rec.total * 0.9);

    const fp = await record('offcpu', [child.pid], 1000, false);
    const withMain = fp.stacks.filter((st) => st.names.includes('main')).reduce((n, st) => n + st.count, 0);
    console.log(`offcpu, frame pointers only: ${fp.total} switches, ${withMain} with main; top ${fp.stacks[0]?.names.join(' <- ')}`);
    expect(fp.total).toBeGreaterThan(20);
    expect(withMain).toBe(0);
  });
});
