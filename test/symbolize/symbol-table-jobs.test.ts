// Symbol tables read in a worker thread (createSymbolTableJobs) and the cache's load() over them.
import { copyFileSync, mkdtempSync, readdirSync, readlinkSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledWorkerScript, createInlineFileJobs, createWorkerFileJobs, type FileJobs } from '../../src/elf/file-job-worker.js';
import { readFileSymbolTables, readSymbolTablesAt } from '../../src/symbolize/file-lookup.js';
import { createSymbolCache, type FileSymbolTables, type FileSymbols } from '../../src/symbolize/symbol-cache.js';
import { createSymbolTableJobs } from '../../src/symbolize/symbol-table-jobs.js';
import type { PostedSymbolTables } from '../../src/symbolize/symbol-table-worker.js';
import { repoRoot } from '../helpers/repo-root.js';
import { loopTurnsDuring } from '../helpers/loop-turns-during.js';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const NODE = process.execPath;

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'meshprof-symjobs-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Loads `path` through a cache over `jobs`, counting how often the event loop turned meanwhile. */
async function loadCountingTurns(jobs: FileJobs<FileSymbolTables>, path: string): Promise<{ symbols: FileSymbols; turns: number }> {
  const cache = createSymbolCache({ readTables: readFileSymbolTables, tableJobs: jobs });
  try {
    const { result: symbols, turns } = await loopTurnsDuring(() => cache.load(path));
    return { symbols, turns };
  } finally {
    cache.close();
  }
}

/** Every 97th symbol start of the file's own table, as addresses inside the symbol. */
function probeAddresses(path: string): bigint[] {
  const { starts } = readSymbolTablesAt(path).own.parts;
  const out: bigint[] = [];
  for (let i = 0; i < starts.length; i += 97) out.push(starts[i]! + 1n);
  return out;
}

describe('symbol tables in a worker thread', () => {
  it('reads node\'s table in the worker, names every probe as the main thread does, and the loop keeps turning', async () => {
    const worker = await loadCountingTurns(createSymbolTableJobs(), NODE);
    const inline = await loadCountingTurns(createInlineFileJobs('loading symbols', readSymbolTablesAt), NODE);
    const probes = probeAddresses(NODE);
    const names = (s: FileSymbols): (string | undefined)[] => probes.map((a) => s.lookup(a)?.name);
    const expected = names(inline.symbols);
    console.log(`node: ${probes.length} probes; event-loop turns during the load: worker ${worker.turns}, inline ${inline.turns}`);
    expect(probes.length).toBeGreaterThan(500);
    expect(expected.filter((n) => n !== undefined).length).toBeGreaterThan(probes.length * 0.9);
    expect(names(worker.symbols)).toEqual(expected);
    expect(worker.symbols.buildId).toBe(inline.symbols.buildId);
    // Inline, the read holds the loop; in the worker, it turns throughout (node's table takes hundreds of ms).
    expect(inline.turns).toBeLessThanOrEqual(3);
    expect(worker.turns).toBeGreaterThan(50);
  });

  it('shares one read between concurrent loads of a file, and get() then hits', async () => {
    const cache = createSymbolCache({ readTables: readFileSymbolTables, tableJobs: createSymbolTableJobs() });
    try {
      const [a, b] = await Promise.all([cache.load(LIBC), cache.load(LIBC)]);
      expect(b).toBe(a);
      expect(cache.stats()).toMatchObject({ misses: 1, entries: 1 });
      expect(cache.get(LIBC)).toBe(a);
      expect(cache.has(LIBC)).toBe(true);
      expect(a.lookup(probeAddresses(LIBC)[3]!)?.name).toBeTruthy();
    } finally {
      cache.close();
    }
  });

  it('reads a file whose path is gone by the time the worker gets to it, through the descriptor load() opened', async () => {
    const copy = join(tmp, 'libc-copy.so.6');
    copyFileSync(LIBC, copy);
    const cache = createSymbolCache({ readTables: readFileSymbolTables, tableJobs: createSymbolTableJobs() });
    try {
      const loading = cache.load(copy);
      unlinkSync(copy); // like /proc/PID/root/... of a process that exited
      const symbols = await loading;
      const probe = probeAddresses(LIBC)[5]!;
      expect(symbols.lookup(probe)?.name).toBe(createSymbolCache().get(LIBC).lookup(probe)?.name);
    } finally {
      cache.close();
    }
  });

  it('keeps at most 64 waiting files open, and loads the rest when their turn comes', async () => {
    const copies = Array.from({ length: 80 }, (_, i) => join(tmp, `true-${i}`));
    for (const c of copies) copyFileSync('/bin/true', c);
    const cache = createSymbolCache({ readTables: readFileSymbolTables, tableJobs: createSymbolTableJobs() });
    // Descriptors this process holds on the copies.
    const open = (): number => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${tmp}/true-`);
      } catch {
        return false;
      }
    }).length;
    try {
      const loading = Promise.all(copies.map((c) => cache.load(c)));
      expect(open()).toBe(64);
      const loaded = await loading;
      // One build-id: every copy ends up sharing one table.
      expect(new Set(loaded).size).toBe(1);
      expect(cache.stats().entries).toBe(1);
      expect(open()).toBe(0);
    } finally {
      cache.close();
    }
  });

  it('on close, rejects the running load once its worker is gone, and refuses loads after', async () => {
    const cache = createSymbolCache({ readTables: readFileSymbolTables, tableJobs: createSymbolTableJobs() });
    const loading = cache.load(NODE);
    await new Promise((r) => setTimeout(r, 50));
    cache.close();
    await expect(loading).rejects.toMatchObject({ name: 'AbortError' });
    await expect(cache.load(LIBC)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('ends an idle worker, and starts a new one for the next job', async () => {
    const script = compiledWorkerScript(pathToFileURL(join(repoRoot, 'src', 'symbolize', 'symbol-table-jobs.ts')).href, 'symbolize/symbol-table-worker.js')!;
    const jobs = createWorkerFileJobs<PostedSymbolTables, number>({ script, what: 'symbol table worker', decode: (t) => t.own.starts.length, idleMs: 100 });
    const threads = (): number => readdirSync('/proc/self/task').length;
    try {
      const before = threads();
      expect(await jobs.run(() => LIBC)).toBeGreaterThan(1000);
      const busy = threads();
      expect(busy).toBeGreaterThan(before); // the worker's thread is alive after its job
      for (let i = 0; i < 50 && threads() >= busy; i++) await new Promise((r) => setTimeout(r, 20));
      expect(threads()).toBeLessThan(busy);
      expect(await jobs.run(() => LIBC)).toBeGreaterThan(1000);
    } finally {
      jobs.close();
    }
  });

  it('rejects a file it cannot read with the path and the cause', async () => {
    const cache = createSymbolCache({ readTables: readFileSymbolTables, tableJobs: createSymbolTableJobs() });
    try {
      await expect(cache.load('/etc/hostname')).rejects.toThrow('loading symbols of /etc/hostname: reading elf /etc/hostname: ELF header: not an ELF file');
      await expect(cache.load('/nonexistent/x.so')).rejects.toThrow('loading symbols of /nonexistent/x.so: ENOENT');
      expect(cache.has('/etc/hostname')).toBe(false);
    } finally {
      cache.close();
    }
  });
});
