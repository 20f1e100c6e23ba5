// Optional file:line for native frames from DWARF, checked against addr2line.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessTable } from '../../src/process/process-table.js';
import type { RawStackBatch } from '../../src/stacks/raw-stacks.js';
import { createFileSymbolCache } from '../../src/symbolize/symbol-table-jobs.js';
import { createLineTableCache } from '../../src/symbolize/line-table-cache.js';
import { createProfileSymbolizer } from './symbolize-profile.js';
import { repoRoot } from '../helpers/repo-root.js';
import { nmSymbols } from '../helpers/nm-symbols.js';
import { runtimeAddress } from '../helpers/runtime-address.js';

const source = join(repoRoot, 'test', 'fixtures', 'lang-c', 'split.c');

function batch(pid: number, userStack: bigint[]): RawStackBatch {
  return {
    valueTypes: [{ type: 'samples', unit: 'count' }],
    periodType: { type: 'cpu', unit: 'nanoseconds' },
    period: 10_000_000,
    startTimeNs: 0n,
    durationNs: 1n,
    samples: [{ tgid: pid, tid: pid, comm: 'split', userStack, kernelStack: [], values: [1] }],
    drops: {},
  };
}

describe('symbolizer lineInfo', () => {
  let dir = '';
  let full = '';
  let stripped = '';
  const children: ChildProcess[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'line-info-'));
    full = join(dir, 'split');
    stripped = join(dir, 'split-stripped');
    execFileSync('gcc', ['-g', '-O0', '-fno-omit-frame-pointer', '-o', full, source]);
    execFileSync('objcopy', ['--only-keep-debug', full, `${stripped}.debug`]);
    execFileSync('objcopy', ['--strip-all', `--add-gnu-debuglink=${stripped}.debug`, full, stripped]);
  });
  afterAll(() => {
    for (const c of children) c.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts `binary`, waits until it runs its loop, and returns its pid. */
  const start = async (binary: string): Promise<number> => {
    const child = spawn(binary, ['100000000000'], { stdio: 'ignore' });
    children.push(child);
    await new Promise((r) => setTimeout(r, 100));
    return child.pid!;
  };

  /** A leaf in mix_static and a return address in hot_static_loop, with addr2line's answers. */
  const stackOf = (pid: number, binary: string): { stack: bigint[]; expected: string[] } => {
    const nm = nmSymbols(full);
    const leaf = nm.get('mix_static')!.value + 4n;
    const ret = nm.get('hot_static_loop')!.value + 0x20n;
    const expected = execFileSync('addr2line', ['-e', full, `0x${leaf.toString(16)}`, `0x${(ret - 1n).toString(16)}`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.replace(/ \(discriminator \d+\)$/, ''));
    return { stack: [runtimeAddress(pid, binary, leaf), runtimeAddress(pid, binary, ret)], expected };
  };

  it.each([
    ['the binary itself', () => full],
    ['the separate debug file of a stripped binary', () => stripped],
  ])('gives native frames the file:line addr2line gives, from %s', async (_what, binary) => {
    const pid = await start(binary());
    const { stack, expected } = stackOf(pid, binary());
    expect(expected.every((l) => l.startsWith(`${source}:`))).toBe(true);
    const table = createProcessTable();
    table.observe(pid);
    // The agent's symbol cache: debug files and Go tables, as collector-factory.ts wires it.
    const symbolCache = createFileSymbolCache();
    // Through load(): the tables (the debug file's too) come from the worker thread.
    const symbolizer = createProfileSymbolizer({ processes: table, kallsyms: null, symbolCache, lineInfo: true });
    await symbolizer.load(batch(pid, stack));
    expect(symbolCache.stats()).toMatchObject({ misses: 1, entries: 1 });
    const withLines = symbolizer.symbolize(batch(pid, stack));
    const frames = withLines.samples[0]!.frames;
    expect(frames.map((f) => f.functionName)).toEqual(['mix_static', 'hot_static_loop']);
    expect(frames.map((f) => `${f.fileName}:${f.line}`)).toEqual(expected);
    // Off by default: the same stack without positions.
    const plain = createProfileSymbolizer({ processes: table, kallsyms: null, symbolCache }).symbolize(batch(pid, stack)).samples[0]!.frames;
    expect(plain.map((f) => f.functionName)).toEqual(['mix_static', 'hot_static_loop']);
    expect(plain.map((f) => f.fileName)).toEqual([undefined, undefined]);
    symbolCache.close();
  });

  it('caches one table per file and answers undefined for a file without line info', () => {
    const cache = createLineTableCache({ maxEntries: 1 });
    const a = cache.get(full);
    expect(a?.rows).toBeGreaterThan(10);
    expect(cache.get(full)).toBe(a);
    expect(cache.get('/bin/true')).toBeUndefined();
    expect(cache.get(full)).not.toBe(a); // evicted by the second file, read again
    expect(() => cache.get(join(dir, 'missing'))).toThrow(/^reading line info of .*missing: ENOENT/);
  });
});
