/**
 * A 64-bit little-endian ELF file read lazily through one file descriptor:
 * headers are parsed on open, section contents and symbols only on demand,
 * so opening a 1 GB binary costs a few reads. Call `close()` when done.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { findBuildId, parseElfNotes } from './elf-notes.js';
import { readAt } from './read-at.js';
import { decodeSymbols, findSymbolValues, readString } from './elf-symbols.js';
import {
  PT_LOAD, PT_NOTE, SHT_DYNSYM, SHT_NOTE, SHT_SYMTAB,
  type ElfDebugLink, type ElfProgramHeader, type ElfSection, type ElfSymbol,
} from './elf-types.js';
import { readProgramHeaders, readSectionHeaders, parseElfHeader, type ElfHeader } from './elf-headers.js';
import { FILE_CONTENTS, parseSection, SectionFormatError } from './section-format-error.js';

/** An open ELF64 LE file. Lifetime: valid until `close()`; `bytes()` after close throws. */
export class ElfFile {
  private fd: number | undefined;
  private cachedSymbols: Map<string, readonly ElfSymbol[]> = new Map();
  private cachedBuildId: { readonly id: string | undefined } | undefined;

  private constructor(
    /** Path the file was opened from. */
    readonly path: string,
    fd: number,
    /** File size in bytes. */
    readonly fileSize: number,
    readonly header: ElfHeader,
    /** All program headers, in file order. */
    readonly programHeaders: readonly ElfProgramHeader[],
    /** All sections, index 0 (the null section) included. */
    readonly sections: readonly ElfSection[],
  ) {
    this.fd = fd;
  }

  /**
   * Opens and parses the headers of `path`; throws "reading elf PATH: cause"
   * (a SectionFormatError naming the headers when they are malformed).
   * With `via`, the file is read from there (another thread's descriptor,
   * /proc/self/fd/N) and still named `path`.
   */
  static open(path: string, via?: string): ElfFile {
    let fd: number;
    try {
      fd = openSync(via ?? path, 'r');
    } catch (err) {
      throw new Error(`reading elf ${path}: ${(err as Error).message}`);
    }
    try {
      const size = fstatSync(fd).size;
      const read = (offset: number, length: number): Buffer => readExact(fd, path, size, offset, length);
      const header = parseElfHeader(read(0, Math.min(64, size)), path);
      const phdrs = parseSection(path, 'program headers', () => readProgramHeaders(header, read));
      // Section contents are read through the instance so they fail cleanly after close().
      let self: ElfFile | undefined;
      const sections = parseSection(path, 'section headers', () =>
        readSectionHeaders(header, read, (offset, length) => (self ?? { read }).read(offset, length), path));
      self = new ElfFile(path, fd, size, header, phdrs, sections);
      return self;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** A path to this open file that every thread of the process can open (/proc/self/fd/N), valid until close(). */
  descriptorPath(): string {
    if (this.fd === undefined) throw new Error(`reading elf ${this.path}: file already closed`);
    return `/proc/self/fd/${this.fd}`;
  }

  /** ET_EXEC, ET_DYN (PIE or shared library), ... as the numeric e_type. */
  get type(): number {
    return this.header.type;
  }

  /** The PT_LOAD segments, in file order. */
  get loadSegments(): readonly ElfProgramHeader[] {
    return this.programHeaders.filter((p) => p.type === PT_LOAD);
  }

  /** The first section called `name`, or undefined. */
  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** Reads `length` bytes at file `offset`; throws when the file is shorter. */
  read(offset: number, length: number): Buffer {
    if (this.fd === undefined) throw new Error(`reading elf ${this.path}: file already closed`);
    return readExact(this.fd, this.path, this.fileSize, offset, length);
  }

  /**
   * GNU build-id as lowercase hex, from .note.gnu.build-id or any PT_NOTE
   * segment. Never throws: a damaged note only costs the build-id (it keys
   * caches and names the mapping), not the file's symbols or unwind table.
   */
  buildId(): string | undefined {
    this.cachedBuildId ??= { id: this.readBuildId() };
    return this.cachedBuildId.id;
  }

  private readBuildId(): string | undefined {
    const notes = (read: () => Buffer, align: number): string | undefined => {
      try {
        return findBuildId(parseElfNotes(read(), align));
      } catch (err) {
        // outside the file: try the next place (parseElfNotes itself never throws)
        if (err instanceof SectionFormatError) return undefined;
        throw err;
      }
    };
    const sec = this.section('.note.gnu.build-id');
    if (sec !== undefined && sec.type === SHT_NOTE) {
      const id = notes(() => sec.bytes(), 4);
      if (id !== undefined) return id;
    }
    for (const p of this.programHeaders) {
      if (p.type !== PT_NOTE || p.fileSize === 0) continue;
      const id = notes(() => this.read(p.offset, p.fileSize), Number(p.align));
      if (id !== undefined) return id;
    }
    return undefined;
  }

  /** The .gnu_debuglink name and CRC32, or undefined when absent or unreadable (the file's own symbols then serve). */
  debugLink(): ElfDebugLink | undefined {
    let data: Buffer | undefined;
    try {
      data = this.section('.gnu_debuglink')?.bytes();
    } catch (err) {
      if (err instanceof SectionFormatError) return undefined;
      throw err;
    }
    if (data === undefined || data.length < 5) return undefined;
    const name = readString(data, 0);
    // The CRC follows the NUL-terminated name, padded to 4 bytes.
    const crcOff = (name.length + 1 + 3) & ~3;
    if (name === '' || crcOff + 4 > data.length) return undefined;
    return { name, crc: data.readUInt32LE(crcOff) };
  }

  /** Code symbols of .symtab and/or .dynsym (default both, .symtab first). */
  symbols(which: 'symtab' | 'dynsym' | 'all' = 'all'): readonly ElfSymbol[] {
    if (which === 'all') return [...this.symbols('symtab'), ...this.symbols('dynsym')];
    const cached = this.cachedSymbols.get(which);
    if (cached !== undefined) return cached;
    const type = which === 'symtab' ? SHT_SYMTAB : SHT_DYNSYM;
    const table = this.sections.find((s) => s.type === type);
    const strtab = table === undefined ? undefined : this.sections[table.link];
    const syms = table === undefined || strtab === undefined ? []
      : parseSection(this.path, table.name || `.${which}`, () => decodeSymbols(table, strtab.bytes(), this.sections, which));
    this.cachedSymbols.set(which, syms);
    return syms;
  }

  /**
   * The addresses of the symbols called one of `names`, of any type (data
   * too), from .dynsym, then .symtab for those .dynsym lacks.
   */
  symbolValues(names: readonly string[]): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const type of [SHT_DYNSYM, SHT_SYMTAB]) {
      const want = new Set(names.filter((n) => !out.has(n)));
      const table = this.sections.find((s) => s.type === type);
      const strtab = table === undefined ? undefined : this.sections[table.link];
      if (want.size === 0 || table === undefined || strtab === undefined) continue;
      const found = parseSection(this.path, table.name || 'symbol table', () => findSymbolValues(table, strtab.bytes(), want));
      for (const [n, v] of found) out.set(n, v);
    }
    return out;
  }

