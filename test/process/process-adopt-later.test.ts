// adoptLater(): snapshots read at exec wait, unparsed, until something looks the pid up.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProcessTable, type ProcessInfo } from '../../src/process/process-table.js';
import type { RawProcSnapshot } from '../../src/process/proc-reader.js';

const LIBC = '7f0000001000-7f0000002000 r-xp 00001000 08:01 42 /usr/lib/libc.so.6\n';
const TRUE_BIN = '555555554000-555555556000 r-xp 00000000 08:01 7 /usr/bin/true\n';
const snap = (maps: string, comm = 'true'): RawProcSnapshot => ({ comm, exePath: '/usr/bin/true', cmdline: [comm], maps });

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'meshprof-later-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function liveProc(pid: number, comm: string, maps: string): void {
  const dir = join(root, String(pid));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'comm'), `${comm}\n`);
  writeFileSync(join(dir, 'cmdline'), `${comm}\0`);
  writeFileSync(join(dir, 'maps'), maps);
}

describe('ProcessTable.adoptLater', () => {
  it('takes a snapshot in only when the pid is looked up, with its events and the callback', () => {
    const table = createProcessTable({ procRoot: root });
    const added: number[] = [];
    const adopted: ProcessInfo[] = [];
    table.onProcessAdded((p) => added.push(p.pid));
    table.adoptLater(10, snap(TRUE_BIN), true, (p) => adopted.push(p));
    // a re-read soon after the exec replaces what is kept
    table.adoptLater(10, snap(TRUE_BIN + LIBC), false, (p) => adopted.push(p));
    expect(table.deferred).toBe(1);
    expect(added).toEqual([]);
    expect([...table.all()]).toEqual([]);

    const p = table.get(10);
    expect(p?.comm).toBe('true');
    expect(p?.mappings.map((m) => m.path)).toEqual(['/usr/bin/true', '/usr/lib/libc.so.6']);
    expect(added).toEqual([10]);
    expect(adopted).toEqual([p]);
    expect(table.deferred).toBe(0);
    // taken in once
    expect(table.get(10)).toBe(p);
    expect(adopted).toHaveLength(1);
  });

  it('answers a mapping lookup of a kept pid', () => {
    const table = createProcessTable({ procRoot: root });
    table.adoptLater(11, snap(TRUE_BIN + LIBC), true, () => {});
    expect(table.findMapping(11, 0x7f0000001800n, false)?.path).toBe('/usr/lib/libc.so.6');
  });

  it('adopts at once for a pid it holds live (its tables follow the new image now)', () => {
    liveProc(12, 'sh', TRUE_BIN);
    const table = createProcessTable({ procRoot: root });
    const before = table.observe(12);
    const changed: number[] = [];
    table.onMappingsChanged((p) => changed.push(p.pid));
    let called = 0;
    table.adoptLater(12, snap(LIBC, 'env'), true, () => called++);
    expect(table.deferred).toBe(0);
    expect(changed).toEqual([12]);
    expect(called).toBe(1);
    expect(before.comm).toBe('env');
    // the image exec'ed away from stays for stacks walked in it
    expect(table.imageFor(12, [0x555555554100n])?.[0]?.path).toBe('/usr/bin/true');
  });

  it('counts a kept pid a refresh found gone among the exited, names its samples, then forgets it', () => {
    const table = createProcessTable({ procRoot: root });
    const exited: number[] = [];
    table.onProcessExited((p) => exited.push(p.pid));
    table.adoptLater(13, snap(TRUE_BIN), true, () => {});
    table.adoptLater(14, snap(TRUE_BIN), true, () => {});
    table.refresh(); // neither is in the proc root: both exited
    expect(table.exitedPids().sort()).toEqual([13, 14]);
    // a sample of 13 drained after its exit is still named, from what was kept
    const p = table.get(13);
    expect(p?.exited).toBe(true);
    expect(p?.mappings[0]?.path).toBe('/usr/bin/true');
    expect(exited).toEqual([13]);
    expect(table.exitedPids().sort()).toEqual([13, 14]);
    expect(table.forgetExited([13, 14]).sort()).toEqual([13, 14]);
    expect(table.deferred).toBe(0);
    expect(table.get(13)).toBeUndefined();
    expect(table.get(14)).toBeUndefined();
  });

  it('drops a kept snapshot whose pid a refresh found gone and then live again (reused)', () => {
    const table = createProcessTable({ procRoot: root });
    table.adoptLater(15, snap(TRUE_BIN), true, () => {});
    table.refresh();
    liveProc(15, 'other', LIBC);
    table.refresh();
    const p = table.get(15);
    expect(p?.comm).toBe('other');
    expect(p?.exited).toBe(false);
    expect(p?.mappings.map((m) => m.path)).toEqual(['/usr/lib/libc.so.6']);
  });

  it('keeps a newer program under a reused pid when the old entry is forgotten', () => {
    liveProc(16, 'old', TRUE_BIN);
    const table = createProcessTable({ procRoot: root });
    table.observe(16);
    rmSync(join(root, '16'), { recursive: true });
    table.refresh(); // the old process exited
    table.adoptLater(16, snap(LIBC, 'new'), true, () => {});
    expect(table.forgetExited(table.exitedPids())).toEqual([16]);
    expect(table.get(16)?.comm).toBe('new');
  });
});
