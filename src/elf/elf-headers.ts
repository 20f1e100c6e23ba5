/** Decoding of the ELF64 file header, program headers and section headers. */
import { SHT_NOBITS, type ElfProgramHeader, type ElfSection } from './elf-types.js';
import { readString } from './elf-symbols.js';
import { asSectionError, SectionFormatError } from './section-format-error.js';

/** The fields of the ELF64 file header that readers use. */
export interface ElfHeader {
  readonly type: number;
  readonly machine: number;
  readonly entry: bigint;
  readonly phoff: number;
  readonly phentsize: number;
  readonly phnum: number;
  readonly shoff: number;
  readonly shentsize: number;
  readonly shnum: number;
  readonly shstrndx: number;
}

/** Reads `length` bytes at `offset`, throwing on a short file. */
export type ReadAt = (offset: number, length: number) => Buffer;

const PN_XNUM = 0xffff;
const SHN_XINDEX = 0xffff;

/** Checks the identification bytes and decodes the header; throws a SectionFormatError of the 'ELF header'. */
export function parseElfHeader(b: Buffer, path: string): ElfHeader {
  const bad = (reason: string): SectionFormatError => new SectionFormatError('ELF header', reason, path);
  if (b.length < 16 || b.readUInt32BE(0) !== 0x7f454c46) throw bad('not an ELF file');
  if (b[4] !== 2) throw bad('only 64-bit ELF files are supported (this one is 32-bit)');
  if (b[5] !== 1) throw bad('only little-endian ELF files are supported');
  if (b.length < 64) throw bad(`truncated file (header needs 64 bytes, file has ${b.length})`);
  return {
    type: b.readUInt16LE(16),
    machine: b.readUInt16LE(18),
    entry: b.readBigUInt64LE(24),
    phoff: Number(b.readBigUInt64LE(32)),
    shoff: Number(b.readBigUInt64LE(40)),
    phentsize: b.readUInt16LE(54),
    phnum: b.readUInt16LE(56),
    shentsize: b.readUInt16LE(58),
    shnum: b.readUInt16LE(60),
    shstrndx: b.readUInt16LE(62),
  };
}

/** Decodes the program header table; PN_XNUM counts live in section 0. */
export function readProgramHeaders(h: ElfHeader, read: ReadAt): ElfProgramHeader[] {
  let count = h.phnum;
  if (count === PN_XNUM && h.shoff !== 0) count = read(h.shoff + 44, 4).readUInt32LE(0);
  if (h.phoff === 0 || count === 0) return [];
  const size = Math.max(h.phentsize, 56);
  const table = read(h.phoff, size * count);
  const out: ElfProgramHeader[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * size;
    out.push({
      type: table.readUInt32LE(o),
      flags: table.readUInt32LE(o + 4),
      offset: Number(table.readBigUInt64LE(o + 8)),
      vaddr: table.readBigUInt64LE(o + 16),
      fileSize: Number(table.readBigUInt64LE(o + 32)),
      memSize: table.readBigUInt64LE(o + 40),
      align: table.readBigUInt64LE(o + 48),
    });
  }
  return out;
}

/**
 * Decodes the section header table and names the sections from the
 * section-name string table. `contents` reads section bytes later; what it
 * throws comes out as a SectionFormatError naming the section and `path`.
 */
export function readSectionHeaders(h: ElfHeader, read: ReadAt, contents: ReadAt, path: string): ElfSection[] {
  if (h.shoff === 0) return [];
  const size = Math.max(h.shentsize, 64);
  const first = read(h.shoff, size);
  // Extended numbering: counts too large for the header live in section 0.
  const count = h.shnum === 0 ? Number(first.readBigUInt64LE(32)) : h.shnum;
  const strndx = h.shstrndx === SHN_XINDEX ? first.readUInt32LE(40) : h.shstrndx;
  const table = read(h.shoff, size * count);
  const raw = [];
  for (let i = 0; i < count; i++) {
    const o = i * size;
    raw.push({
      nameOff: table.readUInt32LE(o),
      type: table.readUInt32LE(o + 4),
      flags: table.readBigUInt64LE(o + 8),
      address: table.readBigUInt64LE(o + 16),
      offset: Number(table.readBigUInt64LE(o + 24)),
      size: Number(table.readBigUInt64LE(o + 32)),
      link: table.readUInt32LE(o + 40),
      entrySize: Number(table.readBigUInt64LE(o + 56)),
    });
  }
  const strSec = raw[strndx];
  const names = strSec === undefined || strSec.type === SHT_NOBITS ? Buffer.alloc(0) : read(strSec.offset, strSec.size);
  return raw.map((r, index) => {
    const name = readString(names, r.nameOff);
    return {
      index,
      name,
      type: r.type,
      flags: r.flags,
      address: r.address,
      offset: r.offset,
      size: r.size,
      link: r.link,
      entrySize: r.entrySize,
      bytes: () => {
        if (r.type === SHT_NOBITS) return Buffer.alloc(0);
        try {
          return contents(r.offset, r.size);
        } catch (err) {
          // A short file is this section's problem: asSectionError names it, not the file's contents.
          throw asSectionError(err, name === '' ? `section ${index}` : name, path);
        }
      },
    };
  });
}
