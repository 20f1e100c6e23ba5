// Symbol tables on disk: a second cache (a new process) names the same addresses without reading the ELF tables.
import { mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createInlineFileJobs } from '../../src/elf/file-job-worker.js';
import { readSymbolTablesAt } from '../../src/symbolize/file-lookup.js';
import { NAMES_IN_FILE_MIN_BYTES } from '../../src/symbolize/address-table-codec.js';
import { createSymbolCache, type FileSymbolTables } from '../../src/symbolize/symbol-cache.js';
import { openSymbolDiskCache } from '../../src/symbolize/symbol-disk-cache.js';
import { nmSymbols } from '../helpers/nm-symbols.js';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

/** A symbol cache over `dir` whose ELF reads are counted. */
function cacheOver(dir: string): { cache: ReturnType<typeof createSymbolCache>; reads: string[] } {
  const reads: string[] = [];
  const jobs = createInlineFileJobs<FileSymbolTables>('loading symbols', (path, via) => {
    reads.push(path);
    return readSymbolTablesAt(path, via);
  });
  const store = openSymbolDiskCache({ dir, maxBytes: 256 * 2 ** 20 })!;
  return { cache: createSymbolCache({ tableJobs: jobs, store }), reads };
}

describe('symbol tables on disk', () => {
  it('serves a new cache from disk: the same names, no ELF read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-symcache-'));
    dirs.push(dir);
    const first = cacheOver(dir);
    const a = await first.cache.load(LIBC);
    expect(first.reads).toEqual([LIBC]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.sym'))).toHaveLength(1);

    const second = cacheOver(dir);
    const b = await second.cache.load(LIBC);
    expect(second.reads).toEqual([]);
    // Every dynamic function of libc names the same in both, from its start and from inside it.
    const dyn = [...nmSymbols(LIBC, true).values()].filter((s) => s.size > 1n);
    expect(dyn.length).toBeGreaterThan(1000);
    let same = 0;
    for (const s of dyn) {
      const hit = b.lookup(s.value + 1n);
      expect(hit).toEqual(a.lookup(s.value + 1n));
      if (hit !== undefined) same++;
    }
    expect(same).toBe(dyn.length);
    expect(b.buildId).toBe(a.buildId);
  });

  it('leaves a big table\'s names in the cache file, read when looked up, even after the file is evicted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-symcache-'));
    dirs.push(dir);
    // node's own table: 78k symbols, megabytes of C++ names.
    const node = realpathSync(process.execPath);
    // Built, stored and read back: the first load already leaves its names in the file.
    const built = await cacheOver(dir).cache.load(node);
    const inMemory = await createSymbolCache({ tableJobs: createInlineFileJobs<FileSymbolTables>('loading symbols', readSymbolTablesAt) }).load(node);
    const read = readSymbolTablesAt(node);
    expect(read.own.parts.names.byteLength).toBeGreaterThan(NAMES_IN_FILE_MIN_BYTES);
    const namesBytes = read.own.parts.names.byteLength + (read.debug?.parts.names.byteLength ?? 0);
    expect(inMemory.approximateBytes - built.approximateBytes).toBe(namesBytes);

    const second = cacheOver(dir);
    const fromDisk = await second.cache.load(node);
    expect(second.reads).toEqual([]);
    // Eviction unlinks the file; the table's descriptor still reads it.
    for (const f of readdirSync(dir)) rmSync(join(dir, f));
    // nm's listing of node overflows a pipe's buffer: every 50th symbol of the table read from the ELF file instead.
    const starts = read.own.parts.starts.filter((_, i) => i % 50 === 0);
    expect(starts.length).toBeGreaterThan(1000);
    const names = new Set<string>();
    for (const a of starts) {
      const hit = fromDisk.lookup(a);
      expect(hit).toEqual(inMemory.lookup(a));
      if (hit !== undefined) names.add(hit.name);
    }
    expect(names.size).toBeGreaterThan(1000);
    expect([...names].some((n) => n.includes('v8'))).toBe(true);
  });

  it('reads the ELF file again when the stored file is corrupt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-symcache-'));
    dirs.push(dir);
    await cacheOver(dir).cache.load(LIBC);
    const [file] = readdirSync(dir).filter((n) => n.endsWith('.sym'));
    writeFileSync(join(dir, file!), Buffer.from('MSYM not really a table'));
    const again = cacheOver(dir);
    const t = await again.cache.load(LIBC);
    expect(again.reads).toEqual([LIBC]);
    expect(t.lookup(nmSymbols(LIBC, true).get('malloc')!.value + 1n)?.name).toBe('malloc');
  });
});
