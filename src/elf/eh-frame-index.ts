/**
 * A flat index of an .eh_frame's FDEs: pc ranges and instruction offsets in
 * typed arrays, CIEs parsed once each. It reads the same bytes parseEhFrame
 * does, without an object (or a BigInt) per FDE, for building unwind tables
 * of large binaries (node: 100k FDEs). It handles the layouts compilers and
 * linkers emit; for anything else (64-bit lengths, a CIE after its FDEs,
 * pointer encodings that need more than a base address, addresses past
 * 2^53, malformed entries) it returns undefined and the caller uses
 * parseEhFrame, which is the specification and says what is wrong.
 */
import { parseCieAt, type Cie } from './eh-frame.js';
import { DW_EH_PE_datarel, DW_EH_PE_funcrel, DW_EH_PE_omit, DW_EH_PE_pcrel, DW_EH_PE_textrel, type PointerBases } from './eh-frame-pointer.js';

/** The FDEs of one .eh_frame, in section order, as parallel arrays. */
export interface EhFrameIndex {
  readonly bytes: Buffer;
  readonly sectionAddress: bigint;
  readonly cies: readonly Cie[];
  /** Offset in `bytes` of each CIE's initial instructions (parallel to `cies`). */
  readonly cieInstructions: Uint32Array;
  readonly count: number;
  /** Offset of each FDE's length field. */
  readonly offset: Uint32Array;
  /** Index into `cies`. */
  readonly cie: Uint32Array;
  readonly pcBegin: Float64Array;
  readonly pcEnd: Float64Array;
  /** [instrStart, instrEnd): the FDE's CFA program in `bytes`. */
  readonly instrStart: Uint32Array;
  readonly instrEnd: Uint32Array;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO32 = 0x1_0000_0000;

/** Indexes `bytes` (an .eh_frame at `sectionAddress`); undefined when parseEhFrame must do it. */
export function indexEhFrame(bytes: Buffer, sectionAddress: bigint, bases: Omit<PointerBases, 'sectionAddress' | 'funcRel'> = {}): EhFrameIndex | undefined {
  const base = Number(sectionAddress);
  if (base > MAX_SAFE || base + bytes.length > MAX_SAFE) return undefined;
  const dataRel = bases.dataRel === undefined ? undefined : Number(bases.dataRel);
  const textRel = bases.textRel === undefined ? undefined : Number(bases.textRel);
  const cies: Cie[] = [];
  const cieStarts: number[] = [];
  const cieAt = new Map<number, number>();
  // An FDE takes at least 16 bytes: a bound on the count, so the arrays never grow.
  const cap = Math.floor(bytes.length / 16) + 1;
  const offset = new Uint32Array(cap);
  const cie = new Uint32Array(cap);
  const pcBegin = new Float64Array(cap);
  const pcEnd = new Float64Array(cap);
  const instrStart = new Uint32Array(cap);
  const instrEnd = new Uint32Array(cap);
  let n = 0;
  let pos = 0;

  // A pointer in `enc` at `at` (< end), or NaN when parseEhFrame must decide.
  const pointer = (enc: number, at: number, end: number, funcRel: number): number => {
    // a dereferenced pointer needs reading memory: leave it to parseEhFrame
    if ((enc & 0x80) !== 0 && bases.readIndirect !== undefined) return NaN;
    let v: number;
    switch (enc & 0x0f) {
      case 0x00: case 0x04: { // absptr, udata8
        if (at + 8 > end) return NaN;
        const hi = bytes.readUInt32LE(at + 4);
        if (hi >= 0x20_0000) return NaN;
        v = hi * TWO32 + bytes.readUInt32LE(at);
        break;
      }
      case 0x0c: { // sdata8
        if (at + 8 > end) return NaN;
        const hi = bytes.readInt32LE(at + 4);
        if (hi >= 0x20_0000 || hi < -0x20_0000) return NaN;
        v = hi * TWO32 + bytes.readUInt32LE(at);
        break;
      }
      case 0x02: if (at + 2 > end) return NaN; v = bytes.readUInt16LE(at); break;
      case 0x03: if (at + 4 > end) return NaN; v = bytes.readUInt32LE(at); break;
      case 0x0a: if (at + 2 > end) return NaN; v = bytes.readInt16LE(at); break;
      case 0x0b: if (at + 4 > end) return NaN; v = bytes.readInt32LE(at); break;
      default: return NaN; // LEB128 and unknown formats
    }
    switch (enc & 0x70) {
      case 0x00: break;
      case DW_EH_PE_pcrel: v += base + at; break;
      case DW_EH_PE_datarel: if (dataRel === undefined) return NaN; v += dataRel; break;
      case DW_EH_PE_textrel: if (textRel === undefined) return NaN; v += textRel; break;
      case DW_EH_PE_funcrel: if (Number.isNaN(funcRel)) return NaN; v += funcRel; break;
      default: return NaN; // aligned, unknown
    }
    // Negative values wrap to 64-bit addresses above 2^53.
    return v < 0 || v > MAX_SAFE ? NaN : v;
  };
  const size = (enc: number): number => ((enc & 0x0f) === 0x02 || (enc & 0x0f) === 0x0a ? 2 : (enc & 0x0f) === 0x03 || (enc & 0x0f) === 0x0b ? 4 : 8);

  while (pos + 4 <= bytes.length) {
    const length = bytes.readUInt32LE(pos);
    if (length === 0) break;
    if (length === 0xffffffff) return undefined;
    const idPos = pos + 4;
    const end = idPos + length;
    if (end > bytes.length || length < 4) return undefined;
    const id = bytes.readUInt32LE(idPos);
    if (id === 0) {
      let c: Cie;
      try {
        c = parseCieAt(bytes, pos, { ...bases, sectionAddress });
      } catch {
        return undefined;
      }
      cieAt.set(pos, cies.length);
      cies.push(c);
      cieStarts.push(c.instructions.byteOffset - bytes.byteOffset);
    } else {
      const ci = cieAt.get(idPos - id);
      if (ci === undefined) return undefined;
      const c = cies[ci]!;
      const enc = c.fdeEncoding;
      if (enc === DW_EH_PE_omit) return undefined;
      let at = idPos + 4;
      const begin = pointer(enc, at, end, NaN);
      at += size(enc);
      const range = pointer(enc & 0x0f, at, end, NaN);
      at += size(enc);
      if (Number.isNaN(begin) || Number.isNaN(range) || begin + range > MAX_SAFE) return undefined;
      if (c.augmentation.startsWith('z')) {
        // augmentation data length: a one- or two-byte LEB in practice
        if (at >= end) return undefined;
        let len = bytes[at++]!;
        if (len & 0x80) {
          if (at >= end || (bytes[at]! & 0x80) !== 0) return undefined;
          len = (len & 0x7f) | (bytes[at++]! << 7);
        }
        if (c.lsdaEncoding !== DW_EH_PE_omit && len > 0 && Number.isNaN(pointer(c.lsdaEncoding, at, end, begin))) return undefined;
        at += len;
        if (at > end) return undefined;
      }
      offset[n] = pos;
      cie[n] = ci;
      pcBegin[n] = begin;
      pcEnd[n] = begin + range;
      instrStart[n] = at;
      instrEnd[n] = end;
      n++;
    }
    pos = end;
  }
  return {
    bytes, sectionAddress, cies, cieInstructions: Uint32Array.from(cieStarts), count: n,
    offset, cie, pcBegin, pcEnd, instrStart, instrEnd,
  };
}
