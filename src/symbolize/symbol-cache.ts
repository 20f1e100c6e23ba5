/**
 * A bounded cache of per-file symbol tables. Files are identified by their
 * key and stamp (file-identity.ts, one stat); two identities with the same
 * GNU build-id (the same library in two containers) share one table.
 */
import { LRUCache } from 'lru-cache';
import { fileIdentity } from '../elf/file-identity.js';
import { ElfFile, fileOffsetToVaddr } from '../elf/elf-file.js';
import type { ElfProgramHeader } from '../elf/elf-types.js';
import type { FileJobs } from '../elf/file-job-worker.js';
import { createElfSymbolTable, type ElfSymbolTable } from './elf-symbol-table.js';
import type { FrameKind } from '../stacks/frames.js';
import type { SymbolHit } from './address-table.js';

/** Anything that resolves a file virtual address to a function. */
export interface SymbolLookup {
  lookup(fileVaddr: bigint): SymbolHit | undefined;
  readonly approximateBytes: number;
  /** Kind of the frames this file yields; default 'native' ('go' for Go binaries). */
  readonly frameKind?: FrameKind | undefined;
}

/** The symbols of one ELF file, usable after the file is closed. */
export interface FileSymbols {
  readonly buildId: string | undefined;
  readonly frameKind: FrameKind;
  /** File offset → file virtual address through the PT_LOAD segments. */
  offsetToVaddr(fileOffset: bigint): bigint | undefined;
  lookup(fileVaddr: bigint): SymbolHit | undefined;
  readonly approximateBytes: number;
}

/** The ELF symbol tables of one file: its own, and its separate debug file's when one was read. */
export interface FileSymbolTables {
  readonly own: ElfSymbolTable;
  readonly debug?: ElfSymbolTable | undefined;
}

/**
 * Tables kept across processes (symbol-disk-cache.ts): looked up in the
 * calling thread before a worker is asked, written after it answered.
 */
export interface SymbolTableStore {
  /** The key of `elf`'s tables; `identity` is its file identity (key and stamp). */
  key(elf: ElfFile, identity: string): string;
  get(key: string): FileSymbolTables | undefined;
  put(key: string, tables: FileSymbolTables): void;
}

/** Options for createSymbolCache. */
export interface SymbolCacheOptions {
  /** Most files kept; default 256. */
  readonly maxEntries?: number;
  /**
   * Approximate byte budget for all tables; default 64 MiB (node's takes about 8). Every
   * program exec'd on a busy host has its tables loaded; with the disk cache an
   * evicted table comes back in milliseconds, so memory need not hold them all.
   */
  readonly maxBytes?: number;
  /** Reads a file's tables; default its own .symtab ∪ .dynsym (readFileSymbolTables adds a debug file's). */
  readonly readTables?: (elf: ElfFile) => FileSymbolTables;
  /**
   * Builds the lookup for a file over its tables (a debug file's first,
   * then its own); default the tables themselves. The hook lets a Go
   * pclntab reader take over for Go binaries.
   */
  readonly createLookup?: (elf: ElfFile, tables: SymbolLookup) => SymbolLookup;
  /**
   * Reads tables off the main thread for load(), as `readTables` would;
   * default: load() reads them inline.
   */
  readonly tableJobs?: FileJobs<FileSymbolTables>;
  /** Tables kept on disk, for load(); default none. */
  readonly store?: SymbolTableStore;
  /**
   * How long a table no load asked for stays held by the cache; default
   * IDLE_TABLE_MS. Past that only the processes that map its file hold it.
   */
  readonly idleMs?: number;
}

/**
 * A build runs compilers and is gone, and their tables stayed in the byte
 * budget for good: after one build of this project (tsc, esbuild, clang) the
 * agent held 20 MB more table bytes and 30-57 MB more RSS. After a
 * minute without a load the cache lets a table go; a process that still maps
 * the file holds it (its mappings' states do), and a load finds it again
 * through a weak reference rather than reading a second copy. Once no process
 * holds it, the disk cache brings it back in milliseconds.
 */
export const IDLE_TABLE_MS = 60_000;

/** Cache counters. */
export interface SymbolCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly entries: number;
  readonly approximateBytes: number;
}

/** The cache; one per symbolizer. */
export interface SymbolCache {
  /** Symbols of the ELF file at `path`; throws "loading symbols of PATH: cause" when it cannot be read. */
  get(path: string): FileSymbols;
  /**
   * Like get, with the tables read by `tableJobs` (a worker thread): the
   * caller's thread is held only for the file's headers. Loads of one file
   * share one read.
   */
  load(path: string): Promise<FileSymbols>;
  /** Whether `path`'s symbols are loaded (false when it cannot be read). */
  has(path: string): boolean;
  /** Ends the table worker; pending loads reject. */
  close(): void;
  stats(): SymbolCacheStats;
  clear(): void;
}

