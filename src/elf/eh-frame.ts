/**
 * Parses .eh_frame (and .debug_frame) into CIEs and FDEs: pure functions on
 * the section bytes plus the section's virtual address, so every case can be
 * tested on hand-written bytes. The CFA programs stay as raw bytes here;
 * dwarf-cfa.ts runs them.
 */
import { DwarfCursor } from './dwarf-cursor.js';
import { DW_EH_PE_absptr, DW_EH_PE_omit, readEncodedPointer, type PointerBases } from './eh-frame-pointer.js';

/** A Common Information Entry: what every FDE that points at it shares. */
export interface Cie {
  /** Offset of the entry's length field in the section. */
  readonly offset: number;
  readonly version: number;
  readonly augmentation: string;
  readonly codeAlign: number;
  readonly dataAlign: number;
  /** DWARF register number holding the return address (16 = rip on x86-64). */
  readonly returnRegister: number;
  /** DW_EH_PE encoding of FDE pc_begin ('R'); absptr without one. */
  readonly fdeEncoding: number;
  /** DW_EH_PE encoding of the FDE LSDA pointer ('L'); omit without one. */
  readonly lsdaEncoding: number;
  /** Personality routine address ('P'), or the GOT slot when indirect. */
  readonly personality: bigint | undefined;
  /** 'S': frames of this CIE are signal frames (the pc is not a return address). */
  readonly signalFrame: boolean;
  /** Instructions run before every FDE's own, giving the initial row. */
  readonly instructions: Buffer;
}

/** A Frame Description Entry: the CFA program for one pc range. */
export interface Fde {
  readonly offset: number;
  readonly cie: Cie;
  /** First covered address (file virtual address). */
  readonly pcBegin: bigint;
  /** One past the last covered address. */
  readonly pcEnd: bigint;
  readonly lsda: bigint | undefined;
  readonly instructions: Buffer;
  /** Virtual address of `instructions[0]`, the base of a pcrel DW_CFA_set_loc. */
  readonly instructionsAddress: bigint;
}

/** Everything in one .eh_frame section, FDEs in section order. */
export interface EhFrame {
  readonly cies: readonly Cie[];
  readonly fdes: readonly Fde[];
}

/** Extra bases for datarel/textrel pointers, and which section flavour this is. */
export interface EhFrameOptions extends Omit<PointerBases, 'sectionAddress' | 'funcRel'> {
  /** 'debug_frame' uses CIE id 0xffffffff, section-offset CIE pointers and absptr addresses. */
  readonly format?: 'eh_frame' | 'debug_frame';
}

/** Parses a whole .eh_frame; throws "parsing eh_frame at 0xOFF: cause" on malformed entries. */
export function parseEhFrame(bytes: Buffer, sectionAddress: bigint, options: EhFrameOptions = {}): EhFrame {
  const debugFrame = options.format === 'debug_frame';
  const bases: PointerBases = { ...options, sectionAddress };
  const cies = new Map<number, Cie>();
  const fdes: Fde[] = [];
  const cur = new DwarfCursor(bytes);
  while (cur.pos + 4 <= bytes.length) {
    const offset = cur.pos;
    try {
      let length = cur.u32();
      // A zero length terminates .eh_frame (crtend's terminator); .debug_frame has none.
      if (length === 0) {
        if (debugFrame) continue;
        break;
      }
      const dwarf64 = length === 0xffffffff;
      if (dwarf64) length = Number(cur.u64());
      const idPos = cur.pos;
      const end = idPos + length;
      if (end > bytes.length) throw new Error(`entry length ${length} runs past the section end`);
      const entry = new DwarfCursor(bytes, idPos, end);
      const id = dwarf64 ? entry.u64() : BigInt(entry.u32());
      const isCie = debugFrame ? id === (dwarf64 ? 0xffffffffffffffffn : 0xffffffffn) : id === 0n;
      if (isCie) {
        cies.set(offset, parseCie(entry, offset, bases));
      } else {
        const cieOffset = debugFrame ? Number(id) : idPos - Number(id);
        let cie = cies.get(cieOffset);
        if (cie === undefined) {
          cie = parseCieAt(bytes, cieOffset, bases);
          cies.set(cieOffset, cie);
        }
        fdes.push(parseFde(entry, offset, cie, bases));
      }
      cur.pos = end;
    } catch (err) {
      throw new Error(`parsing eh_frame at 0x${offset.toString(16)}: ${(err as Error).message}`);
    }
  }
  return { cies: [...cies.values()], fdes };
}

