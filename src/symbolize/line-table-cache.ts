/**
 * DWARF line tables per file, for the symbolizer's optional file:line: the
 * file's own `.debug_line`, else its separate debug file's. Building a table
 * costs about 250 ms per 65k rows (bench/line-info.ts), so it is done only
 * when line info is asked for, once per file, and a few tables are kept.
 */
import { LRUCache } from 'lru-cache';
import { fileIdentity } from '../elf/file-identity.js';
import { ElfFile } from '../elf/elf-file.js';
import { parseDwarfLines, sectionData, type DwarfLineTable } from './dwarf-lines.js';
import { findDebugFile } from './file-lookup.js';
import { parseSection } from '../elf/section-format-error.js';

/** Line tables by file path; undefined for a file without line info. */
export interface LineTableCache {
  /** Throws "reading line info of PATH: cause" when the file is unreadable or its table malformed. */
  get(path: string): DwarfLineTable | undefined;
}

/** Reads the line table of one ELF file (or of its debug file); undefined when neither has one. */
export function readLineTable(path: string): DwarfLineTable | undefined {
  const own = ElfFile.open(path);
  try {
    const table = lineTableOf(own);
    if (table !== undefined) return table;
    const debug = findDebugFile(own);
    if (debug === undefined) return undefined;
    const elf = ElfFile.open(debug.path);
    try {
      return lineTableOf(elf);
    } finally {
      elf.close();
    }
  } finally {
    own.close();
  }
}

/** The line table of `elf`'s own `.debug_line`; throws a SectionFormatError naming the file and section. */
export function lineTableOf(elf: ElfFile): DwarfLineTable | undefined {
  const data = (name: string): Buffer | undefined => {
    const s = elf.section(name);
    // SHT_NOBITS sections (stripped into a debug file) have no bytes here.
    return s === undefined || s.type === 8 ? undefined : parseSection(elf.path, name, () => sectionData(s.bytes(), s.flags, name));
  };
  const debugLine = data('.debug_line');
  if (debugLine === undefined) return undefined;
  const strings = { lineStr: data('.debug_line_str'), str: data('.debug_str') };
  return parseSection(elf.path, '.debug_line', () => parseDwarfLines(debugLine, strings));
}

/** Creates a cache keeping the `maxEntries` (default 32) most recently used tables. */
export function createLineTableCache(opts: { maxEntries?: number } = {}): LineTableCache {
  // Boxed: a file without line info is remembered too, and lru-cache holds no undefined.
  const tables = new LRUCache<string, { readonly table: DwarfLineTable | undefined }>({ max: opts.maxEntries ?? 32 });
  return {
    get(path) {
      let key: string;
      let table: DwarfLineTable | undefined;
      try {
        key = fileIdentity(path);
        const known = tables.get(key);
        if (known !== undefined) return known.table;
        table = readLineTable(path);
      } catch (err) {
        throw new Error(`reading line info of ${path}: ${(err as Error).message}`);
      }
      tables.set(key, { table });
      return table;
    },
  };
}
