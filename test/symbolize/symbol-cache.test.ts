import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSymbolCache } from '../../src/symbolize/symbol-cache.js';
import { buildSymFixtures, type SymFixtures } from '../helpers/build-sym-fixtures.js';
import { nmSymbols } from '../helpers/nm-symbols.js';

// A full collection on demand, for what only weak references hold.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** After a new task: a WeakRef's target is kept alive until the end of the job that made or read it. */
async function collectGarbage(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  gc();
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

  it('evicts the least recently used file beyond its bound', async () => {
    const cache = createSymbolCache({ maxEntries: 2 });
    const pie = cache.get(fx.pie);
    cache.get(fx.nopie);
    cache.get(fx.pie);
    cache.get(fx.lib); // evicts nopie, the least recently used
    expect(cache.stats().entries).toBe(2);
    expect(cache.get(fx.pie)).toBe(pie);
    await collectGarbage(); // nothing else holds nopie's table
    const missesBefore = cache.stats().misses;
    cache.get(fx.nopie);
    expect(cache.stats().misses).toBe(missesBefore + 1);
  });

  it('lets a table go after idleMs without a load, and finds it again while something holds it', async () => {
    const cache = createSymbolCache({ idleMs: 30 });
    const held = cache.get(fx.pie); // as a process's mapping holds it
    expect(cache.stats()).toMatchObject({ entries: 1, misses: 1 });
    await sleep(100);
    expect(cache.stats()).toMatchObject({ entries: 0, approximateBytes: 0 });
    await collectGarbage();
    expect(cache.has(fx.pie)).toBe(true);
    // Found through the weak reference: no second read, no second copy.
    expect(cache.get(fx.pie)).toBe(held);
    expect(cache.stats()).toMatchObject({ entries: 1, misses: 1, hits: 1 });
    expect(cache.stats().approximateBytes).toBe(held.approximateBytes);
  });

  it('reads a table again once it was let go and nothing held it', async () => {
    const cache = createSymbolCache({ idleMs: 30 });
    const work = nmSymbols(fx.pie).get('sym_static_work')!;
    expect(cache.get(fx.pie).lookup(work.value)?.name).toBe('sym_static_work');
    await sleep(100);
    await collectGarbage();
    expect(cache.has(fx.pie)).toBe(false);
    expect(cache.get(fx.pie).lookup(work.value)?.name).toBe('sym_static_work');
    expect(cache.stats()).toMatchObject({ entries: 1, misses: 2 });
  });

  it('finds a let-go table held elsewhere by its build-id, for another copy of the file', async () => {
    const cache = createSymbolCache({ idleMs: 30 });
    const copy = join(tmp, 'idle-copy-of-lib.so');
    copyFileSync(fx.lib, copy);
    const held = cache.get(fx.lib);
    await sleep(100);
    await collectGarbage();
    expect(cache.get(copy)).toBe(held);
    expect(cache.stats()).toMatchObject({ entries: 1 });
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
