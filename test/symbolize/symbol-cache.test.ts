import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSymbolCache } from '../../src/symbolize/symbol-cache.js';
import { buildSymFixtures, type SymFixtures } from '../helpers/build-sym-fixtures.js';
import { nmSymbols } from '../helpers/nm-symbols.js';

let fx: SymFixtures;
let tmp: string;
beforeAll(() => {
  fx = buildSymFixtures();
  tmp = mkdtempSync(join(tmpdir(), 'meshprof-cache-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('SymbolCache', () => {
  it('loads a file once and serves later lookups from the cache', () => {
    const cache = createSymbolCache();
    const a = cache.get(fx.pie);
    const b = cache.get(fx.pie);
    expect(b).toBe(a);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1 });
    const work = nmSymbols(fx.pie).get('sym_static_work')!;
    expect(a.lookup(work.value + 3n)?.name).toBe('sym_static_work');
    expect(a.frameKind).toBe('native');
    expect(a.buildId).toMatch(/^[0-9a-f]{40}$/);
  });

  it('shares one table between copies with the same build-id', () => {
    const cache = createSymbolCache();
    const copy = join(tmp, 'copy-of-lib.so');
    copyFileSync(fx.lib, copy);
    const a = cache.get(fx.lib);
    const b = cache.get(copy);
    expect(b).toBe(a);
    expect(cache.stats()).toMatchObject({ misses: 2, entries: 1 });
  });

  it('evicts the least recently used file beyond its bound', () => {
    const cache = createSymbolCache({ maxEntries: 2 });
    const pie = cache.get(fx.pie);
    cache.get(fx.nopie);
    cache.get(fx.pie);
    cache.get(fx.lib); // evicts nopie, the least recently used
    expect(cache.stats().entries).toBe(2);
    expect(cache.get(fx.pie)).toBe(pie);
    const missesBefore = cache.stats().misses;
    cache.get(fx.nopie);
    expect(cache.stats().misses).toBe(missesBefore + 1);
  });

  it('bounds by approximate bytes as well', () => {
    const cache = createSymbolCache({ maxBytes: 1 });
    cache.get(fx.pie);
    cache.get(fx.lib);
    expect(cache.stats().entries).toBe(1);
  });

  it('throws a clear error for unreadable or non-ELF files', () => {
    const cache = createSymbolCache();
    expect(() => cache.get('/nonexistent/lib.so')).toThrow('loading symbols of /nonexistent/lib.so: ENOENT');
    expect(() => cache.get('/etc/hostname')).toThrow('loading symbols of /etc/hostname: reading elf /etc/hostname: ELF header: not an ELF file');
  });
});
