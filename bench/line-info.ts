/**
 * Benchmark (issue 5): the cost of source lines, which the agent leaves off
 * by default. The same 100,000-function binary, built with -g, symbolized
 * cold from the ELF: names only (baseline) against names plus file:line
 * from `.debug_line` (measured). Warm per-lookup costs go in the metrics.
 */
import { ElfFile } from '../src/elf/elf-file.js';
import { createElfSymbolTable, type ElfSymbolTable } from '../src/symbolize/elf-symbol-table.js';
import { parseDwarfLines, sectionData, type DwarfLineTable } from '../src/symbolize/dwarf-lines.js';
import { compileC, manyFunctionsAssembly } from './c-program.js';
import { benchResult, benchRuns, measureInterleaved, median, timeMs, type Benchmark, type BenchResult } from './harness.js';
import { pickProbes, type Probe } from './symbol-lookup.js';

const FUNCTIONS = 100_000;
const LOOKUPS = 10_000;

/** The line table of an open ELF file, as a symbolizer with lines on would build it. */
function lineTableOf(elf: ElfFile): DwarfLineTable {
  const data = (name: string): Buffer | undefined => {
    const s = elf.section(name);
    return s === undefined ? undefined : sectionData(s.bytes(), s.flags);
  };
  const debugLine = data('.debug_line');
  if (debugLine === undefined) throw new Error(`reading lines of ${elf.path}: no .debug_line`);
  return parseDwarfLines(debugLine, { lineStr: data('.debug_line_str'), str: data('.debug_str') });
}

interface Tables {
  readonly names: ElfSymbolTable;
  readonly lines: DwarfLineTable | undefined;
}

function build(path: string, withLines: boolean): Tables {
  const elf = ElfFile.open(path);
  try {
    return { names: createElfSymbolTable(elf), lines: withLines ? lineTableOf(elf) : undefined };
  } finally {
    elf.close();
  }
}

/** Resolves every probe; returns how many got a wrong name or no line. */
function resolveAll(t: Tables, probes: readonly Probe[]): number {
  let bad = 0;
  for (const p of probes) {
    if (t.names.lookup(p.vaddr)?.name !== p.name) bad++;
    if (t.lines !== undefined && t.lines.lookup(p.vaddr) === undefined) bad++;
  }
  return bad;
}

async function run(): Promise<BenchResult> {
  const program = compileC('many-functions-g', manyFunctionsAssembly(FUNCTIONS), ['-g'], 's');
  try {
    const probes = pickProbes(program.path, LOOKUPS);
    let bad = 0;
    const cold = (withLines: boolean) => (): number => timeMs(() => {
      bad += resolveAll(build(program.path, withLines), probes);
    });
    const runs = benchRuns(5);
    const samples = await measureInterleaved(runs, cold(false), cold(true));
    const namesOnly = build(program.path, false);
    const withLines = build(program.path, true);
    const warm = await measureInterleaved(runs, () => timeMs(() => resolveAll(namesOnly, probes)), () => timeMs(() => resolveAll(withLines, probes)));
    const elf = ElfFile.open(program.path);
    const debugLineBytes = elf.section('.debug_line')?.size ?? 0;
    elf.close();
    const nsPerLookup = (ms: number): number => Math.round((ms * 1e6) / LOOKUPS);
    return benchResult({
      name: 'line-info',
      unit: 'ms',
      baselineLabel: `cold: symbol table + ${LOOKUPS} name lookups`,
      measuredLabel: 'cold: the same + .debug_line table + line lookups',
      samples,
      metrics: {
        functions: FUNCTIONS,
        lookups: LOOKUPS,
        badResults: bad,
        debugLineBytes,
        lineRows: withLines.lines?.rows ?? 0,
        symbolTableBytes: namesOnly.names.approximateBytes,
        warmNsPerLookupNames: nsPerLookup(median(warm.baseline)),
        warmNsPerLookupWithLines: nsPerLookup(median(warm.measured)),
        compileMs: Math.round(program.compileMs),
      },
      notes: [
        'ratio = cold symbolization with lines / without; the line table has one row per instruction (generated assembly built with -g)',
        'the line table reports no approximateBytes; lineRows is its size',
      ],
    });
  } finally {
    program.dispose();
  }
}

/** The line-info cost benchmark; needs gcc. */
export const lineInfo: Benchmark = {
  name: 'line-info',
  description: `${FUNCTIONS} functions built with -g: cold symbolization with vs without .debug_line`,
  run,
};
