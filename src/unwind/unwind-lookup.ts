/**
 * The per-process half of unwinding: runtime address ranges of mapped
 * files, each pointing at the file's shared table with a load bias. This is
 * the user-space model of the BPF per-process mapping map.
 */
import { fileOffsetToVaddr } from '../elf/elf-file.js';
import type { FileUnwindTable } from './file-unwind-table.js';
import { findUnwindRow } from './unwind-table-codec.js';
import type { FindUnwindRow } from './unwind-stack.js';

/** One executable mapping of a process, as /proc/PID/maps describes it. */
export interface UnwindMapping {
  readonly start: bigint;
  readonly end: bigint;
  /** File offset mapped at `start`. */
  readonly fileOffset: bigint;
  readonly file: FileUnwindTable;
}

interface Resolved {
  readonly start: bigint;
  readonly end: bigint;
  /** runtime address - file virtual address, constant over one mapping. */
  readonly bias: bigint;
  readonly table: Buffer;
}

/**
 * A FindUnwindRow over `mappings`. Mappings whose offset lies in no PT_LOAD
 * segment (data-only mappings) are left out, so their pcs find nothing.
 */
export function createUnwindLookup(mappings: readonly UnwindMapping[]): FindUnwindRow {
  const resolved: Resolved[] = [];
  for (const m of mappings) {
    const vaddr = fileOffsetToVaddr(m.file.loadSegments, m.fileOffset);
    if (vaddr === undefined) continue;
    resolved.push({ start: m.start, end: m.end, bias: m.start - vaddr, table: m.file.table });
  }
  resolved.sort((a, b) => (a.start < b.start ? -1 : 1));
  return (pc) => {
    let lo = 0;
    let hi = resolved.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const m = resolved[mid]!;
      if (pc < m.start) hi = mid - 1;
      else if (pc >= m.end) lo = mid + 1;
      else {
        const row = findUnwindRow(m.table, pc - m.bias);
        return row === undefined ? undefined : { row, bias: m.bias };
      }
    }
    return undefined;
  };
}
