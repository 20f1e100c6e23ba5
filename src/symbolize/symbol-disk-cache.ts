/**
 * Symbol tables on disk (elf/file-data-cache.ts): one '.sym' file per file,
 * so a binary's names are read from its ELF tables once, across restarts
 * too. node's 78k symbols take ~0.7 s of a worker thread to read and sort;
 * from the cache, milliseconds in the calling thread, and no worker starts.
 * Keyed by build-id (else file identity), and for a binary without .symtab
 * by the debug file found for it too, so installing a -dbgsym package later
 * is seen.
 */
import { openFileDataCache, type FileDataCacheSettings, type FileDataEntry, type OpenFileDataEntry } from '../elf/file-data-cache.js';
import { fileIdentity } from '../elf/file-identity.js';
import { createPartsReader, encodeParts, isPartsShape, type PartsShape } from './address-table-codec.js';
import { elfSymbolTableFromParts } from './elf-symbol-table.js';
import { findDebugFile } from './file-lookup.js';
import type { FileSymbolTables, SymbolTableStore } from './symbol-cache.js';
import type { Logger } from '../log/logger.js';

/** Bumped whenever the tables read from the same file change (ranking, section bounds; 2: name ends count UTF-8 bytes). */
export const SYMBOL_CACHE_VERSION = 2;
const KIND = { suffix: '.sym', magic: 0x4d59534d /* 'MSYM' */, version: SYMBOL_CACHE_VERSION, what: 'symbol table' } as const;

/** Opens the store in `settings.dir`, or undefined without a usable directory (said through `log`). */
export function openSymbolDiskCache(settings: FileDataCacheSettings, log?: Logger): SymbolTableStore | undefined {
  if (settings.dir === undefined) return undefined;
  const files = openFileDataCache(settings.dir, settings.maxBytes, KIND, log);
  if (files === undefined) return undefined;
  return {
    key(elf, identity) {
      const base = elf.buildId() !== undefined ? `build-id:${elf.buildId()}` : `file:${identity}`;
      if (elf.section('.symtab') !== undefined) return base;
      const debug = findDebugFile(elf);
      return `${base}|debug:${debug === undefined ? 'none' : fileIdentity(debug.path)}`;
    },
    get(key) {
      let tables: FileSymbolTables | undefined;
      // The names stay in the file: read when a frame is named.
      files.open(key, (e) => (tables = decodeTables(e)) !== undefined);
      return tables;
    },
    put: (key, tables) => files.put(key, encodeTables(tables)),
  };
}

function encodeTables(t: FileSymbolTables): FileDataEntry {
  const chunks: Buffer[] = [];
  const own = encodeParts(t.own.parts, chunks);
  const debug = t.debug === undefined ? null : encodeParts(t.debug.parts, chunks);
  return { meta: { own, debug }, payload: Buffer.concat(chunks) };
}

/** The tables in `e`, or undefined when its sizes do not add up (then the file is read again). */
function decodeTables(e: OpenFileDataEntry): FileSymbolTables | undefined {
  const meta = e.meta as { own?: unknown; debug?: unknown } | null;
  if (meta === null || typeof meta !== 'object' || !isPartsShape(meta.own) || (meta.debug !== null && !isPartsShape(meta.debug))) return undefined;
  const reader = createPartsReader(e.payload, e.file);
  const own = reader.read(meta.own);
  const debug = meta.debug === null ? undefined : reader.read(meta.debug as PartsShape);
  if (own === undefined || (meta.debug !== null && debug === undefined) || !reader.atEnd) return undefined;
  return { own: elfSymbolTableFromParts(own), ...(debug ? { debug: elfSymbolTableFromParts(debug) } : {}) };
}
