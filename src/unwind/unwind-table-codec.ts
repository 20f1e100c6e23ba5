/**
 * The binary form of an unwind table: fixed 16-byte little-endian rows,
 * sorted by pc, exactly `struct unwind_row` of bpf/unwind.h, so a table
 * can be copied into a BPF array map as is and binary-searched there.
 *
 *   0  u64 pc          file virtual address where the row starts
 *   8  s32 cfa_offset
 *  12  s16 rbp_offset  (the (rip & 15) threshold for CFA_PLT)
 *  14  u8  cfa_type    CFA_*
 *  15  u8  rbp_type    RBP_*
 */
import type { CfaType, RbpType, UnwindRow } from './unwind-row.js';

/** Bytes per encoded row; sizeof(struct unwind_row). */
export const UNWIND_ROW_SIZE = 16;

/** Encodes sorted rows; throws "encoding unwind table: cause" when unsorted or out of range. */
export function encodeUnwindTable(rows: readonly UnwindRow[]): Buffer {
  const buf = Buffer.alloc(rows.length * UNWIND_ROW_SIZE);
  let prev = -1n;
  rows.forEach((r, i) => {
    if (r.pc <= prev) throw new Error(`encoding unwind table: row ${i} pc 0x${r.pc.toString(16)} is not above the previous row`);
    prev = r.pc;
    const at = i * UNWIND_ROW_SIZE;
    try {
      buf.writeBigUInt64LE(r.pc, at);
      buf.writeInt32LE(r.cfaOffset, at + 8);
      buf.writeInt16LE(r.rbpOffset, at + 12);
    } catch (err) {
      throw new Error(`encoding unwind table: row ${i}: ${(err as Error).message}`);
    }
    buf.writeUInt8(r.cfaType, at + 14);
    buf.writeUInt8(r.rbpType, at + 15);
  });
  return buf;
}

/** Number of rows in an encoded table. */
export function unwindRowCount(table: Buffer): number {
  return Math.floor(table.length / UNWIND_ROW_SIZE);
}

/** Decodes row `index` of an encoded table. */
export function decodeUnwindRow(table: Buffer, index: number): UnwindRow {
  const at = index * UNWIND_ROW_SIZE;
  return {
    pc: table.readBigUInt64LE(at),
    cfaOffset: table.readInt32LE(at + 8),
    rbpOffset: table.readInt16LE(at + 12),
    cfaType: table.readUInt8(at + 14) as CfaType,
    rbpType: table.readUInt8(at + 15) as RbpType,
  };
}

/**
 * The row covering `pc` (the last row whose pc is not above it), by binary
 * search over the encoded table, as the BPF walker does; undefined below
 * the first row. A CFA_NONE result means "in a gap".
 */
export function findUnwindRow(table: Buffer, pc: bigint): UnwindRow | undefined {
  let lo = 0;
  let hi = unwindRowCount(table) - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (table.readBigUInt64LE(mid * UNWIND_ROW_SIZE) <= pc) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found < 0 ? undefined : decodeUnwindRow(table, found);
}
