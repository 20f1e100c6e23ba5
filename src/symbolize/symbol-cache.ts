/**
 * A bounded cache of per-file symbol tables. Files are identified by device,
 * inode, mtime and size (one stat); two identities with the same GNU
 * build-id (the same library in two containers) share one table.
 */
import { statSync } from 'node:fs';
import { ElfFile, fileOffsetToVaddr } from '../elf/elf-file.js';
import type { ElfProgramHeader } from '../elf/elf-types.js';
import { createElfSymbolTable, type ElfSymbolTable } from './elf-symbol-table.js';
import type { FrameKind } from '../profile/model.js';
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

/** Options for createSymbolCache. */
export interface SymbolCacheOptions {
  /** Most files kept; default 256. */
  readonly maxEntries?: number;
  /** Approximate byte budget for all tables; default 256 MiB. */
  readonly maxBytes?: number;
  /**
   * Builds the lookup for a file; default is its .symtab ∪ .dynsym table.
   * The hook lets a Go pclntab reader take over for Go binaries.
   */
  readonly createLookup?: (elf: ElfFile, table: ElfSymbolTable) => SymbolLookup;
}

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
  stats(): SymbolCacheStats;
  clear(): void;
}

interface Entry {
  readonly symbols: FileSymbols;
  readonly keys: string[];
}

/** Creates an empty cache. */
export function createSymbolCache(options: SymbolCacheOptions = {}): SymbolCache {
  const maxEntries = options.maxEntries ?? 256;
  const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  const createLookup = options.createLookup ?? ((_elf: ElfFile, table: ElfSymbolTable) => table);
  const byKey = new Map<string, Entry>();
  // Insertion order is recency order: a hit re-inserts the entry.
  const lru = new Set<Entry>();
  let bytes = 0;
  let hits = 0;
  let misses = 0;

  const touch = (e: Entry): FileSymbols => {
    lru.delete(e);
    lru.add(e);
    return e.symbols;
  };
  const evict = (): void => {
    for (const e of lru) {
      if (lru.size <= maxEntries && bytes <= maxBytes) return;
      if (lru.size === 1) return; // never evict the entry just added
      lru.delete(e);
      bytes -= e.symbols.approximateBytes;
      for (const k of e.keys) byKey.delete(k);
    }
  };

  return {
    get(path) {
      let id: string;
      try {
        const st = statSync(path, { bigint: true });
        id = `${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}`;
      } catch (err) {
        throw new Error(`loading symbols of ${path}: ${(err as Error).message}`);
      }
      const known = byKey.get(id);
      if (known !== undefined) {
        hits++;
        return touch(known);
      }
      misses++;
      let elf: ElfFile;
      try {
        elf = ElfFile.open(path);
      } catch (err) {
        throw new Error(`loading symbols of ${path}: ${(err as Error).message}`);
      }
      try {
        const buildId = elf.buildId();
        const shared = buildId === undefined ? undefined : byKey.get(`build-id:${buildId}`);
        if (shared !== undefined) {
          shared.keys.push(id);
          byKey.set(id, shared);
          return touch(shared);
        }
        const symbols = loadFileSymbols(elf, buildId, createLookup);
        const entry: Entry = { symbols, keys: [id] };
        if (buildId !== undefined) entry.keys.push(`build-id:${buildId}`);
        for (const k of entry.keys) byKey.set(k, entry);
        lru.add(entry);
        bytes += symbols.approximateBytes;
        evict();
        return symbols;
      } finally {
        elf.close();
      }
    },
    stats: () => ({ hits, misses, entries: lru.size, approximateBytes: bytes }),
    clear() {
      byKey.clear();
      lru.clear();
      bytes = 0;
    },
  };
}

function loadFileSymbols(
  elf: ElfFile,
  buildId: string | undefined,
  createLookup: (elf: ElfFile, table: ElfSymbolTable) => SymbolLookup,
): FileSymbols {
  const segments: readonly ElfProgramHeader[] = elf.loadSegments;
  const lookup = createLookup(elf, createElfSymbolTable(elf));
  return {
    buildId,
    frameKind: lookup.frameKind ?? 'native',
    offsetToVaddr: (off) => fileOffsetToVaddr(segments, off),
    lookup: (vaddr) => lookup.lookup(vaddr),
    approximateBytes: lookup.approximateBytes + 256,
  };
}
