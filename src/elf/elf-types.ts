/**
 * Plain shapes read from an ELF64 file: program headers, sections, symbols.
 * Addresses are bigint (they may exceed 2^53); file offsets and sizes are
 * numbers because no file we read is larger than 2^53 bytes.
 */

/** ELF file types (e_type) we care about. */
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

/** Program header types. */
export const PT_LOAD = 1;
export const PT_NOTE = 4;

/** Segment permission flags (p_flags). */
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

/** Section header types. */
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;

/** Section flags (sh_flags). */
export const SHF_ALLOC = 0x2n;
export const SHF_EXECINSTR = 0x4n;

/** One program header. */
export interface ElfProgramHeader {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: bigint;
  readonly fileSize: number;
  readonly memSize: bigint;
  readonly align: bigint;
}

/** One section; `bytes()` reads its contents from the file on each call. */
export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: bigint;
  /** Virtual address when loaded (0 for sections that are not allocated). */
  readonly address: bigint;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly entrySize: number;
  /** The section's contents; empty for SHT_NOBITS (.bss). */
  bytes(): Buffer;
}

/** Symbol kinds kept from the symbol tables: code-like ones only. */
export type ElfSymbolKind = 'func' | 'ifunc' | 'notype';

/** Symbol binding, ranked local < weak < global when names compete. */
export type ElfSymbolBinding = 'local' | 'global' | 'weak';

/** One code symbol from .symtab or .dynsym. */
export interface ElfSymbol {
  readonly name: string;
  /** st_value: the symbol's virtual address in the file's address space. */
  readonly value: bigint;
  readonly size: bigint;
  readonly kind: ElfSymbolKind;
  readonly binding: ElfSymbolBinding;
  /** Index of the section that holds the symbol. */
  readonly sectionIndex: number;
  readonly table: 'symtab' | 'dynsym';
}

/** The .gnu_debuglink contents: where the separate debug file is and its CRC32. */
export interface ElfDebugLink {
  readonly name: string;
  readonly crc: number;
}