interface Entry {
  readonly symbols: FileSymbols;
  /** The identity it was loaded under: its key in the LRU order. */
  readonly id: string;
  readonly keys: string[];
}

/** Opens `path` (read from `via` when given) for its symbols; throws "loading symbols of PATH: cause". */
export function openSymbolFile(path: string, via?: string): ElfFile {
  try {
    return ElfFile.open(path, via);
  } catch (err) {
    throw new Error(`loading symbols of ${path}: ${(err as Error).message}`);
  }
}

/** Loads that open their file at once; later ones open it when the worker gets to them. */
const MAX_OPEN_WAITING = 64;

/** Creates an empty cache. */
export function createSymbolCache(options: SymbolCacheOptions = {}): SymbolCache {
  const maxEntries = options.maxEntries ?? 256;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const createLookup = options.createLookup ?? ((_elf: ElfFile, tables: SymbolLookup) => tables);
  const readTables = options.readTables ?? ((elf: ElfFile): FileSymbolTables => ({ own: createElfSymbolTable(elf) }));
  // Every key of an entry: its file identities and its build-id.
  const byKey = new Map<string, Entry>();
  // Keys of entries the LRU let go of, while something else (a mapping's state) may
  // still hold their symbols; an entry lives as long as its symbols do.
  const released = new Map<string, WeakRef<FileSymbols>>();
  const entryOf = new WeakMap<FileSymbols, Entry>();
  const collected = new FinalizationRegistry<readonly string[]>((keys) => {
    for (const k of keys) if (released.get(k)?.deref() === undefined) released.delete(k);
  });
  let bytes = 0;
  let hits = 0;
  let misses = 0;
  // Entries by the identity they were loaded under. One larger than the whole
  // budget counts as the budget: it evicts all others and stays, as the one just added.
  const lru = new LRUCache<string, Entry>({
    max: maxEntries,
    maxSize: maxBytes,
    sizeCalculation: (e) => Math.max(1, Math.min(Math.ceil(e.symbols.approximateBytes), maxBytes)),
    ttl: options.idleMs ?? IDLE_TABLE_MS,
    updateAgeOnGet: true,
    // Its timers are unref'd: they never hold the process open.
    ttlAutopurge: true,
    dispose: (e) => {
      bytes -= e.symbols.approximateBytes;
      for (const k of e.keys) {
        if (byKey.get(k) !== e) continue;
        byKey.delete(k);
        released.set(k, new WeakRef(e.symbols));
      }
    },
  });

  /** The entry under `key`, taken back into the LRU when it had let it go and it is still alive. */
  const find = (key: string): Entry | undefined => {
    const e = byKey.get(key);
    if (e !== undefined) return e;
    const held = released.get(key)?.deref();
    const back = held === undefined ? undefined : entryOf.get(held);
    if (back === undefined) return undefined;
    for (const k of back.keys) {
      released.delete(k);
      byKey.set(k, back);
    }
    bytes += back.symbols.approximateBytes;
    lru.set(back.id, back);
    return back;
  };

  const touch = (e: Entry): FileSymbols => {
    lru.get(e.id);
    return e.symbols;
  };

  const identity = (path: string): string => {
    try {
      return fileIdentity(path);
    } catch (err) {
      throw new Error(`loading symbols of ${path}: ${(err as Error).message}`);
    }
  };
  const openElf = (path: string): ElfFile => openSymbolFile(path);
  const known = (id: string): FileSymbols | undefined => {
    const e = find(id);
    if (e === undefined) return undefined;
    hits++;
    return touch(e);
  };
  // The same contents under another identity (another container's copy).
  const sameBuild = (id: string, buildId: string | undefined): FileSymbols | undefined => {
    const shared = buildId === undefined ? undefined : find(`build-id:${buildId}`);
    if (shared === undefined) return undefined;
    shared.keys.push(id);
    byKey.set(id, shared);
    return touch(shared);
  };
  const insert = (id: string, elf: ElfFile, buildId: string | undefined, tables: FileSymbolTables): FileSymbols => {
    const symbols = loadFileSymbols(elf, buildId, tables, createLookup);
    const entry: Entry = { symbols, id, keys: [id] };
    if (buildId !== undefined) entry.keys.push(`build-id:${buildId}`);
    for (const k of entry.keys) byKey.set(k, entry);
    entryOf.set(symbols, entry);
    collected.register(symbols, entry.keys);
    bytes += symbols.approximateBytes;
    lru.set(id, entry);
    return symbols;
  };
  // The store never fails a load: a file it cannot key or read is read from the ELF file.
  const storeKey = (elf: ElfFile, id: string): string | undefined => {
    try {
      return options.store?.key(elf, id);
    } catch {
      return undefined;
    }
  };
  const loading = new Map<string, Promise<FileSymbols>>();
  const loadOffThread = async (id: string, path: string, jobs: FileJobs<FileSymbolTables>): Promise<FileSymbols> => {
    // The worker reads the file through this thread's descriptor, so it reads
    // the file stat'ed, even once the path is gone with its process
    // (/proc/PID/root/...). Opened now while few loads wait; past that many,
    // when its turn comes, so a host of processes cannot exhaust descriptors.
    let elf = loading.size < MAX_OPEN_WAITING ? openElf(path) : undefined;
    try {
      const early = elf === undefined ? undefined : sameBuild(id, elf.buildId());
      if (early !== undefined) return early;
      // Keyed once: a stripped binary's key looks for its debug file.
      let key = elf === undefined ? undefined : storeKey(elf, id);
      const stored = key === undefined ? undefined : options.store?.get(key);
      if (stored !== undefined) return insert(id, elf!, elf!.buildId(), stored);
      const tables = await jobs.run(() => {
        if (elf === undefined) {
          elf = openElf(path);
          if (identity(elf.descriptorPath()) !== id) throw new Error(`loading symbols of ${path}: the file changed while waiting`);
        }
        return { path, via: elf.descriptorPath() };
      });
      const opened = elf!;
      const buildId = opened.buildId();
      key ??= storeKey(opened, id);
      if (key !== undefined) options.store?.put(key, tables);
      // Read back as written, so the names live in the file, not in memory (when the store kept it).
      const kept = (key === undefined ? undefined : options.store?.get(key)) ?? tables;
      return known(id) ?? sameBuild(id, buildId) ?? insert(id, opened, buildId, kept);
    } finally {
      elf?.close();
    }
  };

  const cache: SymbolCache = {
    get(path) {
      const id = identity(path);
      const hit = known(id);
      if (hit !== undefined) return hit;
      misses++;
      const elf = openElf(path);
      try {
        const buildId = elf.buildId();
        return sameBuild(id, buildId) ?? insert(id, elf, buildId, readTables(elf));
      } finally {
        elf.close();
      }
    },
    async load(path) {
      const jobs = options.tableJobs;
      if (jobs === undefined) return cache.get(path);
      const id = identity(path);
      const hit = known(id);
      if (hit !== undefined) return hit;
      let p = loading.get(id);
      if (p === undefined) {
        misses++;
        p = loadOffThread(id, path, jobs).finally(() => loading.delete(id));
        loading.set(id, p);
      }
      return p;
    },
    has(path) {
      try {
        const id = identity(path);
        return byKey.has(id) || released.get(id)?.deref() !== undefined;
      } catch {
        return false;
      }
    },
    stats: () => ({ hits, misses, entries: lru.size, approximateBytes: bytes }),
    clear() {
      lru.clear();
      released.clear();
    },
    close() {
      options.tableJobs?.close();
    },
  };
  return cache;
}

/** A debug file's symbols first, then the binary's own (its .dynsym) where the debug file has none. */
function withFallback(primary: SymbolLookup, fallback: SymbolLookup): SymbolLookup {
  return {
    lookup: (vaddr) => primary.lookup(vaddr) ?? fallback.lookup(vaddr),
    approximateBytes: primary.approximateBytes + fallback.approximateBytes,
  };
}

function loadFileSymbols(
  elf: ElfFile,
  buildId: string | undefined,
  tables: FileSymbolTables,
  createLookup: (elf: ElfFile, tables: SymbolLookup) => SymbolLookup,
): FileSymbols {
  const segments: readonly ElfProgramHeader[] = elf.loadSegments;
  const lookup = createLookup(elf, tables.debug === undefined ? tables.own : withFallback(tables.debug, tables.own));
  return {
    buildId,
    frameKind: lookup.frameKind ?? 'native',
    offsetToVaddr: (off) => fileOffsetToVaddr(segments, off),
    lookup: (vaddr) => lookup.lookup(vaddr),
    approximateBytes: lookup.approximateBytes + 256,
  };
}
