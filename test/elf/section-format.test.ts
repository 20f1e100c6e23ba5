// Malformed sections give a SectionFormatError naming the file and section,
// and cost only what was read from that section: issue 20's build-id and
// BigInt RangeErrors, compressed sections, line programs.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/elf/elf-file.js';
import { parseElfNotes } from '../../src/elf/elf-notes.js';
import { readEhFrame } from '../../src/elf/eh-frame-section.js';
import { SectionFormatError } from '../../src/elf/section-format-error.js';
import { parseDwarfLines, sectionData } from '../../src/symbolize/dwarf-lines.js';
import { readSymbolTablesAt } from '../../src/symbolize/file-lookup.js';
import { parseGoPclntab } from '../../src/symbolize/go-pclntab.js';
import { loadFileUnwindTable } from '../../src/unwind/file-unwind-table.js';
import { parserRegions } from '../helpers/crafted-binaries.js';

/** A note record: namesz, descsz, type, then name and desc padded to 4. */
function note(name: string, type: number, desc: Buffer, sizes?: { namesz?: number; descsz?: number }): Buffer {
  const n = Buffer.from(`${name}\0`, 'latin1');
  const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(sizes?.namesz ?? n.length, 0);
  head.writeUInt32LE(sizes?.descsz ?? desc.length, 4);
  head.writeUInt32LE(type, 8);
  return Buffer.concat([head, pad(n), pad(desc)]);
}

/** A DWARF 4 line program unit (32-bit) for file a.c with `program` as its opcodes. */
function lineUnit(program: Buffer, header: { lineRange?: number } = {}): Buffer {
  const opLengths = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
  const rest = Buffer.concat([
    Buffer.from([1, 1, 1, 0xfb, header.lineRange ?? 14, 13, ...opLengths]),
    Buffer.from('\0', 'latin1'), // no include directories
    Buffer.from('a.c\0', 'latin1'), Buffer.from([0, 0, 0]), Buffer.from([0]), // one file
  ]);
  const headerLength = Buffer.alloc(4);
  headerLength.writeUInt32LE(rest.length);
  const body = Buffer.concat([Buffer.from([4, 0]), headerLength, rest, program]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  return Buffer.concat([length, body]);
}

/** DW_LNE_set_address `a`, then `ops`, then DW_LNE_end_sequence. */
function sequence(a: bigint, ops: readonly number[]): Buffer {
  const set = Buffer.alloc(11);
  set.set([0, 9, 2]);
  set.writeBigUInt64LE(a, 3);
  return Buffer.concat([set, Buffer.from(ops), Buffer.from([0, 1, 1])]);
}

describe('ELF notes', () => {
  it('reads well-formed notes and stops at a record whose sizes run past the segment', () => {
    const id = Buffer.from('0123456789abcdef01234567', 'hex');
    const good = Buffer.concat([note('GNU', 1, Buffer.alloc(16)), note('GNU', 3, id)]);
    expect(parseElfNotes(good).map((n) => [n.name, n.type, n.desc.toString('hex')])).toEqual([
      ['GNU', 1, '00'.repeat(16)], ['GNU', 3, id.toString('hex')],
    ]);
    // namesz 0x80000000: the old pad() went negative in int32 and read at a negative offset (RangeError).
    for (const namesz of [0x80000000, 0xfffffff4, 0xfffffffc, 0xffffffff]) {
      expect(parseElfNotes(Buffer.concat([note('GNU', 3, id, { namesz }), good]))).toEqual([]);
    }
    expect(parseElfNotes(Buffer.concat([good, note('GNU', 3, id, { descsz: 0xfffffff4 })]))).toHaveLength(2);
    // 8-byte aligned (GNU property) notes.
    const head = Buffer.alloc(12);
    head.writeUInt32LE(4, 0);
    head.writeUInt32LE(8, 4);
    head.writeUInt32LE(5, 8);
    const property = Buffer.concat([head, Buffer.from('GNU\0', 'latin1'), Buffer.alloc(4), Buffer.alloc(8, 1)]);
    expect(parseElfNotes(property, 8).map((n) => n.desc.toString('hex'))).toEqual(['01'.repeat(8)]);
  });

  describe('a binary whose build-id note says namesz 0x80000000', () => {
    let dir = '';
    let bad = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'section-format-'));
      bad = join(dir, 'sleep');
      const bytes = readFileSync('/bin/sleep');
      const at = parserRegions('/bin/sleep').find((r) => r.name === '.note.gnu.build-id')!.offset;
      bytes.writeUInt32LE(0x80000000, at);
      writeFileSync(bad, bytes);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('loses only its build-id: symbols and unwind table are those of the original', () => {
      const elf = ElfFile.open(bad);
      try {
        expect(elf.buildId()).toBeUndefined();
      } finally {
        elf.close();
      }
      const original = ElfFile.open('/bin/sleep');
      try {
        expect(original.buildId()).toMatch(/^[0-9a-f]{40}$/);
      } finally {
        original.close();
      }
      const symbols = readSymbolTablesAt(bad);
      expect(symbols.own.size).toBe(readSymbolTablesAt('/bin/sleep').own.size);
      const table = loadFileUnwindTable(bad);
      expect(table.buildId).toBeUndefined();
      expect(table.table.length).toBeGreaterThan(1000);
      expect(table.table.equals(loadFileUnwindTable('/bin/sleep').table)).toBe(true);
    });
  });
});

