/**
 * Builds the encoded unwind table of one ELF file on disk: the unit that is
 * loaded into BPF once and shared by every process mapping the file.
 */
import { ElfFile } from '../elf/elf-file.js';
import { readEhFrame } from '../elf/eh-frame-section.js';
import type { ElfProgramHeader } from '../elf/elf-types.js';
import { encodeUnwindTable } from './unwind-table-codec.js';
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
}

/** Reads `path` and builds its table; throws "building unwind table for PATH: cause". */
export function loadFileUnwindTable(path: string): FileUnwindTable {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(path);
  } catch (err) {
    throw new Error(`building unwind table for ${path}: ${(err as Error).message}`);
  }
  try {
    const eh = readEhFrame(elf);
    const built = eh === undefined ? undefined : buildUnwindTable(eh);
    return {
      path,
      buildId: elf.buildId(),
      table: built === undefined ? Buffer.alloc(0) : encodeUnwindTable(built.rows),
      stats: built?.stats,
      loadSegments: elf.loadSegments,
    };
  } catch (err) {
    throw new Error(`building unwind table for ${path}: ${(err as Error).message}`);
  } finally {
    elf.close();
  }
}
