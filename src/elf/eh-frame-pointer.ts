/**
 * DW_EH_PE pointer encodings used by .eh_frame and .eh_frame_hdr (LSB
 * "Linux Standard Base Core Specification", Exception Frames): the low
 * nibble says how the value is stored, the high bits what it is relative to.
 */
import type { DwarfCursor } from './dwarf-cursor.js';

/** Value formats (low nibble). */
export const DW_EH_PE_absptr = 0x00;
export const DW_EH_PE_uleb128 = 0x01;
export const DW_EH_PE_udata2 = 0x02;
export const DW_EH_PE_udata4 = 0x03;
export const DW_EH_PE_udata8 = 0x04;
export const DW_EH_PE_sleb128 = 0x09;
export const DW_EH_PE_sdata2 = 0x0a;
export const DW_EH_PE_sdata4 = 0x0b;
export const DW_EH_PE_sdata8 = 0x0c;
/** Applications (bits 4-6). */
export const DW_EH_PE_pcrel = 0x10;
export const DW_EH_PE_textrel = 0x20;
export const DW_EH_PE_datarel = 0x30;
export const DW_EH_PE_funcrel = 0x40;
export const DW_EH_PE_aligned = 0x50;
/** The stored value is the address of the real pointer. */
export const DW_EH_PE_indirect = 0x80;
/** No value is present at all. */
export const DW_EH_PE_omit = 0xff;

/** Where the relative encodings are relative to. */
export interface PointerBases {
  /** Virtual address of byte 0 of the cursor's buffer (for pcrel). */
  readonly sectionAddress: bigint;
  /** Base for datarel: .eh_frame_hdr's own address there, the GOT elsewhere. */
  readonly dataRel?: bigint;
  /** Base for textrel: the .text address. */
  readonly textRel?: bigint;
  /** Base for funcrel: the current FDE's initial location. */
  readonly funcRel?: bigint;
  /** Dereferences DW_EH_PE_indirect values; without it the slot address is returned. */
  readonly readIndirect?: (address: bigint) => bigint | undefined;
}

const MASK64 = (1n << 64n) - 1n;

/**
 * Reads one pointer in `encoding` at the cursor. Returns undefined for
 * DW_EH_PE_omit. Throws "reading eh_frame pointer: ..." for unknown formats
 * or a relative base that the caller did not supply.
 */
export function readEncodedPointer(cur: DwarfCursor, encoding: number, bases: PointerBases): bigint | undefined {
  if (encoding === DW_EH_PE_omit) return undefined;
  const fieldAddress = bases.sectionAddress + BigInt(cur.pos);
  const app = encoding & 0x70;
  if (app === DW_EH_PE_aligned) {
    // The value sits at the next 8-byte boundary of the *address*, as an absolute pointer.
    const pad = Number((8n - (fieldAddress & 7n)) & 7n);
    cur.take(pad);
  }
  let value = readValue(cur, encoding & 0x0f);
  switch (app) {
    case 0x00:
    case DW_EH_PE_aligned:
      break;
    case DW_EH_PE_pcrel:
      value += fieldAddress;
      break;
    case DW_EH_PE_textrel:
      value += need(bases.textRel, 'textrel');
      break;
    case DW_EH_PE_datarel:
      value += need(bases.dataRel, 'datarel');
      break;
    case DW_EH_PE_funcrel:
      value += need(bases.funcRel, 'funcrel');
      break;
    default:
      throw new Error(`reading eh_frame pointer: unknown application 0x${app.toString(16)} in encoding 0x${encoding.toString(16)}`);
  }
  value &= MASK64;
  if ((encoding & DW_EH_PE_indirect) !== 0 && bases.readIndirect !== undefined) return bases.readIndirect(value);
  return value;
}

/** Size in bytes of a fixed-size format, or undefined for LEB128 ones. */
export function encodedPointerSize(encoding: number): number | undefined {
  switch (encoding & 0x0f) {
    case DW_EH_PE_absptr:
    case DW_EH_PE_udata8:
    case DW_EH_PE_sdata8:
      return 8;
    case DW_EH_PE_udata2:
    case DW_EH_PE_sdata2:
      return 2;
    case DW_EH_PE_udata4:
    case DW_EH_PE_sdata4:
      return 4;
    default:
      return undefined;
  }
}

function readValue(cur: DwarfCursor, format: number): bigint {
  switch (format) {
    case DW_EH_PE_absptr:
    case DW_EH_PE_udata8:
      return cur.u64();
    case DW_EH_PE_uleb128:
      return cur.ulebBig();
    case DW_EH_PE_udata2:
      return BigInt(cur.u16());
    case DW_EH_PE_udata4:
      return BigInt(cur.u32());
    case DW_EH_PE_sleb128:
      return cur.slebBig();
    case DW_EH_PE_sdata2:
      return BigInt(cur.s16());
    case DW_EH_PE_sdata4:
      return BigInt(cur.s32());
    case DW_EH_PE_sdata8:
      return cur.s64();
    default:
      throw new Error(`reading eh_frame pointer: unknown value format 0x${format.toString(16)}`);
  }
}

function need(base: bigint | undefined, what: string): bigint {
  if (base === undefined) throw new Error(`reading eh_frame pointer: ${what} encoding but no ${what} base known`);
  return base;
}