describe('section errors name the file and the section', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'section-format-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a section past the end of the file is a SectionFormatError of that section', () => {
    const path = join(dir, 'eh-past-end');
    copyFileSync('/bin/sleep', path);
    const bytes = readFileSync(path);
    const elf = ElfFile.open(path);
    const eh = elf.section('.eh_frame')!;
    elf.close();
    // sh_offset of .eh_frame's header: far past the file.
    bytes.writeBigUInt64LE(1n << 40n, elf.header.shoff + eh.index * elf.header.shentsize + 24);
    writeFileSync(path, bytes);
    const cut = ElfFile.open(path);
    try {
      let err: unknown;
      try {
        readEhFrame(cut);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SectionFormatError);
      expect(err).toMatchObject({ file: path, section: '.eh_frame' });
      expect((err as Error).message).toMatch(new RegExp(`^reading elf ${path}: \\.eh_frame: truncated file`));
      // The file's other sections still read.
      expect(cut.section('.dynsym')!.bytes().length).toBeGreaterThan(0);
    } finally {
      cut.close();
    }
  });

  it('compressed sections: bounded by their header, errors name the section', () => {
    const body = Buffer.from('line table bytes '.repeat(100));
    const chdr = (type: number, size: bigint): Buffer => {
      const h = Buffer.alloc(24);
      h.writeUInt32LE(type, 0);
      h.writeBigUInt64LE(size, 8);
      h.writeBigUInt64LE(1n, 16);
      return h;
    };
    const SHF_COMPRESSED = 0x800n;
    const zlib = Buffer.concat([chdr(1, BigInt(body.length)), deflateSync(body)]);
    expect(sectionData(zlib, SHF_COMPRESSED, '.debug_line').equals(body)).toBe(true);
    const fails = (bytes: Buffer): string => {
      try {
        sectionData(bytes, SHF_COMPRESSED, '.debug_line');
      } catch (err) {
        expect(err).toBeInstanceOf(SectionFormatError);
        return (err as Error).message;
      }
      return 'no error';
    };
    // A header claiming fewer bytes than the stream holds stops the inflater there.
    expect(fails(Buffer.concat([chdr(1, 10n), deflateSync(body)]))).toMatch(/^reading \.debug_line: decompressing: /);
    expect(fails(Buffer.concat([chdr(1, 1n << 40n), deflateSync(body)]))).toMatch(/^reading \.debug_line: compressed section claims 1099511627776 bytes/);
    expect(fails(Buffer.concat([chdr(1, BigInt(body.length)), Buffer.from('not zlib')]))).toMatch(/^reading \.debug_line: decompressing: /);
    expect(fails(Buffer.concat([chdr(7, 4n), Buffer.alloc(4)]))).toBe('reading .debug_line: decompressing: unsupported compression type 7');
    expect(fails(Buffer.alloc(10))).toMatch(/^reading \.debug_line: compressed section of 10 bytes has no 24-byte header/);
    // zstd (ELFCOMPRESS_ZSTD): decoded where Node.js has a decoder, else refused by name.
    const zstd = fails(Buffer.concat([chdr(2, 4n), Buffer.from('28b52ffd2004210000deadbeef', 'hex')]));
    expect(zstd).toMatch(/^reading \.debug_line: decompressing: (zstd-compressed, and this Node\.js v\S+ has no zstd decoder|.*)/);
  });
});

