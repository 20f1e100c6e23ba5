// Go names: a stripped build's .gopclntab must name main.hotLoop with its file:line.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/elf/elf-file.js';
import { createGoSymbolLookup, isGoElf, parseGoPclntab, readGoPclntab } from '../../src/symbolize/go-pclntab.js';
import { createSymbolCache } from '../../src/symbolize/symbol-cache.js';

const fixture = fileURLToPath(new URL('../fixtures/lang-go/main.go', import.meta.url));

describe('Go pclntab', () => {
  let dir = '';
  let goEnv: NodeJS.ProcessEnv = {};
  const go = (...args: string[]): string => execFileSync('go', args, { cwd: dir, env: goEnv, encoding: 'utf8' });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-go-'));
    // Private caches and GOPATH mode: no module download, no state shared with the host.
    const { GOFLAGS: _flags, ...rest } = process.env;
    goEnv = { ...rest, GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GO111MODULE: 'off', HOME: dir };
    copyFileSync(fixture, join(dir, 'main.go'));
    go('build', '-o', 'full', 'main.go');
    go('build', '-ldflags=-s -w', '-o', 'stripped', 'main.go');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names every instruction of main.hotLoop in the stripped binary as objdump does', () => {
    const stripped = ElfFile.open(join(dir, 'stripped'));
    try {
      expect(stripped.symbols('symtab')).toHaveLength(0);
      expect(isGoElf(stripped)).toBe(true);
      const table = readGoPclntab(stripped);
      if (table === undefined) throw new Error('no .gopclntab in the stripped binary');
      expect(table.functionCount).toBeGreaterThan(1000);

      // The unstripped build of the same source has identical addresses.
      const nm = go('tool', 'nm', 'full');
      const entry = BigInt(`0x${/^\s*([0-9a-f]+) T main\.hotLoop$/m.exec(nm)?.[1] ?? '0'}`);
      expect(entry).toBeGreaterThan(0n);
      // objdump prints `  main.go:13\t\t0x48de84\t\t...` for each instruction: the oracle for file:line.
      const rows = [...go('tool', 'objdump', '-s', '^main.hotLoop$', 'full').matchAll(/^\s+(\S+):(\d+)\t+0x([0-9a-f]+)\t/gm)];
      expect(rows.length).toBeGreaterThan(5);
      for (const [, file, line, pc] of rows) {
        const loc = table.lookup(BigInt(`0x${pc}`));
        expect(loc?.name).toBe('main.hotLoop');
        expect(loc?.entry).toBe(entry);
        expect(loc?.fileName).toBe(join(dir, file ?? ''));
        expect(loc?.line).toBe(Number(line));
      }
      // The loop body line of the fixture is among them.
      expect(rows.some(([, , line]) => line === '13')).toBe(true);
      expect(table.lookup(entry)?.line).toBe(10);
      expect(table.lookup(entry - 1n)?.name).not.toBe('main.hotLoop');
      expect(table.lookup(table.lookup(entry)?.end ?? 0n)?.name).toBe('main.main');
    } finally {
      stripped.close();
    }
  });

  it('plugs into the symbol cache: stripped Go frames get names, file:line and kind go', () => {
    const cache = createSymbolCache({ createLookup: createGoSymbolLookup });
    const entry = BigInt(`0x${/^\s*([0-9a-f]+) T main\.hotLoop$/m.exec(go('tool', 'nm', 'full'))?.[1] ?? '0'}`);
    const symbols = cache.get(join(dir, 'stripped'));
    expect(symbols.frameKind).toBe('go');
    expect(symbols.lookup(entry + 4n)).toMatchObject({ name: 'main.hotLoop', start: entry, fileName: join(dir, 'main.go') });
    expect(cache.get('/bin/sh').frameKind).toBe('native');
  });

  it('resolves runtime functions and rejects addresses outside the text', () => {
    const elf = ElfFile.open(join(dir, 'stripped'));
    try {
      const table = readGoPclntab(elf);
      const nm = go('tool', 'nm', 'full');
      const mallocgc = BigInt(`0x${/^\s*([0-9a-f]+) T runtime\.mallocgc$/m.exec(nm)?.[1] ?? '0'}`);
      expect(table?.lookup(mallocgc + 4n)?.name).toBe('runtime.mallocgc');
      expect(table?.lookup(mallocgc + 4n)?.fileName).toMatch(/\/src\/runtime\/malloc\.go$/);
      expect(table?.lookup(0x10n)).toBeUndefined();
      expect(table?.lookup(0xffff_ffff_ffffn)).toBeUndefined();
    } finally {
      elf.close();
    }
  });

  it('reads the relocated table of a stripped PIE build', () => {
    go('build', '-buildmode=pie', '-o', 'pie-full', 'main.go');
    go('build', '-buildmode=pie', '-ldflags=-s -w', '-o', 'pie-stripped', 'main.go');
    const entry = BigInt(`0x${/^\s*([0-9a-f]+) T main\.hotLoop$/m.exec(go('tool', 'nm', 'pie-full'))?.[1] ?? '0'}`);
    const elf = ElfFile.open(join(dir, 'pie-stripped'));
    try {
      expect(elf.section('.gopclntab')).toBeUndefined();
      expect(isGoElf(elf)).toBe(true);
      const loc = readGoPclntab(elf)?.lookup(entry + 2n);
      expect(loc).toMatchObject({ name: 'main.hotLoop', entry, fileName: join(dir, 'main.go'), line: 10 });
    } finally {
      elf.close();
    }
    // PIE needs its own build of the standard library: 20 s with a cold cache.
  }, 180_000);

  it('tells Go binaries from others and refuses foreign tables', () => {
    const sh = ElfFile.open('/bin/sh');
    try {
      expect(isGoElf(sh)).toBe(false);
      expect(readGoPclntab(sh)).toBeUndefined();
    } finally {
      sh.close();
    }
    expect(() => parseGoPclntab(new Uint8Array(64))).toThrow(/^reading \.gopclntab: unknown magic/);
    expect(() => parseGoPclntab(new Uint8Array(4))).toThrow(/^reading \.gopclntab: table too short/);
  });

  // Go 1.16 and 1.20+ are not the installed toolchain: check their layouts on tables built here.
  it.each([
    [0xfffffffa, 116],
    [0xfffffff0, 118],
    [0xfffffff1, 120],
  ] as const)('reads a hand-built table with magic %s as version %s', (magic, version) => {
    const table = parseGoPclntab(syntheticTable(magic), { textStart: 0x400000n });
    expect(table.version).toBe(version);
    expect(table.functionCount).toBe(2);
    expect(table.lookup(0x401000n)).toEqual({ name: 'main.one', entry: 0x401000n, end: 0x401020n, fileName: '/src/x.go', line: 7 });
    expect(table.lookup(0x401015n)).toMatchObject({ name: 'main.one', line: 9 });
    expect(table.lookup(0x401020n)).toMatchObject({ name: 'main.two', fileName: '/src/x.go', line: 7 });
    expect(table.lookup(0x400fffn)).toBeUndefined();
    expect(table.lookup(0x401040n)).toBeUndefined();
  });
});

