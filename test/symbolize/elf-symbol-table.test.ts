import { beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/elf/elf-file.js';
import type { ElfSection, ElfSymbol } from '../../src/elf/elf-types.js';
import { createElfSymbolTable, elfSymbolTableFromSymbols, type ElfSymbolTable } from '../../src/symbolize/elf-symbol-table.js';
import { buildSymFixtures, type SymFixtures } from '../helpers/build-sym-fixtures.js';
import { nmSymbols } from '../helpers/nm-symbols.js';

let fx: SymFixtures;
beforeAll(() => {
  fx = buildSymFixtures();
});

function tableOf(path: string): ElfSymbolTable {
  const elf = ElfFile.open(path);
  try {
    return createElfSymbolTable(elf);
  } finally {
    elf.close();
  }
}

const sym = (name: string, value: bigint, size: bigint, binding: ElfSymbol['binding'] = 'global', kind: ElfSymbol['kind'] = 'func'): ElfSymbol =>
  ({ name, value, size, kind, binding, sectionIndex: 1, table: 'symtab' });
const text = { index: 1, name: '.text', type: 1, flags: 6n, address: 0x1000n, offset: 0x1000, size: 0x1000, link: 0, entrySize: 0, bytes: () => Buffer.alloc(0) } satisfies ElfSection;

describe('ElfSymbolTable', () => {
  it('resolves every nm function of the fixtures at start, middle and last byte', () => {
    for (const path of [fx.pie, fx.nopie, fx.lib]) {
      const table = tableOf(path);
      const nm = nmSymbols(path);
      for (const name of ['sym_static_work', 'sym_global_entry', 'main', 'sym_lib_global', 'sym_lib_static_helper']) {
        const s = nm.get(name);
        if (s === undefined) continue;
        expect(table.lookup(s.value)?.name).toBe(name);
        expect(table.lookup(s.value + s.size / 2n)?.name).toBe(name);
        expect(table.lookup(s.value + s.size - 1n)).toEqual({ name, start: s.value, size: s.size });
      }
    }
  });

  it('uses .dynsym of a stripped binary: exported names resolve, static ones do not', () => {
    const table = tableOf(fx.stripped);
    const full = nmSymbols(fx.stripped.replace('-stripped', '-pie'));
    const dyn = nmSymbols(fx.stripped, true);
    expect(table.lookup(dyn.get('sym_global_entry')!.value + 2n)?.name).toBe('sym_global_entry');
    expect(table.lookup(dyn.get('main')!.value)?.name).toBe('main');
    // The same code layout as the PIE build: sym_static_work lies before sym_global_entry, and has no name here.
    expect(full.get('sym_static_work')).toBeDefined();
    const staticAddr = dyn.get('sym_global_entry')!.value - (full.get('sym_global_entry')!.value - full.get('sym_static_work')!.value);
    expect(table.lookup(staticAddr)).toBeUndefined();
  });

  it('prefers global over weak over local names at one address', () => {
    const t = elfSymbolTableFromSymbols(
      [sym('local_alias', 0x1100n, 0x10n, 'local'), sym('real_name', 0x1100n, 0x10n, 'global'), sym('weak_name', 0x1100n, 0x10n, 'weak'),
        sym('label', 0x1200n, 0n, 'global', 'notype'), sym('fn', 0x1200n, 0x20n, 'local')],
      [text, text],
    );
    expect(t.lookup(0x1105n)?.name).toBe('real_name');
    // Binding ranks first; the sized local lends its size to the global label at its address.
    expect(t.lookup(0x121fn)).toEqual({ name: 'label', start: 0x1200n, size: 0x20n });
    expect(t.lookup(0x1220n)).toBeUndefined();
    expect(t.size).toBe(2);
  });

  it('extends zero-size symbols to the next symbol, not past the section, and drops labels inside functions', () => {
    const t = elfSymbolTableFromSymbols(
      [sym('asm_entry', 0x1100n, 0n), sym('sized', 0x1300n, 0x40n), sym('inner_label', 0x1310n, 0n, 'local', 'notype'), sym('tail', 0x1800n, 0n)],
      [text, text],
    );
    expect(t.lookup(0x12ffn)?.name).toBe('asm_entry');
    expect(t.lookup(0x1320n)?.name).toBe('sized');
    expect(t.lookup(0x1350n)).toBeUndefined();
    expect(t.lookup(0x1fffn)?.name).toBe('tail');
    expect(t.lookup(0x2000n)).toBeUndefined();
    expect(t.lookup(0x10ffn)).toBeUndefined();
  });

  it('reads libc and resolves malloc', () => {
    const path = '/lib/x86_64-linux-gnu/libc.so.6';
    const table = tableOf(path);
    const malloc = nmSymbols(path, true).get('malloc')!;
    expect(table.lookup(malloc.value + 1n)?.name).toMatch(/^(malloc|__libc_malloc)$/);
    expect(table.size).toBeGreaterThan(1000);
  });
});
