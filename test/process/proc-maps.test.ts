import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findMapping, parseProcMaps, parseProcMapsLine } from '../../src/process/proc-maps.js';

const SAMPLE = [
  '55d0c0a00000-55d0c0a01000 r--p 00000000 fd:01 1234567                    /usr/bin/my prog',
  '55d0c0a01000-55d0c0a02000 r-xp 00001000 fd:01 1234567                    /usr/bin/my prog',
  '55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]',
  '7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 ',
  '7f1e2d200000-7f1e2d228000 r-xp 00028000 103:02 98765                     /tmp/libgone.so (deleted)',
  '7ffd1a5f0000-7ffd1a611000 rw-p 00000000 00:00 0                          [stack]',
  '7ffd1a7f4000-7ffd1a7f6000 r-xp 00000000 00:00 0                          [vdso]',
  'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]',
  'garbage line',
].join('\n');

describe('parseProcMaps', () => {
  it('parses every field, paths with spaces and the deleted suffix', () => {
    const maps = parseProcMaps(SAMPLE);
    expect(maps).toHaveLength(8);
    expect(maps[1]).toEqual({
      start: 0x55d0c0a01000n, end: 0x55d0c0a02000n, perms: 'r-xp', readable: true, executable: true,
      offset: 0x1000n, devMajor: 0xfd, devMinor: 1, inode: 1234567n, path: '/usr/bin/my prog', deleted: false, kind: 'file',
    });
    expect(maps[4]).toMatchObject({ path: '/tmp/libgone.so', deleted: true, offset: 0x28000n, devMajor: 0x103, devMinor: 2, kind: 'file' });
    expect(maps.map((m) => m.kind)).toEqual(['file', 'file', 'heap', 'anon', 'file', 'stack', 'vdso', 'vsyscall']);
    expect(maps[3]!.path).toBe('');
    expect(maps[7]!.start).toBe(0xffffffffff600000n);
  });

  it('rejects lines that are not mappings', () => {
    expect(parseProcMapsLine('')).toBeUndefined();
    expect(parseProcMapsLine('55d0c0a00000 r--p 0 fd:01 1')).toBeUndefined();
  });

  it('finds the mapping of an address by binary search', () => {
    const maps = parseProcMaps(SAMPLE);
    expect(findMapping(maps, 0x55d0c0a01234n)?.perms).toBe('r-xp');
    expect(findMapping(maps, 0x55d0c0a02000n)).toBeUndefined();
    expect(findMapping(maps, 0x7ffd1a7f4000n)?.path).toBe('[vdso]');
    expect(findMapping(maps, 0x10n)).toBeUndefined();
  });

  it('parses this process\'s own maps', () => {
    const maps = parseProcMaps(readFileSync('/proc/self/maps', 'utf8'));
    const node = maps.find((m) => m.executable && m.path === process.execPath);
    expect(node).toBeDefined();
    expect(node!.inode).toBeGreaterThan(0n);
  });
});
