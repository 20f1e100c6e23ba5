/**
 * Benchmark (issue 5): symbol lookups in a binary with 100,000 functions,
 * cold (a new cache: open the ELF, build its table, then look up) against
 * warm (the same lookups on the cached table). Cold per lookup is
 * dominated by the table build, so the ratio says how many warm lookups one
 * build is worth. "Cold" is the agent's cache only: the file itself stays in
 * the page cache between runs.
 */
import { ElfFile } from '../src/elf/elf-file.js';
import { createSymbolCache, type FileSymbols } from '../src/symbolize/symbol-cache.js';
import { compileC, manyFunctionsAssembly } from './c-program.js';
import { benchRuns, benchResult, measureInterleaved, timeMs, type Benchmark, type BenchResult } from './harness.js';

const FUNCTIONS = 100_000;
const LOOKUPS = 10_000;

/** A probe address and the function it must resolve to. */
export interface Probe {
  readonly vaddr: bigint;
  readonly name: string;
}

/**
 * `count` addresses inside the binary's `f…` functions, picked by a fixed
 * xorshift sequence so every run and every machine probes the same ones.
 */
export function pickProbes(path: string, count: number): Probe[] {
  const elf = ElfFile.open(path);
  try {
    const funcs = elf.symbols('symtab').filter((s) => /^f\d+$/.test(s.name) && s.size > 0n);
    if (funcs.length === 0) throw new Error(`picking probes in ${path}: no f… functions`);
    let x = 0x9e3779b9;
    const probes: Probe[] = [];
    for (let i = 0; i < count; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const f = funcs[(x >>> 0) % funcs.length]!;
      probes.push({ vaddr: f.value + BigInt((x >>> 8) % Number(f.size)), name: f.name });
    }
    return probes;
  } finally {
    elf.close();
  }
}

/** Looks every probe up; returns how many resolved to the wrong name (expected 0). */
export function lookupAll(symbols: FileSymbols, probes: readonly Probe[]): number {
  let wrong = 0;
  for (const p of probes) if (symbols.lookup(p.vaddr)?.name !== p.name) wrong++;
  return wrong;
}

async function run(): Promise<BenchResult> {
  const program = compileC('many-functions', manyFunctionsAssembly(FUNCTIONS), [], 's');
  try {
    const probes = pickProbes(program.path, LOOKUPS);
    let wrong = 0;
    let cache = createSymbolCache();
    const usPerLookup = (ms: number): number => (ms * 1000) / LOOKUPS;
    const cold = (): number => {
      cache = createSymbolCache();
      return usPerLookup(timeMs(() => {
        wrong += lookupAll(cache.get(program.path), probes);
      }));
    };
    const warm = (): number => {
      // The warm side needs a filled cache: the first round's cold run may not have happened yet.
      if (cache.stats().entries === 0) cache.get(program.path);
      return usPerLookup(timeMs(() => {
        wrong += lookupAll(cache.get(program.path), probes);
      }));
    };
    const samples = await measureInterleaved(benchRuns(5), warm, cold);
    const approximateBytes = cache.stats().approximateBytes;
    const buildMs = timeMs(() => createSymbolCache().get(program.path));
    return benchResult({
      name: 'symbol-lookup',
      unit: 'us/lookup',
      baselineLabel: `warm: ${LOOKUPS} lookups on the cached table`,
      measuredLabel: `cold: new cache, table build + ${LOOKUPS} lookups`,
      samples,
      metrics: {
        functions: FUNCTIONS,
        lookups: LOOKUPS,
        wrongNames: wrong,
        tableApproximateBytes: approximateBytes,
        bytesPerSymbol: Math.round(approximateBytes / FUNCTIONS),
        coldBuildMs: Number(buildMs.toFixed(1)),
        compileMs: Math.round(program.compileMs),
      },
      notes: [
        'ratio = cold / warm per lookup; the binary is generated assembly (gcc -O0 on the same 100k C functions takes ~30 s and 1.2 GB)',
        'cold means a new symbol cache; the file is in the page cache either way',
      ],
    });
  } finally {
    program.dispose();
  }
}

/** The symbol lookup benchmark; needs gcc. */
export const symbolLookup: Benchmark = {
  name: 'symbol-lookup',
  description: `${FUNCTIONS} functions: ${LOOKUPS} cold lookups (table build included) vs the same lookups warm`,
  run,
};