describe('.debug_line line programs', () => {
  it('reads a well-formed unit', () => {
    // two rows: 0x1000 line 1, then a special opcode: address +1, line +1 (adjusted (1 + 5) + 14 * 1)
    const table = parseDwarfLines(lineUnit(sequence(0x1000n, [1, 13 + 20])));
    expect(table.lookup(0x1000n)).toEqual({ fileName: 'a.c', line: 1 });
    expect(table.lookup(0x1001n)).toEqual({ fileName: 'a.c', line: 2 });
  });

  it('a 160-byte LEB128 advance (the BigInt RangeError) reads as a 64-bit advance', () => {
    const leb = [...Array.from({ length: 160 }, () => 0xff), 0x01];
    const table = parseDwarfLines(lineUnit(sequence(0x1000n, [1, 2, ...leb, 1])));
    expect(table.rows).toBe(3);
    expect(table.lookup(0x1000n)).toEqual({ fileName: 'a.c', line: 1 });
  });

  it('line_range 0 (a division by zero) and a unit past the section are errors of .debug_line', () => {
    const fails = (b: Buffer): unknown => {
      try {
        parseDwarfLines(b);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const zero = fails(lineUnit(sequence(0x1000n, [20]), { lineRange: 0 }));
    expect(zero).toBeInstanceOf(SectionFormatError);
    expect((zero as Error).message).toBe('reading .debug_line: unit at 0x0: line_range 0');
    const unit = lineUnit(sequence(0x1000n, [1]));
    const long = fails(Buffer.concat([unit, unit.subarray(0, unit.length - 3)]));
    expect((long as Error).message).toMatch(new RegExp(`^reading \\.debug_line: unit at 0x${unit.length.toString(16)}: unit length \\d+ runs past the section end`));
    // An extended opcode longer than its unit.
    const ext = fails(lineUnit(Buffer.from([0, 0x7f, 2])));
    expect((ext as Error).message).toMatch(/^reading \.debug_line: unit at 0x0: extended opcode of 127 bytes runs past the unit end/);
  });
});

describe('.gopclntab', () => {
  it('offsets past the table are errors of .gopclntab, not RangeErrors', () => {
    const t = Buffer.alloc(64);
    t.writeUInt32LE(0xfffffff1, 0);
    t[6] = 1;
    t[7] = 8;
    t.writeBigUInt64LE(1n, 8); // nfunc
    t.writeBigUInt64LE(1n << 40n, 8 + 3 * 8); // funcnameOffset past the table
    expect(() => parseGoPclntab(t)).toThrow(/^reading \.gopclntab: header word 3 is 1099511627776, past the table's 64 bytes/);
    t.writeBigUInt64LE(0n, 8 + 3 * 8);
    t[6] = 0;
    expect(() => parseGoPclntab(t)).toThrow('reading .gopclntab: pc quantum 0');
  });
});
