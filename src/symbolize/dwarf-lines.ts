/**
 * DWARF `.debug_line` (versions 2–5): address → source file and line. The
 * line programs of all units are run once into one sorted row table; a
 * lookup is then a binary search. Optional and off by default in the agent:
 * building the table costs time and memory proportional to the code size.
 */
import * as zlib from 'node:zlib';
import { inflateSync } from 'node:zlib';
import { DwarfCursor } from '../elf/dwarf-cursor.js';
import { SectionFormatError } from '../elf/section-format-error.js';

/** A source position. */
export interface SourceLine {
  readonly fileName: string;
  readonly line: number;
}

/** The row table of one file's `.debug_line`. */
export interface DwarfLineTable {
  /** Number of rows (end-of-sequence markers included). */
  readonly rows: number;
  /** The position of the instruction at file virtual address `address`, or undefined. */
  lookup(address: bigint): SourceLine | undefined;
}

/** Elf64_Chdr ch_type values. */
const ELFCOMPRESS_ZLIB = 1;
const ELFCOMPRESS_ZSTD = 2;
const SHF_COMPRESSED = 0x800n;
/** Largest inflated section we accept; ch_size is checked against it before inflating. */
const MAX_INFLATED = 1 << 30;

type ZstdDecompress = (buf: Buffer, opts: { maxOutputLength: number }) => Buffer;
// Node has a zstd decoder from 22.15 on; on older ones such sections are refused by name.
const zstdDecompress = (zlib as unknown as { zstdDecompressSync?: ZstdDecompress }).zstdDecompressSync;

/**
 * Section bytes, inflated when the section is SHF_COMPRESSED (an ELF64
 * Elf64_Chdr, then zlib or zstd). The output is bounded by the header's
 * ch_size, so a small section cannot inflate into gigabytes. Throws a
 * SectionFormatError of `section` (the caller adds the file).
 */
export function sectionData(bytes: Uint8Array, flags: bigint, section = 'debug section'): Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if ((flags & SHF_COMPRESSED) === 0n) return buf;
  if (buf.length < 24) throw new SectionFormatError(section, `compressed section of ${buf.length} bytes has no 24-byte header`);
  const type = buf.readUInt32LE(0);
  const size = buf.readBigUInt64LE(8);
  if (size > BigInt(MAX_INFLATED)) throw new SectionFormatError(section, `compressed section claims ${size} bytes, more than the ${MAX_INFLATED} accepted`);
  const opts = { maxOutputLength: Math.max(1, Number(size)) };
  let out: Buffer;
  try {
    if (type === ELFCOMPRESS_ZLIB) out = inflateSync(buf.subarray(24), opts);
    else if (type === ELFCOMPRESS_ZSTD) {
      if (zstdDecompress === undefined) throw new Error(`zstd-compressed, and this Node.js ${process.version} has no zstd decoder (22.15 or later has)`);
      out = zstdDecompress(buf.subarray(24), opts);
    } else throw new Error(`unsupported compression type ${type}`);
  } catch (err) {
    throw new SectionFormatError(section, `decompressing: ${(err as Error).message}`);
  }
  if (BigInt(out.length) !== size) throw new SectionFormatError(section, `decompressed to ${out.length} bytes, header says ${size}`);
  return out;
}

const MASK64 = (1n << 64n) - 1n;

/**
 * Parses `.debug_line`; `lineStr` and `str` are `.debug_line_str` and
 * `.debug_str` (DWARF 5). Every read is bounded by its unit and every loop
 * consumes bytes, so crafted input ends in a result or a SectionFormatError
 * of `.debug_line` naming the unit, never a hang.
 */
