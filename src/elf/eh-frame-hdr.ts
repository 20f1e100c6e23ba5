/**
 * Parses .eh_frame_hdr: the binary-search table the runtime unwinder uses
 * to find an FDE by pc. We use it to cross-check the .eh_frame parse and as
 * a fast way to count FDEs without parsing them.
 */
import { DwarfCursor } from './dwarf-cursor.js';
import { DW_EH_PE_omit, readEncodedPointer } from './eh-frame-pointer.js';

/** One search-table entry: an FDE's initial pc and the FDE's address. */
export interface EhFrameHdrEntry {
  readonly pc: bigint;
  readonly fdeAddress: bigint;
}

/** The decoded header: where .eh_frame is and the pc-sorted FDE table. */
export interface EhFrameHdr {
  readonly version: number;
  /** Virtual address of .eh_frame. */
  readonly ehFrameAddress: bigint;
  /** Sorted by pc; empty when the linker wrote no table. */
  readonly table: readonly EhFrameHdrEntry[];
}

/** Parses .eh_frame_hdr at virtual address `address`; throws "parsing eh_frame_hdr: cause". */
export function parseEhFrameHdr(bytes: Buffer, address: bigint): EhFrameHdr {
  try {
    const cur = new DwarfCursor(bytes);
    const version = cur.u8();
    if (version !== 1) throw new Error(`unsupported version ${version}`);
    const ptrEnc = cur.u8();
    const countEnc = cur.u8();
    const tableEnc = cur.u8();
    // datarel in the header is relative to the header itself.
    const bases = { sectionAddress: address, dataRel: address };
    const ehFrameAddress = readEncodedPointer(cur, ptrEnc, bases) ?? 0n;
    const table: EhFrameHdrEntry[] = [];
    if (countEnc !== DW_EH_PE_omit && tableEnc !== DW_EH_PE_omit) {
      const count = Number(readEncodedPointer(cur, countEnc, bases) ?? 0n);
      for (let i = 0; i < count; i++) {
        const pc = readEncodedPointer(cur, tableEnc, bases) ?? 0n;
        const fdeAddress = readEncodedPointer(cur, tableEnc, bases) ?? 0n;
        table.push({ pc, fdeAddress });
      }
    }
    return { version, ehFrameAddress, table };
  } catch (err) {
    throw new Error(`parsing eh_frame_hdr: ${(err as Error).message}`);
  }
}

/** The entry whose pc is the greatest not above `pc` (binary search), or undefined. */
export function findEhFrameHdrEntry(hdr: EhFrameHdr, pc: bigint): EhFrameHdrEntry | undefined {
  let lo = 0;
  let hi = hdr.table.length - 1;
  let found: EhFrameHdrEntry | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const e = hdr.table[mid]!;
    if (e.pc <= pc) { found = e; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}
