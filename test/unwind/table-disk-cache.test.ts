import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTableCacheEnv } from '../../src/config/table-cache-env.js';
import { loadFileUnwindTable } from '../../src/unwind/file-unwind-table.js';
import { openTableDiskCache } from '../../src/unwind/table-disk-cache.js';
import { withCacheHitsInThisThread, type UnwindTableBuilder } from '../../src/unwind/table-builder.js';
import { createLogger } from '../../src/log/logger.js';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const LS = '/usr/bin/ls';
const dirs: string[] = [];
const freshDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'meshprof-cache-'));
  dirs.push(d);
  return d;
};
const tables = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.tbl'));
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('unwind table disk cache', () => {
  it('serves a second build of the same file from the cache, also to a new process (a new cache object)', () => {
    const dir = freshDir();
    const first = openTableDiskCache(dir, 256 * 2 ** 20)!;
    const built = loadFileUnwindTable(LIBC, first);
    expect(built.fromCache).toBeUndefined();
    expect(first.counters).toMatchObject({ hits: 0, misses: 1, writes: 1 });
    const again = loadFileUnwindTable(LIBC, first);
    expect(first.counters.hits).toBe(1);
    expect(again.fromCache).toBe(true);
    expect(again.table.equals(built.table)).toBe(true);
    expect(again.stats).toEqual(built.stats);
    const restarted = openTableDiskCache(dir, 256 * 2 ** 20)!;
    expect(loadFileUnwindTable(LIBC, restarted).table.equals(built.table)).toBe(true);
    expect(restarted.counters).toMatchObject({ hits: 1, misses: 0 });
  });

  it('ignores a corrupted or truncated cache file and rebuilds the same rows', () => {
    const dir = freshDir();
    const cache = openTableDiskCache(dir, 256 * 2 ** 20)!;
    const built = loadFileUnwindTable(LIBC, cache);
    const [name] = tables(dir);
    const file = join(dir, name!);
    const bytes = readFileSync(file);
    const at = bytes.length - 100;
    bytes[at] = bytes[at]! ^ 0x55; // a row's byte: only the checksum can tell
    writeFileSync(file, bytes);
    const rebuilt = loadFileUnwindTable(LIBC, cache);
    expect(rebuilt.fromCache).toBeUndefined();
    expect(rebuilt.table.equals(built.table)).toBe(true);
    expect(cache.counters.corrupt).toBe(1);
    // rewritten good: the next load is a hit
    expect(loadFileUnwindTable(LIBC, cache).fromCache).toBe(true);
    truncateSync(file, 1000);
    expect(loadFileUnwindTable(LIBC, cache).table.equals(built.table)).toBe(true);
    expect(cache.counters.corrupt).toBe(2);
  });

  it('evicts the least recently used tables past its size bound', () => {
    const dir = freshDir();
    const libcBytes = loadFileUnwindTable(LIBC).table.length;
    const cache = openTableDiskCache(dir, libcBytes + 1000)!;
    loadFileUnwindTable(LS, cache);
    expect(tables(dir)).toHaveLength(1);
    loadFileUnwindTable(LIBC, cache);
    // ls's table was older: it went so libc's fits
    expect(tables(dir)).toHaveLength(1);
    expect(cache.counters.evicted).toBe(1);
    expect(loadFileUnwindTable(LIBC, cache).fromCache).toBe(true);
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('refuses a directory others can write', () => {
    const dir = freshDir();
    chmodSync(dir, 0o777);
    const warnings: string[] = [];
    expect(openTableDiskCache(dir, 2 ** 20, createLogger((_l, m) => { warnings.push(m); }))).toBeUndefined();
    expect(warnings[0]).toMatch(/writable by others/);
  });

  it('reads MESHPROF_CACHE_DIR and MESHPROF_CACHE_MAX_BYTES', () => {
    expect(readTableCacheEnv({}, 0)).toEqual({ dir: '/var/cache/meshprof', maxBytes: 256 * 2 ** 20 });
    expect(readTableCacheEnv({ XDG_CACHE_HOME: '/home/u/.cache' }, 1000).dir).toBe('/home/u/.cache/meshprof');
    expect(readTableCacheEnv({ MESHPROF_CACHE_DIR: 'none' }, 0).dir).toBeUndefined();
    expect(readTableCacheEnv({ MESHPROF_CACHE_DIR: ' ', MESHPROF_CACHE_MAX_BYTES: '64MiB' }, 0)).toEqual({ dir: '/var/cache/meshprof', maxBytes: 64 * 2 ** 20 });
    expect(() => readTableCacheEnv({ MESHPROF_CACHE_DIR: 'rel/dir' }, 0)).toThrow(/MESHPROF_CACHE_DIR=rel\/dir: not an absolute path/);
    expect(() => readTableCacheEnv({ MESHPROF_CACHE_MAX_BYTES: 'lots' }, 0)).toThrow(/MESHPROF_CACHE_MAX_BYTES=lots/);
  });
});

describe('cache hits in the calling thread', () => {
  it('answers a cached file without the worker builder, and passes a miss on to it', async () => {
    const dir = freshDir();
    const cache = openTableDiskCache(dir, 256 * 2 ** 20)!;
    const built = loadFileUnwindTable(LS, cache);
    const asked: string[] = [];
    const worker: UnwindTableBuilder = {
      build: async (path) => {
        asked.push(path());
        return loadFileUnwindTable(path());
      },
      pending: 0,
      close: () => {},
    };
    const builder = withCacheHitsInThisThread(worker, openTableDiskCache(dir, 256 * 2 ** 20));
    const hit = await builder.build(() => LS);
    expect(hit.fromCache).toBe(true);
    expect(hit.table.equals(built.table)).toBe(true);
    expect(asked).toEqual([]);
    const miss = await builder.build(() => LIBC);
    expect(miss.fromCache).toBeUndefined();
    expect(asked).toEqual([LIBC]);
    // A path that cannot be given now goes to the builder, which says why.
    await expect(builder.build(() => { throw new Error('pid 1 gone'); })).rejects.toThrow(/pid 1 gone/);
  });
});