export function parseDwarfLines(debugLine: Buffer, strings: { lineStr?: Buffer; str?: Buffer } = {}): DwarfLineTable {
  const addrs: bigint[] = [];
  const lines: number[] = [];
  const files: number[] = []; // index into fileNames; -1 marks an end of sequence
  const fileNames: string[] = [];
  let unitStart = 0;
  while (unitStart + 4 <= debugLine.length) {
    const top = new DwarfCursor(debugLine, unitStart);
    let unitEnd: number;
    let offSize = 4;
    try {
      let unitLength: bigint = BigInt(top.u32());
      if (unitLength === 0xffffffffn) {
        unitLength = top.u64();
        offSize = 8;
      } else if (unitLength >= 0xfffffff0n) throw new Error(`reserved unit length 0x${unitLength.toString(16)}`);
      if (BigInt(top.pos) + unitLength > BigInt(debugLine.length)) {
        throw new Error(`unit length ${unitLength} runs past the section end (${debugLine.length} bytes)`);
      }
      unitEnd = top.pos + Number(unitLength);
      parseUnit(new DwarfCursor(debugLine, top.pos, unitEnd), offSize, strings, { addrs, lines, files, fileNames });
    } catch (err) {
      throw new SectionFormatError('.debug_line', `unit at 0x${unitStart.toString(16)}: ${(err as Error).message}`, undefined, { cause: err });
    }
    // Past the length field at least: the loop always moves on.
    unitStart = unitEnd;
  }
  return buildTable(addrs, lines, files, fileNames);
}

interface Rows {
  readonly addrs: bigint[];
  readonly lines: number[];
  readonly files: number[];
  readonly fileNames: string[];
}

