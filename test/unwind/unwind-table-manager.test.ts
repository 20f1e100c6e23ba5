import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileUnwindTable } from '../../src/unwind/file-unwind-table.js';
import { createRowAllocator } from '../../src/unwind/row-allocator.js';
import { UNWIND_PROC_SIZE, type UnwindMaps } from '../../src/unwind/unwind-maps.js';
import { createInlineTableBuilder, type UnwindTableBuilder } from '../../src/unwind/table-builder.js';
import { createUnwindTableManager, type UnwindSourceMapping } from '../../src/unwind/unwind-table-manager.js';
import { fakeMap } from '../helpers/fake-map.js';

function fakeMaps(chunks: number, tables: number, procs: number) {
  return { rows: fakeMap('unwind_rows', 4, 1024, chunks), tables: fakeMap('unwind_tables', 4, 8, tables), procs: fakeMap('unwind_procs', 4, UNWIND_PROC_SIZE, procs) };
}

/** A table of `rows` rows for a file whose text is mapped from offset 0x1000 at vaddr 0x1000. */
function table(path: string, rows: number): FileUnwindTable {
  const buf = Buffer.alloc(rows * 16);
  for (let i = 0; i < rows; i++) buf.writeBigUInt64LE(BigInt(0x1000 + i * 4), i * 16);
  return {
    path, buildId: undefined, table: buf, stats: undefined,
    loadSegments: [{ type: 1, flags: 5, offset: 0x1000, vaddr: 0x1000n, fileSize: 0x10000, memSize: 0x10000n, align: 0x1000n }],
  };
}

function mapping(path: string, inode: number, start: bigint): UnwindSourceMapping {
  return { start, end: start + 0x10000n, offset: 0x1000n, executable: true, devMajor: 8, devMinor: 1, inode: BigInt(inode), path, kind: 'file' };
}

const u32 = (n: number): Buffer => Buffer.from(new Uint32Array([n]).buffer);

describe('row allocator', () => {
  it('allocates first-fit and merges freed neighbours', () => {
    const a = createRowAllocator(10);
    const x = a.allocate(4)!;
    const y = a.allocate(4)!;
    expect([x, y]).toEqual([{ first: 0, count: 4 }, { first: 4, count: 4 }]);
    expect(a.allocate(3)).toBeUndefined();
    a.free(x);
    a.free(y);
    expect(a.used).toBe(0);
    expect(a.allocate(10)).toEqual({ first: 0, count: 10 });
  });
});

