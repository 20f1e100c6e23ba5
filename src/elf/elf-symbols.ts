/** Decoding of ELF64 symbol tables (.symtab, .dynsym) into code symbols. */
import { SHF_EXECINSTR, type ElfSection, type ElfSymbol, type ElfSymbolBinding, type ElfSymbolKind } from './elf-types.js';

const SYM_SIZE = 24;
const STT_NOTYPE = 0;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;

const BINDINGS: Record<number, ElfSymbolBinding> = { 0: 'local', 1: 'global', 2: 'weak', 10: 'global' };

/**
 * Reads the code symbols of one symbol table: FUNC and IFUNC anywhere,
 * NOTYPE only in executable sections (assembly entry points carry no type).
 * Undefined, absolute and zero-address symbols are skipped: they name
 * nothing in this file.
 */
export function decodeSymbols(
  table: ElfSection,
  strtab: Buffer,
  sections: readonly ElfSection[],
  tableName: 'symtab' | 'dynsym',
): ElfSymbol[] {
  const data = table.bytes();
  const out: ElfSymbol[] = [];
  for (let off = SYM_SIZE; off + SYM_SIZE <= data.length; off += SYM_SIZE) {
    const info = data[off + 4] ?? 0;
    const type = info & 0xf;
    const binding = BINDINGS[info >> 4];
    if (binding === undefined) continue;
    let kind: ElfSymbolKind;
    if (type === STT_FUNC) kind = 'func';
    else if (type === STT_GNU_IFUNC) kind = 'ifunc';
    else if (type === STT_NOTYPE) kind = 'notype';
    else continue;
    const shndx = data.readUInt16LE(off + 6);
    if (shndx === SHN_UNDEF || shndx >= SHN_LORESERVE) continue;
    if (kind === 'notype' && ((sections[shndx]?.flags ?? 0n) & SHF_EXECINSTR) === 0n) continue;
    const value = data.readBigUInt64LE(off + 8);
    if (value === 0n) continue;
    const nameOff = data.readUInt32LE(off);
    const name = readString(strtab, nameOff);
    // Empty names and ARM/AArch64 mapping symbols ($x, $d) are not functions.
    if (name === '' || name.startsWith('$')) continue;
    out.push({ name, value, size: data.readBigUInt64LE(off + 16), kind, binding, sectionIndex: shndx, table: tableName });
  }
  return out;
}

/** The NUL-terminated string at `offset` in a string table. */
export function readString(strtab: Buffer, offset: number): string {
  if (offset >= strtab.length) return '';
  let end = strtab.indexOf(0, offset);
  if (end < 0) end = strtab.length;
  return strtab.toString('utf8', offset, end);
}

/**
 * st_value of the defined symbols of one table called one of `names`, of
 * any type (data objects such as CPython's _PyRuntime included).
 */
export function findSymbolValues(table: ElfSection, strtab: Buffer, names: ReadonlySet<string>): Map<string, bigint> {
  const data = table.bytes();
  const out = new Map<string, bigint>();
  for (let off = SYM_SIZE; off + SYM_SIZE <= data.length && out.size < names.size; off += SYM_SIZE) {
    const shndx = data.readUInt16LE(off + 6);
    if (shndx === SHN_UNDEF || shndx >= SHN_LORESERVE) continue;
    const name = readString(strtab, data.readUInt32LE(off));
    if (names.has(name) && !out.has(name)) out.set(name, data.readBigUInt64LE(off + 8));
  }
  return out;
}
