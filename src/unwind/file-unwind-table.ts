/**
 * Builds the encoded unwind table of one ELF file on disk: the unit that is
 * loaded into BPF once and shared by every process mapping the file.
 */
import { ElfFile } from '../elf/elf-file.js';
import { fileIdentity } from '../elf/file-identity.js';
import { indexEhFrame } from '../elf/eh-frame-index.js';
import { readEhFrame } from '../elf/eh-frame-section.js';
import { parseSection } from '../elf/section-format-error.js';
import type { ElfProgramHeader } from '../elf/elf-types.js';
import { encodeUnwindTable } from './unwind-table-codec.js';
import type { TableDiskCache } from './table-disk-cache.js';
import { compileUnwindTable, type CompiledUnwindTable } from './unwind-table-compiler.js';
import { buildUnwindTable, type UnwindTableStats } from './unwind-table.js';

/** One file's table plus what is needed to map runtime addresses into it. */
export interface FileUnwindTable {
  readonly path: string;
  readonly buildId: string | undefined;
  /** Encoded rows (unwind-table-codec.ts); empty when the file has no .eh_frame. */
  readonly table: Buffer;
  readonly stats: UnwindTableStats | undefined;
  /** PT_LOAD segments, to turn a file offset into a file virtual address. */
  readonly loadSegments: readonly ElfProgramHeader[];
  /** True when the rows came from the disk cache, not from this file's .eh_frame. */
  readonly fromCache?: boolean;
}

/**
 * Reads `path` and builds its table, or takes it from `cache` (keyed by
 * build-id, else by the file's identity) and stores what it built there;
 * throws "building unwind table for PATH: cause".
 */
export function loadFileUnwindTable(path: string, cache?: TableDiskCache): FileUnwindTable {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(path);
  } catch (err) {
    throw new Error(`building unwind table for ${path}: ${(err as Error).message}`);
  }
  try {
    const buildId = elf.buildId();
    const key = cache === undefined ? undefined : tableCacheKey(path, buildId);
    const hit = key === undefined ? undefined : cache?.get(key);
    if (hit !== undefined) return { path, buildId, table: hit.table, stats: hit.stats, loadSegments: elf.loadSegments, fromCache: true };
    const built = buildEncodedTable(elf);
    if (key !== undefined && built !== undefined && built.table.length > 0) cache?.put(key, built);
    return {
      path,
      buildId,
      table: built?.table ?? Buffer.alloc(0),
      stats: built?.stats,
      loadSegments: elf.loadSegments,
    };
  } catch (err) {
    throw new Error(`building unwind table for ${path}: ${(err as Error).message}`);
  } finally {
    elf.close();
  }
}

/** A file's key in the table cache: its build-id, else its identity (key and stamp). */
function tableCacheKey(path: string, buildId: string | undefined): string {
  return buildId !== undefined ? `build-id:${buildId}` : `file:${fileIdentity(path)}`;
}

/**
 * `path`'s table when `cache` holds it, else undefined (also when the file
 * cannot be read: building it says why). Reads only the ELF headers and
 * the cache file: cheap enough for the main thread, so a warm cache needs
 * no worker thread at all.
 */
export function cachedFileUnwindTable(path: string, cache: TableDiskCache): FileUnwindTable | undefined {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(path);
  } catch {
    return undefined;
  }
  try {
    const buildId = elf.buildId();
    const hit = cache.get(tableCacheKey(path, buildId));
    return hit === undefined ? undefined : { path, buildId, table: hit.table, stats: hit.stats, loadSegments: elf.loadSegments, fromCache: true };
  } catch {
    return undefined;
  } finally {
    elf.close();
  }
}

/**
 * The encoded table of `elf`'s .eh_frame, undefined without one: compiled
 * from the flat index when the fast path takes the file, else built by the
 * reference path (parse into objects, run, convert, encode), which also
 * produces the errors: a SectionFormatError naming the file and `.eh_frame`.
 */
export function buildEncodedTable(elf: ElfFile): CompiledUnwindTable | undefined {
  return parseSection(elf.path, '.eh_frame', () => buildFromEhFrame(elf));
}

function buildFromEhFrame(elf: ElfFile): CompiledUnwindTable | undefined {
  const sec = elf.section('.eh_frame');
  if (sec === undefined || sec.size === 0) return undefined;
  const index = indexEhFrame(sec.bytes(), sec.address, { dataRel: elf.section('.got')?.address, textRel: elf.section('.text')?.address });
  const fast = index === undefined ? undefined : compileUnwindTable(index);
  if (fast !== undefined) return fast;
  const eh = readEhFrame(elf);
  if (eh === undefined) return undefined;
  const built = buildUnwindTable(eh);
  return { table: encodeUnwindTable(built.rows), stats: built.stats };
}
