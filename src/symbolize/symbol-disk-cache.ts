/**
 * Symbol tables on disk (elf/file-data-cache.ts): one '.sym' file per file,
 * so a binary's names are read from its ELF tables once, across restarts
 * too. node's 78k symbols take ~0.7 s of a worker thread to read and sort;
 * from the cache, milliseconds in the calling thread, and no worker starts.
 * Keyed by build-id (else file identity), and for a binary without .symtab
 * by the debug file found for it too, so installing a -dbgsym package later
 * is seen.
 */
import { openFileDataCache, type FileDataCacheSettings, type FileDataEntry } from '../elf/file-data-cache.js';
import { fileIdentity } from '../elf/file-identity.js';
import type { AddressTableParts } from './address-table.js';
import { elfSymbolTableFromParts } from './elf-symbol-table.js';
import { findDebugFile } from './file-lookup.js';
import type { FileSymbolTables, SymbolTableStore } from './symbol-cache.js';
import type { Logger } from '../log/logger.js';

/** Bumped whenever the tables read from the same file change (ranking, section bounds). */
export const SYMBOL_CACHE_VERSION = 1;
const KIND = { suffix: '.sym', magic: 0x4d59534d /* 'MSYM' */, version: SYMBOL_CACHE_VERSION, what: 'symbol table' } as const;

/** Sizes of one stored table: entries and bytes of its UTF-8 names. */
interface PartsShape {
  readonly n: number;
  readonly namesBytes: number;
}

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
      files.get(key, (e) => (tables = decodeTables(e)) !== undefined);
      return tables;
    },
    put: (key, tables) => files.put(key, encodeTables(tables)),
  };
}

function encodeTables(t: FileSymbolTables): FileDataEntry {
  const chunks: Buffer[] = [];
  const shape = (p: AddressTableParts): PartsShape => {
    const names = Buffer.from(p.names, 'utf8');
    for (const a of [p.starts, p.ends, p.tags, p.nameEnds]) chunks.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    chunks.push(names);
    return { n: p.starts.length, namesBytes: names.length };
  };
  const own = shape(t.own.parts);
  const debug = t.debug === undefined ? null : shape(t.debug.parts);
  return { meta: { own, debug }, payload: Buffer.concat(chunks) };
}

const isShape = (v: unknown): v is PartsShape =>
  typeof v === 'object' && v !== null && Number.isInteger((v as PartsShape).n) && (v as PartsShape).n >= 0 &&
  Number.isInteger((v as PartsShape).namesBytes) && (v as PartsShape).namesBytes >= 0;

/** The tables in `e`, or undefined when its sizes do not add up (then the file is read again). */
function decodeTables(e: FileDataEntry): FileSymbolTables | undefined {
  const meta = e.meta as { own?: unknown; debug?: unknown } | null;
  if (meta === null || typeof meta !== 'object' || !isShape(meta.own) || (meta.debug !== null && !isShape(meta.debug))) return undefined;
  let at = 0;
  // Copies into fresh, aligned arrays: the payload is a view at any offset of the file's buffer.
  const take = (bytes: number): Uint8Array => {
    const out = new Uint8Array(bytes);
    out.set(e.payload.subarray(at, at + bytes));
    at += bytes;
    return out;
  };
  const parts = (s: PartsShape): AddressTableParts | undefined => {
    if (at + s.n * 24 + s.namesBytes > e.payload.length) return undefined;
    const starts = new BigUint64Array(take(s.n * 8).buffer);
    const ends = new BigUint64Array(take(s.n * 8).buffer);
    const tags = new Uint32Array(take(s.n * 4).buffer);
    const nameEnds = new Uint32Array(take(s.n * 4).buffer);
    const names = Buffer.from(take(s.namesBytes)).toString('utf8');
    if (s.n > 0 && nameEnds[s.n - 1] !== names.length) return undefined;
    return { starts, ends, tags, nameEnds, names };
  };
  const own = parts(meta.own);
  const debug = meta.debug === null ? undefined : parts(meta.debug as PartsShape);
  if (own === undefined || (meta.debug !== null && debug === undefined) || at !== e.payload.length) return undefined;
  return { own: elfSymbolTableFromParts(own), ...(debug ? { debug: elfSymbolTableFromParts(debug) } : {}) };
}
