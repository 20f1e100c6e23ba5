// DWARF line tables: every instruction of the C fixture resolves as addr2line says.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/elf/elf-file.js';
import { parseDwarfLines, sectionData, type DwarfLineTable } from '../../src/symbolize/dwarf-lines.js';

const source = fileURLToPath(new URL('../fixtures/lang-c/split.c', import.meta.url));

/** The line table of an ELF file with debug info. */
function lineTable(path: string): DwarfLineTable {
  const elf = ElfFile.open(path);
  try {
    const data = (name: string): Buffer | undefined => {
      const s = elf.section(name);
      return s === undefined ? undefined : sectionData(s.bytes(), s.flags);
    };
    const debugLine = data('.debug_line');
    if (debugLine === undefined) throw new Error(`no .debug_line in ${path}`);
    return parseDwarfLines(debugLine, { lineStr: data('.debug_line_str'), str: data('.debug_str') });
  } finally {
    elf.close();
  }
}

/** Instruction addresses of `fn`, from objdump. */
function instructions(binary: string, fn: string): bigint[] {
  const out = execFileSync('objdump', ['-d', `--disassemble=${fn}`, binary], { encoding: 'utf8' });
  return [...out.matchAll(/^\s+([0-9a-f]+):\t/gm)].map((m) => BigInt(`0x${m[1]}`));
}

describe('DWARF line tables', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-dwarf-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['-gdwarf-4', '-gdwarf-5'])('agrees with addr2line on the fixture built with %s', (flag) => {
    const binary = join(dir, `split${flag}`);
    execFileSync('gcc', [flag, '-O1', '-o', binary, source]);
    const table = lineTable(binary);
    const addresses = [...instructions(binary, 'hot_static_loop'), ...instructions(binary, 'mix_static')];
    expect(addresses.length).toBeGreaterThan(8);
    const oracle = execFileSync('addr2line', ['-e', binary, ...addresses.map((a) => `0x${a.toString(16)}`)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.replace(/ \(discriminator \d+\)$/, ''));
    const ours = addresses.map((a) => {
      const hit = table.lookup(a);
      return hit === undefined ? '??:0' : `${hit.fileName}:${hit.line}`;
    });
    expect(ours).toEqual(oracle);
    expect(ours.every((l) => l.startsWith(`${source}:`))).toBe(true);
    expect(table.lookup(0n)).toBeUndefined();
  });

  it('reads a compressed section', () => {
    const binary = join(dir, 'split-zlib');
    execFileSync('gcc', ['-g', '-O1', '-Wl,--compress-debug-sections=zlib', '-o', binary, source]);
    const table = lineTable(binary);
    expect(table.rows).toBeGreaterThan(10);
    const entry = instructions(binary, 'hot_static_loop')[0] ?? 0n;
    expect(table.lookup(entry)).toEqual({ fileName: source, line: 9 });
  });

  it('reads the DWARF 2 table of a Go binary as go tool objdump does, and measures the cost', () => {
    const goFixture = fileURLToPath(new URL('../fixtures/lang-go/main.go', import.meta.url));
    const { GOFLAGS: _flags, ...rest } = process.env;
    const env = { ...rest, GOCACHE: join(dir, 'gocache'), GOPATH: join(dir, 'gopath'), GO111MODULE: 'off', HOME: dir };
    execFileSync('go', ['build', '-o', join(dir, 'gofull'), goFixture], { cwd: dir, env });
    const started = process.hrtime.bigint();
    const table = lineTable(join(dir, 'gofull'));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const dump = execFileSync('go', ['tool', 'objdump', '-s', '^main.hotLoop$', join(dir, 'gofull')], { cwd: dir, env, encoding: 'utf8' });
    const rows = [...dump.matchAll(/^\s+(\S+):(\d+)\t+0x([0-9a-f]+)\t/gm)];
    expect(rows.length).toBeGreaterThan(5);
    for (const [, , line, pc] of rows) expect(table.lookup(BigInt(`0x${pc}`))).toEqual({ fileName: goFixture, line: Number(line) });
    // The whole Go runtime's table: the cost that keeps line info optional.
    console.info(`dwarf-lines: ${table.rows} rows of a Go binary parsed in ${ms.toFixed(1)} ms`);
    expect(table.rows).toBeGreaterThan(50_000);
  });
});
