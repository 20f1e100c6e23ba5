import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/elf/elf-file.js';
import { ET_DYN, ET_EXEC, PT_LOAD } from '../../src/elf/elf-types.js';
import { buildSymFixtures, type SymFixtures } from '../helpers/build-sym-fixtures.js';
import { nmSymbols } from '../helpers/nm-symbols.js';
import { readelfLoads } from '../helpers/runtime-address.js';

let fx: SymFixtures;
let tmp: string;

beforeAll(() => {
  fx = buildSymFixtures();
  tmp = mkdtempSync(join(tmpdir(), 'meshprof-elf-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function withElf<T>(path: string, fn: (elf: ElfFile) => T): T {
  const elf = ElfFile.open(path);
  try {
    return fn(elf);
  } finally {
    elf.close();
  }
}

describe('ElfFile', () => {
  it('reads the file type of PIE, non-PIE and shared objects', () => {
    expect(withElf(fx.pie, (e) => e.type)).toBe(ET_DYN);
    expect(withElf(fx.nopie, (e) => e.type)).toBe(ET_EXEC);
    expect(withElf(fx.lib, (e) => e.type)).toBe(ET_DYN);
  });

  it('reads the PT_LOAD segments readelf shows', () => {
    for (const path of [fx.pie, fx.nopie, fx.lib]) {
      const ours = withElf(path, (e) => e.loadSegments.map((p) => ({ offset: BigInt(p.offset), vaddr: p.vaddr, fileSize: BigInt(p.fileSize) })));
      expect(ours).toEqual(readelfLoads(path));
      expect(ours.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('names sections and reads their bytes', () => {
    withElf(fx.pie, (elf) => {
      const text = elf.section('.text');
      expect(text).toBeDefined();
      const readelf = execFileSync('readelf', ['-SW', fx.pie], { encoding: 'utf8' });
      const m = /\]\s+\.text\s+PROGBITS\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(readelf)!;
      expect(text!.address).toBe(BigInt(`0x${m[1]!}`));
      expect(text!.offset).toBe(parseInt(m[2]!, 16));
      expect(text!.size).toBe(parseInt(m[3]!, 16));
      const whole = readFileSync(fx.pie);
      expect(text!.bytes().equals(whole.subarray(text!.offset, text!.offset + text!.size))).toBe(true);
      expect(elf.section('.bss')?.bytes().length).toBe(0);
      expect(elf.section('.no-such-section')).toBeUndefined();
    });
  });

  it('reads the GNU build-id that readelf -n shows', () => {
    for (const path of [fx.pie, fx.nopie, fx.lib, fx.stripped]) {
      const out = execFileSync('readelf', ['-n', path], { encoding: 'utf8' });
      const expected = /Build ID: ([0-9a-f]+)/.exec(out)![1];
      expect(withElf(path, (e) => e.buildId())).toBe(expected);
    }
  });

  it('finds the build-id through PT_NOTE when section headers are gone', () => {
    // Zero e_shoff/e_shnum/e_shstrndx: only program headers remain, as in some core-dumped or packed files.
    const bytes = Buffer.from(readFileSync(fx.pie));
    bytes.writeBigUInt64LE(0n, 40);
    bytes.writeUInt16LE(0, 60);
    bytes.writeUInt16LE(0, 62);
    const path = join(tmp, 'no-sections');
    writeFileSync(path, bytes);
    const expected = withElf(fx.pie, (e) => e.buildId());
    withElf(path, (e) => {
      expect(e.sections).toHaveLength(0);
      expect(e.buildId()).toBe(expected);
    });
  });

  it('reads .gnu_debuglink name and crc', () => {
    const debug = join(tmp, 'sym-target.debug');
    const linked = join(tmp, 'sym-target-linked');
    execFileSync('objcopy', ['--only-keep-debug', fx.pie, debug]);
    copyFileSync(fx.pie, linked);
    execFileSync('objcopy', [`--add-gnu-debuglink=${debug}`, linked]);
    expect(withElf(linked, (e) => e.debugLink())).toEqual({ name: 'sym-target.debug', crc: crc32(readFileSync(debug)) });
    expect(withElf(fx.pie, (e) => e.debugLink())).toBeUndefined();
  });

  it('reads the function symbols nm shows, with sizes and bindings', () => {
    withElf(fx.pie, (elf) => {
      const nm = nmSymbols(fx.pie);
      const syms = elf.symbols('symtab');
      const work = syms.find((s) => s.name === 'sym_static_work')!;
      expect(work).toMatchObject({ value: nm.get('sym_static_work')!.value, size: nm.get('sym_static_work')!.size, binding: 'local', kind: 'func' });
      const entry = syms.find((s) => s.name === 'sym_global_entry')!;
      expect(entry).toMatchObject({ value: nm.get('sym_global_entry')!.value, binding: 'global', kind: 'func' });
      expect(syms.find((s) => s.name === 'main')?.value).toBe(nm.get('main')!.value);
      expect(syms.every((s) => s.value !== 0n)).toBe(true);
    });
  });

  it('falls back to .dynsym in a stripped binary', () => {
    withElf(fx.stripped, (elf) => {
      expect(elf.section('.symtab')).toBeUndefined();
      expect(elf.symbols('symtab')).toHaveLength(0);
      const dyn = elf.symbols('dynsym');
      const entry = dyn.find((s) => s.name === 'sym_global_entry');
      expect(entry?.value).toBe(nmSymbols(fx.stripped, true).get('sym_global_entry')!.value);
      expect(dyn.find((s) => s.name === 'sym_static_work')).toBeUndefined();
    });
  });

  it('maps file offsets to virtual addresses through PT_LOAD', () => {
    for (const path of [fx.pie, fx.nopie]) {
      withElf(path, (elf) => {
        const text = elf.section('.text')!;
        expect(elf.fileOffsetToVaddr(BigInt(text.offset) + 16n)).toBe(text.address + 16n);
        const last = elf.loadSegments.filter((p) => p.type === PT_LOAD).at(-1)!;
        expect(elf.fileOffsetToVaddr(BigInt(last.offset + last.fileSize + 0x100000))).toBeUndefined();
      });
    }
  });

  it('rejects non-ELF, 32-bit and truncated input with clear messages', () => {
    const text = join(tmp, 'text');
    writeFileSync(text, 'hello world, not an elf file at all\n');
    expect(() => ElfFile.open(text)).toThrow(`reading elf ${text}: ELF header: not an ELF file`);
    const elf32 = join(tmp, 'elf32');
    writeFileSync(elf32, Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]), Buffer.alloc(60)]));
    expect(() => ElfFile.open(elf32)).toThrow(`reading elf ${elf32}: ELF header: only 64-bit ELF files are supported`);
    const cut = join(tmp, 'cut');
    writeFileSync(cut, readFileSync(fx.pie).subarray(0, 200));
    expect(() => ElfFile.open(cut)).toThrow(`reading elf ${cut}: program headers: truncated file`);
    expect(() => ElfFile.open(join(tmp, 'missing'))).toThrow(`reading elf ${join(tmp, 'missing')}: ENOENT`);
  });

  it('refuses reads after close', () => {
    const elf = ElfFile.open(fx.pie);
    const text = elf.section('.text')!;
    elf.close();
    elf.close();
    expect(() => text.bytes()).toThrow('file already closed');
  });
});
