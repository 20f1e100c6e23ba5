import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileOffsetToVaddr } from '../../src/elf/elf-file.js';
import { loadFileUnwindTable, type FileUnwindTable } from '../../src/unwind/file-unwind-table.js';
import { createUnwindLookup } from '../../src/unwind/unwind-lookup.js';
import { unwindStack, type UnwindResult } from '../../src/unwind/unwind-stack.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { coreMemory, stopUnderGdb, type StoppedProcess } from './stopped-process.js';

interface Walked {
  result: UnwindResult;
  stopped: StoppedProcess;
  /** Symbol of each frame; frames outside `binary` are "file:symbol". */
  names: string[];
  /** Only the frames inside `binary`, in order. */
  own: string[];
}

/** nm's function symbols of `path`, sorted by address (.dynsym only for stripped libraries). */
function nmSymbols(path: string, demangle: boolean): { addr: bigint; name: string }[] {
  const args = ['-n', '--defined-only', ...(demangle ? ['-C'] : [])];
  let text = execFileSync('nm', [...args, path], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  if (text.trim() === '') text = execFileSync('nm', ['-D', ...args, path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const syms: { addr: bigint; name: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) [tTwWiI] (.+)$/.exec(line);
    if (m !== null) syms.push({ addr: BigInt(`0x${m[1]}`), name: m[2]!.replace(/@.*$/, '').replace(/ \[clone \.cold\]$|\.cold$/, '') });
  }
  return syms;
}

/** Stops `binary args` under gdb and walks its stack with our tables. */
function walk(binary: string, args: string[], demangle = false): Walked {
  const stopped = stopUnderGdb(binary, args);
  const files = new Map<string, FileUnwindTable>();
  const fileMappings = stopped.mappings.filter((m) => m.path.startsWith('/'));
  for (const m of fileMappings) if (!files.has(m.path)) files.set(m.path, loadFileUnwindTable(m.path));
  const lookup = createUnwindLookup(fileMappings.map((m) => ({ start: m.start, end: m.end, fileOffset: m.offset, file: files.get(m.path)! })));
  const result = unwindStack(stopped.regs, coreMemory(stopped.corePath), lookup, 127);
  const symbols = new Map<string, { addr: bigint; name: string }[]>();
  const names = result.frames.map((pc, i) => {
    const m = fileMappings.find((x) => pc >= x.start && pc < x.end);
    if (m === undefined) return '?';
    const vaddr = fileOffsetToVaddr(files.get(m.path)!.loadSegments, pc - m.start + m.offset);
    if (vaddr === undefined) return '?';
    if (!symbols.has(m.path)) symbols.set(m.path, nmSymbols(m.path, demangle));
    // Return addresses are symbolized at pc - 1, as the walker looks them up.
    const at = i === 0 ? vaddr : vaddr - 1n;
    const sym = symbols.get(m.path)!.filter((s) => s.addr <= at).pop();
    const name = sym?.name ?? '?';
    return m.path === binary ? name : `${basename(m.path)}:${name}`;
  });
  const own = names.filter((n) => !n.includes(':') || n.includes('::'));
  return { result, stopped, names, own };
}

function chain(depth: number): string[] {
  return ['leaf', ...Array.from({ length: depth }, (_, i) => `f${depth - i}`), 'main', '_start'];
}

describe('reference walker on a stopped -O2 -fomit-frame-pointer process', () => {
  let fixture: string;
  let fixtureCc: string;
  beforeAll(() => {
    fixture = compileFixture('unwind-chain.c', { flags: OMIT_FRAME_POINTER });
    fixtureCc = compileFixture('unwind-chain.cc', { flags: OMIT_FRAME_POINTER });
  });

  for (const depth of [5, 23, 40]) {
    it(`unwinds abort <- leaf <- f${depth} .. f1 <- main <- _start exactly`, () => {
      const w = walk(fixture, ['abort', String(depth)]);
      console.log(`depth ${depth}: ${w.result.frames.length} frames, stop ${w.result.stop}: ${w.names.join(' < ')}`);
      expect(w.own).toEqual(chain(depth));
      expect(w.result.stop).toBe('end-of-stack');
      expect(w.names).toContain('libc.so.6:abort');
      // gdb unwinds with its own DWARF reader: the pcs must agree one for one.
      expect(w.result.frames).toEqual(w.stopped.gdbFrames);
    });
  }

  it('unwinds through libc qsort back into the program', () => {
    const w = walk(fixture, ['qsort', '40']);
    console.log(`qsort: ${w.result.frames.length} frames, stop ${w.result.stop}: ${w.names.join(' < ')}`);
    expect(w.own).toEqual(['leaf', 'compare', 'sort_ints', 'main', '_start']);
    const compare = w.names.indexOf('compare');
    const sortInts = w.names.indexOf('sort_ints');
    const inLibc = w.names.slice(compare + 1, sortInts);
    expect(inLibc.length).toBeGreaterThan(0);
    expect(inLibc.every((n) => n.startsWith('libc.so.6:'))).toBe(true);
    expect(inLibc.some((n) => /qsort/.test(n))).toBe(true);
    expect(w.result.stop).toBe('end-of-stack');
    expect(w.result.frames).toEqual(w.stopped.gdbFrames);
  });

  it('unwinds the C++ fixture: template recursion, try/catch frame, std::function', () => {
    const depth = 12;
    const w = walk(fixtureCc, [String(depth)], true);
    console.log(`c++: ${w.result.frames.length} frames, stop ${w.result.stop}: ${w.names.join(' < ')}`);
    const steps = Array.from({ length: depth }, (_, i) => `int step<${depth - i}>(int)`);
    expect(w.own.slice(0, depth + 2)).toEqual(['leaf(int)', ...steps, 'guarded(int)']);
    expect(w.own.slice(-3)).toEqual(['through_function(int)', 'main', '_start']);
    expect(w.result.stop).toBe('end-of-stack');
    expect(w.result.frames).toEqual(w.stopped.gdbFrames);
  });

  it('stops at the depth limit with exactly that many frames', () => {
    const stopped = stopUnderGdb(fixture, ['abort', '40']);
    const files = new Map<string, FileUnwindTable>();
    const maps = stopped.mappings.filter((m) => m.path.startsWith('/'));
    for (const m of maps) if (!files.has(m.path)) files.set(m.path, loadFileUnwindTable(m.path));
    const lookup = createUnwindLookup(maps.map((m) => ({ start: m.start, end: m.end, fileOffset: m.offset, file: files.get(m.path)! })));
    const r = unwindStack(stopped.regs, coreMemory(stopped.corePath), lookup, 10);
    expect(r.stop).toBe('depth-limit');
    expect(r.frames).toEqual(stopped.gdbFrames.slice(0, 10));
  });
});