describe('unwind table manager over fake maps', () => {
  it('shares one table per file between processes, refcounted, and frees it with the last one', async () => {
    const loads: string[] = [];
    const maps = fakeMaps(8, 4, 4);
    const m = createUnwindTableManager({
      maps: maps as UnwindMaps, filePath: (pid, mp) => `/proc/${pid}/root${mp.path}`,
      builder: createInlineTableBuilder((p) => (loads.push(p), table(p, 100))),
    });
    m.setProcess({ pid: 10, mappings: [mapping('/lib/libc.so.6', 7, 0x7f0000000000n), mapping('/bin/app', 9, 0x400000n)] });
    m.setProcess({ pid: 11, mappings: [mapping('/lib/libc.so.6', 7, 0x7f1000000000n)] });
    await m.settled();
    // read through the process that mapped the file last, when the build starts
    expect(loads).toEqual(['/proc/11/root/lib/libc.so.6', '/proc/10/root/bin/app']);
    // 100 rows take two 64-row chunks per file
    expect(m.stats()).toMatchObject({ filesLoaded: 2, chunksUsed: 4, tablesLive: 2, procsLive: 2 });

    const proc = maps.procs.lookup(u32(10))!;
    expect(proc.readUInt32LE(0)).toBe(2);
    // sorted by start: the app first, bias = start - vaddr(offset 0x1000) = start - 0x1000
    expect(proc.readBigUInt64LE(8)).toBe(0x400000n);
    expect(proc.readBigUInt64LE(8 + 16)).toBe(0x400000n - 0x1000n);
    const libcId = proc.readUInt32LE(8 + 32 + 24);
    const range = maps.tables.lookup(u32(libcId))!;
    expect(range.readUInt32LE(4)).toBe(100);
    expect(maps.rows.lookup(u32(range.readUInt32LE(0) / 64))!.readBigUInt64LE(0)).toBe(0x1000n);
    // the second chunk: rows 64..99, then zeros to the chunk's end
    const last = maps.rows.lookup(u32(range.readUInt32LE(0) / 64 + 1))!;
    expect(last.length).toBe(1024);
    expect(last.readBigUInt64LE(35 * 16)).toBe(BigInt(0x1000 + 99 * 4));
    expect(last.subarray(36 * 16).every((b) => b === 0)).toBe(true);

    m.removeProcess(10);
    expect(m.stats()).toMatchObject({ chunksUsed: 2, tablesLive: 1, procsLive: 1 });
    expect(maps.procs.lookup(u32(10))).toBeUndefined();
    m.removeProcess(11);
    // these files cannot be checked for identity (no such paths): nothing is kept idle
    expect(m.stats()).toMatchObject({ chunksUsed: 0, tablesLive: 0, tablesIdle: 0, procsLive: 0 });
    expect(maps.tables.lookup(u32(libcId))!.readUInt32LE(4)).toBe(0);
  });

  it('gives an idle table back without a build or a map write, and frees idle tables oldest first when room is needed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-idle-'));
    const files = ['a', 'b', 'c'].map((n) => { const p = join(dir, n); writeFileSync(p, n); return p; });
    const loads: string[] = [];
    // room for two tables of 100 rows (2 chunks each)
    const maps = fakeMaps(4, 4, 4);
    let rowWrites = 0;
    const update = maps.rows.updateRun.bind(maps.rows);
    maps.rows.updateRun = (k, v) => { rowWrites++; update(k, v); };
    const m = createUnwindTableManager({ maps: maps as UnwindMaps, filePath: (_, mp) => mp.path, builder: createInlineTableBuilder((p) => (loads.push(p), table(p, 100))) });
    const [a, b, c] = files as [string, string, string];
    m.setProcess({ pid: 1, mappings: [mapping(a, 1, 0x400000n)] });
    await m.settled();
    m.removeProcess(1);
    m.setProcess({ pid: 2, mappings: [mapping(b, 2, 0x400000n)] });
    await m.settled();
    m.removeProcess(2);
    expect(m.stats()).toMatchObject({ tablesLive: 0, tablesIdle: 2, chunksUsed: 4 });
    const writes = rowWrites;
    // a runs again: installed in the same call, from the maps as they are
    m.setProcess({ pid: 3, mappings: [mapping(a, 1, 0x400000n)] });
    expect(maps.procs.lookup(u32(3))!.readUInt32LE(0)).toBe(1);
    expect(rowWrites).toBe(writes);
    expect(m.stats()).toMatchObject({ tablesLive: 1, tablesIdle: 1, filesLoaded: 2 });
    // c needs room: b, idle, gives way; a, in use, stays
    m.setProcess({ pid: 4, mappings: [mapping(c, 3, 0x400000n)] });
    await m.settled();
    expect(m.stats()).toMatchObject({ tablesLive: 2, tablesIdle: 0, chunksUsed: 4, tablesOutOfRoom: 0 });
    expect(loads).toEqual([a, b, c]);
    rmSync(dir, { recursive: true });
  });

  it('keeps an evicted table in memory only when the builder keeps none on disk', async () => {
    for (const keepsTables of [false, true]) {
      const dir = mkdtempSync(join(tmpdir(), 'meshprof-kept-'));
      const [a, b] = ['a', 'b'].map((n) => { const p = join(dir, n); writeFileSync(p, n); return p; }) as [string, string];
      const loads: string[] = [];
      const inline = createInlineTableBuilder((p) => (loads.push(p), table(p, 100)));
      const builder: UnwindTableBuilder = { build: (path, signal) => inline.build(path, signal), pending: 0, keepsTables, close: () => inline.close() };
      // room for one table of 100 rows: each file's table pushes the other's out of the maps
      const m = createUnwindTableManager({ maps: fakeMaps(2, 4, 4) as UnwindMaps, filePath: (_, mp) => mp.path, builder });
      for (const [pid, file, inode] of [[1, a, 1], [2, b, 2], [3, a, 1]] as const) {
        m.setProcess({ pid, mappings: [mapping(file, inode, 0x400000n)] });
        await m.settled();
        m.removeProcess(pid);
      }
      // a's second install: from the memory copy, or built again (a disk read, for a builder that keeps tables)
      expect(loads).toEqual(keepsTables ? [a, b, a] : [a, b]);
      expect(m.stats()).toMatchObject({ filesLoaded: 3, tablesOutOfRoom: 0 });
      rmSync(dir, { recursive: true });
    }
  });

  it('writes a table of whole chunks in one run and a partial one with its last chunk padded, each row in place', async () => {
    const maps = fakeMaps(8, 4, 4);
    const runs: [number, number][] = [];
    const updateRun = maps.rows.updateRun.bind(maps.rows);
    maps.rows.updateRun = (first, v) => { runs.push([first, v.length / 1024]); updateRun(first, v); };
    const m = createUnwindTableManager({
      maps: maps as UnwindMaps, filePath: (_, mp) => mp.path, builder: createInlineTableBuilder((p) => table(p, p === '/whole' ? 128 : 130)),
    });
    m.setProcess({ pid: 1, mappings: [mapping('/whole', 1, 0x1000000n)] });
    m.setProcess({ pid: 2, mappings: [mapping('/partial', 2, 0x2000000n)] });
    await m.settled();
    // 128 rows: two whole chunks in one write; 130 rows: two whole ones, then one padded
    expect(runs).toEqual([[0, 2], [2, 2], [4, 1]]);
    for (let row = 0; row < 130; row++) {
      const chunk = maps.rows.lookup(u32(2 + Math.floor(row / 64)))!;
      expect(chunk.readBigUInt64LE((row % 64) * 16)).toBe(BigInt(0x1000 + row * 4));
    }
    expect(maps.rows.lookup(u32(4))!.subarray(2 * 16).every((b) => b === 0)).toBe(true);
  });

  it('counts a table the kernel refused to take and frees its room for the next', async () => {
    const maps = fakeMaps(4, 2, 2);
    const updateRun = maps.rows.updateRun.bind(maps.rows);
    // the second write of the first table fails: its rows are half written
    let writes = 0;
    maps.rows.updateRun = (first, v) => { if (++writes === 2) throw new Error('updating map unwind_rows: cannot allocate memory'); updateRun(first, v); };
    const m = createUnwindTableManager({ maps: maps as UnwindMaps, filePath: (_, mp) => mp.path, builder: createInlineTableBuilder((p) => table(p, 100)) });
    m.setProcess({ pid: 1, mappings: [mapping('/a', 1, 0x1000000n)] });
    await m.settled();
    expect(m.stats()).toMatchObject({ tablesOutOfRoom: 1, filesLoaded: 0, chunksUsed: 0, procsLive: 0 });
    // its range was never written, so the walker cannot read the half-written rows
    expect([...maps.tables.entries.values()].every((v) => v.readUInt32LE(4) === 0)).toBe(true);
    m.setProcess({ pid: 2, mappings: [mapping('/b', 2, 0x2000000n)] });
    await m.settled();
    expect(m.stats()).toMatchObject({ tablesOutOfRoom: 1, filesLoaded: 1, chunksUsed: 2, procsLive: 1 });
  });

  it('counts running out of rows, tables and processes instead of failing', async () => {
    const maps = fakeMaps(4, 2, 1);
    const m = createUnwindTableManager({
      maps: maps as UnwindMaps, filePath: (_, mp) => mp.path, builder: createInlineTableBuilder((p) => table(p, p.includes('big') ? 1000 : 10)),
    });
    m.setProcess({ pid: 1, mappings: [mapping('/big', 1, 0x1000000n), mapping('/a', 2, 0x2000000n), mapping('/b', 3, 0x3000000n), mapping('/c', 4, 0x4000000n)] });
    await m.settled();
    expect(m.stats()).toMatchObject({ tablesOutOfRoom: 2, filesLoaded: 2 });
    m.setProcess({ pid: 2, mappings: [mapping('/a', 2, 0x2000000n)] });
    await m.settled();
    expect(m.stats()).toMatchObject({ procsOutOfRoom: 1, procsLive: 1 });
  });

  it('does not build a table again while live tables leave it no room, and builds it once they leave', async () => {
    const builds: string[] = [];
    // 4 chunks: /a takes 2 (100 rows), /big needs 4 (200 rows)
    const m = createUnwindTableManager({
      maps: fakeMaps(4, 4, 4) as UnwindMaps, filePath: (_, mp) => mp.path,
      builder: createInlineTableBuilder((p) => (builds.push(p), table(p, p === '/big' ? 200 : 100))),
    });
    m.setProcess({ pid: 1, mappings: [mapping('/a', 1, 0x1000000n), mapping('/big', 2, 0x2000000n)] });
    await m.settled();
    expect(m.stats()).toMatchObject({ tablesOutOfRoom: 1, filesLoaded: 1, chunksUsed: 2 });
    // /a is live: /big cannot fit, so another process mapping it costs no build
    m.setProcess({ pid: 2, mappings: [mapping('/big', 2, 0x2000000n)] });
    await m.settled();
    expect(builds).toEqual(['/a', '/big']);
    m.removeProcess(1);
    m.setProcess({ pid: 3, mappings: [mapping('/big', 2, 0x2000000n)] });
    await m.settled();
    expect(builds).toEqual(['/a', '/big', '/big']);
    expect(m.stats()).toMatchObject({ tablesOutOfRoom: 1, filesLoaded: 2, tablesLive: 1, chunksUsed: 4 });
  });

  it('remembers files without .eh_frame or unreadable ones and does not retry them', async () => {
    let calls = 0;
    const m = createUnwindTableManager({
      maps: fakeMaps(4, 4, 4) as UnwindMaps,
      filePath: (_, mp) => mp.path,
      builder: createInlineTableBuilder((p) => {
        calls++;
        if (p === '/gone') throw new Error('ENOENT');
        return table(p, 0);
      }),
    });
    m.setProcess({ pid: 1, mappings: [mapping('/gone', 1, 0x1000n), mapping('/noeh', 2, 0x100000n)] });
    await m.settled();
    m.setProcess({ pid: 2, mappings: [mapping('/gone', 1, 0x1000n), mapping('/noeh', 2, 0x100000n)] });
    await m.settled();
    expect(calls).toBe(2);
    expect(m.stats()).toMatchObject({ filesUnreadable: 1, filesLoaded: 0 });
  });

  it('installs a process at once with the tables it has, and again as each missing one arrives', async () => {
    const maps = fakeMaps(8, 4, 4);
    // builds finish only when the test says so, in any order
    const finish = new Map<string, () => void>();
    const builder: UnwindTableBuilder = {
      build: (path) => new Promise((resolve) => { const p = path(); finish.set(p, () => resolve(table(p, 10))); }),
      get pending() { return finish.size; },
      close: () => undefined,
    };
    const m = createUnwindTableManager({ maps: maps as UnwindMaps, filePath: (_, mp) => mp.path, builder });
    m.setProcess({ pid: 5, mappings: [mapping('/lib/libc.so.6', 7, 0x7f0000000000n), mapping('/bin/app', 9, 0x400000n)] });
    expect(m.stats()).toMatchObject({ tablesBuilding: 2, tablesLive: 0 });
    // nothing ready: no entry, so the kernel walks pid 5 by frame pointers
    expect(maps.procs.lookup(u32(5))).toBeUndefined();

    finish.get('/lib/libc.so.6')!();
    await new Promise((r) => setImmediate(r));
    expect(maps.procs.lookup(u32(5))!.readUInt32LE(0)).toBe(1);
    expect(maps.procs.lookup(u32(5))!.readBigUInt64LE(8)).toBe(0x7f0000000000n);

    finish.get('/bin/app')!();
    await m.settled();
    const proc = maps.procs.lookup(u32(5))!;
    expect(proc.readUInt32LE(0)).toBe(2);
    expect(proc.readBigUInt64LE(8)).toBe(0x400000n);
    expect(m.stats()).toMatchObject({ tablesBuilding: 0, tablesLive: 2, filesLoaded: 2 });
  });

  it('drops a table whose last process left while it was being built', async () => {
    const maps = fakeMaps(8, 4, 4);
    let finish: (() => void) | undefined;
    const builder: UnwindTableBuilder = {
      build: (path) => new Promise((resolve) => { const p = path(); finish = () => resolve(table(p, 100)); }),
      pending: 0,
      close: () => undefined,
    };
    const m = createUnwindTableManager({ maps: maps as UnwindMaps, filePath: (_, mp) => mp.path, builder });
    m.setProcess({ pid: 6, mappings: [mapping('/bin/short', 3, 0x400000n)] });
    m.removeProcess(6);
    finish!();
    await m.settled();
    expect(m.stats()).toMatchObject({ tablesLive: 0, chunksUsed: 0, filesLoaded: 0, procsLive: 0 });
    expect(maps.procs.lookup(u32(6))).toBeUndefined();
  });

  it('skips the build of a table whose processes left before it started, without counting a loss', async () => {
    const loads: string[] = [];
    const m = createUnwindTableManager({
      maps: fakeMaps(8, 4, 4) as UnwindMaps, filePath: (pid, mp) => `/proc/${pid}/root${mp.path}`,
      builder: createInlineTableBuilder((p) => (loads.push(p), table(p, 10))),
    });
    // a short-lived program: seen, then gone before the builder got to it
    m.setProcess({ pid: 7, mappings: [mapping('/usr/bin/cc1', 11, 0x400000n)] });
    m.removeProcess(7);
    await m.settled();
    expect(loads).toEqual([]);
    expect(m.stats()).toMatchObject({ filesUnreadable: 0, filesLoaded: 0, tablesBuilding: 0 });
  });

  it('builds through another process when the one that mapped the file first has gone', async () => {
    const gone = new Set<number>([20]);
    const loads: string[] = [];
    const m = createUnwindTableManager({
      maps: fakeMaps(8, 4, 4) as UnwindMaps,
      filePath: (pid, mp) => {
        if (gone.has(pid)) throw new Error(`pid ${pid} exited`);
        return `/proc/${pid}/root${mp.path}`;
      },
      builder: createInlineTableBuilder((p) => (loads.push(p), table(p, 10))),
    });
    // pid 21 mapped libc last but is gone by the time the build starts; 20 asked first and is gone too
    m.setProcess({ pid: 20, mappings: [mapping('/lib/libc.so.6', 7, 0x7f0000000000n)] });
    m.setProcess({ pid: 22, mappings: [mapping('/lib/libc.so.6', 7, 0x7f2000000000n)] });
    m.setProcess({ pid: 21, mappings: [mapping('/lib/libc.so.6', 7, 0x7f1000000000n)] });
    gone.add(21);
    await m.settled();
    expect(loads).toEqual(['/proc/22/root/lib/libc.so.6']);
    expect(m.stats()).toMatchObject({ filesLoaded: 1, filesUnreadable: 0 });
  });

  it('counts a process\'s mappings past the kernel\'s limit once, however many tables arrive late', async () => {
    const maps = fakeMaps(256, 128, 4);
    const m = createUnwindTableManager({ maps: maps as UnwindMaps, filePath: (_, mp) => mp.path, builder: createInlineTableBuilder((p) => table(p, 10)) });
    // 70 libraries: 6 past the 64 entries a process has in the kernel
    const libs = Array.from({ length: 70 }, (_, i) => mapping(`/lib/l${i}.so`, 100 + i, BigInt(0x10000000 * (i + 1))));
    m.setProcess({ pid: 30, mappings: libs });
    await m.settled();
    expect(m.stats().mappingsTruncated).toBe(6);
    expect(maps.procs.lookup(u32(30))!.readUInt32LE(0)).toBe(64);
  });

  it('writes a table built before at once when its file comes back, and builds it again once the file changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-cache-'));
    const worker = join(dir, 'worker');
    writeFileSync(worker, 'v1');
    const loads: string[] = [];
    const maps = fakeMaps(8, 4, 4);
    const m = createUnwindTableManager({ maps: maps as UnwindMaps, filePath: (_, mp) => mp.path, builder: createInlineTableBuilder((p) => (loads.push(p), table(p, 100))) });
    m.setProcess({ pid: 40, mappings: [mapping(worker, 5, 0x400000n)] });
    await m.settled();
    m.removeProcess(40);
    expect(m.stats()).toMatchObject({ tablesLive: 0, tablesIdle: 1, chunksUsed: 2 });
    // the next forked worker: installed in the same call, from the idle table
    m.setProcess({ pid: 41, mappings: [mapping(worker, 5, 0x400000n)] });
    expect(maps.procs.lookup(u32(41))!.readUInt32LE(0)).toBe(1);
    expect(loads).toEqual([worker]);
    expect(m.stats()).toMatchObject({ tablesLive: 1, tablesIdle: 0, chunksUsed: 2 });
    m.removeProcess(41);
    // rewritten in place (same dev:inode, as `cp` over it does): the old table must not be reused
    writeFileSync(worker, 'version 2');
    m.setProcess({ pid: 42, mappings: [mapping(worker, 5, 0x400000n)] });
    expect(maps.procs.lookup(u32(42))).toBeUndefined();
    await m.settled();
    expect(loads).toEqual([worker, worker]);
    expect(maps.procs.lookup(u32(42))!.readUInt32LE(0)).toBe(1);
    rmSync(dir, { recursive: true });
  });
});