  /** The bytes at virtual address `vaddr` in the file, or undefined when no PT_LOAD segment holds them in the file. */
  readVaddr(vaddr: bigint, length: number): Buffer | undefined {
    for (const p of this.loadSegments) {
      if (vaddr >= p.vaddr && vaddr + BigInt(length) <= p.vaddr + BigInt(p.fileSize)) {
        return this.read(Number(BigInt(p.offset) + vaddr - p.vaddr), length);
      }
    }
    return undefined;
  }

  /**
   * Maps a file offset to the virtual address the file's PT_LOAD segments
   * give it; undefined when no segment covers the offset. This is how a
   * runtime address becomes a symbol-table address: runtime - map.start +
   * map.offset gives the offset, this gives the vaddr.
   */
  fileOffsetToVaddr(offset: bigint): bigint | undefined {
    return fileOffsetToVaddr(this.loadSegments, offset);
  }

  /** Releases the file descriptor; idempotent. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** `ElfFile.fileOffsetToVaddr` over a list of PT_LOAD segments, usable after close. */
export function fileOffsetToVaddr(segments: readonly ElfProgramHeader[], offset: bigint): bigint | undefined {
  for (const p of segments) {
    if (p.type !== PT_LOAD) continue;
    const start = BigInt(p.offset);
    // Use memSize-independent bounds: only bytes backed by the file can hold code.
    if (offset >= start && offset < start + BigInt(p.fileSize)) return offset - start + p.vaddr;
  }
  return undefined;
}

function readExact(fd: number, path: string, fileSize: number, offset: number, length: number): Buffer {
  if (length === 0) return Buffer.alloc(0);
  if (!(offset >= 0 && length >= 0 && offset + length <= fileSize)) {
    throw new SectionFormatError(FILE_CONTENTS, `truncated file (need bytes ${offset}..${offset + length}, file has ${fileSize})`, path);
  }
  const buf = Buffer.allocUnsafe(length);
  const done = readAt(fd, buf, offset);
  if (done < length) throw new SectionFormatError(FILE_CONTENTS, `truncated file (short read at ${offset + done})`, path);
  return buf;
}
