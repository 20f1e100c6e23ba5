// Executables without a usable path (deleted, replaced, memfd) and the vDSO, named in recorded profiles.
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFixture } from '../helpers/compile-fixture.js';
import { countChain, readFolded, readOtlpKinds, recordPid, total } from '../helpers/record-pid.js';

const ADD = 'shop::Cart<int>::add(int)';

describe('meshprof record on executables without a path, and the vDSO (real BPF, as root)', () => {
  let dir = '';
  let cart = '';
  let memfdExec = '';
  let vdsoSpin = '';
  let other = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-mappings-'));
    cart = compileFixture('lang-cpp/cart-spin.cpp', { name: 'lang-cpp-spin', flags: ['-O0', '-g', '-fno-omit-frame-pointer'] });
    memfdExec = compileFixture('lang-c/memfd-exec.c', { name: 'memfd-exec', flags: ['-O1'] });
    vdsoSpin = compileFixture('lang-c/vdso-spin.c', { name: 'vdso-spin', flags: ['-O0', '-fno-omit-frame-pointer'] });
    other = compileFixture('lang-c/short-lived.c', { name: 'short-lived', flags: ['-O0', '-g', '-fno-omit-frame-pointer'] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts a program, lets `afterStart` pull its file away, records it into `outputs`. */
  const record = async (child: ChildProcess, outputs: string[], afterStart: () => void = () => {}): Promise<void> => {
    try {
      await sleep(300);
      afterStart();
      await recordPid(child.pid!, outputs.map((o) => join(dir, o)));
    } finally {
      child.kill();
    }
  };

  const expectCartNamed = (file: string): void => {
    const stacks = readFolded(join(dir, file));
    const all = total(stacks);
    expect(all).toBeGreaterThan(20);
    expect(countChain(stacks, ['main', ADD]) / all).toBeGreaterThan(0.5);
  };

  it('names the functions of an executable deleted after it started ((deleted) mapping)', async () => {
    const copy = join(dir, 'cart-deleted');
    copyFileSync(cart, copy);
    await record(spawn(copy, ['30'], { stdio: 'ignore' }), ['deleted.folded'], () => unlinkSync(copy));
    expectCartNamed('deleted.folded');
  });

  it('names the functions of an executable replaced by another file at its path', async () => {
    const copy = join(dir, 'cart-replaced');
    copyFileSync(cart, copy);
    await record(spawn(copy, ['30'], { stdio: 'ignore' }), ['replaced.folded'], () => {
      // A new build renamed over the old one: the path now names a different program.
      copyFileSync(other, `${copy}.new`);
      renameSync(`${copy}.new`, copy);
    });
    expectCartNamed('replaced.folded');
    expect(readFolded(join(dir, 'replaced.folded')).flatMap((s) => s.frames)).not.toContain('burn_briefly');
  });

  it('names the functions of a program run from a memfd (fexecve)', async () => {
    await record(spawn(memfdExec, [cart, '30'], { stdio: 'ignore' }), ['memfd.folded']);
    expectCartNamed('memfd.folded');
    // comm is taken from the memfd's name.
    expect(readFolded(join(dir, 'memfd.folded'))[0]?.frames[0]).toBe('memfd:cart-in-m');
  });

  it('names [vdso] frames: clock_gettime runs in the kernel-provided image', async () => {
    await record(spawn(vdsoSpin, ['30'], { stdio: 'ignore' }), ['vdso.folded', 'vdso.otlp.pb']);
    const stacks = readFolded(join(dir, 'vdso.folded'));
    const all = total(stacks);
    expect(all).toBeGreaterThan(20);
    // With a TSC clocksource the vDSO's clock_gettime runs inside its exported
    // symbol. With kvm-clock (some VMs, this CI machine's) it runs mostly in the
    // pvclock reader, a local function the vDSO exports no symbol for: those
    // frames are [vdso]+offset, as perf shows them, and the named leaf is rare.
    const tsc = readFileSync('/sys/devices/system/clocksource/clocksource0/current_clocksource', 'utf8').trim() === 'tsc';
    const inVdso = stacks
      .filter((s) => s.frames.at(-1) === '__vdso_clock_gettime' || (!tsc && /^\[vdso\]\+0x[0-9a-f]+$/.test(s.frames.at(-1) ?? '')))
      .reduce((n, s) => n + s.count, 0);
    expect(inVdso / all).toBeGreaterThan(0.4);
    const leaf = tsc ? ['__vdso_clock_gettime'] : [];
    expect(countChain(stacks, ['main', 'read_clocks', 'clock_gettime@@GLIBC_2.17', ...leaf])).toBeGreaterThan(0);
    if (tsc) expect(readOtlpKinds(join(dir, 'vdso.otlp.pb')).get('__vdso_clock_gettime')).toEqual(new Set(['native']));
  });
});