/**
 * Parses the CIE whose length field is at `offset` of an .eh_frame: for FDEs
 * that point at a CIE later in the section (rare, but legal), and for
 * readers that index FDEs without parsing them (eh-frame-index.ts).
 */
export function parseCieAt(bytes: Buffer, offset: number, bases: PointerBases): Cie {
  if (offset < 0 || offset + 4 > bytes.length) throw new Error(`cie pointer 0x${offset.toString(16)} outside the section`);
  const cur = new DwarfCursor(bytes, offset);
  let length = cur.u32();
  const dwarf64 = length === 0xffffffff;
  if (dwarf64) length = Number(cur.u64());
  const entry = new DwarfCursor(bytes, cur.pos, cur.pos + length);
  if (dwarf64) entry.u64();
  else entry.u32();
  return parseCie(entry, offset, bases);
}

function parseCie(cur: DwarfCursor, offset: number, bases: PointerBases): Cie {
  const version = cur.u8();
  if (version !== 1 && version !== 3 && version !== 4) throw new Error(`unsupported cie version ${version}`);
  const augmentation = cur.cstring();
  if (augmentation.startsWith('eh')) throw new Error('unsupported pre-gcc3 "eh" augmentation');
  if (version === 4) {
    const addressSize = cur.u8();
    cur.u8(); // segment selector size
    if (addressSize !== 8) throw new Error(`unsupported address size ${addressSize}`);
  }
  const codeAlign = cur.uleb();
  const dataAlign = cur.sleb();
  const returnRegister = version === 1 ? cur.u8() : cur.uleb();
  let fdeEncoding = DW_EH_PE_absptr;
  let lsdaEncoding = DW_EH_PE_omit;
  let personality: bigint | undefined;
  let signalFrame = false;
  if (augmentation.startsWith('z')) {
    const dataLength = cur.uleb();
    const dataEnd = cur.pos + dataLength;
    for (const c of augmentation.slice(1)) {
      if (c === 'R') fdeEncoding = cur.u8();
      else if (c === 'L') lsdaEncoding = cur.u8();
      else if (c === 'P') personality = readEncodedPointer(cur, cur.u8(), bases);
      else if (c === 'S') signalFrame = true;
      // 'B' (AArch64 BTI), 'G' (MTE) and unknown letters carry no data we need;
      // 'z' tells us where the data ends, so skipping is safe.
    }
    cur.pos = dataEnd;
  } else if (augmentation !== '') {
    throw new Error(`unsupported augmentation "${augmentation}" without 'z'`);
  }
  const instructions = cur.take(cur.end - cur.pos);
  return { offset, version, augmentation, codeAlign, dataAlign, returnRegister, fdeEncoding, lsdaEncoding, personality, signalFrame, instructions };
}

function parseFde(cur: DwarfCursor, offset: number, cie: Cie, bases: PointerBases): Fde {
  const pcBegin = readEncodedPointer(cur, cie.fdeEncoding, bases) ?? 0n;
  // The range uses the same value format but is never relative.
  const range = readEncodedPointer(cur, cie.fdeEncoding & 0x0f, bases) ?? 0n;
  let lsda: bigint | undefined;
  if (cie.augmentation.startsWith('z')) {
    const dataLength = cur.uleb();
    const dataEnd = cur.pos + dataLength;
    if (cie.lsdaEncoding !== DW_EH_PE_omit && dataLength > 0) {
      lsda = readEncodedPointer(cur, cie.lsdaEncoding, { ...bases, funcRel: pcBegin });
    }
    cur.pos = dataEnd;
  }
  const instructionsAddress = bases.sectionAddress + BigInt(cur.pos);
  const instructions = cur.take(cur.end - cur.pos);
  return { offset, cie, instructionsAddress, pcBegin, pcEnd: (pcBegin + range) & ((1n << 64n) - 1n), lsda, instructions };
}
