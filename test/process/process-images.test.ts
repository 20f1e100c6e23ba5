// The process table keeps the mappings of an image a process exec'ed away
// from until the drain after the exec is named (fake proc root, no processes).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessTable } from '../../src/process/process-table.js';

let root: string;
beforeAll(() => { root = mkdtempSync(join(tmpdir(), 'meshprof-images-')); });
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PID = 4300;
// first image: /usr/bin/first and libc; second: /usr/bin/second and libc elsewhere (ASLR)
const FIRST = '400000-401000 r-xp 00000000 08:01 11 /usr/bin/first\n7f0000000000-7f0000100000 r-xp 00000000 08:01 12 /usr/lib/libc.so.6\n';
const SECOND = '500000-501000 r-xp 00000000 08:01 21 /usr/bin/second\n7f1000000000-7f1000100000 r-xp 00000000 08:01 12 /usr/lib/libc.so.6\n';
const inFirst = [0x400100n, 0x7f0000000200n];
const inSecond = [0x500100n, 0x7f1000000200n];

function fakeProc(dir: string, maps: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'comm'), 'first\n');
  writeFileSync(join(dir, 'cmdline'), 'first\0');
  writeFileSync(join(dir, 'maps'), maps);
  symlinkSync('/usr/bin/first', join(dir, 'exe'));
}

describe('ProcessTable images across exec', () => {
  it('names a stack against the image it was walked in until the drain after the exec', () => {
    const procRoot = join(root, 'exec');
    fakeProc(join(procRoot, String(PID)), FIRST);
    const table = createProcessTable({ procRoot });
    const first = table.observe(PID).mappings;
    const beforeExec = table.imageMark();
    writeFileSync(join(procRoot, String(PID), 'maps'), SECOND);
    const second = table.reobserve(PID)!.mappings;
    expect(second).not.toBe(first);
    expect(table.imageFor(PID, inFirst)).toBe(first);
    expect(table.imageFor(PID, inSecond)).toBe(second);
    // an address in neither, or a stack as good in both: the current image
    expect(table.imageFor(PID, [0x900000n])).toBe(second);
    expect(table.imageFor(PID, [])).toBe(second);
    // a drain taken before the exec cannot hold the whole of the first image's stacks
    expect(table.forgetEarlierImages(beforeExec)).toBe(0);
    expect(table.imageFor(PID, inFirst)).toBe(first);
    expect(table.forgetEarlierImages(table.imageMark())).toBe(1);
    expect(table.imageFor(PID, inFirst)).toBe(second);
  });

  it('keeps the earlier image at an exec event even when the executable stays in place (non-PIE re-exec)', () => {
    const procRoot = join(root, 'nopie');
    fakeProc(join(procRoot, String(PID)), FIRST);
    const table = createProcessTable({ procRoot });
    const first = table.observe(PID).mappings;
    const again = '400000-401000 r-xp 00000000 08:01 11 /usr/bin/first\n7f3000000000-7f3000100000 r-xp 00000000 08:01 12 /usr/lib/libc.so.6\n';
    writeFileSync(join(procRoot, String(PID), 'maps'), again);
    // a re-read alone cannot tell this from a munmap and a mmap
    expect(table.reloadMappings(PID)!.mappings).not.toBe(first);
    expect(table.imageFor(PID, inFirst)).not.toBe(first);
    writeFileSync(join(procRoot, String(PID), 'maps'), FIRST);
    table.reloadMappings(PID);
    writeFileSync(join(procRoot, String(PID), 'maps'), again);
    const second = table.reobserve(PID)!.mappings;
    // the executable's frames name alike in both; libc's decide
    expect(table.imageFor(PID, inFirst)).not.toBe(second);
    expect(table.imageFor(PID, [0x400100n, 0x7f3000000200n])).toBe(second);
    expect(table.imageFor(PID, [0x400100n])).toBe(second);
  });

  it('keeps no earlier image for a dlopen, which leaves the mapped code in place', () => {
    const procRoot = join(root, 'dlopen');
    fakeProc(join(procRoot, String(PID)), FIRST);
    const table = createProcessTable({ procRoot });
    table.observe(PID);
    writeFileSync(join(procRoot, String(PID), 'maps'), `${FIRST}7f2000000000-7f2000001000 r-xp 00000000 08:01 31 /usr/lib/plugin.so\n`);
    const now = table.reloadMappings(PID)!.mappings;
    expect(now).toHaveLength(3);
    expect(table.imageFor(PID, inFirst)).toBe(now);
    expect(table.forgetEarlierImages(table.imageMark())).toBe(0);
  });

  it('keeps at most four earlier images of one process', () => {
    const procRoot = join(root, 'chain');
    fakeProc(join(procRoot, String(PID)), FIRST);
    const table = createProcessTable({ procRoot });
    table.observe(PID);
    for (let i = 1; i <= 6; i++) {
      writeFileSync(join(procRoot, String(PID), 'maps'), `${(0x400000 + i * 0x100000).toString(16)}-${(0x401000 + i * 0x100000).toString(16)} r-xp 00000000 08:01 ${100 + i} /usr/bin/step${i}\n`);
      table.reobserve(PID);
    }
    expect(table.forgetEarlierImages(table.imageMark())).toBe(4);
  });
});