/** A two-function pclntab (ptrSize 8, quantum 1) for text at 0x401000–0x401040. */
function syntheticTable(magic: number): Buffer {
  const v116 = magic === 0xfffffffa;
  const names = Buffer.from('main.one\0main.two\0');
  const cutab = Buffer.alloc(4); // file 0 of the unit → filetab offset 0
  const filetab = Buffer.from('/src/x.go\0');
  // pcfile: value 0 for 0x20 bytes. pcln: 7 for 0x10 bytes, then 9 for 0x10 (zig-zag deltas from -1).
  const pctab = Buffer.from([0, 2, 0x20, 0, 16, 0x10, 4, 0x10, 0]);
  const funcSize = v116 ? 48 : 44;
  const rowSize = v116 ? 16 : 8;
  const ftab = Buffer.alloc(3 * rowSize + 2 * funcSize);
  const entries = [0x1000, 0x1020, 0x1040];
  entries.forEach((off, i) => {
    const funcOff = 3 * rowSize + i * funcSize;
    if (v116) {
      ftab.writeBigUInt64LE(0x400000n + BigInt(off), i * rowSize);
      ftab.writeBigUInt64LE(BigInt(funcOff), i * rowSize + 8);
    } else {
      ftab.writeUInt32LE(off, i * rowSize);
      ftab.writeUInt32LE(funcOff, i * rowSize + 4);
    }
    if (i === 2) return;
    const f = funcOff + (v116 ? 8 : 4);
    ftab.writeInt32LE(i === 0 ? 0 : 9, f); // nameoff
    ftab.writeUInt32LE(1, f + 16); // pcfile
    ftab.writeUInt32LE(4, f + 20); // pcln
    ftab.writeUInt32LE(0, f + 28); // cuOffset
  });
  const words = v116 ? 7 : 8;
  const header = Buffer.alloc(8 + words * 8);
  header.writeUInt32LE(magic, 0);
  header.writeUInt8(1, 6);
  header.writeUInt8(8, 7);
  let at = header.length;
  const parts = [names, cutab, filetab, pctab, ftab];
  const offsets = parts.map((part) => {
    const off = at;
    at += part.length;
    return off;
  });
  const fields = v116 ? [2, 1, ...offsets] : [2, 1, 0x400000, ...offsets];
  fields.forEach((value, i) => header.writeBigUInt64LE(BigInt(value), 8 + i * 8));
  return Buffer.concat([header, ...parts]);
}
