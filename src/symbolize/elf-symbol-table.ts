/** Address → function name for one ELF file, from .symtab ∪ .dynsym. */
import type { ElfFile } from '../elf/elf-file.js';
import type { ElfSection, ElfSymbol } from '../elf/elf-types.js';
import { addressTableFromParts, buildAddressTable, type AddressEntry, type AddressTable, type AddressTableParts, type FileBackedParts, type SymbolHit } from './address-table.js';

export type { SymbolHit };

/** A sorted symbol table of one file, addressed by file virtual address. */
export interface ElfSymbolTable {
  /** The function covering `fileVaddr` (an address in the file's own address space), or undefined. */
  lookup(fileVaddr: bigint): SymbolHit | undefined;
  /** Number of distinct symbol addresses. */
  readonly size: number;
  readonly approximateBytes: number;
  /** The table as plain data, to post from a worker thread (elfSymbolTableFromParts). */
  readonly parts: AddressTableParts;
}

const BINDING_RANK = { local: 0, weak: 1, global: 2 } as const;

/** Builds the table of an open ELF file (reads both symbol tables). */
export function createElfSymbolTable(elf: ElfFile): ElfSymbolTable {
  return elfSymbolTableFromSymbols(elf.symbols('all'), elf.sections);
}

/**
 * Builds a table from decoded symbols. At one address a global name beats a
 * weak one beats a local one; a function beats an untyped label; then a name
 * without a leading underscore wins (malloc over __libc_malloc). Zero-size
 * symbols extend to the next symbol, never past the end of their section.
 */
export function elfSymbolTableFromSymbols(symbols: readonly ElfSymbol[], sections: readonly ElfSection[]): ElfSymbolTable {
  const entries: AddressEntry[] = [];
  for (const s of symbols) {
    const rank = BINDING_RANK[s.binding] * 4 + (s.kind === 'notype' ? 0 : 2) + (s.name.startsWith('_') ? 0 : 1);
    const sec = sections[s.sectionIndex];
    entries.push({
      start: s.value,
      end: s.size > 0n ? s.value + s.size : undefined,
      name: s.name,
      rank,
      maxEnd: sec !== undefined && sec.address > 0n ? sec.address + BigInt(sec.size) : undefined,
    });
  }
  return symbolTableOver(buildAddressTable(entries));
}

/** The table over parts another thread built. */
export function elfSymbolTableFromParts(parts: AddressTableParts | FileBackedParts): ElfSymbolTable {
  return symbolTableOver(addressTableFromParts(parts));
}

function symbolTableOver(table: AddressTable): ElfSymbolTable {
  return {
    lookup: (vaddr) => table.lookup(vaddr),
    size: table.length,
    approximateBytes: table.approximateBytes,
    // Read only when asked for: a table read from the disk cache reads its names whole then.
    get parts() {
      return table.parts;
    },
  };
}
