/**
 * DWARF `.debug_line` (versions 2–5): address → source file and line. The
 * line programs of all units are run once into one sorted row table; a
 * lookup is then a binary search. Optional and off by default in the agent:
 * building the table costs time and memory proportional to the code size.
 */
import { inflateSync } from 'node:zlib';

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

/** Section bytes, inflated when the section is SHF_COMPRESSED (zlib, ELF64 header). */
export function sectionData(bytes: Uint8Array, flags: bigint): Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if ((flags & 0x800n) === 0n) return buf;
  if (buf.readUInt32LE(0) !== 1) throw new Error('reading debug section: unsupported compression');
  return inflateSync(buf.subarray(24));
}

/** Parses `.debug_line`; `lineStr` and `str` are `.debug_line_str` and `.debug_str` (DWARF 5). */
export function parseDwarfLines(debugLine: Buffer, strings: { lineStr?: Buffer; str?: Buffer } = {}): DwarfLineTable {
  const addrs: bigint[] = [];
  const lines: number[] = [];
  const files: number[] = []; // index into fileNames; -1 marks an end of sequence
  const fileNames: string[] = [];
  let p = 0;
  const u8 = (): number => debugLine[p++] ?? 0;
  const uleb = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = u8();
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0 || p >= debugLine.length) return v;
    }
  };
  const sleb = (): number => {
    let v = 0;
    let shift = 0;
    let b = 0;
    do {
      b = u8();
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while ((b & 0x80) !== 0 && p < debugLine.length);
    return (b & 0x40) !== 0 ? v - 2 ** shift : v;
  };
  const cstr = (buf: Buffer, at: number): string => buf.toString('utf8', at, Math.max(at, buf.indexOf(0, at)));
  const str = (): string => {
    const s = cstr(debugLine, p);
    p += Buffer.byteLength(s) + 1;
    return s;
  };

  while (p + 4 <= debugLine.length) {
    let unitLength = debugLine.readUInt32LE(p);
    p += 4;
    let offSize = 4;
    if (unitLength === 0xffffffff) {
      unitLength = Number(debugLine.readBigUInt64LE(p));
      p += 8;
      offSize = 8;
    }
    const unitEnd = p + unitLength;
    const offset = (): number => {
      const v = offSize === 8 ? Number(debugLine.readBigUInt64LE(p)) : debugLine.readUInt32LE(p);
      p += offSize;
      return v;
    };
    const version = debugLine.readUInt16LE(p);
    p += 2;
    if (version < 2 || version > 5) {
      p = unitEnd;
      continue;
    }
    let addressSize = 8;
    if (version === 5) {
      addressSize = u8();
      u8(); // segment selector size
    }
    const headerLength = offset();
    const programStart = p + headerLength;
    const minInst = u8();
    if (version >= 4) u8(); // max ops per instruction: 1 outside VLIW
    u8(); // default_is_stmt: every row counts for a lookup
    const lineBase = (u8() << 24) >> 24;
    const lineRange = u8();
    const opcodeBase = u8();
    const opLengths = [0, ...Array.from({ length: opcodeBase - 1 }, u8)];

    // Unit file table as indexes into fileNames; DWARF 5 counts from 0, older from 1.
    const unitFiles: number[] = [];
    const addFile = (dirs: string[], name: string, dir: number): void => {
      const d = dirs[dir];
      fileNames.push(name.startsWith('/') || d === undefined || d === '' ? name : `${d}/${name}`);
      unitFiles.push(fileNames.length - 1);
    };
    const dirs: string[] = [];
    if (version === 5) {
      const readEntries = (): { path: string; dir: number }[] => {
        const formats = Array.from({ length: u8() }, () => [uleb(), uleb()] as const);
        return Array.from({ length: uleb() }, () => {
          let path = '';
          let dir = 0;
          for (const [content, form] of formats) {
            const value = readForm(form);
            if (content === 1) path = String(value);
            if (content === 2) dir = Number(value);
          }
          return { path, dir };
        });
      };
      const readForm = (form: number): string | number => {
        switch (form) {
          case 0x08: return str();
          case 0x1f: return cstr(strings.lineStr ?? Buffer.alloc(0), offset());
          case 0x0e: return cstr(strings.str ?? Buffer.alloc(0), offset());
          case 0x0b: return u8();
          case 0x05: p += 2; return debugLine.readUInt16LE(p - 2);
          case 0x06: p += 4; return debugLine.readUInt32LE(p - 4);
          case 0x07: p += 8; return 0;
          case 0x0f: return uleb();
          case 0x1e: p += 16; return 0;
          case 0x09: p += uleb(); return 0;
          default: throw new Error(`parsing debug_line: unsupported form 0x${form.toString(16)}`);
        }
      };
      dirs.push(...readEntries().map((e) => e.path));
      for (const f of readEntries()) addFile(dirs, f.path, f.dir);
    } else {
      dirs.push('');
      for (let d = str(); d !== ''; d = str()) dirs.push(d);
      unitFiles.push(-1); // file 0 is unused before DWARF 5
      for (let name = str(); name !== ''; name = str()) {
        const dir = uleb();
        uleb();
        uleb();
        addFile(dirs, name, dir);
      }
    }

    p = programStart;
    let address = 0n;
    let file = version === 5 ? 0 : 1;
    let line = 1;
    const emit = (end: boolean): void => {
      addrs.push(address);
      lines.push(line);
      files.push(end ? -1 : unitFiles[file] ?? -1);
    };
    while (p < unitEnd) {
      const op = u8();
      if (op >= opcodeBase) {
        const adj = op - opcodeBase;
        address += BigInt(Math.floor(adj / lineRange) * minInst);
        line += lineBase + (adj % lineRange);
        emit(false);
      } else if (op === 0) {
        const len = uleb();
        const next = p + len;
        const sub = u8();
        if (sub === 1) {
          emit(true);
          address = 0n;
          file = version === 5 ? 0 : 1;
          line = 1;
        } else if (sub === 2) {
          address = addressSize === 8 ? debugLine.readBigUInt64LE(p) : BigInt(debugLine.readUInt32LE(p));
        }
        p = next;
      } else if (op === 1) emit(false);
      else if (op === 2) address += BigInt(uleb() * minInst);
      else if (op === 3) line += sleb();
      else if (op === 4) file = uleb();
      else if (op === 8) address += BigInt(Math.floor((255 - opcodeBase) / lineRange) * minInst);
      else if (op === 9) {
        address += BigInt(debugLine.readUInt16LE(p));
        p += 2;
      } else for (let i = 0; i < (opLengths[op] ?? 0); i++) uleb();
    }
    p = unitEnd;
  }
  return buildTable(addrs, lines, files, fileNames);
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