function parseUnit(c: DwarfCursor, offSize: number, strings: { lineStr?: Buffer; str?: Buffer }, out: Rows): void {
  const bytes = c.bytes;
  const offsetOf = (cur: DwarfCursor): number => (offSize === 8 ? safe(cur.u64()) : cur.u32());
  const version = c.u16();
  // Other versions are skipped whole: their layout is unknown, their length is not.
  if (version < 2 || version > 5) return;
  let addressSize = 8;
  if (version === 5) {
    addressSize = c.u8();
    c.u8(); // segment selector size
    if (addressSize !== 4 && addressSize !== 8) throw new Error(`address size ${addressSize}`);
  }
  const headerLength = offsetOf(c);
  const programStart = c.pos + headerLength;
  if (programStart > c.end) throw new Error(`header length ${headerLength} runs past the unit end`);
  const h = new DwarfCursor(bytes, c.pos, programStart);
  const minInst = BigInt(h.u8());
  if (version >= 4) h.u8(); // max ops per instruction: 1 outside VLIW
  h.u8(); // default_is_stmt: every row counts for a lookup
  const lineBase = h.s8();
  const lineRange = h.u8();
  const opcodeBase = h.u8();
  if (lineRange === 0) throw new Error('line_range 0');
  const opLengths: number[] = [0];
  for (let i = 1; i < opcodeBase; i++) opLengths.push(h.u8());

  // Unit file table as indexes into fileNames; DWARF 5 counts from 0, older from 1.
  const unitFiles: number[] = [];
  const addFile = (dirs: string[], name: string, dir: number): void => {
    const d = dirs[dir];
    out.fileNames.push(name.startsWith('/') || d === undefined || d === '' ? name : `${d}/${name}`);
    unitFiles.push(out.fileNames.length - 1);
  };
  const dirs: string[] = [];
  if (version === 5) {
    const cstr = (buf: Buffer | undefined, at: number): string => {
      if (buf === undefined || at >= buf.length) return '';
      const nul = buf.indexOf(0, at);
      return buf.toString('utf8', at, nul < 0 ? buf.length : nul);
    };
    const readForm = (form: number): string | number => {
      switch (form) {
        case 0x08: return h.cstring();
        case 0x1f: return cstr(strings.lineStr, offsetOf(h));
        case 0x0e: return cstr(strings.str, offsetOf(h));
        case 0x0b: return h.u8();
        case 0x05: return h.u16();
        case 0x06: return h.u32();
        case 0x07: h.take(8); return 0;
        case 0x0f: return h.uleb();
        case 0x1e: h.take(16); return 0;
        case 0x09: h.take(h.uleb()); return 0;
        default: throw new Error(`unsupported form 0x${form.toString(16)}`);
      }
    };
    const readEntries = (): { path: string; dir: number }[] => {
      const formats = Array.from({ length: h.u8() }, () => [h.uleb(), h.uleb()] as const);
      const count = h.uleb();
      // Each entry takes at least a byte per format: a count beyond the header's bytes is a lie.
      if (count > 0 && (formats.length === 0 || count > h.end - h.pos)) throw new Error(`${count} file entries in ${h.end - h.pos} header bytes`);
      const entries: { path: string; dir: number }[] = [];
      for (let i = 0; i < count; i++) {
        let path = '';
        let dir = 0;
        for (const [content, form] of formats) {
          const value = readForm(form);
          if (content === 1) path = String(value);
          if (content === 2) dir = Number(value);
        }
        entries.push({ path, dir });
      }
      return entries;
    };
    dirs.push(...readEntries().map((e) => e.path));
    for (const f of readEntries()) addFile(dirs, f.path, f.dir);
  } else {
    dirs.push('');
    for (let d = h.cstring(); d !== ''; d = h.cstring()) dirs.push(d);
    unitFiles.push(-1); // file 0 is unused before DWARF 5
    for (let name = h.cstring(); name !== ''; name = h.cstring()) {
      const dir = h.uleb();
      h.uleb();
      h.uleb();
      addFile(dirs, name, dir);
    }
  }

  c.pos = programStart;
  let address = 0n;
  let file = version === 5 ? 0 : 1;
  let line = 1;
  const emit = (end: boolean): void => {
    out.addrs.push(address);
    // Lines past u32 (a crafted advance_line) read as no line, not a wrapped one.
    out.lines.push(line >= 0 && line <= 0xffffffff ? line : 0);
    out.files.push(end ? -1 : unitFiles[file] ?? -1);
  };
  const advance = (by: bigint): void => {
    address = (address + by) & MASK64;
  };
  // Every opcode consumes at least its own byte: the loop ends at the unit's end.
  while (!c.done) {
    const op = c.u8();
    if (op >= opcodeBase) {
      const adj = op - opcodeBase;
      advance(BigInt(Math.floor(adj / lineRange)) * minInst);
      line += lineBase + (adj % lineRange);
      emit(false);
    } else if (op === 0) {
      const len = c.uleb();
      const next = c.pos + len;
      if (next > c.end) throw new Error(`extended opcode of ${len} bytes runs past the unit end`);
      if (len === 0) continue;
      const ext = new DwarfCursor(bytes, c.pos, next);
      const sub = ext.u8();
      if (sub === 1) {
        emit(true);
        address = 0n;
        file = version === 5 ? 0 : 1;
        line = 1;
      } else if (sub === 2) {
        // Before DWARF 5 the operand's size is the opcode's length that is left.
        const size = version === 5 ? addressSize : len - 1;
        address = size === 4 ? BigInt(ext.u32()) : ext.u64();
      }
      c.pos = next;
    } else if (op === 1) emit(false);
    else if (op === 2) advance(c.ulebBig() * minInst);
    else if (op === 3) line += c.sleb();
    else if (op === 4) file = c.uleb();
    else if (op === 8) advance(BigInt(Math.floor((255 - opcodeBase) / lineRange)) * minInst);
    else if (op === 9) advance(BigInt(c.u16()));
    else for (let i = 0; i < (opLengths[op] ?? 0); i++) c.uleb();
  }
}

function safe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`offset ${v} too large`);
  return Number(v);
}

function buildTable(addrs: bigint[], lines: number[], files: number[], fileNames: string[]): DwarfLineTable {
  // End markers sort before rows at the same address, so a following sequence wins.
  const order = addrs.map((_, i) => i);
  order.sort((a, b) => {
    const x = addrs[a] ?? 0n;
    const y = addrs[b] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
    return (files[a] === -1 ? 0 : 1) - (files[b] === -1 ? 0 : 1) || a - b;
  });
  const at = BigUint64Array.from(order.map((i) => addrs[i] ?? 0n));
  const lineOf = Uint32Array.from(order.map((i) => lines[i] ?? 0));
  const fileOf = Int32Array.from(order.map((i) => files[i] ?? -1));
  return {
    rows: at.length,
    lookup(address) {
      let lo = 0;
      let hi = at.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if ((at[mid] ?? 0n) <= address) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      const file = found < 0 ? -1 : fileOf[found] ?? -1;
      if (file < 0) return undefined;
      return { fileName: fileNames[file] ?? '', line: lineOf[found] ?? 0 };
    },
  };
}
